"""The values that flow from the poller to the store and the broadcaster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from drivers.base import QUANTITIES, UNITS
from sensorhub.derived import absolute_humidity, dew_point

__all__ = ["QUANTITIES", "UNITS", "Reading", "SensorState"]


class Reading(NamedTuple):
    """One accepted measurement of one sensor (``ts``: wall-clock epoch seconds).

    A quantity the sensor does not measure is None (``null`` in every payload).
    """

    sensor: str
    room: str
    ts: float
    seq: int
    temperature: float | None
    humidity: float | None
    pressure: float | None = None
    co2: float | None = None

    def value(self, quantity: str) -> float | None:
        """The value of one quantity by name."""
        return getattr(self, quantity)

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
