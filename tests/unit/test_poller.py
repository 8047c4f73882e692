"""sensorhub/poller.py with real threads (ThreadingRuntime): cadence, states, filter, power.

Single reads are driven with ``poll_once`` and a hand-moved clock where exact counts
matter; the schedule itself runs on real threads with short intervals.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

import sensorhub.polling.loop as poller_module
from drivers.base import DriverBase, Sample
from drivers.dht import DHT22Driver
from drivers.errors import ChecksumError, DriverError, SensorNotFoundError
from drivers.gpio import PowerSwitch
from drivers.mock import MockDriver
from drivers.registry import open_driver
from sensorhub.config import SensorConfig, parse_config
from sensorhub.polling.loop import Poller
from sensorhub.polling.power import SharedGpio
from sensorhub.readings import Reading, SensorState
from sensorhub.runtime import ThreadingRuntime

WALL0 = 1_700_000_000.0
GOOD = Sample(21.0, 45.0)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        """The matching wall clock."""
        return WALL0 + self.now


class ScriptedDriver(DriverBase):
    """Returns (or raises) a scripted sequence, then repeats ``then``."""

    min_interval = 0.0

    def __init__(self, *script: Sample | DriverError, then: Sample | DriverError = GOOD
                 ) -> None:
        self.script = deque(script)
        self.then = then
        self.reads = 0
        self.streak = 0  # failures in a row it produced
        self.closes = 0

    def read(self) -> Sample:
        self.reads += 1
        item = self.script.popleft() if self.script else self.then
        if isinstance(item, DriverError):
            self.streak += 1
            raise type(item)(*item.args)
        self.streak = 0
        return item

    def close(self) -> None:
        self.closes += 1


def checksum() -> ChecksumError:
    return ChecksumError("Checksum did not validate. Try again.")


class RecordingSink:
    """Records what the poller delivers, with the monotonic time it arrived."""

    def __init__(self, probe: Callable[[], Any] | None = None) -> None:
        self.readings: list[tuple[float, Reading]] = []
        self.states: list[SensorState] = []
        self.probes: list[Any] = []  # probe() at each state change
        self._probe = probe
        self._changed = threading.Condition()

    def on_reading(self, reading: Reading) -> None:
        with self._changed:
            self.readings.append((time.monotonic(), reading))
            self._changed.notify_all()

    def on_state(self, state: SensorState) -> None:
        with self._changed:
            self.states.append(state)
            self.probes.append(self._probe() if self._probe else None)
            self._changed.notify_all()

    def readings_of(self, sensor: str) -> list[Reading]:
        with self._changed:
            return [r for _, r in self.readings if r.sensor == sensor]

    def times_of(self, sensor: str) -> list[float]:
        with self._changed:
            return [t for t, r in self.readings if r.sensor == sensor]

    def states_of(self, sensor: str) -> list[str]:
        with self._changed:
            return [s.state for s in self.states if s.sensor == sensor]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until predicate() holds (checked at every delivery)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.05))
            return True


def sensor(sensor_id: str = "s1", driver: str = "mock", **fields: Any) -> SensorConfig:
    """A SensorConfig with test-friendly defaults."""
    fields.setdefault("interval", 0.1)
    fields.setdefault("timeout", 1.0)
    if "options" in fields:
        fields["options"] = MappingProxyType(dict(fields["options"]))
    return SensorConfig(id=sensor_id, name=sensor_id.upper(), room="lab", driver=driver,
                        **fields)


def scripted_poller(cfg: SensorConfig, driver: ScriptedDriver, sink: RecordingSink,
                    clock: Clock, **kwargs: Any) -> Poller:
    """A poller whose one sensor reads ``driver`` and whose clocks are ``clock``."""
    return Poller([cfg], ThreadingRuntime(), [sink], open_driver=lambda *_: driver,
                  wall_clock=clock.wall, monotonic=clock, **kwargs)


def sensorhub_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("sensorhub-") and t.is_alive()}


def eventually(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def threads_left() -> Callable[[], set[threading.Thread]]:
    """Poller threads started during the test that are still alive (after a grace period)."""
    before = sensorhub_threads()

    def left() -> set[threading.Thread]:
        eventually(lambda: not (sensorhub_threads() - before), timeout=3.0)
        return sensorhub_threads() - before

    return left


# -- states ------------------------------------------------------------------------

def test_state_changes_are_delivered_once_each():
    clock, sink = Clock(), RecordingSink()
    driver = ScriptedDriver(GOOD, then=checksum())
    poller = scripted_poller(sensor(offline_after=60.0), driver, sink, clock)
    one = "s1"
    initial = poller.states()[0]
    assert (initial.state, initial.error) == ("offline", "no reading yet")

    assert poller.poll_once(one) is True
    assert [s.state for s in sink.states] == ["ok"]
    last_good = clock.now
    for _ in range(2):  # two failures in a row: retried quietly
        clock.now += 2
        assert poller.poll_once(one) is False
    assert [s.state for s in sink.states] == ["ok"]
    assert poller.states()[0].state == "ok"
    clock.now += 2
    poller.poll_once(one)  # the third
    assert [s.state for s in sink.states] == ["ok", "failing"]
    assert sink.states[-1].error == "checksum: Checksum did not validate. Try again."
    assert sink.states[-1].since == clock.wall()
    while clock.now < last_good + 58:  # still failing, not yet offline: nothing new
        clock.now += 2
        poller.poll_once(one)
    assert [s.state for s in sink.states] == ["ok", "failing"]
    clock.now = last_good + 60
    poller.poll_once(one)
    assert [s.state for s in sink.states] == ["ok", "failing", "offline"]
    for _ in range(3):
        clock.now += 2
        poller.poll_once(one)
    driver.then = GOOD
    clock.now += 2
    assert poller.poll_once(one) is True
    assert [s.state for s in sink.states] == ["ok", "failing", "offline", "ok"]
    assert sink.states[-1].error is None
    assert poller.health("s1")["failures"] == {"checksum": driver.reads - 2}
    assert len(sink.readings) == 2


def test_a_lone_failure_between_good_reads_changes_nothing():
    clock, sink = Clock(), RecordingSink()
    driver = ScriptedDriver(GOOD, checksum(), GOOD, checksum(), checksum(), GOOD, GOOD)
    poller = scripted_poller(sensor(), driver, sink, clock)
    results = []
    for _ in range(7):
        clock.now += 1
        results.append(poller.poll_once("s1"))
    assert results == [True, False, True, False, False, True, True]
    assert [s.state for s in sink.states] == ["ok"]
    assert len(sink.readings) == 4
    assert [r.seq for _, r in sink.readings] == [1, 2, 3, 4]
    health = poller.health("s1")
    assert (health["attempts"], health["good"], health["failures"]) == (7, 4, {"checksum": 3})


def test_failures_before_the_first_reading_show_as_failing_at_once():
    clock, sink = Clock(), RecordingSink()
    poller = scripted_poller(sensor(), ScriptedDriver(then=checksum()), sink, clock)
    poller.poll_once("s1")
    assert [s.state for s in sink.states] == ["failing"]


def test_the_threaded_loop_walks_through_every_state_once(threads_left):
    driver = ScriptedDriver(then=GOOD)
    sink = RecordingSink(probe=lambda: driver.streak)
    cfg = sensor(interval=0.05, offline_after=0.6)
    poller = Poller([cfg], ThreadingRuntime(), [sink], open_driver=lambda *_: driver)
    poller.start()
    try:
        assert sink.wait_for(lambda: sink.states_of("s1") == ["ok"])
        driver.then = checksum()
        assert sink.wait_for(lambda: "failing" in sink.states_of("s1"))
        assert sink.wait_for(lambda: "offline" in sink.states_of("s1"))
        last_good = sink.times_of("s1")[-1]
        assert time.monotonic() - last_good >= 0.55  # the sink runs just after the poller
        driver.then = GOOD
        assert sink.wait_for(lambda: sink.states_of("s1")[-1:] == ["ok"]
                             and len(sink.states_of("s1")) > 1)
    finally:
        poller.stop()
    assert sink.states_of("s1") == ["ok", "failing", "offline", "ok"]
    assert sink.probes[1] == 3  # failing exactly at the third failure in a row
    assert not threads_left()


# -- plausibility and calibration --------------------------------------------------

def poll_all(poller: Poller, n: int, clock: Clock) -> list[bool]:
    results = []
    for _ in range(n):
        clock.now += 1
        results.append(poller.poll_once("s1"))
    return results


@pytest.mark.parametrize(("driver_name", "bad", "fine"), [
    ("mock", Sample(86.0, 50.0), Sample(84.9, 50.0)),  # DHT22: -40..80 °C, 5 °C leeway
    ("mock", Sample(-45.5, 50.0), Sample(-45.0, 50.0)),
    ("mock", Sample(21.0, 100.5), Sample(21.0, 100.0)),
    ("mock", Sample(21.0, -0.1), Sample(21.0, 0.0)),
    ("dht11", Sample(55.5, 50.0), Sample(55.0, 50.0)),  # DHT11: 0..50 °C
])
def test_out_of_range_values_are_rejected(driver_name, bad, fine):
    clock, sink = Clock(), RecordingSink()
    poller = scripted_poller(sensor(driver=driver_name), ScriptedDriver(bad, fine), sink, clock)
    assert poll_all(poller, 2, clock) == [False, True]
    assert [(r.temperature, r.humidity) for r in sink.readings_of("s1")] == [tuple(fine)[:2]]
    assert poller.health("s1")["failures"] == {"implausible": 1}


def test_a_single_spike_is_rejected():
    clock, sink = Clock(), RecordingSink()
    driver = ScriptedDriver(Sample(21.0, 50.0), Sample(60.0, 50.0), Sample(21.2, 50.0),
                            Sample(21.1, 90.0), Sample(21.3, 51.0))
    poller = scripted_poller(sensor(), driver, sink, clock)
    assert poll_all(poller, 5, clock) == [True, False, True, False, True]
    assert [(r.temperature, r.humidity) for r in sink.readings_of("s1")] == [
        (21.0, 50.0), (21.2, 50.0), (21.3, 51.0)]
    assert [s.state for s in sink.states] == ["ok"]


def test_a_sustained_change_is_accepted_at_the_third_agreeing_reading():
    clock, sink = Clock(), RecordingSink()
    driver = ScriptedDriver(*(Sample(t, 50.0) for t in (21.0, 35.0, 35.1, 35.2, 35.3)))
    poller = scripted_poller(sensor(), driver, sink, clock)
    assert poll_all(poller, 5, clock) == [True, False, False, True, True]
    assert [r.temperature for r in sink.readings_of("s1")] == [21.0, 35.2, 35.3]
    assert [s.state for s in sink.states] == ["ok"]


def test_jump_candidates_must_agree_with_each_other():
    clock, sink = Clock(), RecordingSink()
    temps = (21.0, 40.0, 60.0, 60.1, 60.2)
    driver = ScriptedDriver(*(Sample(t, 50.0) for t in temps))
    poller = scripted_poller(sensor(), driver, sink, clock)
    assert poll_all(poller, 5, clock) == [True, False, False, False, True]
    assert [r.temperature for r in sink.readings_of("s1")] == [21.0, 60.2]


CONFIG = """
rooms:
  - {id: lab, name: Lab}
sensors:
  - id: s1
    room: lab
    driver: mock
    interval: 0.5
    options: {seed: 5}
    offsets: {temperature: -1.5, humidity: 3}
"""


def test_calibration_offsets_from_the_config_are_applied():
    config = parse_config(CONFIG, Path("/etc/sensorhub/config.yaml"))
    opened = []
    driver = ScriptedDriver(Sample(1.6, 45.0), Sample(1.5, 50.0), Sample(2.0, 98.0))

    def opener(name: str, pin: int | None, options: dict[str, Any]) -> ScriptedDriver:
        opened.append((name, pin, dict(options)))
        return driver

    clock, sink = Clock(), RecordingSink()
    poller = Poller(config.sensors, ThreadingRuntime(), [sink], open_driver=opener,
                    wall_clock=clock.wall, monotonic=clock)
    assert poll_all(poller, 3, clock) == [True, True, False]
    assert opened == [("mock", None, {"seed": 5})]
    # 1.5 °C - 1.5 is 0.0 °C: a reading, never "no value"; 98 % + 3 is out of range
    assert [(r.temperature, r.humidity) for r in sink.readings_of("s1")] == [
        (0.1, 48.0), (0.0, 53.0)]
    assert poller.latest("s1").temperature == 0.0


# -- schedules ---------------------------------------------------------------------

def test_a_hanging_sensor_does_not_delay_a_healthy_one(threads_left):
    sink = RecordingSink()
    hanging = sensor("hung", options={"seed": 1, "hang_rate": 1.0, "hang_seconds": 0.3},
                     timeout=0.2)
    healthy = sensor("fine", options={"seed": 2})
    poller = Poller([hanging, healthy], ThreadingRuntime(), [sink])
    poller.start()
    time.sleep(1.5)
    poller.stop()
    times = sink.times_of("fine")
    assert 13 <= len(times) <= 17, len(times)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert 0.08 <= statistics.median(gaps) <= 0.12, gaps
    # each hung read holds its own thread for the 0.2 s timeout: had it held the
    # healthy sensor's, gaps would be >= 0.2 every time (one scheduler hiccup is allowed)
    assert sum(gap >= 0.15 for gap in gaps) <= 1, gaps
    assert max(gaps) < 0.6, gaps  # even that one hiccup is far below a held thread
    assert sink.readings_of("hung") == []
    health = poller.health("hung")
    assert health["attempts"] >= 3  # it really was reading (and hanging) all along
    assert health["failures"]["timeout"] >= 3
    assert sink.states_of("hung") == ["failing"]
    assert "timeout" in poller.states()[0].error
    assert not threads_left()


def test_a_sensor_that_cannot_open_is_reported_and_the_others_go_on(no_hardware,
                                                                   threads_left):
    opens: Counter[str] = Counter()

    def opener(name: str, pin: int | None, options: Any) -> Any:
        opens[name] += 1
        return open_driver(name, pin, options)

    sink = RecordingSink()
    cfgs = [sensor("dht", driver="dht22", pin=4), sensor("m", options={"seed": 2})]
    poller = Poller(cfgs, ThreadingRuntime(), [sink], open_driver=opener)
    poller.start()
    try:
        assert sink.wait_for(lambda: len(sink.readings_of("m")) >= 6
                             and sink.states_of("dht") != [])
    finally:
        poller.stop()
    assert sink.states_of("dht") == ["failing"]
    error = poller.states()[0].error
    assert error.startswith("unavailable: cannot open dht22 sensor: ")
    assert "pip install 'sensorhub[pi]'" in error
    assert opens["dht22"] == 1  # not retried at every tick
    assert sink.readings_of("dht") == []
    assert sink.states_of("m") == ["ok"]
    assert not threads_left()


# -- power cycling -----------------------------------------------------------------

def test_a_hung_dht_is_power_cycled_and_recovers(fake_hardware, threads_left, monkeypatch):
    # the library's 2 s window, scaled down to 0.3 s in the fake and in the driver; the
    # 2 s without power and the 2 s a DHT settles after power-up, to 0.5 s each (the
    # fake revives after 0.3 s without power: the switch must wait it out)
    fake_hardware.cache_seconds = 0.3
    monkeypatch.setattr(DHT22Driver, "library_cache_seconds", 0.3)
    monkeypatch.setattr(poller_module, "PowerSwitch", partial(PowerSwitch, off_seconds=0.5))
    monkeypatch.setattr(poller_module, "POWER_SETTLE", 0.5)
    fake_hardware.stick(pin=4, power_pin=17, min_off=0.3)
    fake_hardware.script(pin=4, then="ok:22.5,41.0")
    cfg = sensor("dht", driver="dht22", pin=4, power_pin=17, power_cycle_after=2,
                 timeout=3.0)
    sink = RecordingSink()
    poller = Poller([cfg], ThreadingRuntime(), [sink], gpio=SharedGpio("rpigpio"))
    poller.start()
    try:
        assert sink.wait_for(lambda: sink.states_of("dht")[-1:] == ["ok"], timeout=8.0)
    finally:
        poller.stop()
    assert sink.states_of("dht") == ["failing", "ok"]
    events = fake_hardware.events(17)
    assert [(e.level, e.how) for e in events] == [
        (True, "setup"), (False, "output"), (True, "output")]
    assert events[2].t - events[1].t >= 0.5  # long enough to drain the sensor
    # the old device let go of its data line before the power was cut
    assert fake_hardware.exits[0] == (pytest.approx(fake_hardware.exits[0][0]), 4)
    assert fake_hardware.exits[0][0] <= events[1].t
    assert fake_hardware.exit_count(4) == 2  # the hung device, then the new one at stop
    assert fake_hardware.sensor(4).revivals == 1
    before_cycle = [kind for t, _, kind in fake_hardware.measures if t < events[1].t]
    assert before_cycle == ["notfound", "notfound"]  # power_cycle_after real measurements
    assert poller.health("dht")["power_cycles"] == 1
    readings = sink.readings_of("dht")
    assert readings
    assert {(r.temperature, r.humidity) for r in readings} == {(22.5, 41.0)}
    assert fake_hardware.cleaned == [17]
    assert not threads_left()


def test_frequent_power_cycles_still_show_the_sensor_failing(monkeypatch):
    # power_cycle_after below the three failures that make a sensor "failing": the
    # cycles must not hide a sensor that keeps failing
    monkeypatch.setattr(poller_module, "PowerSwitch", partial(PowerSwitch, off_seconds=0.01))
    monkeypatch.setattr(poller_module, "POWER_SETTLE", 0.01)  # real seconds: the clock is ours
    clock, sink = Clock(), RecordingSink()
    driver = ScriptedDriver(GOOD, then=SensorNotFoundError("DHT sensor not found"))
    cfg = sensor(power_pin=17, power_cycle_after=2, offline_after=600.0)
    poller = scripted_poller(cfg, driver, sink, clock, gpio=SharedGpio("mock"))
    assert poll_all(poller, 4, clock) == [True, False, False, False]
    assert [s.state for s in sink.states] == ["ok", "failing"]
    assert poller.health("s1")["power_cycles"] == 1
    assert driver.closes == 1


# -- stopping ----------------------------------------------------------------------

def test_stop_closes_every_driver_and_ends_every_thread(fake_hardware, threads_left):
    opened: list[Any] = []

    def opener(name: str, pin: int | None, options: Any) -> Any:
        driver = open_driver(name, pin, options)
        opened.append(driver)
        return driver

    sink = RecordingSink()
    cfgs = [sensor("dht", driver="dht22", pin=4, interval=2.0),
            sensor("m", options={"seed": 3})]
    poller = Poller(cfgs, ThreadingRuntime(), [sink], open_driver=opener)
    poller.start()
    try:
        assert sink.wait_for(lambda: sink.readings_of("dht") and sink.readings_of("m"))
        assert any(t.name == "sensorhub-_run" for t in sensorhub_threads())
    finally:
        poller.stop()
    assert fake_hardware.exit_count(4) == 1
    assert fake_hardware.held_lines == {}  # the pulse-in helper is gone
    mocks = [d for d in opened if isinstance(d, MockDriver)]
    assert len(mocks) == 1
    assert mocks[0].closed
    assert not threads_left()
    delivered = len(sink.readings)
    time.sleep(0.3)
    assert len(sink.readings) == delivered


def test_stop_does_not_wait_out_a_long_interval(threads_left):
    sink = RecordingSink()
    poller = Poller([sensor("slow", interval=30.0, options={"seed": 4})], ThreadingRuntime(),
                    [sink])
    poller.start()
    assert sink.wait_for(lambda: len(sink.readings) == 1)
    started = time.monotonic()
    poller.stop()
    assert time.monotonic() - started < 1.0
    assert not threads_left()
