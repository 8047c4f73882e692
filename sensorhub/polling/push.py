"""Readings pushed in (MQTT) rather than read: the same filter, states and sinks.

Push sensors have no read loop: their source calls ``ingest`` with each reading's own
timestamp and ``check_silence`` to turn a silent sensor ``offline``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from drivers.base import Sample
from drivers.errors import DriverError, ImplausibleReadingError
from sensorhub.polling.states import SensorRecord


class PushTarget(Protocol):
    """What a source may call on the poller."""

    def ingest(self, sensor_id: str, ts: float, sample: Sample) -> bool: ...
    def seed_last_ts(self, sensor_id: str, ts: float | None) -> None: ...
    def push_failure(self, sensor_id: str, error: DriverError) -> None: ...
    def report_state(self, sensor_id: str, state: str, error: str) -> None: ...
    def check_silence(self, sensor_id: str) -> None: ...


class Source(Protocol):
    """Something that pushes readings in; started and stopped with the poller."""

    def start(self, target: PushTarget) -> None: ...
    def stop(self) -> None: ...


class PushInput:
    """The poller's ``PushTarget`` half (mixed into Poller; uses its records)."""

    # provided by Poller
    _sensors: dict[str, SensorRecord]
    _mono: Callable[[], float]
    _failed: Callable[[SensorRecord, DriverError], bool]
    _accept: Callable[..., None]
    _set_state: Callable[[SensorRecord, str, str | None], None]

    def ingest(self, sensor_id: str, ts: float, sample: Sample) -> bool:
        """Take a pushed reading made at ``ts``; return whether it was accepted.

        A reading at or before the last one taken is a replay (QoS 1 redelivery, a
        node re-sending after a crash) and is dropped before any sink sees it.
        """
        sensor = self._sensors[sensor_id]
        if sensor.last_ts is not None and ts <= sensor.last_ts:
            return False
        sensor.health.attempts += 1
        try:
            values = sensor.filter.apply(sample)
        except ImplausibleReadingError as error:
            return self._failed(sensor, error)
        sensor.last_ts = ts  # also for held-back jumps: their replays stay dropped
        if all(v is None for v in values):
            return False
        self._accept(sensor, values, ts)
        return True

    def seed_last_ts(self, sensor_id: str, ts: float | None) -> None:
        """Drop pushed readings at or before ``ts`` (the newest one already stored)."""
        self._sensors[sensor_id].last_ts = ts

    def push_failure(self, sensor_id: str, error: DriverError) -> None:
        """Count a bad pushed message as a failed read."""
        self._failed(self._sensors[sensor_id], error)

    def report_state(self, sensor_id: str, state: str, error: str) -> None:
        """Show a push sensor as ``failing``/``offline`` because its source says so."""
        self._set_state(self._sensors[sensor_id], state, error)

    def check_silence(self, sensor_id: str) -> None:
        """Turn a push sensor ``offline`` once it has been silent for ``offline_after``."""
        sensor = self._sensors[sensor_id]
        silent_since = sensor.last_good_mono or sensor.started
        if self._mono() - silent_since >= sensor.cfg.offline_after:
            self._set_state(sensor, "offline", sensor.state.error if sensor.state.state ==
                            "offline" else f"silent: no reading for {sensor.cfg.offline_after:g} s")
