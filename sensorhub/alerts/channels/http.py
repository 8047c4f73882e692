"""The HTTP call every web channel makes (webhook, ntfy, Gotify, Matrix): urllib, no extra
dependency, the receiver's answer kept short, and LAN addresses only.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from sensorhub.alerts.channels import ChannelError

ANSWER_CHARS = 300


def lan_url(value: str) -> str | None:
    """An http(s) URL whose host is not a public address (the LAN has no internet)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"expected an http:// or https:// URL, got {value!r}"
    if parts.username or parts.password:
        return "put credentials in the channel's token/password options, not in the URL"
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None  # a LAN host name (resolved when sending)
    if address.is_global:
        return f"{address} is a public address; alerts go to the local network only"
    return None


def call(method: str, url: str, body: Any, headers: dict[str, str], timeout: float) -> str:
    """Send ``body`` as JSON; return the answer's text, or raise ChannelError saying why."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", "User-Agent": "sensorhub", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            text = answer.read(ANSWER_CHARS * 4).decode("utf-8", "replace")
            return f"HTTP {answer.status} {text.strip()[:ANSWER_CHARS]}".strip()
    except urllib.error.HTTPError as error:
        text = error.read(ANSWER_CHARS * 4).decode("utf-8", "replace").strip()
        raise ChannelError(f"HTTP {error.code} {error.reason}: {text[:ANSWER_CHARS]}"
                           .rstrip(": ")) from None
    except urllib.error.URLError as error:
        raise ChannelError(f"cannot reach {_where(url)}: {error.reason}") from None
    except OSError as error:  # timeouts, resets
        raise ChannelError(f"{_where(url)}: {error}") from None


def _where(url: str) -> str:
    """Scheme, host and port only: paths and queries may hold tokens."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
