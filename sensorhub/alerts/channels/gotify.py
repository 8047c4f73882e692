"""Gotify (self-hosted push to phones): ``POST <url>/message`` with an application token.

The token goes in the ``X-Gotify-Key`` header (never in the URL, where logs would
keep it); the body is Gotify's ``{"title", "message", "priority", "extras"}``.
Priority follows the alert's severity (critical 8: the phone app's loudest band,
warning 5, info and cleared 2); ``extras`` carry the chart link as the click target
and the alert payload under ``sensorhub::alert``.
"""

from __future__ import annotations

from drivers.options import Option
from sensorhub.alerts.channels import COMMON, ChannelSpec
from sensorhub.alerts.channels.http import call, lan_url
from sensorhub.alerts.message import Notification

PRIORITY = {"critical": 8, "warning": 5, "info": 2}


class GotifyChannel:
    """Push to one Gotify application on the LAN."""

    def __init__(self, name: str, url: str, token: str, timeout: float = 10.0,
                 retries: int | None = None) -> None:
        self.name = name
        self.url = url.rstrip("/") + "/message"
        self._token = token
        self.timeout = float(timeout)
        self.retries = retries

    def deliver(self, notification: Notification) -> str:
        """One message; the answer is Gotify's stored message (its id)."""
        level = 2 if notification.state in ("cleared", "test") else \
            PRIORITY.get(notification.severity, 5)
        extras: dict[str, object] = {
            "client::display": {"contentType": "text/plain"},
            "sensorhub::alert": {"key": notification.key, **notification.event},
        }
        if notification.link:
            extras["client::notification"] = {"click": {"url": notification.link}}
        body = {"title": notification.title, "message": notification.text,
                "priority": level, "extras": extras}
        return call("POST", self.url, body, {"X-Gotify-Key": self._token}, self.timeout)


SPEC = ChannelSpec(GotifyChannel, options={
    "url": Option((str,), lan_url),
    "token": Option((str,)),
    **COMMON,
}, required=("url", "token"), secrets=("token",))
