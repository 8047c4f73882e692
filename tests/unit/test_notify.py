"""Routes, quiet hours, reminders and the outbox: nothing lost, nothing twice."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from drivers.gpio import MockGpioBackend
from sensorhub.alerts.engine import AlertEngine, AlertLog
from sensorhub.alerts.notifier import quiet_until
from sensorhub.alerts.outbox import Outbox
from sensorhub.config import ConfigError, parse_config
from sensorhub.readings import Reading
from sensorhub.runtime import ThreadingRuntime
from sensorhub.storage.store import Store
from tests.conftest import wait_for
from tests.receivers import NtfyServer

BASE = """
rooms: [{id: gh, name: Greenhouse}, {id: cellar}]
sensors:
  - {id: gh-air, room: gh, driver: mock, interval: 1,
     alerts: [{quantity: temperature, below: 5, severity: critical},
              {quantity: humidity, above: 90}]}
  - {id: wine, room: cellar, driver: mock, interval: 1}
"""




def local(hour: int, minute: int = 0) -> float:
    """Today at hour:minute, the Pi's local time."""
    now = time.localtime()
    return time.mktime((now.tm_year, now.tm_mon, now.tm_mday, hour, minute, 0, 0, 0, -1))


def test_quiet_hours_across_midnight() -> None:
    quiet = (22 * 60, 7 * 60)
    assert quiet_until(quiet, local(21, 59)) is None
    assert quiet_until(quiet, local(7, 0)) is None
    assert quiet_until(quiet, local(3, 0)) == local(7, 0)
    assert quiet_until(quiet, local(23, 30)) == pytest.approx(local(7, 0) + 86400, abs=3600)
    assert quiet_until((13 * 60, 14 * 60), local(13, 30)) == local(14, 0)


@pytest.mark.parametrize(("routes", "expected"), [
    ("[{channels: [nope]}]", "notify.routes[0].channels[0]: unknown channel 'nope'"),
    ("[{channels: [a], kinds: [temperature_high]}]", "unknown alert kind 'temperature_high'"),
    ("[{channels: [a], sensors: [gh]}]", "unknown sensor 'gh'"),
    ("[{channels: [a], quiet_hours: {from: '22:00', to: '25:00'}}]",
     "quiet_hours.to: expected a time like '22:00'"),
    ("[{channels: [a], repeat: 10s}]", "repeat: expected a duration of at least 1m"),
    ("[{sensors: [wine]}]", "notify.routes[0].channels: required"),
])
def test_bad_routes_are_reported(tmp_path: Path, routes: str, expected: str) -> None:
    text = BASE + ("notify:\n  channels: {a: {type: webhook, url: 'http://10.0.0.5/'}}\n"
                   f"  routes: {routes}\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, tmp_path / "config.yaml")
    assert any(expected in str(p) for p in caught.value.problems), caught.value.problems


def make(tmp_path: Path, url: str, notify: str = "", **clock: Any) -> Any:
    text = BASE + ("notify:\n  retry_after: 0.2\n  retry_max: 0.5\n" + notify +
                   "  channels:\n"
                   f"    night: {{type: ntfy, url: '{url}', topic: night, timeout: 1}}\n"
                   f"    day: {{type: ntfy, url: '{url}', topic: day, timeout: 1}}\n")
    config = parse_config(text, tmp_path / "config.yaml")
    store = Store(tmp_path / "db.sqlite")
    engine = AlertEngine(config, AlertLog(store.connect), ThreadingRuntime(),
                         gpio=MockGpioBackend, **clock)
    return engine, store


def test_routes_pick_channels_and_quiet_hours_hold_all_but_critical(tmp_path: Path) -> None:
    routes = ("  routes:\n"
              "    - {channels: [night], severity: critical}\n"
              "    - {channels: [day], rooms: [gh], quiet_hours: {from: '22:00', to: '07:00'}}\n")
    at_night = local(3, 0)
    engine, store = make(tmp_path, "http://127.0.0.1:9", routes, wall_clock=lambda: at_night)
    notifier = engine.notifier
    critical = {"sensor": "gh-air", "room": "gh", "kind": "temperature_below",
                "severity": "critical"}
    warning = {**critical, "kind": "humidity_above", "severity": "warning"}
    assert notifier.plan(critical, at_night) == {"night": at_night, "day": at_night}
    assert notifier.plan(warning, at_night) == {"day": local(7, 0)}  # held till morning
    assert notifier.plan(warning, local(12, 0)) == {"day": local(12, 0)}
    assert notifier.plan({**warning, "room": "cellar", "sensor": "wine"}, at_night) == {}
    store.close()


def test_a_dead_receiver_and_a_restart_lose_nothing_and_send_nothing_twice(
        tmp_path: Path) -> None:
    server = NtfyServer()  # not started: connections are refused
    engine, store = make(tmp_path, server.url)
    engine.start()
    engine.on_reading(Reading("gh-air", "gh", time.time(), 1, 2.0, 50.0))  # fires
    engine.on_reading(Reading("gh-air", "gh", time.time(), 2, 9.0, 50.0))  # clears
    outbox = Outbox(store.connect)
    wait_for(lambda: sum(r["outcome"] == "failed" for r in outbox.log()) >= 4, 10,
             "failed tries logged")
    engine.stop()  # a restart: a new engine on the same database
    store.close()
    assert server.accepted == []
    engine, store = make(tmp_path, server.url)
    engine.start()
    server.start()
    try:
        wait_for(lambda: len(server.accepted) >= 4, 15, "the four messages after restart")
        time.sleep(1.0)  # any duplicate would arrive now
        got = sorted((m["topic"], m["title"].split(" ")[0]) for m in server.accepted)
        assert got == [("day", "Cleared:"), ("day", "gh-air"), ("night", "Cleared:"),
                       ("night", "gh-air")]
        by_topic = {t: [m["title"] for m in server.accepted if m["topic"] == t]
                    for t in ("day", "night")}
        assert all(titles[0].startswith("gh-air") for titles in by_topic.values()), \
            "cleared arrived before firing"
        log = Outbox(store.connect).log()
        assert {r["outcome"] for r in log} == {"sent", "failed"}
        assert all(r["detail"].startswith("cannot reach http://127.0.0.1")
                   for r in log if r["outcome"] == "failed")
        assert sum(r["outcome"] == "sent" for r in log) == 4
    finally:
        engine.stop()
        store.close()
        server.stop()


def test_queueing_twice_is_a_no_op_and_old_messages_are_given_up(tmp_path: Path) -> None:
    server = NtfyServer()
    engine, store = make(tmp_path, server.url, "  max_age: 60\n",
                         wall_clock=lambda: time.time() + 120)  # everything is 2 min old
    outbox = Outbox(store.connect)
    event = {"sensor": "gh-air", "room": "gh", "kind": "humidity_above", "state": "firing",
             "since": time.time(), "value": 95.0, "threshold": 90.0, "id": 1,
             "started": time.time(), "severity": "warning"}
    from sensorhub.alerts.message import compose

    message = compose(engine.notifier.config, event)
    assert outbox.enqueue([("day", message, 0.0), ("day", message, 0.0)], time.time()) == 1
    assert outbox.enqueue([("day", message, 0.0)], time.time()) == 0
    courier = engine.notifier.couriers["day"]
    courier.run_round()
    [row] = outbox.log()
    assert (row["outcome"], row["status"]) == ("gave_up", "gave_up")
    assert "notify.max_age" in row["detail"] and server.requests == []
    store.close()


def test_reminders_every_repeat_while_firing_and_once_each(tmp_path: Path) -> None:
    engine, store = make(tmp_path, "http://127.0.0.1:9",
                         "  routes: [{channels: [day], repeat: 1h}]\n")
    notifier, outbox = engine.notifier, Outbox(store.connect)
    now = time.time()
    event = {"sensor": "gh-air", "room": "gh", "kind": "humidity_above", "state": "firing",
             "since": now - 9000, "value": 95.0, "threshold": 90.0, "id": 3,
             "started": now - 9000, "severity": "warning"}
    assert notifier.remind([event], now) == 1  # 2.5 h in: the second reminder
    assert notifier.remind([event], now + 60) == 0
    assert notifier.remind([event], now + 1900) == 1  # 3 h in
    assert sorted(k for (k,) in store.connect().execute(
        "SELECT key FROM notifications")) == ["alert-3-reminder-2", "alert-3-reminder-3"]
    titles = [r["title"] for r in outbox.log()]
    assert titles == []  # queued, not tried yet
    store.close()
