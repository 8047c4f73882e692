"""ntfy (self-hosted push to phones): publish each alert as JSON to the server's root URL.

The request is ntfy's documented "publish as JSON" call: ``POST <url>/`` with
``{"topic", "title", "message", "priority", "tags", "click"}`` and, for a protected
topic, ``Authorization: Bearer <token>``. Priority follows the alert's severity
(critical 5 = max, warning 4 = high, info and cleared 3 = default); tags show as emoji.
"""

from __future__ import annotations

import re

from drivers.options import Option
from sensorhub.alerts.channels import COMMON, ChannelSpec
from sensorhub.alerts.channels.http import call, lan_url
from sensorhub.alerts.message import Notification

TOPIC_RE = re.compile(r"^[-_A-Za-z0-9]{1,64}$")
PRIORITY = {"critical": 5, "warning": 4, "info": 3}
EMOJI = {"critical": "rotating_light", "warning": "warning", "info": "information_source"}


def priority(notification: Notification) -> int:
    """ntfy's 1..5 for a notification: loud for what fires, quiet for what cleared."""
    if notification.state in ("cleared", "test"):
        return 3
    return PRIORITY.get(notification.severity, 3)


def tags(notification: Notification) -> list[str]:
    """An emoji tag first (ntfy shows known tag names as emoji), then sensor and kind."""
    first = "white_check_mark" if notification.state == "cleared" else \
        EMOJI.get(notification.severity, "bell")
    event = notification.event
    return [first, *(str(event[k]) for k in ("sensor", "kind") if event.get(k))]


def topic_name(value: str) -> str | None:
    """An ntfy topic: 1-64 letters, digits, '-' and '_'."""
    return None if TOPIC_RE.match(value) else f"{value!r} is not an ntfy topic " \
        "(1-64 letters, digits, '-' and '_')"


class NtfyChannel:
    """Publish to one topic of an ntfy server on the LAN."""

    def __init__(self, name: str, url: str, topic: str, token: str | None = None,
                 timeout: float = 10.0, retries: int | None = None) -> None:
        self.name = name
        self.url = url.rstrip("/") + "/"
        self.topic = topic
        self._token = token
        self.timeout = float(timeout)
        self.retries = retries

    def deliver(self, notification: Notification) -> str:
        """One JSON publish; the answer is ntfy's message object (its id)."""
        body: dict[str, object] = {"topic": self.topic, "title": notification.title,
                                   "message": notification.text,
                                   "priority": priority(notification),
                                   "tags": tags(notification)}
        if notification.link:
            body["click"] = notification.link
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        return call("POST", self.url, body, headers, self.timeout)


SPEC = ChannelSpec(NtfyChannel, options={
    "url": Option((str,), lan_url),
    "topic": Option((str,), topic_name),
    "token": Option((str,)),
    **COMMON,
}, required=("url", "topic"), secrets=("token",))
