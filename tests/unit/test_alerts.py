"""Alerts: hold time, hysteresis, offline alerts, alarm outputs, restarts, webhook."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from drivers.gpio import MockGpioBackend
from sensorhub.alerts.engine import AlertEngine, AlertLog
from sensorhub.config import parse_config
from sensorhub.readings import Reading, SensorState
from sensorhub.runtime import ThreadingRuntime
from sensorhub.storage.store import Store

CONFIG = """
rooms: [{id: a}, {id: b}]
sensors:
  - id: s1
    room: a
    driver: mock
    interval: 1
    alerts:
      - {quantity: temperature, above: 30, for: 60, clear_hysteresis: 1.0, output_pin: 27}
      - {quantity: humidity, below: 20, output_pin: 22, active: low}
  - {id: s2, room: b, driver: mock, interval: 1}
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(tmp_path: Path) -> Any:
    config = parse_config(CONFIG, tmp_path / "config.yaml")
    store = Store(tmp_path / "db.sqlite")
    log = AlertLog(store.connect)
    gpio = MockGpioBackend()
    events: list[dict[str, Any]] = []
    clock = Clock()

    def engine() -> AlertEngine:
        made = AlertEngine(config, log, ThreadingRuntime(), emit=events.append,
                           gpio=lambda: gpio, monotonic=clock)
        made.start()
        return made

    yield config, engine, events, gpio, clock, log
    store.close()


def feed(engine: AlertEngine, clock: Clock, t: float, h: float = 50.0, seconds: float = 10,
         sensor: str = "s1") -> None:
    clock.now += seconds
    engine.on_reading(Reading(sensor, "a", clock.now, 1, t, h))


def test_no_alert_before_the_hold_time(setup: Any) -> None:
    _, make, events, _, clock, _ = setup
    engine = make()
    feed(engine, clock, 31.0)
    for _ in range(5):
        feed(engine, clock, 31.5)  # 50 s above 30
    assert events == []
    feed(engine, clock, 25.0)  # dips below: the hold starts over
    for _ in range(5):
        feed(engine, clock, 31.0)
    assert events == []
    feed(engine, clock, 31.0, seconds=15)  # 55 s in a row: not yet
    assert events == []
    feed(engine, clock, 31.0, seconds=10)  # 65 s
    assert [(e["kind"], e["state"], e["value"], e["threshold"]) for e in events] == [
        ("temperature_above", "firing", 31.0, 30.0)]
    assert events[0]["room"] == "a" and events[0]["sensor"] == "s1"


def test_one_firing_and_one_cleared_per_episode_with_hysteresis(setup: Any) -> None:
    _, make, events, gpio, clock, log = setup
    engine = make()
    for _ in range(8):
        feed(engine, clock, 32.0)  # fires once, however long it lasts
    feed(engine, clock, 29.5)  # below 30 but inside the 1.0 band: still firing
    feed(engine, clock, 30.5)
    feed(engine, clock, 29.2)
    assert [e["state"] for e in events] == ["firing"]
    feed(engine, clock, 28.9)  # past the band: cleared
    feed(engine, clock, 28.0)
    assert [e["state"] for e in events] == ["firing", "cleared"]
    assert gpio.states(27) == [False, True, False]  # setup inactive, on, off
    history = log.history()
    assert len(history) == 1 and history[0]["cleared_value"] == 28.9


def test_active_low_output_and_humidity_below(setup: Any) -> None:
    _, make, events, gpio, clock, _ = setup
    engine = make()
    feed(engine, clock, 21.0, h=15.0)  # no hold time: fires at once
    feed(engine, clock, 21.0, h=19.8)  # inside the 0.5 band
    feed(engine, clock, 21.0, h=21.0)
    assert [(e["kind"], e["state"]) for e in events] == [
        ("humidity_below", "firing"), ("humidity_below", "cleared")]
    assert gpio.states(22) == [True, False, True]  # active low: idle high, alarm low


def test_offline_is_an_alert_of_its_own(setup: Any) -> None:
    _, make, events, _, _, _ = setup
    engine = make()
    engine.on_state(SensorState("s2", "b", "failing", 1.0, "checksum"))
    engine.on_state(SensorState("s2", "b", "offline", 2.0, "not_found"))
    engine.on_state(SensorState("s2", "b", "offline", 3.0, "timeout"))
    engine.on_state(SensorState("s2", "b", "ok", 4.0, None))
    assert [(e["sensor"], e["room"], e["kind"], e["state"]) for e in events] == [
        ("s2", "b", "offline", "firing"), ("s2", "b", "offline", "cleared")]


def test_alert_state_survives_a_restart(setup: Any) -> None:
    _, make, events, gpio, clock, log = setup
    first = make()
    for _ in range(8):
        feed(first, clock, 33.0)
    assert len(events) == 1
    second = make()  # a restart: same database, new engine
    assert second.active(["s1"])[0]["kind"] == "temperature_above"
    assert gpio.levels[27] is True  # the alarm output is set again at start
    for _ in range(8):
        feed(second, clock, 33.0)
    assert len(events) == 1  # no second firing for the same episode
    feed(second, clock, 20.0)
    assert [e["state"] for e in events] == ["firing", "cleared"]
    assert len(log.history()) == 1 and log.active() == []


class Hook(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    delay = 0.0

    def do_POST(self) -> None:
        time.sleep(self.delay)
        length = int(self.headers["Content-Length"])
        Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook_server() -> Any:
    Hook.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def engine_with_webhook(tmp_path: Path, url: str, timeout: float) -> tuple[AlertEngine, list[Any]]:
    config = parse_config(CONFIG + f"webhook: {{url: '{url}', timeout: {timeout}, retries: 1}}\n",
                          tmp_path / "config.yaml")
    events: list[Any] = []
    engine = AlertEngine(config, AlertLog(Store(tmp_path / "db.sqlite").connect),
                         ThreadingRuntime(), emit=events.append, gpio=MockGpioBackend)
    engine.start()
    return engine, events


def test_webhook_receives_alerts(tmp_path: Path, hook_server: Any) -> None:
    port = hook_server.server_address[1]
    engine, _ = engine_with_webhook(tmp_path, f"http://127.0.0.1:{port}/hook", 2)
    engine.on_reading(Reading("s1", "a", time.time(), 1, 21.0, 10.0))
    deadline = time.monotonic() + 10
    while not Hook.received and time.monotonic() < deadline:
        time.sleep(0.05)
    engine.stop()
    assert Hook.received and Hook.received[0]["kind"] == "humidity_below"


def test_a_hanging_webhook_never_delays_readings(tmp_path: Path, hook_server: Any) -> None:
    Hook.delay = 3.0
    try:
        port = hook_server.server_address[1]
        engine, events = engine_with_webhook(tmp_path, f"http://127.0.0.1:{port}/hook", 0.5)
        started = time.monotonic()
        for i in range(20):  # fires and clears ten times: twenty webhook posts queued
            engine.on_reading(Reading("s1", "a", time.time(), i, 21.0, 10.0 if i % 2 else 40.0))
        elapsed = time.monotonic() - started
        engine.stop()
    finally:
        Hook.delay = 0.0
    assert len(events) == 19  # every transition was pushed right away
    assert elapsed < 1.0, f"the sink took {elapsed:.2f} s: webhook posts blocked it"


ACK_CONFIG = CONFIG.replace(
    "{quantity: humidity, below: 20, output_pin: 22, active: low}",
    "{quantity: humidity, below: 20, output_pin: 22, active: low, silence_on_ack: false}")


def test_acknowledging_stores_who_and_when_and_silences_the_output_per_rule(
        tmp_path: Path) -> None:
    config = parse_config(ACK_CONFIG, tmp_path / "config.yaml")
    store = Store(tmp_path / "db.sqlite")
    log = AlertLog(store.connect)
    gpio, events, clock = MockGpioBackend(), [], Clock()
    wall = [5000.0]

    def make() -> AlertEngine:
        engine = AlertEngine(config, log, ThreadingRuntime(), emit=events.append,
                             gpio=lambda: gpio, monotonic=clock, wall_clock=lambda: wall[0])
        engine.start()
        return engine

    engine = make()
    assert engine.acknowledge("s1", "temperature_above", "alice") is None  # not firing
    for _ in range(8):
        feed(engine, clock, 32.0, h=15.0)  # both rules fire
    assert gpio.levels[27] is True and gpio.levels[22] is False  # 22 is active low
    answer = engine.acknowledge("s1", "temperature_above", "alice")
    assert answer is not None and (answer["acked"], answer["acked_by"]) == (5000.0, "alice")
    assert events[-1]["state"] == "acknowledged" and events[-1]["acked_by"] == "alice"
    assert gpio.levels[27] is False  # silence_on_ack (the default): the buzzer stops
    engine.acknowledge("s1", "humidity_below", "bob")
    assert gpio.levels[22] is False  # silence_on_ack: false, the relay stays in alarm
    wall[0] += 60
    engine.acknowledge("s1", "temperature_above", "bob")  # the first acknowledgement stays
    assert sorted((a["kind"], a["acked"], a["acked_by"]) for a in log.active()) == [
        ("humidity_below", 5000.0, "bob"), ("temperature_above", 5000.0, "alice")]
    assert len([e for e in events if e["state"] == "acknowledged"]) == 2

    again = make()  # a restart keeps the acknowledgement and the silenced output
    assert gpio.levels[27] is False
    assert again.active(["s1"])[0]["acked_by"] in ("alice", "bob")
    feed(again, clock, 20.0, h=50.0)  # both clear as usual
    assert [e["state"] for e in events][-2:] == ["cleared", "cleared"]
    for _ in range(8):  # a new episode is not acknowledged: the output sounds again
        feed(again, clock, 33.0)
    assert gpio.levels[27] is True and again.active(["s1"])[0]["acked"] is None
    store.close()
