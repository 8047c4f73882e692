"""Alert channels: where alert events go besides the dashboard, one module per kind.

A kind's module declares ``SPEC``: the channel class and the options it takes (with
their checks, for config validation). The class only knows how to deliver one
notification (``deliver``, blocking, returning the receiver's answer or raising
ChannelError); sensorhub.alerts.delivery takes it from the persistent outbox, runs
deliveries off the event loop and retries. Adding a kind is one module here, one line
in ``CHANNELS`` and its tests (docs/architecture.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from drivers.options import NUM, Option, in_range

if TYPE_CHECKING:
    from sensorhub.alerts.message import Notification


class ChannelError(RuntimeError):
    """A delivery failed (receiver down, refused, timed out); it may be retried."""


class Channel(Protocol):
    """Somewhere alert notifications are delivered."""

    #: the channel's name in config.yaml, for logs
    name: str
    #: seconds one delivery may take before it counts as failed
    timeout: float
    #: tries after the first one before a message is given up (None: until notify.max_age)
    retries: int | None

    def deliver(self, notification: Notification) -> str:
        """Send one notification now (blocking); return the receiver's answer (short).

        Raise ChannelError on failure; never put a secret in its message.
        """
        ...


@dataclass(frozen=True)
class ChannelSpec:
    """What config validation and the engine need to know about one kind of channel."""

    factory: type  # called as factory(name=..., **options)
    options: Mapping[str, Option] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    #: options that may come from a file instead (``password`` -> ``password_file:``)
    secrets: tuple[str, ...] = ()


#: the options every kind takes: how long one try may take, how many tries at most
COMMON: dict[str, Option] = {
    "timeout": Option(NUM, in_range(0.1, 60)),
    "retries": Option((int,), in_range(0, 1000)),
}

#: kind -> the module that declares its SPEC (imported when a config names the kind)
CHANNELS: dict[str, str] = {
    "webhook": "sensorhub.alerts.channels.webhook",
    "smtp": "sensorhub.alerts.channels.smtp",
    "ntfy": "sensorhub.alerts.channels.ntfy",
    "gotify": "sensorhub.alerts.channels.gotify",
    "matrix": "sensorhub.alerts.channels.matrix",
    "mqtt": "sensorhub.alerts.channels.mqtt",
}


def spec(kind: str) -> ChannelSpec:
    """The declaration of one kind of channel."""
    return importlib.import_module(CHANNELS[kind]).SPEC


def open_channel(name: str, kind: str, options: Mapping[str, Any]) -> Channel:
    """Build a configured channel."""
    return spec(kind).factory(name=name, **dict(options))
