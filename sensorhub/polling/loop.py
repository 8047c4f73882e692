"""Reads every sensor on its own schedule and hands good readings to the sinks.

One background task per sensor, scheduled on the monotonic clock. Hardware reads run
off the event loop with a hard timeout (``Runtime.run_blocking``), so a hanging DHT
delays neither another sensor nor the web server. A sensor is ``ok`` after a good
reading, ``failing`` while reads fail, and ``offline`` once it has gone
``offline_after`` seconds without one. A lone failed read (DHTs fail a few
percent of reads) is retried and not shown; three in a row make it ``failing``.
``power_cycle_after`` failures in a row power-cycle a sensor that has a ``power_pin``.

Push sensors (MQTT) have no loop: their source calls ``ingest`` with each reading's
own timestamp, which goes through the same filter, states and sinks, and
``check_silence`` to turn a silent sensor ``offline``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from drivers.base import Driver, Sample
from drivers.errors import DriverError, ImplausibleReadingError, ReadTimeoutError
from drivers.gpio import GpioBackend, PowerSwitch, open_backend
from drivers.registry import DRIVER_SPECS, open_driver
from sensorhub.config import SensorConfig
from sensorhub.readings import Reading, SensorState
from sensorhub.runtime import OffLoopTimeoutError, Runtime, real_lock

log = logging.getLogger(__name__)

CLOCK_JUMP_THRESHOLD = 2.0  # seconds the wall clock may drift from monotonic unnoticed
JUMP_CONFIRMATIONS = 3  # agreeing readings that turn a "jump" into a real change
REOPEN_DELAY = 30.0  # seconds between attempts to open a driver that failed to open
NO_READING_YET = "no reading yet"
POWER_SETTLE = 2.0  # seconds a DHT needs after power-up before it answers
FAILING_AFTER = 3  # failed reads in a row before an ok sensor is shown as failing


class Sink(Protocol):
    """Where the poller sends what it learns."""

    def on_reading(self, reading: Reading) -> None: ...
    def on_state(self, state: SensorState) -> None: ...


class Source(Protocol):
    """Something that pushes readings in (``Poller.ingest``); started with the poller."""

    def start(self) -> None: ...
    def stop(self) -> None: ...


@dataclass
class Health:
    """Read-health counters of one sensor."""

    attempts: int = 0
    good: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    power_cycles: int = 0
    last_good_ts: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain-data copy for the API."""
        return {"attempts": self.attempts, "good": self.good,
                "failures": dict(self.failures), "power_cycles": self.power_cycles,
                "last_good_ts": self.last_good_ts}


@dataclass
class _Sensor:
    cfg: SensorConfig
    state: SensorState
    driver: Driver | None = None
    power: PowerSwitch | None = None
    seq: int = 0
    in_flight: bool = False
    consecutive_failures: int = 0
    failures_since_cycle: int = 0  # power_cycle_after counts these
    last_good_mono: float | None = None
    last_reading: Reading | None = None
    accepted: tuple[float | None, float | None] | None = None  # last value let through
    jump_candidates: list[Sample] = field(default_factory=list)
    open_error: DriverError | None = None
    open_error_at: float = 0.0
    powered_at: float | None = None  # monotonic time the power pin last went high
    started: float = 0.0  # monotonic time polling began: "silent since" before any reading
    last_ts: float | None = None  # newest pushed ts: replays at or before it are dropped
    health: Health = field(default_factory=Health)


class Poller:
    """Schedules reads, filters samples and tracks each sensor's state."""

    def __init__(self, sensors: Sequence[SensorConfig], runtime: Runtime,
                 sinks: Sequence[Sink] = (), *, gpio_backend: str = "rpigpio",
                 open_driver: Callable[..., Driver] = open_driver,
                 wall_clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 on_cycle: Callable[[str], None] | None = None) -> None:
        self.runtime = runtime
        self.sinks = list(sinks)
        self.sources: list[Source] = []
        self._open_driver = open_driver
        self._wall = wall_clock
        self._mono = monotonic
        self.on_cycle = on_cycle
        self._gpio_backend_name = gpio_backend
        self._gpio: GpioBackend | None = None
        self._gpio_lock = real_lock()
        self._stop = runtime.event()
        self._done: list[Any] = []
        now = wall_clock()
        self._clock_offset = now - monotonic()
        self.sensors: dict[str, _Sensor] = {
            s.id: _Sensor(cfg=s, state=SensorState(s.id, s.room, "offline", now, NO_READING_YET),
                          started=monotonic())
            for s in sensors
        }

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start one background task per sensor."""
        for source in self.sources:
            source.start()
        for sensor in self.sensors.values():
            if DRIVER_SPECS[sensor.cfg.driver].push:
                continue  # its source drives it
            done = self.runtime.event()
            self._done.append(done)
            self.runtime.spawn(self._run, sensor, done)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every loop, then close drivers and release GPIO (hung ones are skipped)."""
        self._stop.set()
        for source in self.sources:
            source.stop()
        deadline = self._mono() + timeout
        for done in self._done:
            done.wait(max(0.0, deadline - self._mono()))
        for sensor in self.sensors.values():
            self._close_driver(sensor)
        if self._gpio is not None:
            self._gpio.cleanup()

    @property
    def stopping(self) -> bool:
        """Whether stop() was called."""
        return self._stop.is_set()

    def _run(self, sensor: _Sensor, done: Any) -> None:
        try:
            self._loop(sensor)
        except Exception:  # a bug in one loop must not pass silently
            log.exception("poller loop of sensor %s crashed", sensor.cfg.id)
        finally:
            done.set()

    def _loop(self, sensor: _Sensor) -> None:
        cfg = sensor.cfg
        retry_delay = DRIVER_SPECS[cfg.driver].min_interval
        start = self._mono()
        next_due = start
        while True:
            wait = next_due - self._mono()
            if (wait > 0 and self._stop.wait(wait)) or self._stop.is_set():
                return
            ok = self.poll_once(sensor)
            if self.on_cycle is not None:
                self.on_cycle(cfg.id)
            now = self._mono()
            slots = int((now - start) // cfg.interval) + 1
            next_slot = start + slots * cfg.interval
            # retry a failed read soon, but not one that is still hung in its thread
            fast_retry = not ok and not sensor.in_flight
            next_due = min(next_slot, now + retry_delay) if fast_retry else next_slot

    # -- one read --------------------------------------------------------------------
    def poll_once(self, sensor: _Sensor) -> bool:
        """Read one sensor once; update its state; return whether a reading was accepted."""
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
            if settle > 0 and self._stop.wait(settle):
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
            return self._failed(sensor, ReadTimeoutError(
                f"read timed out after {cfg.timeout:g} s"))
        except DriverError as error:
            return self._failed(sensor, error)
        except Exception as error:  # a driver bug: report it as the sensor's error
            log.exception("sensor %s: unexpected error from driver %s", cfg.id, cfg.driver)
            return self._failed(sensor, DriverError(f"{type(error).__name__}: {error}"))
        try:
            temperature, humidity = self._filter(sensor, sample)
        except ImplausibleReadingError as error:
            return self._failed(sensor, error)
        if temperature is None and humidity is None:
            return False  # a real change still being confirmed
        self._accept(sensor, temperature, humidity)
        return True

    def ingest(self, sensor_id: str, ts: float, temperature: float | None,
               humidity: float | None) -> bool:
        """Take a pushed reading made at ``ts``; return whether it was accepted.

        A reading at or before the last one taken is a replay (QoS 1 redelivery, a
        node re-sending after a crash) and is dropped before any sink sees it.
        """
        sensor = self.sensors[sensor_id]
        if sensor.last_ts is not None and ts <= sensor.last_ts:
            return False
        sensor.health.attempts += 1
        try:
            temperature, humidity = self._filter(sensor, Sample(temperature, humidity))
        except ImplausibleReadingError as error:
            return self._failed(sensor, error)
        sensor.last_ts = ts  # also for held-back jumps: their replays stay dropped
        if temperature is None and humidity is None:
            return False
        self._accept(sensor, temperature, humidity, ts)
        return True

    def seed_last_ts(self, sensor_id: str, ts: float | None) -> None:
        """Drop pushed readings at or before ``ts`` (the newest one already stored)."""
        self.sensors[sensor_id].last_ts = ts

    def push_failure(self, sensor_id: str, error: DriverError) -> None:
        """Count a bad pushed message as a failed read."""
        self._failed(self.sensors[sensor_id], error)

    def report_state(self, sensor_id: str, state: str, error: str) -> None:
        """Show a push sensor as ``failing``/``offline`` because its source says so."""
        self._set_state(self.sensors[sensor_id], state, error)

    def check_silence(self, sensor_id: str) -> None:
        """Turn a push sensor ``offline`` once it has been silent for ``offline_after``."""
        sensor = self.sensors[sensor_id]
        silent_since = sensor.last_good_mono or sensor.started
        if self._mono() - silent_since >= sensor.cfg.offline_after:
            self._set_state(sensor, "offline", sensor.state.error if sensor.state.state ==
                            "offline" else f"silent: no reading for {sensor.cfg.offline_after:g} s")

    def _ensure_driver(self, sensor: _Sensor) -> DriverError | None:
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
                    lambda: PowerSwitch(self.gpio(), pin), timeout=cfg.timeout)
                sensor.powered_at = now
            if sensor.driver is None:
                options = dict(cfg.options)
                sensor.driver = self.runtime.run_blocking(
                    lambda: self._open_driver(cfg.driver, cfg.pin, options), timeout=cfg.timeout)
        except (DriverError, OffLoopTimeoutError, OSError) as error:
            failure = DriverError(f"cannot open {cfg.driver} sensor: {error}")
            failure.kind = getattr(error, "kind", "unavailable")
            if sensor.open_error is None or str(sensor.open_error) != str(failure):
                log.error("sensor %s: %s", cfg.id, failure)
            sensor.open_error, sensor.open_error_at = failure, now
            return failure
        sensor.open_error = None
        return None

    def gpio(self) -> GpioBackend:
        """The GPIO backend shared by power pins and alarm outputs (opened on first use)."""
        with self._gpio_lock:  # two sensor loops may ask at once
            if self._gpio is None:
                self._gpio = open_backend(self._gpio_backend_name)
            return self._gpio

    def _filter(self, sensor: _Sensor, sample: Sample) -> tuple[float | None, float | None]:
        """Apply calibration, then reject values outside the sensor's range and lone jumps.

        A jump larger than ``max_jump`` is held back; if the next readings agree with
        it, it was a real change (a door opened) and is let through.
        """
        cfg = sensor.cfg
        spec = DRIVER_SPECS[cfg.driver]
        t = None if sample.temperature is None else round(
            sample.temperature + cfg.temperature_offset, 2)
        h = None if sample.humidity is None else round(sample.humidity + cfg.humidity_offset, 2)
        # the datasheet range plus a margin: sensors read a little past their spec
        low, high = spec.temperature_range[0] - 5, spec.temperature_range[1] + 5
        if t is not None and not low <= t <= high:
            raise ImplausibleReadingError(f"temperature {t} °C is outside {low:g}..{high:g} °C")
        low, high = max(0.0, spec.humidity_range[0] - 10), min(100.0, spec.humidity_range[1] + 10)
        if h is not None and not low <= h <= high:
            raise ImplausibleReadingError(f"humidity {h} % is outside {low:g}..{high:g} %")
        if sensor.accepted is not None and not spec.prefiltered:
            last_t, last_h = sensor.accepted
            jumped = (t is not None and last_t is not None
                      and abs(t - last_t) > cfg.max_jump_temperature) or (
                      h is not None and last_h is not None
                      and abs(h - last_h) > cfg.max_jump_humidity)
            if jumped:
                candidates = sensor.jump_candidates
                if candidates and not self._agree(cfg, candidates[-1], Sample(t, h)):
                    candidates.clear()
                candidates.append(Sample(t, h))
                if len(candidates) < JUMP_CONFIRMATIONS:
                    raise ImplausibleReadingError(
                        f"jump from {last_t} °C/{last_h} % to {t} °C/{h} % rejected")
                log.info("sensor %s: accepted a real change to %s °C / %s %%", cfg.id, t, h)
        sensor.jump_candidates.clear()
        return t, h

    @staticmethod
    def _agree(cfg: SensorConfig, a: Sample, b: Sample) -> bool:
        return all(
            x is None or y is None or abs(x - y) <= limit
            for x, y, limit in ((a.temperature, b.temperature, cfg.max_jump_temperature),
                                (a.humidity, b.humidity, cfg.max_jump_humidity)))

    def _accept(self, sensor: _Sensor, t: float | None, h: float | None,
                ts: float | None = None) -> None:
        sensor.seq += 1
        sensor.accepted = (t, h)
        sensor.consecutive_failures = sensor.failures_since_cycle = 0
        sensor.last_good_mono = self._mono()
        reading = Reading(sensor.cfg.id, sensor.cfg.room, self._wall() if ts is None else ts,
                          sensor.seq, t, h)
        sensor.last_reading = reading
        sensor.health.good += 1
        sensor.health.last_good_ts = reading.ts
        self._update_state(sensor, None)
        for sink in self.sinks:
            try:
                sink.on_reading(reading)
            except Exception:  # one broken sink must not starve the others
                log.exception("sink %r failed on a reading", sink)

    def _failed(self, sensor: _Sensor, error: DriverError) -> bool:
        cfg = sensor.cfg
        sensor.health.failures[error.kind] += 1
        sensor.consecutive_failures += 1
        sensor.failures_since_cycle += 1
        message = f"{error.kind}: {error}"
        if sensor.power is not None and sensor.failures_since_cycle >= cfg.power_cycle_after:
            self._power_cycle(sensor)
        self._update_state(sensor, message)
        return False

    def _power_cycle(self, sensor: _Sensor) -> None:
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

    def _close_driver(self, sensor: _Sensor) -> None:
        driver, sensor.driver = sensor.driver, None
        if driver is None or sensor.in_flight:
            return  # a hung read still owns it; closing would race the worker thread
        try:
            self.runtime.run_blocking(driver.close, timeout=2.0)
        except (DriverError, OffLoopTimeoutError, OSError, RuntimeError) as error:
            log.warning("sensor %s: close failed: %s", sensor.cfg.id, error)

    def _update_state(self, sensor: _Sensor, error: str | None) -> None:
        cfg = sensor.cfg
        silent_since = sensor.last_good_mono or sensor.started
        if error is None:
            state = "ok"
        elif self._mono() - silent_since >= cfg.offline_after:
            state = "offline"
        elif sensor.consecutive_failures >= FAILING_AFTER or sensor.last_good_mono is None:
            state = "failing"
        else:  # a lone checksum error, retried shortly: not worth alarming anyone
            log.debug("sensor %s: %s (retrying)", cfg.id, error)
            return
        self._set_state(sensor, state, error)

    def _set_state(self, sensor: _Sensor, state: str, error: str | None) -> None:
        cfg = sensor.cfg
        old = sensor.state
        if state == old.state and error == old.error:
            return
        if state == old.state and state != "ok":
            # same state, new message: keep 'since', update the error quietly
            sensor.state = SensorState(cfg.id, cfg.room, state, old.since, error)
            return
        sensor.state = SensorState(cfg.id, cfg.room, state, self._wall(), error)
        if state != "ok":
            log.warning("sensor %s is %s: %s", cfg.id, state, error)
        elif old.error != NO_READING_YET:
            log.info("sensor %s is ok again", cfg.id)
        for sink in self.sinks:
            try:
                sink.on_state(sensor.state)
            except Exception:
                log.exception("sink %r failed on a state change", sink)

    def _check_clock(self) -> None:
        offset = self._wall() - self._mono()
        jump = offset - self._clock_offset
        if abs(jump) > CLOCK_JUMP_THRESHOLD:
            self._clock_offset = offset
            log.warning("wall clock jumped by %+.1f s; readings keep wall-clock times, "
                        "schedules and retention follow the monotonic clock", jump)

    # -- queries ---------------------------------------------------------------------
    def states(self) -> list[SensorState]:
        """Current state of every sensor."""
        return [s.state for s in self.sensors.values()]

    def latest(self, sensor_id: str) -> Reading | None:
        """The last reading accepted from a sensor since start."""
        return self.sensors[sensor_id].last_reading

    def health(self, sensor_id: str) -> dict[str, Any]:
        """Read-health counters of a sensor."""
        return self.sensors[sensor_id].health.as_dict()
