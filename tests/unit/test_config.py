"""config.yaml validation: every problem named with file, line and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sensorhub.config import ConfigError, load_config, parse_config
from tests.conftest import ROOT

GOOD = """\
rooms:
  - {id: a, name: A}
sensors:
  - id: s1
    room: a
    driver: mock
    interval: 1
"""


def problems(text: str, tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as error:
        parse_config(text, tmp_path / "config.yaml")
    return [str(p) for p in error.value.problems]


def test_shipped_config_is_valid() -> None:
    config = load_config(ROOT / "config.yaml")
    assert len({s.room for s in config.sensors}) >= 2
    assert all(s.driver == "mock" for s in config.sensors)
    assert config.server.async_mode == "eventlet"


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    config = parse_config(GOOD, tmp_path / "config.yaml")
    sensor = config.sensors[0]
    assert sensor.interval == 1.0 and isinstance(sensor.interval, float)
    assert config.storage.path == tmp_path / "data" / "sensorhub.db"
    assert config.server.port == 5000 and config.server.async_mode == "eventlet"
    assert sensor.offline_after == 60.0 and sensor.power_pin is None


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD + "    colour: red\n", "config.yaml:8: sensors[0].colour: unknown key"),
    (GOOD.replace("interval: 1", "interval: fast"),
     "config.yaml:7: sensors[0].interval: expected number, got str 'fast'"),
    (GOOD + "  - {id: s1, room: a, driver: mock, interval: 1}\n",
     "config.yaml:8: sensors[1].id: duplicate sensor id 's1'"),
    (GOOD.replace("room: a", "room: attic"),
     "config.yaml:5: sensors[0].room: unknown room 'attic' (rooms: a)"),
    (GOOD.replace("driver: mock", "driver: dht22\n    pin: 4"),
     "config.yaml:8: sensors[0].interval: 1.0 s is below the dht22 minimum of 2.0 s"),
    (GOOD + "  - {id: s2, room: a, driver: dht22, interval: 2, pin: 4}\n"
            "  - {id: s3, room: a, driver: dht11, interval: 2, pin: 4}\n",
     "config.yaml:9: sensors[2].pin: GPIO 4 is already used by s2.pin"),
    (GOOD.replace("driver: mock", "driver: dht33"),
     "config.yaml:6: sensors[0].driver: must be one of mock, dht22, dht11, am2302, iio, "
     "hwmon, ds18b20, scd4x, aht20, mqtt, mqtt_json, got 'dht33'"),
    (GOOD + "server: {port: 99999}\n",
     "config.yaml:8: server.port: must be between 1 and 65535, got 99999"),
    (GOOD + "server: {async_mode: gevent}\n",
     "config.yaml:8: server.async_mode: must be one of eventlet, threading, got 'gevent'"),
    (GOOD.replace("interval: 1", "interval: 1\n    options: {fault_rate: 2}"),
     "config.yaml:8: sensors[0].options.fault_rate: must be between 0.0 and 1.0, got 2"),
    (GOOD.replace("driver: mock", "driver: dht22"),
     "config.yaml:4: sensors[0].pin: required for driver dht22"),
    (GOOD.replace("{id: a, name: A}", "{id: A!, name: A}"),
     "config.yaml:2: rooms[0].id: 'A!' is not a valid id"),
    (GOOD + "extra: 1\n", "config.yaml:8: extra: unknown key"),
    (GOOD.replace("driver: mock", "driver: dht22\n    pin: null").replace("interval: 1",
                                                                         "interval: 2"),
     "config.yaml:7: sensors[0].pin: required for driver dht22"),
    ("rooms: []\n" + GOOD.split("\n", 2)[2],
     "config.yaml:1: rooms: expected a list of at least one room, got a list"),
    (GOOD + "    offline_after: 0.5\n",
     "config.yaml:8: sensors[0].offline_after: 0.5 s is shorter than the interval (1.0 s)"),
    (GOOD.replace("interval: 1", "interval: 1\n    options: {fault_rate: 0.6, hang_rate: 0.6}"),
     "config.yaml:8: sensors[0].options: fault_rate + hang_rate add up to 1.2, more than 1"),
])
def test_bad_config_names_file_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(text, tmp_path)
    assert any(p.endswith(expected) or expected in p for p in found), found
    assert all(p.startswith(str(tmp_path / "config.yaml") + ":") for p in found)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("interval: 1", "interval: -1\n    pin: 99") + "  - {id: s1}\n"
    found = problems(text, tmp_path)
    assert len(found) >= 4, found  # interval, pin, duplicate id, missing room/driver


def test_unreadable_yaml(tmp_path: Path) -> None:
    found = problems("rooms: [\n  {id: a\nsensors: x\n", tmp_path)
    assert len(found) == 1 and "unreadable YAML" in found[0]
    assert found[0].startswith(str(tmp_path / "config.yaml") + ":3:")


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    found = problems(GOOD + "    interval: 3\n", tmp_path)
    assert any("sensors[0].interval: duplicate key" in p for p in found)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_check_config_command(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("interval: 1", "interval: 0.01"))
    result = subprocess.run([sys.executable, "-m", "sensorhub", "check-config", "--config",
                             str(bad)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 2
    assert f"{bad}:7: sensors[0].interval: 0.01 s is below the mock minimum" in result.stderr
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    result = subprocess.run([sys.executable, "-m", "sensorhub", "check-config", "-c",
                             str(good)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0 and "ok (1 rooms, 1 sensors)" in result.stdout


ALERTS = GOOD + """\
    alerts:
      - {quantity: temperature, above: 30, for: 5m, clear_hysteresis: 0.5, output_pin: 27}
      - {quantity: humidity, below: 20.5, for: 30}
"""


def test_alert_rules_and_sections(tmp_path: Path) -> None:
    text = ALERTS + ("webhook: {url: 'http://192.168.1.20:8123/hook', timeout: 2}\n"
                     "metrics: {token: 'a-long-scrape-token', allow: [127.0.0.1, 10.0.0.0/8]}\n")
    config = parse_config(text, tmp_path / "config.yaml")
    hot, dry = config.sensors[0].alerts
    assert (hot.kind, hot.threshold, hot.hold, hot.output_pin, hot.active_high) == (
        "temperature_above", 30.0, 300.0, 27, True)
    assert (dry.kind, dry.threshold, dry.hold, dry.hysteresis) == ("humidity_below", 20.5, 30.0,
                                                                   0.5)
    assert config.channels[0].name == config.channels[0].kind == "webhook"
    assert config.channels[0].options["timeout"] == 2.0
    assert config.metrics.token == "a-long-scrape-token"
    assert [str(n) for n in config.metrics.allow] == ["127.0.0.1/32", "10.0.0.0/8"]
    assert parse_config(GOOD, tmp_path / "c.yaml").metrics is None  # off unless configured


@pytest.mark.parametrize(("text", "expected"), [
    (ALERTS.replace("above: 30", "above: 30, below: 2"),
     "config.yaml:9: sensors[0].alerts[0]: needs exactly one of above: or below:"),
    (ALERTS.replace("for: 5m", "for: soon"),
     "config.yaml:9: sensors[0].alerts[0].for: expected a duration like 60, 60s, 5m or 1h"),
    (ALERTS.replace("quantity: humidity", "quantity: pressure"),
     "config.yaml:10: sensors[0].alerts[1].quantity: must be one of temperature, humidity"),
    (ALERTS + "  - {id: s2, room: a, driver: dht22, interval: 2, pin: 27}\n",
     "config.yaml:11: sensors[1].pin: GPIO 27 is already used by s1.output_pin"),
    (GOOD + "webhook: {url: 'http://8.8.8.8/hook'}\n",
     "config.yaml:8: webhook.url: 8.8.8.8 is a public address"),
    (GOOD + "metrics: {}\n", "config.yaml:8: metrics: set token:, allow: or both"),
    (GOOD + "metrics: {allow: [not-an-ip]}\n",
     "config.yaml:8: metrics.allow[0]: not an address or network"),
    # issue 12 item 7: an empty allow-list used to leave /metrics open to everyone
    (GOOD + "metrics: {allow: []}\n", "config.yaml:8: metrics.allow: an empty list admits "
                                      "nobody"),
    (GOOD + "metrics:\n  token: a-long-scrape-token\n  allow: []\n",
     "config.yaml:10: metrics.allow: an empty list admits nobody"),
])
def test_bad_alert_config(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(text, tmp_path)
    assert any(expected in p for p in found), found


def test_notify_channels_are_checked_by_their_kind(tmp_path: Path) -> None:
    text = GOOD + (
        "notify:\n"
        "  channels:\n"
        "    lab-hook: {type: webhook, url: 'http://10.0.0.5/alert', retries: 5}\n"
        "    other: {type: webhook, url: 'http://hook.lan/x'}\n")
    config = parse_config(text, tmp_path / "config.yaml")
    assert [(c.name, c.kind, dict(c.options)) for c in config.channels] == [
        ("lab-hook", "webhook", {"url": "http://10.0.0.5/alert", "retries": 5}),
        ("other", "webhook", {"url": "http://hook.lan/x"})]


@pytest.mark.parametrize(("channel", "expected"), [
    ("{type: pigeon}", "notify.channels.x.type: must be one of webhook, smtp, ntfy, gotify, "
                       "matrix, mqtt, got 'pigeon'"),
    ("{url: 'http://10.0.0.5/'}", "notify.channels.x.type: required"),
    ("{type: webhook}", "notify.channels.x.url: required for a webhook channel"),
    ("{type: webhook, url: 'http://10.0.0.5/', retries: 9999}",
     "notify.channels.x.retries: must be between 0 and 1000, got 9999"),
    ("{type: webhook, url: 'http://10.0.0.5/', colour: red}",
     "notify.channels.x.colour: unknown key"),
])
def test_bad_channels_name_file_line_and_field(tmp_path: Path, channel: str,
                                               expected: str) -> None:
    text = GOOD + f"notify:\n  channels:\n    x: {channel}\n"
    lines = len(GOOD.splitlines())
    with pytest.raises(ConfigError) as caught:
        parse_config(text, tmp_path / "config.yaml")
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith(f"{tmp_path / 'config.yaml'}:{lines + 3}: {expected}")
               for m in messages), messages


def test_the_starter_config_shows_a_sensor_failing_now_and_then() -> None:
    from drivers.errors import DriverError
    from drivers.mock import MockDriver

    config = load_config(ROOT / "config.yaml")
    [flaky] = [s for s in config.sensors if s.options.get("outage_every")]
    clock = [0.0]
    driver = MockDriver(**flaky.options, monotonic=lambda: clock[0])
    runs, run = [], 0
    for i in range(int(3600 / flaky.interval)):  # an hour of reads, on its schedule
        clock[0] = i * flaky.interval
        try:
            driver.read()
        except DriverError:
            run += 1
            continue
        if run:
            runs.append(run)
        run = 0
    failing = [r for r in runs if r >= 3]  # three failed reads in a row: "failing"
    assert len(failing) >= 3, runs  # within the first hour, more than once
    assert max(runs) * flaky.interval < flaky.offline_after  # and back before "offline"
