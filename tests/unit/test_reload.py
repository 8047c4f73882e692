"""Reload, piece by piece: what a new config changes (config.diff), and how the poller,
the alert engine, the notifier and the systemd watchdog follow it on real threads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.gpio import MockGpioBackend
from drivers.mock import MockDriver
from drivers.registry import open_driver
from sensorhub.alerts.engine import AlertEngine, AlertLog
from sensorhub.alerts.outbox import Outbox
from sensorhub.config import Config, parse_config
from sensorhub.config.diff import compare
from sensorhub.polling.loop import Poller
from sensorhub.polling.power import SharedGpio
from sensorhub.readings import Reading
from sensorhub.runtime import ThreadingRuntime
from sensorhub.service.systemd import PollerWatchdog
from sensorhub.storage.store import Store
from tests.conftest import wait_for
from tests.receivers import NtfyServer
from tests.unit.test_poller import RecordingSink

BASE = """
server: {port: 5000}
storage: {path: data/x.db, retention_days: 30}
rooms: [{id: a}, {id: b}]
sensors:
  - {id: keep, room: a, driver: mock, interval: 0.1, options: {seed: 1}}
  - {id: gone, room: b, driver: mock, interval: 0.1, power_pin: 17}
  - {id: moved, room: a, driver: mock, interval: 0.1}
  - {id: renamed, room: b, driver: mock, interval: 0.1}
"""
NEW = """
server: {port: 5000}
storage: {path: data/x.db, retention_days: 30}
rooms: [{id: a}, {id: b}]
sensors:
  - {id: keep, room: a, driver: mock, interval: 0.1, options: {seed: 1}}
  - {id: moved, room: b, driver: mock, interval: 0.1}
  - {id: renamed, name: Renamed, room: b, driver: mock, interval: 0.1,
     alerts: [{quantity: temperature, above: 90}]}
  - {id: new, room: a, driver: mock, interval: 0.1}
"""


def cfg(text: str, tmp_path: Path) -> Config:
    return parse_config(text, tmp_path / "config.yaml")


# -- what changes --------------------------------------------------------------------
def test_compare_sorts_sensors_by_what_a_reload_does(tmp_path: Path) -> None:
    change = compare(cfg(BASE, tmp_path), cfg(NEW, tmp_path))
    assert change.added == ("new",)
    assert change.removed == ("gone",)
    assert change.restarted == ("moved",)  # a new room: its readings say so
    assert change.updated == ("renamed",)  # name and rules: the loop reads neither
    assert not change.rooms and not change.notify and change.needs_restart == ()
    assert change.summary() == "added new; removed gone; restarted moved; updated renamed"
    same = compare(cfg(BASE, tmp_path), cfg(BASE, tmp_path))
    assert not same.anything and same.summary() == "no changes"


def test_what_needs_a_restart_is_reported_and_left_as_it_runs(tmp_path: Path) -> None:
    running = cfg(BASE, tmp_path)
    text = (BASE.replace("port: 5000", "port: 5001, async_mode: threading")
            .replace("data/x.db, retention_days: 30", "data/y.db, retention_days: 7")
            .replace("rooms: [{id: a}, {id: b}]", "gpio: {backend: mock}\n"
                     "rooms: [{id: a}, {id: b, public: true}]"))
    change = compare(running, cfg(text, tmp_path))
    assert change.needs_restart == ("server.port", "server.async_mode", "gpio.backend",
                                    "storage.path")
    assert change.config.server == running.server
    assert change.config.storage.path == running.storage.path
    assert change.config.gpio_backend == running.gpio_backend
    assert change.config.storage.retention_days == 7  # applied live
    assert change.other == ("storage.retention_days",) and change.rooms
    assert change.summary().endswith(
        "needs a restart: server.port, server.async_mode, gpio.backend, storage.path")


def test_mqtt_pushed_sensors_wait_for_a_restart_with_their_rooms(tmp_path: Path) -> None:
    mqtt = """
mqtt: {url: 'mqtt://127.0.0.1:1883'}
rooms: [{id: a}, {id: gh}]
sensors:
  - {id: local, room: a, driver: mock, interval: 1}
  - {id: gh, room: gh, driver: mqtt, interval: 10, options: {node: pi-gh, sensor: air}}
"""
    running = cfg(mqtt, tmp_path)
    new = cfg(mqtt.replace("rooms: [{id: a}, {id: gh}]", "rooms: [{id: a}]")
              .replace("  - {id: gh, room: gh, driver: mqtt",
                       "  - {id: local2, room: a, driver: mock, interval: 1}\n"
                       "  - {id: tas, room: a, driver: mqtt_json, interval: 60, "
                       "options: {topic: t/s, temperature_field: T}}\n#")
              , tmp_path)
    change = compare(running, new)
    assert change.needs_restart == ("sensors.gh (MQTT)", "sensors.tas (MQTT)")
    assert [s.id for s in change.config.sensors] == ["local", "local2", "gh"]
    assert [r.id for r in change.config.rooms] == ["a", "gh"]  # gh's room stays with it
    assert change.added == ("local2",) and change.removed == ()


# -- the poller ----------------------------------------------------------------------
@pytest.fixture
def running(tmp_path: Path
            ) -> Iterator[tuple[Poller, RecordingSink, list[Any], MockGpioBackend]]:
    drivers: list[Any] = []
    gpio = SharedGpio("mock")
    backend = gpio()  # the one backend the poller will use: the test reads it back

    def opener(name: str, pin: int | None, options: dict[str, Any]) -> Any:
        driver = open_driver(name, pin, options)
        drivers.append(driver)
        return driver

    sink = RecordingSink()
    poller = Poller(cfg(BASE, tmp_path).sensors, ThreadingRuntime(), [sink], gpio=gpio,
                    open_driver=opener)
    poller.start()
    yield poller, sink, drivers, backend
    poller.stop()


def test_reconfigure_leaves_unchanged_loops_alone_and_follows_the_rest(
        running: Any, tmp_path: Path) -> None:
    poller, sink, drivers, backend = running
    wait_for(lambda: all(len(sink.readings_of(s)) >= 5 for s in ("keep", "gone", "moved")), 10,
             "five readings of each sensor")
    assert backend.levels.get(17) is True  # gone's power pin is driven
    keep_record = poller._sensors["keep"]
    renamed_record = poller._sensors["renamed"]
    moved_seq = poller.latest("moved").seq
    started = time.monotonic()
    poller.reconfigure(cfg(NEW, tmp_path).sensors)
    took = time.monotonic() - started
    assert poller.ids() == ["keep", "moved", "renamed", "new"]
    assert poller._sensors["keep"] is keep_record, "an unchanged sensor was touched"
    assert poller._sensors["renamed"] is renamed_record, "a rename restarted the loop"
    assert poller._sensors["renamed"].cfg.name == "Renamed"
    gone_count = len(sink.readings_of("gone"))
    wait_for(lambda: len(sink.readings_of("new")) >= 5
             and len(sink.readings_of("moved")) >= moved_seq + 5,
             10, "the new sensor and the restarted one reading")
    time.sleep(0.3)
    assert len(sink.readings_of("gone")) == gone_count, "a removed sensor kept reading"
    assert 17 not in backend.levels, "the removed sensor's power pin was not released"
    gone_drivers = [d for d in drivers if isinstance(d, MockDriver) and d.closed]
    assert len(gone_drivers) == 2  # gone's, and moved's old one
    moved = sink.readings_of("moved")
    assert [r.seq for r in moved] == list(range(1, len(moved) + 1)), "seq broke at restart"
    assert {r.room for r in moved[moved_seq:]} == {"b"}
    assert poller.state("gone").sensor == "gone"  # readable for whoever holds the old config
    keep = sink.readings_of("keep")
    assert [r.seq for r in keep] == list(range(1, len(keep) + 1))
    # its loop is the same object, never stopped (above), so its schedule is its own;
    # the cadence across a reload is measured on a real server in test_reload_live.py
    assert took < 2.0, f"reconfigure took {took:.2f} s"


# -- alerts --------------------------------------------------------------------------
RULES = """
rooms: [{id: a}]
sensors:
  - id: s1
    room: a
    driver: mock
    interval: 1
    alerts:
      - {quantity: temperature, above: 30, output_pin: 27}
      - {quantity: humidity, below: 20, output_pin: 22}
  - {id: s2, room: a, driver: mock, interval: 1, alerts: [{quantity: temperature, above: 5}]}
"""


def test_alert_reconfigure_keeps_firing_state_and_ends_removed_alerts(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    log = AlertLog(store.connect)
    gpio = MockGpioBackend()
    events: list[dict[str, Any]] = []
    engine = AlertEngine(cfg(RULES, tmp_path), log, ThreadingRuntime(), emit=events.append,
                         gpio=lambda: gpio)
    engine.start()
    engine.on_reading(Reading("s1", "a", 1.0, 1, 35.0, 10.0))  # both s1 rules fire
    engine.on_reading(Reading("s2", "a", 1.0, 1, 35.0, 10.0))
    assert sorted(k for _s, _r, k in engine.firing()) == [
        "humidity_below", "temperature_above", "temperature_above"]
    assert gpio.levels == {27: True, 22: True}
    new = RULES.replace("above: 30, output_pin: 27", "above: 32, output_pin: 27").replace(
        "      - {quantity: humidity, below: 20, output_pin: 22}\n", "").replace(
        "  - {id: s2, room: a, driver: mock, interval: 1, alerts: [{quantity: temperature, "
        "above: 5}]}\n", "")
    events.clear()
    engine.reconfigure(cfg(new, tmp_path))
    assert engine.firing() == [("s1", "a", "temperature_above")], "firing state lost"
    assert sorted((e["sensor"], e["kind"], e["state"]) for e in events) == [
        ("s1", "humidity_below", "cleared"), ("s2", "temperature_above", "cleared")]
    assert [a["kind"] for a in log.active()] == ["temperature_above"]
    assert gpio.levels == {27: True}, "the removed rule's alarm pin is still set up"
    engine.on_reading(Reading("s1", "a", 2.0, 2, 31.5, 50.0))  # under the new threshold
    assert engine.firing() == [], "the kept alert did not follow its new rule"
    assert gpio.levels == {27: False}
    store.close()


def test_notifier_reconfigure_routes_to_the_new_channel_and_drops_the_old(
        tmp_path: Path) -> None:
    server = NtfyServer().start()
    try:
        def channels(*names: str) -> str:
            return RULES + "notify:\n  channels:\n" + "".join(
                f"    {n}: {{type: ntfy, url: '{server.url}', topic: {n}, timeout: 2}}\n"
                for n in names)
        store = Store(tmp_path / "db.sqlite")
        engine = AlertEngine(cfg(RULES, tmp_path), AlertLog(store.connect), ThreadingRuntime(),
                             gpio=MockGpioBackend)
        engine.start()
        assert engine.notifier is None
        engine.reconfigure(cfg(channels("first"), tmp_path))  # channels where there were none
        engine.on_reading(Reading("s2", "a", time.time(), 1, 9.0, 50.0))
        wait_for(lambda: [m["topic"] for m in server.accepted] == ["first"], 10,
                 "the first channel's message")
        engine.reconfigure(cfg(channels("second"), tmp_path))
        assert list(engine.notifier.couriers) == ["second"]
        engine.on_reading(Reading("s2", "a", time.time(), 2, 1.0, 50.0))  # clears
        wait_for(lambda: len(server.accepted) == 2, 10, "the second channel's message")
        assert [m["topic"] for m in server.accepted] == ["first", "second"]
        time.sleep(0.5)
        assert len(server.accepted) == 2
        assert {r["channel"] for r in Outbox(store.connect).log()} == {"first", "second"}
        engine.stop()
        store.close()
    finally:
        server.stop()


# -- the systemd watchdog --------------------------------------------------------------
def test_the_watchdog_follows_a_reloaded_sensor_list() -> None:
    now = [0.0]
    pings: list[float] = []
    watchdog = PollerWatchdog([("a", 5.0), ("b", 5.0)], interval=3.0,
                              send=lambda _m: pings.append(now[0]) or True,
                              monotonic=lambda: now[0])
    watchdog.beat("a")
    watchdog.track([("a", 5.0), ("c", 5.0)])  # b removed, c added
    for t in range(1, 12):
        now[0] = float(t)
        watchdog.beat("a")
        watchdog.beat("c")
        watchdog.beat("b")  # a removed loop's last beat: ignored, no KeyError
    assert len(pings) >= 5, "a removed sensor's silence stopped the pings"
    last = pings[-1]
    for t in range(12, 20):  # c stalls: pings stop once its allowance is out
        now[0] = float(t)
        watchdog.beat("a")
    assert pings[-1] <= 16.0 and pings[-1] > last - 1
    watchdog.track([])
    assert watchdog.idle
