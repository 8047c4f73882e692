"""The values that flow from the poller to the store and the broadcaster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from sensorhub.derived import absolute_humidity, dew_point


class Reading(NamedTuple):
    """One accepted measurement of one sensor (``ts``: wall-clock epoch seconds)."""

    sensor: str
    room: str
    ts: float
    seq: int
    temperature: float | None
    humidity: float | None

    def to_message(self) -> dict[str, Any]:
        """The Socket.IO ``reading`` payload (docs/protocol.md), with derived quantities."""
        message = self._asdict()
        message["dew_point"] = dew_point(self.temperature, self.humidity)
        message["abs_humidity"] = absolute_humidity(self.temperature, self.humidity)
        return message


@dataclass(frozen=True)
class SensorState:
    """What the dashboard shows about a sensor's health."""

    sensor: str
    room: str
    state: str  # ok | failing | offline
    since: float  # wall-clock epoch seconds of the change
    error: str | None

    def to_message(self) -> dict[str, Any]:
        """The Socket.IO ``sensor_state`` payload (docs/protocol.md)."""
        return {"sensor": self.sensor, "room": self.room, "state": self.state,
                "since": self.since, "error": self.error}
