"""Ticks: the poller says when every sensor due at an instant has been read.

The bookkeeping on its own first, then the real threaded poller: a tick ends only
after each reading of it has reached the sinks, once per instant, failures included.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from sensorhub.polling.loop import Poller
from sensorhub.polling.ticks import Ticks, instant_key
from sensorhub.readings import Reading, SensorState
from sensorhub.runtime import ThreadingRuntime
from tests.unit.test_poller import sensor


def test_a_tick_ends_when_the_last_sensor_due_is_done() -> None:
    ended: list[int] = []
    ticks = Ticks(lambda: ended.append(1))
    keys = [ticks.expect(s, 10.0) for s in ("a1", "a2", "b1")]
    assert len(set(keys)) == 1
    later = ticks.expect("c1", 12.0)  # another instant is its own tick
    ticks.done("a1", keys[0])
    ticks.done("b1", keys[0])
    assert ended == []
    ticks.done("a2", keys[0])
    assert ended == [1]
    assert ticks.pending() == {later: frozenset({"c1"})}
    ticks.done("a2", keys[0])  # a second word about a finished instant changes nothing
    assert ended == [1]
    ticks.done("c1", later)
    assert ended == [1, 1] and ticks.pending() == {}


def test_a_sensor_that_is_gone_is_no_longer_waited_for() -> None:
    ended: list[int] = []
    ticks = Ticks(lambda: ended.append(1))
    key = ticks.expect("a1", 5.0)
    ticks.expect("gone", 5.0)
    later = ticks.expect("gone", 6.0)
    ticks.done("a1", key)
    assert ended == []
    ticks.forget("gone")  # a reload removed it while its instants were open
    assert ended == [1], "the instant it was the last to be due at ends"
    assert later not in ticks.pending() and ticks.pending() == {}


def test_instants_that_differ_only_in_float_rounding_are_one_tick() -> None:
    assert 0.1 * 3 != 0.3 * 1
    assert instant_key(0.1 * 3) == instant_key(0.3 * 1)
    assert instant_key(4321.5 + 0.1 * 3) == instant_key(4321.5 + 0.3 * 1)


def test_a_failing_listener_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    ticks = Ticks(broken)
    ticks.done("a1", ticks.expect("a1", 1.0))
    assert "tick listener failed" in caplog.text


class TickSink:
    """Records readings and tick ends in the order the poller delivers them."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.lock = threading.Lock()

    def on_reading(self, reading: Reading) -> None:
        with self.lock:
            self.events.append((reading.sensor, reading.seq))

    def on_state(self, state: SensorState) -> None:
        pass

    def on_tick(self) -> None:
        with self.lock:
            self.events.append("tick")

    def ticks(self) -> list[list[Any]]:
        """The readings of each tick that ended, in order."""
        with self.lock:
            events = list(self.events)
        out: list[list[Any]] = [[]]
        for event in events:
            if event == "tick":
                out.append([])
            else:
                out[-1].append(event)
        return out[:-1]


def run_poller(cfgs: list[Any], sink: TickSink, seconds: float) -> None:
    poller = Poller(cfgs, ThreadingRuntime(), [sink], on_tick=sink.on_tick)
    poller.start()
    try:
        deadline = time.monotonic() + 10
        while len(sink.ticks()) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(seconds)
    finally:
        poller.stop()


def test_each_tick_of_the_threaded_poller_holds_every_sensor_due() -> None:
    sink = TickSink()
    cfgs = [sensor(f"s{i}", interval=0.2, options={"seed": i}) for i in range(4)]
    run_poller(cfgs, sink, 0.1)
    ticks = sink.ticks()
    assert len(ticks) >= 4
    for n, tick in enumerate(ticks, start=1):
        # every reading of the instant reached the sinks before its tick ended
        assert sorted(tick) == [(f"s{i}", n) for i in range(4)], ticks


def test_a_failed_read_still_ends_its_tick() -> None:
    sink = TickSink()
    cfgs = [sensor("ok", interval=0.2, options={"seed": 1}),
            sensor("bad", interval=0.2, options={"seed": 2, "fault_rate": 1.0})]
    run_poller(cfgs, sink, 0.1)
    ticks = sink.ticks()
    # the failing sensor retries between slots: those retries end ticks of their own
    with_readings = [t for t in ticks if t]
    assert len(with_readings) >= 3
    assert all(t == [("ok", n)] for n, t in enumerate(with_readings, start=1)), ticks


def test_intervals_that_meet_share_their_ticks() -> None:
    sink = TickSink()
    cfgs = [sensor("fast", interval=0.1, options={"seed": 1}),
            sensor("slow", interval=0.2, options={"seed": 2})]
    run_poller(cfgs, sink, 0.2)
    sensors = [sorted(s for s, _ in tick) for tick in sink.ticks()]
    # instants alternate: both sensors, then the fast one alone
    assert sensors[:4] == [["fast", "slow"], ["fast"], ["fast", "slow"], ["fast"]], sensors
