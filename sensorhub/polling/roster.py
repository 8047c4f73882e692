"""Which sensors the poller reads: their records and loops, started, stopped, reloaded.

``reconfigure`` makes a running poller follow a reloaded config without touching the
loops of sensors that did not change: a reading of an unchanged sensor is neither
lost nor late. A removed sensor's loop ends, its driver is closed and its power pin
released; a changed one restarts with a fresh driver and filter, its ``seq``
continuing so that its watchers see no gap; a sensor whose name or alert rules alone
changed keeps its loop (it reads neither).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from drivers.registry import DRIVER_SPECS
from sensorhub.config import SensorConfig
from sensorhub.config.diff import restart_needed
from sensorhub.polling.filter import SampleFilter
from sensorhub.polling.power import SharedGpio
from sensorhub.polling.push import Source
from sensorhub.polling.states import NO_READING_YET, SensorRecord
from sensorhub.polling.ticks import Ticks
from sensorhub.readings import SensorState
from sensorhub.runtime import OffLoopTimeoutError, Runtime

log = logging.getLogger(__name__)

STOP_GRACE = 5.0  # seconds past its read timeout a stopping loop gets to end


class Roster:
    """The poller's sensor set and loop lifecycle (mixed into Poller)."""

    # provided by Poller
    runtime: Runtime
    _sources: tuple[Source, ...]
    _gpio: SharedGpio
    _wall: Callable[[], float]
    _mono: Callable[[], float]
    _stop: Any
    _started: bool
    _schedule_start: float | None
    _ticks: Ticks
    _sensors: dict[str, SensorRecord]
    _retired: dict[str, SensorRecord]
    _loop: Callable[[SensorRecord], None]
    _close_driver: Callable[[SensorRecord], None]

    def _new_record(self, cfg: SensorConfig, carry: SensorRecord | None = None
                    ) -> SensorRecord:
        """A sensor's record; ``carry``: the one it replaces (its seq and latest go on)."""
        state = SensorState(cfg.id, cfg.room, "offline", self._wall(), NO_READING_YET)
        record = SensorRecord(cfg=cfg, state=state, started=self._mono(),
                              filter=SampleFilter(cfg, DRIVER_SPECS[cfg.driver]),
                              stop=self.runtime.event())
        if carry is not None:  # a restart keeps seq contiguous for the sensor's watchers
            record.seq, record.last_reading = carry.seq, carry.last_reading
            record.health, record.last_good_mono = carry.health, carry.last_good_mono
            old = carry.state
            record.state = SensorState(cfg.id, cfg.room, old.state, old.since, old.error)
        return record

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the sources and one background task per polled sensor."""
        self._started = True
        start = self._schedule_start = self._mono()
        for source in self._sources:
            source.start(self)  # type: ignore[arg-type]  # a Poller is a PushTarget
        for sensor in self._sensors.values():  # every first instant known before any loop runs
            if not DRIVER_SPECS[sensor.cfg.driver].push:
                sensor.tick_key = self._ticks.expect(sensor.cfg.id, start)
        for sensor in self._sensors.values():
            self._spawn(sensor)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every loop, then close drivers and release GPIO (hung ones are skipped)."""
        self._stop.set()
        sensors = list(self._sensors.values())
        for sensor in sensors:
            sensor.stop.set()
        for source in self._sources:
            source.stop()
        deadline = self._mono() + timeout
        for sensor in sensors:
            if sensor.done is not None:
                sensor.done.wait(max(0.0, deadline - self._mono()))
        for sensor in sensors:
            self._close_driver(sensor)
        self._gpio.cleanup()

    @property
    def stopping(self) -> bool:
        """Whether stop() was called."""
        return bool(self._stop.is_set())

    def _spawn(self, sensor: SensorRecord) -> None:
        """Start a sensor's loop (push sensors have none: their source drives them)."""
        if DRIVER_SPECS[sensor.cfg.driver].push or self._stop.is_set():
            return
        sensor.done = self.runtime.event()
        self.runtime.spawn(self._run, sensor)

    def _run(self, sensor: SensorRecord) -> None:
        try:
            self._loop(sensor)
        except Exception:  # a bug in one loop must not pass silently
            log.exception("poller loop of sensor %s crashed", sensor.cfg.id)
        finally:
            sensor.done.set()

    # -- reload ----------------------------------------------------------------------
    def reconfigure(self, sensors: Sequence[SensorConfig]) -> None:
        """Poll exactly ``sensors`` from now on; unchanged sensors' loops run on untouched.

        Blocks until the loops of removed and changed sensors have ended (each within
        its read timeout), so a changed sensor's new driver never meets its old one.
        """
        wanted = {s.id: s for s in sensors}
        current = self._sensors
        ending = {sid: r for sid, r in current.items()
                  if sid not in wanted or restart_needed(r.cfg, wanted[sid])}
        for record in ending.values():  # all at once: they end in parallel
            record.stop.set()
        for record in ending.values():
            self._retire(record)
        records: dict[str, SensorRecord] = {}
        for cfg in sensors:
            old = current.get(cfg.id)
            if old is not None and cfg.id not in ending:
                old.cfg = cfg  # only its name or alert rules changed: its loop reads neither
                records[cfg.id] = old
            else:
                records[cfg.id] = self._new_record(cfg, carry=old)
        self._retired = {**{sid: r for sid, r in self._retired.items() if sid not in wanted},
                         **{sid: r for sid, r in ending.items() if sid not in wanted}}
        self._sensors = records  # one assignment: a reader sees the old set or the new
        if self._started:
            for record in records.values():
                if record.done is None:
                    self._spawn(record)

    def _retire(self, record: SensorRecord) -> None:
        """Wait for a stopped loop to end; close its driver and release its power pin."""
        cfg = record.cfg
        if record.done is not None and not record.done.wait(cfg.timeout + STOP_GRACE):
            log.warning("sensor %s: its loop did not end within %g s of being stopped",
                        cfg.id, cfg.timeout + STOP_GRACE)
        self._ticks.forget(cfg.id)  # no instant waits for it any more
        self._close_driver(record)
        power, record.power = record.power, None
        if power is None:
            return
        try:
            self.runtime.run_blocking(lambda: self._gpio.release(power.pin), timeout=2.0)
        except (OffLoopTimeoutError, OSError, RuntimeError) as error:
            log.warning("sensor %s: cannot release power pin GPIO %d: %s", cfg.id, power.pin,
                        error)

    def _record(self, sensor_id: str) -> SensorRecord:
        """A sensor's record, also one a reload removed (a reader may hold the old config)."""
        record = self._sensors.get(sensor_id)
        return record if record is not None else self._retired[sensor_id]
