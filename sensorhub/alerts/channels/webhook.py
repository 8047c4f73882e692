"""POST each alert as JSON to a URL on the LAN (``webhook:`` or ``type: webhook``)."""

from __future__ import annotations

from drivers.options import Option
from sensorhub.alerts.channels import COMMON, ChannelSpec
from sensorhub.alerts.channels.http import call, lan_url
from sensorhub.alerts.message import Notification

__all__ = ["SPEC", "WebhookChannel", "lan_url"]


class WebhookChannel:
    """A LAN webhook: one POST per message, its JSON body the ``alert`` payload and the text.

    The body keeps the Socket.IO ``alert`` fields (docs/protocol.md) at the top and adds
    ``key`` (also sent as the ``Idempotency-Key`` header), ``title``, ``message``,
    ``severity`` and ``link``, so a receiver can drop a repeat and show the text as is.
    """

    def __init__(self, name: str, url: str, timeout: float = 5.0,
                 retries: int | None = None) -> None:
        self.name = name
        self.url = url
        self.timeout = float(timeout)
        self.retries = retries

    def deliver(self, notification: Notification) -> str:
        """POST the message; a non-2xx answer or no answer is a ChannelError."""
        body = {**notification.event, "key": notification.key, "title": notification.title,
                "message": notification.text, "severity": notification.severity,
                "link": notification.link}
        return call("POST", self.url, body, {"Idempotency-Key": notification.key},
                    self.timeout)


SPEC = ChannelSpec(WebhookChannel, options={"url": Option((str,), lan_url), **COMMON},
                   required=("url",))
