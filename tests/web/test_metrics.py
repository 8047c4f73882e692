"""Alerts and /metrics on the real server: right rooms only, Prometheus format, access."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Any

import pytest
import requests
import socketio
from prometheus_client.parser import text_string_to_metric_families

SENSORS = [
    {"id": "a1", "room": "a", "driver": "mock", "interval": 0.2,
     "alerts": [{"quantity": "temperature", "above": -50, "for": 0.5}]},
    {"id": "b1", "room": "b", "driver": "mock", "interval": 0.2},
]
TOKEN = "scrape-token-0123456789"


def test_alerts_reach_only_the_sensors_room(server_factory: Any) -> None:
    server = server_factory(sensors=SENSORS)
    server.add_user("alice", rooms=("a",))
    server.add_user("bob", rooms=("b",))
    seen: dict[str, list[Any]] = {"alice": [], "bob": []}
    clients = []
    for name in seen:
        client = socketio.Client(reconnection=False)
        client.on("alert", seen[name].append)
        client.on("snapshot", lambda data, name=name: seen[name].append(("snapshot", data)))
        client.connect(server.url, auth={"token": server.token(name)}, transports=["websocket"])
        clients.append(client)
    time.sleep(2.5)
    history = clients[0].call("alert_history", {"limit": 10}, timeout=5)
    history_b = clients[1].call("alert_history", {}, timeout=5)
    for client in clients:
        client.disconnect()
    alice_alerts = [e for e in seen["alice"] if not isinstance(e, tuple)]
    assert [(a["sensor"], a["kind"], a["state"]) for a in alice_alerts] == [
        ("a1", "temperature_above", "firing")]  # once per episode, after the hold time
    assert [e for e in seen["bob"] if not isinstance(e, tuple)] == []
    assert [a["kind"] for a in history["alerts"]] == ["temperature_above"]
    assert history_b == {"alerts": []}
    # a new connection gets the firing alert in its snapshot
    late = socketio.Client(reconnection=False)
    snaps: list[Any] = []
    late.on("snapshot", snaps.append)
    late.connect(server.url, auth={"token": server.token("alice")}, transports=["websocket"])
    time.sleep(0.5)
    late.disconnect()
    assert [a["kind"] for a in snaps[0]["alerts"]] == ["temperature_above"]
    api = requests.get(server.url + "/api/alerts", timeout=5,
                       headers={"Authorization": f"Bearer {server.token('bob')}"}).json()
    assert api == {"alerts": []}


def test_metrics_in_prometheus_format_with_token(server_factory: Any) -> None:
    server = server_factory(sensors=SENSORS, extra={"metrics": {"token": TOKEN}})
    time.sleep(1.5)
    missing = requests.get(server.url + "/metrics", timeout=5)
    wrong = requests.get(server.url + "/metrics", timeout=5,
                         headers={"Authorization": "Bearer nope"})
    for refused in (missing, wrong):  # RFC 6750: 401 with a challenge, not 403
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    answer = requests.get(server.url + "/metrics", timeout=5,
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    temps = {s.labels["sensor"]: s for s in families["sensorhub_temperature_celsius"].samples}
    assert set(temps) == {"a1", "b1"} and temps["a1"].labels["room"] == "a"
    assert 0 < temps["a1"].value < 50
    dew = {s.labels["sensor"]: s.value for s in families["sensorhub_dew_point_celsius"].samples}
    assert dew["a1"] < temps["a1"].value
    up = {s.labels["sensor"]: s.value for s in families["sensorhub_sensor_up"].samples}
    assert up == {"a1": 1.0, "b1": 1.0}
    attempts = {s.labels["sensor"]: s.value
                for s in families["sensorhub_read_attempts"].samples if s.name.endswith("_total")}
    assert attempts["a1"] >= 3
    firing = {(s.labels["sensor"], s.labels["kind"]): s.value
              for s in families["sensorhub_alert_firing"].samples}
    assert firing[("a1", "temperature_above")] == 1.0 and firing[("b1", "offline")] == 0.0
    assert "sensorhub_connected_clients" in families
    assert "process_resident_memory_bytes" in families  # the standard names, unprefixed
    assert not [name for name in families if name.startswith("sensorhub_process")]
    humidity = {s.labels["sensor"]: s.value
                for s in families["sensorhub_relative_humidity_ratio"].samples}
    assert 0 < humidity["a1"] < 1  # a ratio, as Prometheus spells percentages
    assert "sensorhub_absolute_humidity_grams_per_cubic_meter" in families
    stamps = {s.labels["sensor"]: s.value
              for s in families["sensorhub_last_good_reading_timestamp_seconds"].samples}
    assert time.time() - 5 < stamps["a1"] <= time.time()
    failures = {(s.labels["sensor"], s.labels["kind"]): s.value
                for s in families["sensorhub_read_failures"].samples
                if s.name.endswith("_total")}
    for kind in ("checksum", "timeout", "not_found", "implausible", "bad_message"):
        assert failures[("b1", kind)] == 0.0  # present from the start, so rate() works


def test_promtool_finds_nothing_to_lint(server_factory: Any) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool missing in CI: ./dev installs Debian's prometheus package")
        pytest.skip("needs promtool (apt install prometheus)")
    channels = {"push": {"type": "webhook", "url": "http://127.0.0.1:9/"}}
    server = server_factory(sensors=SENSORS, extra={"metrics": {"token": TOKEN},
                                                    "notify": {"channels": channels}})
    time.sleep(1.5)
    text = requests.get(server.url + "/metrics", timeout=5,
                        headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert "sensorhub_notifications_total" in text
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                            text=True, timeout=30, check=False)
    assert result.returncode == 0 and result.stdout + result.stderr == "", \
        result.stdout + result.stderr


def test_an_offline_sensors_values_are_not_exported_as_live(server_factory: Any) -> None:
    sensors = [{"id": "gone", "room": "a", "driver": "mock", "interval": 0.2,
                "offline_after": 1, "options": {"outage_after": 0.5, "outage_for": 600}}]
    server = server_factory(sensors=sensors, extra={"metrics": {"token": TOKEN}})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        text = requests.get(server.url + "/metrics", timeout=5,
                            headers={"Authorization": f"Bearer {TOKEN}"}).text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        up = [s.value for s in families["sensorhub_sensor_up"].samples]
        if up == [0.0] and 'state="offline"} 1.0' in text:
            break
        time.sleep(0.2)
    assert families["sensorhub_temperature_celsius"].samples == []
    assert families["sensorhub_relative_humidity_ratio"].samples == []
    assert families["sensorhub_dew_point_celsius"].samples == []
    [stamp] = families["sensorhub_last_good_reading_timestamp_seconds"].samples
    assert stamp.value < time.time() - 0.5  # when it was last heard of, not a live value


def test_metrics_off_by_default_and_allow_list(server_factory: Any) -> None:
    off = server_factory(sensors=SENSORS)
    assert requests.get(off.url + "/metrics", timeout=5).status_code == 404
    elsewhere = server_factory(sensors=SENSORS, extra={"metrics": {"allow": ["10.0.0.0/8"]}})
    assert requests.get(elsewhere.url + "/metrics", timeout=5).status_code == 403
    here = server_factory(sensors=SENSORS, extra={"metrics": {"allow": ["127.0.0.1"]}})
    assert requests.get(here.url + "/metrics", timeout=5).status_code == 200
