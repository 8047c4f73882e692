"""Reads every sensor on its own schedule and hands good readings to the sinks.

One background task per sensor, scheduled on the monotonic clock. Hardware reads run
off the event loop with a hard timeout (``Runtime.run_blocking``), so a hanging DHT
delays neither another sensor nor the web server. Each sample passes the sensor's
filter (sensorhub.polling.filter); states follow sensorhub.polling.states.
``power_cycle_after`` failures in a row power-cycle a sensor that has a ``power_pin``.
Push sensors (MQTT) have no loop: their source feeds the same path through
sensorhub.polling.push. Which sensors have a loop, and following a reloaded config,
is sensorhub.polling.roster's part.

The poller is built with all its sinks and sources (sensorhub.hub.assemble); the rest
of the app reads it through ``states``, ``state``, ``latest`` and ``health`` only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from drivers.base import Driver, Sample
from drivers.errors import DriverError, ImplausibleReadingError, ReadTimeoutError
from drivers.gpio import PowerSwitch
from drivers.registry import DRIVER_SPECS, open_driver
from sensorhub.config import SensorConfig
from sensorhub.polling.power import SharedGpio
from sensorhub.polling.push import PushInput, Source
from sensorhub.polling.roster import Roster
from sensorhub.polling.states import (
    SensorRecord,
    shown_state,
    transition,
)
from sensorhub.polling.ticks import Ticks
from sensorhub.readings import Reading, SensorState
from sensorhub.runtime import OffLoopTimeoutError, Runtime

log = logging.getLogger(__name__)

CLOCK_JUMP_THRESHOLD = 2.0  # seconds the wall clock may drift from monotonic unnoticed
REOPEN_DELAY = 30.0  # seconds between attempts to open a driver that failed to open
POWER_SETTLE = 2.0  # seconds a DHT needs after power-up before it answers


class Sink(Protocol):
    """Where the poller sends what it learns."""

    def on_reading(self, reading: Reading) -> None: ...
    def on_state(self, state: SensorState) -> None: ...


class Poller(Roster, PushInput):
    """Schedules reads, filters samples and tracks each sensor's state."""

    def __init__(self, sensors: Sequence[SensorConfig], runtime: Runtime,
                 sinks: Sequence[Sink] = (), sources: Sequence[Source] = (), *,
                 gpio: SharedGpio | None = None,
                 open_driver: Callable[..., Driver] = open_driver,
                 wall_clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 on_cycle: Callable[[str], None] | None = None,
                 on_tick: Callable[[], None] | None = None) -> None:
        self.runtime = runtime
        self._sinks = tuple(sinks)
        self._sources = tuple(sources)
        self._gpio = gpio if gpio is not None else SharedGpio()
        self._open_driver = open_driver
        self._wall = wall_clock
        self._mono = monotonic
        self._on_cycle = on_cycle
        self._stop = runtime.event()
        self._ticks = Ticks(on_tick)  # on_tick: every sensor due at an instant is done
        self._schedule_start: float | None = None  # one schedule for all (Roster.start)
        self._started = False
        self._clock_offset = wall_clock() - monotonic()
        # replaced whole, never mutated: readers in other threads iterate it (reconfigure)
        self._sensors: dict[str, SensorRecord] = {s.id: self._new_record(s) for s in sensors}
        self._retired: dict[str, SensorRecord] = {}  # removed by a reload: still readable

    def _loop(self, sensor: SensorRecord) -> None:
        cfg, stop = sensor.cfg, sensor.stop
        retry_delay = DRIVER_SPECS[cfg.driver].min_interval
        # the shared schedule: sensors on meeting intervals are due at the same instants
        start = self._schedule_start if self._schedule_start is not None else self._mono()
        if sensor.tick_key is None:  # added by a reload: read at once, then on the schedule
            next_due = self._mono()
            sensor.tick_key = self._ticks.expect(cfg.id, next_due)
        else:
            next_due = start
        key = sensor.tick_key
        while True:
            wait = next_due - self._mono()
            if (wait > 0 and stop.wait(wait)) or stop.is_set():
                return
            ok = self._poll(sensor)
            if self._on_cycle is not None:
                self._on_cycle(cfg.id)
            now = self._mono()
            slots = int((now - start) // cfg.interval) + 1
            next_slot = start + slots * cfg.interval
            # retry a failed read soon, but not one that is still hung in its thread
            fast_retry = not ok and not sensor.in_flight
            next_due = min(next_slot, now + retry_delay) if fast_retry else next_slot
            next_key = self._ticks.expect(cfg.id, next_due)
            self._ticks.done(cfg.id, key)  # this read's reading (if any) is with the sinks
            key = sensor.tick_key = next_key

    # -- one read --------------------------------------------------------------------
    def poll_once(self, sensor_id: str) -> bool:
        """Read one sensor once; update its state; return whether a reading was accepted."""
        return self._poll(self._sensors[sensor_id])

    def _poll(self, sensor: SensorRecord) -> bool:
        self._check_clock()
        cfg = sensor.cfg
        if sensor.driver is None or (cfg.power_pin is not None and sensor.power is None):
            open_error = self._ensure_driver(sensor)
            if open_error is not None:
                return self._failed(sensor, open_error)
        if sensor.in_flight:
            error: DriverError = ReadTimeoutError(
                f"previous read still hung (>{cfg.timeout:g} s); not starting another")
            return self._failed(sensor, error)
        if sensor.powered_at is not None:  # a DHT needs a moment after power-up
            settle = sensor.powered_at + POWER_SETTLE - self._mono()
            if settle > 0 and sensor.stop.wait(settle):
                return False
            sensor.powered_at = None
        sensor.health.attempts += 1
        driver = sensor.driver
        assert driver is not None

        def read() -> Sample:
            try:
                return driver.read()
            finally:
                sensor.in_flight = False

        sensor.in_flight = True
        try:
            sample = self.runtime.run_blocking(read, timeout=cfg.timeout)
        except OffLoopTimeoutError:
            self._abort(sensor, driver)
            return self._failed(sensor, ReadTimeoutError(
                f"read timed out after {cfg.timeout:g} s"))
        except DriverError as error:
            return self._failed(sensor, error)
        except Exception as error:  # a driver bug: report it as the sensor's error
            log.exception("sensor %s: unexpected error from driver %s", cfg.id, cfg.driver)
            return self._failed(sensor, DriverError(f"{type(error).__name__}: {error}"))
        try:
            values = sensor.filter.apply(sample)
        except ImplausibleReadingError as error:
            return self._failed(sensor, error)
        if all(v is None for v in values):
            return False  # the sensor answered without a value
        self._accept(sensor, values)
        return True

    def _ensure_driver(self, sensor: SensorRecord) -> DriverError | None:
        """Set up the sensor's power pin and open its driver; the error if either fails.

        A failure is retried after REOPEN_DELAY (opening a DHT starts a helper process;
        doing it every two seconds would not help anyone).
        """
        cfg = sensor.cfg
        now = self._mono()
        if sensor.open_error is not None and now - sensor.open_error_at < REOPEN_DELAY:
            return sensor.open_error
        try:
            if cfg.power_pin is not None and sensor.power is None:
                pin = cfg.power_pin
                sensor.power = self.runtime.run_blocking(
                    lambda: PowerSwitch(self._gpio(), pin), timeout=cfg.timeout)
                sensor.powered_at = now
            if sensor.driver is None:
                options = dict(cfg.options)
                sensor.driver = self.runtime.run_blocking(
                    lambda: self._open_driver(cfg.driver, cfg.pin, options), timeout=cfg.timeout)
        except Exception as error:  # a library's own exception is this sensor's error alone
            if not isinstance(error, DriverError | OffLoopTimeoutError | OSError):
                log.exception("sensor %s: unexpected error opening %s", cfg.id, cfg.driver)
            failure = DriverError(f"cannot open {cfg.driver} sensor: {error}")
            failure.kind = getattr(error, "kind", "unavailable")
            if sensor.open_error is None or str(sensor.open_error) != str(failure):
                log.error("sensor %s: %s", cfg.id, failure)
            sensor.open_error, sensor.open_error_at = failure, now
            return failure
        sensor.open_error = None
        return None

    def _abort(self, sensor: SensorRecord, driver: Driver) -> None:
        """Ask a driver to unblock a read that outlived its timeout (e.g. kill a dead helper)."""
        abort = getattr(driver, "abort", None)
        if abort is None:
            return
        try:
            self.runtime.run_blocking(abort, timeout=2.0)
        except Exception as error:  # the read stays hung; "previous read still hung" follows
            log.warning("sensor %s: could not abort the hung read: %s", sensor.cfg.id, error)

    def _accept(self, sensor: SensorRecord, values: Sample, ts: float | None = None) -> None:
        sensor.seq += 1
        sensor.filter.accepted = values
        sensor.consecutive_failures = sensor.failures_since_cycle = 0
        sensor.last_good_mono = self._mono()
        reading = Reading(sensor.cfg.id, sensor.cfg.room, self._wall() if ts is None else ts,
                          sensor.seq, *values)
        sensor.last_reading = reading
        sensor.health.good += 1
        sensor.health.last_good_ts = reading.ts
        self._update_state(sensor, None)
        for sink in self._sinks:
            try:
                sink.on_reading(reading)
            except Exception:  # one broken sink must not starve the others
                log.exception("sink %r failed on a reading", sink)

    def _failed(self, sensor: SensorRecord, error: DriverError) -> bool:
        cfg = sensor.cfg
        sensor.health.failures[error.kind] += 1
        sensor.consecutive_failures += 1
        sensor.failures_since_cycle += 1
        message = f"{error.kind}: {error}"
        if sensor.power is not None and sensor.failures_since_cycle >= cfg.power_cycle_after:
            self._power_cycle(sensor)
        self._update_state(sensor, message)
        return False

    def _power_cycle(self, sensor: SensorRecord) -> None:
        cfg = sensor.cfg
        power = sensor.power
        assert power is not None
        log.warning("sensor %s: %d failed reads in a row; power-cycling GPIO %d", cfg.id,
                    sensor.consecutive_failures, power.pin)
        self._close_driver(sensor)
        try:
            self.runtime.run_blocking(power.cycle, timeout=power.off_seconds + 5)
        except (OffLoopTimeoutError, OSError, RuntimeError) as error:
            log.error("sensor %s: power cycle failed: %s", cfg.id, error)
        sensor.health.power_cycles += 1
        sensor.powered_at = self._mono()
        sensor.failures_since_cycle = 0  # the state still sees every failure in a row

    def _close_driver(self, sensor: SensorRecord) -> None:
        driver, sensor.driver = sensor.driver, None
        if driver is None or sensor.in_flight:
            return  # a hung read still owns it; closing would race the worker thread
        try:
            self.runtime.run_blocking(driver.close, timeout=2.0)
        except Exception as error:  # whatever a library raises, the others still close
            log.warning("sensor %s: close failed: %s", sensor.cfg.id, error)

    def _update_state(self, sensor: SensorRecord, error: str | None) -> None:
        state = shown_state(sensor, error, self._mono())
        if state is not None:
            self._set_state(sensor, state, error)

    def _set_state(self, sensor: SensorRecord, state: str, error: str | None) -> None:
        changed = transition(sensor, state, error, self._wall())
        if changed is None:
            return
        for sink in self._sinks:
            try:
                sink.on_state(changed)
            except Exception:
                log.exception("sink %r failed on a state change", sink)

    def _check_clock(self) -> None:
        offset = self._wall() - self._mono()
        jump = offset - self._clock_offset
        if abs(jump) > CLOCK_JUMP_THRESHOLD:
            self._clock_offset = offset
            log.warning("wall clock jumped by %+.1f s; readings keep wall-clock times, "
                        "schedules and retention follow the monotonic clock", jump)

    # -- the public read API -----------------------------------------------------------
    def ids(self) -> list[str]:
        """Every sensor's id, in config order."""
        return list(self._sensors)

    def states(self) -> list[SensorState]:
        """Current state of every sensor."""
        return [s.state for s in self._sensors.values()]

    def state(self, sensor_id: str) -> SensorState:
        """Current state of one sensor."""
        return self._record(sensor_id).state

    def latest(self, sensor_id: str) -> Reading | None:
        """The last reading accepted from a sensor since start."""
        return self._record(sensor_id).last_reading

    def health(self, sensor_id: str) -> dict[str, Any]:
        """Read-health counters of a sensor."""
        return self._record(sensor_id).health.as_dict()

    def show_state(self, state: SensorState) -> None:
        """Show a state decided elsewhere (a standby mirroring the leader's poller)."""
        sensor = self._sensors.get(state.sensor)
        if sensor is not None:
            sensor.state = state
