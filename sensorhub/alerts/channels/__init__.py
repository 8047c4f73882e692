"""Alert channels: where alert events go besides the dashboard, one module per kind.

A kind's module declares ``SPEC``: the channel class and the options it takes (with
their checks, for config validation). The class only knows how to deliver one event
(``deliver``, blocking, raising ChannelError on failure); sensorhub.alerts.dispatch
queues events for it, runs deliveries off the event loop and retries. Adding a kind
is one module here, one line in ``CHANNELS`` and its tests (docs/architecture.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from drivers.options import Option


class ChannelError(RuntimeError):
    """A delivery failed (receiver down, refused, timed out); it may be retried."""


class Channel(Protocol):
    """Somewhere alert events are delivered."""

    #: the channel's name in config.yaml, for logs
    name: str
    #: seconds one delivery may take before it counts as failed
    timeout: float
    #: tries after the first one before the event is given up
    retries: int

    def deliver(self, event: dict[str, Any]) -> None:
        """Send one alert event now (blocking); raise ChannelError on failure."""
        ...


@dataclass(frozen=True)
class ChannelSpec:
    """What config validation and the engine need to know about one kind of channel."""

    factory: type  # called as factory(name=..., **options)
    options: Mapping[str, Option] = field(default_factory=dict)
    required: tuple[str, ...] = ()


#: kind -> the module that declares its SPEC (imported when a config names the kind)
CHANNELS: dict[str, str] = {
    "webhook": "sensorhub.alerts.channels.webhook",
}


def spec(kind: str) -> ChannelSpec:
    """The declaration of one kind of channel."""
    return importlib.import_module(CHANNELS[kind]).SPEC


def open_channel(name: str, kind: str, options: Mapping[str, Any]) -> Channel:
    """Build a configured channel."""
    return spec(kind).factory(name=name, **dict(options))
