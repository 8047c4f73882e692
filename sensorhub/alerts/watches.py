"""What the alert engine knows about each (sensor, kind): the watches and their episodes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sensorhub.config import SensorConfig
from sensorhub.config.alerts import DEFAULT_SEVERITY, AlertRule

OFFLINE = "offline"


@dataclass
class Episode:
    """One firing of an alert; ``id`` is its alert-log row once that is stored."""

    id: int | None = None


@dataclass
class Watch:
    """What the engine knows about one (sensor, kind)."""

    sensor: SensorConfig
    kind: str
    rule: AlertRule | None  # None for the offline alert
    pending_since: float | None = None  # monotonic time the condition started to hold
    episode: Episode | None = None  # while firing
    since: float | None = None
    value: float | None = None
    retired: bool = False  # a reload removed its rule or sensor
    acked: float | None = None  # when someone acknowledged the firing alert
    acked_by: str | None = None

    @property
    def firing(self) -> bool:
        return self.episode is not None

    def threshold(self) -> float | None:
        return self.rule.threshold if self.rule else self.sensor.offline_after

    @property
    def severity(self) -> str:
        return self.rule.severity if self.rule else DEFAULT_SEVERITY

    @property
    def silenced(self) -> bool:
        """Whether acknowledging turned this alert's output off."""
        return self.acked is not None and self.rule is not None and self.rule.silence_on_ack

    def message(self, state: str, value: float | None, since: float) -> dict[str, Any]:
        """The Socket.IO ``alert`` payload."""
        return {"sensor": self.sensor.id, "room": self.sensor.room, "kind": self.kind,
                "state": state, "since": since, "value": value, "threshold": self.threshold(),
                "acked": self.acked, "acked_by": self.acked_by}


def watches(sensors: Iterable[SensorConfig]) -> dict[tuple[str, str], Watch]:
    """One watch per alert rule, and one for going offline, of every sensor."""
    watches: dict[tuple[str, str], Watch] = {}
    for s in sensors:
        watches.update({(s.id, rule.kind): Watch(s, rule.kind, rule) for rule in s.alerts})
        if s.alert_offline:
            watches[(s.id, OFFLINE)] = Watch(s, OFFLINE, None)
    return watches


def by_sensor(watches: dict[tuple[str, str], Watch]) -> dict[str, list[Watch]]:
    """The watches of each sensor (the reading path looks them up by sensor)."""
    grouped: dict[str, list[Watch]] = {}
    for (sensor, _kind), watch in watches.items():
        grouped.setdefault(sensor, []).append(watch)
    return grouped
