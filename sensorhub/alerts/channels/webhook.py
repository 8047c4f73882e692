"""POST each alert event as JSON to a URL on the LAN (``webhook:`` in config.yaml)."""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from drivers.options import NUM, Option, in_range
from sensorhub.alerts.channels import ChannelError, ChannelSpec


def lan_url(value: str) -> str | None:
    """An http(s) URL whose host is not a public address (the LAN has no internet)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"expected an http:// or https:// URL, got {value!r}"
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None  # a LAN host name (resolved when sending)
    if address.is_global:
        return f"{address} is a public address; webhooks go to the local network only"
    return None


class WebhookChannel:
    """A LAN webhook: one POST per event, its JSON body the ``alert`` payload."""

    def __init__(self, name: str, url: str, timeout: float = 5.0, retries: int = 3) -> None:
        self.name = name
        self.url = url
        self.timeout = float(timeout)
        self.retries = retries

    def deliver(self, event: dict[str, Any]) -> None:
        """POST the event; a non-2xx answer or no answer is a ChannelError."""
        request = urllib.request.Request(self.url, data=json.dumps(event).encode(),
                                         method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                if answer.status >= 300:
                    raise ChannelError(f"HTTP {answer.status}")
        except OSError as error:  # URLError and HTTPError are OSErrors
            raise ChannelError(str(error)) from error


SPEC = ChannelSpec(WebhookChannel, options={
    "url": Option((str,), lan_url),
    "timeout": Option(NUM, in_range(0.1, 60)),
    "retries": Option((int,), in_range(0, 10)),
}, required=("url",))
