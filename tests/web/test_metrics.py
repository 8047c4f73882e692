"""Alerts and /metrics in-process: right rooms only, Prometheus format, access.

Readings are taken by the real poller from the mock driver (``site.poll``), so an
alert fires on a known reading instead of after a sleep that hopes it has.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Any

import pytest
from flask_socketio import SocketIOTestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.web.conftest import Site, received

TOKEN = "scrape-token-0123456789"
HOLD = 0.3  # seconds the temperature must stay above the threshold before a1's alert fires


def sensors(hold: float) -> list[dict[str, Any]]:
    """a1 alerts when above -50 °C (always) for ``hold`` seconds; b1 has no rule."""
    return [
        {"id": "a1", "room": "a", "driver": "mock", "interval": 0.2,
         "alerts": [{"quantity": "temperature", "above": -50, "for": hold}]},
        {"id": "b1", "room": "b", "driver": "mock", "interval": 0.2},
    ]


def poll_until_firing(site: Site) -> int:
    """Read a1 about every 50 ms until its alert fires; return how many reads it took."""
    engine = site.web.hub.alerts
    assert engine is not None
    deadline = time.monotonic() + 10
    reads = 0
    while not engine.firing():
        assert time.monotonic() < deadline, "a1's alert never fired"
        if reads:
            time.sleep(0.05)
        reads += site.poll("a1")
    return reads


def alert_history(sock: SocketIOTestClient, data: dict[str, Any]) -> Any:
    return sock.emit("alert_history", data, callback=True)


def test_alerts_reach_only_the_sensors_room(make_site: Any) -> None:
    site = make_site(sensors=sensors(HOLD))
    site.add_user("alice", rooms=("a",))
    site.add_user("bob", rooms=("b",))
    alice = site.socket(auth={"token": site.token("alice")})
    bob = site.socket(auth={"token": site.token("bob")})
    assert alice.is_connected() and bob.is_connected()
    assert received(alice, "snapshot")[0]["alerts"] == []
    assert received(bob, "snapshot")[0]["alerts"] == []
    # not on the first reading above the threshold: only once it held for HOLD
    assert site.poll("a1") == 1 and received(alice, "alert") == []
    assert poll_until_firing(site) >= 1
    site.poll(times=3)  # the episode goes on: no second announcement
    alerts = received(alice, "alert")
    assert [(a["sensor"], a["kind"], a["state"]) for a in alerts] == [
        ("a1", "temperature_above", "firing")]
    assert received(bob, "alert") == []
    assert [a["kind"] for a in alert_history(alice, {"limit": 10})["alerts"]] == [
        "temperature_above"]
    assert alert_history(bob, {}) == {"alerts": []}
    # a new connection gets the firing alert in its snapshot
    late = site.socket(auth={"token": site.token("alice")})
    assert [a["kind"] for a in received(late, "snapshot")[0]["alerts"]] == [
        "temperature_above"]
    client = site.client()
    assert client.get("/api/alerts", headers=site.bearer("bob")).get_json() == {"alerts": []}
    mine = client.get("/api/alerts", headers=site.bearer("alice")).get_json()["alerts"]
    assert [(a["sensor"], a["kind"]) for a in mine] == [("a1", "temperature_above")]


def test_metrics_in_prometheus_format_with_token(make_site: Any) -> None:
    site = make_site(sensors=sensors(0), extra={"metrics": {"token": TOKEN}})
    assert site.poll(times=3) == 6
    client = site.client()
    missing = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    for refused in (missing, wrong):  # RFC 6750: 401 with a challenge, not 403
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=")
    text = answer.get_data(as_text=True)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    temps = {s.labels["sensor"]: s for s in families["sensorhub_temperature_celsius"].samples}
    assert set(temps) == {"a1", "b1"} and temps["a1"].labels["room"] == "a"
    assert 0 < temps["a1"].value < 50
    assert temps["a1"].value == site.web.hub.poller.latest("a1").temperature
    dew = {s.labels["sensor"]: s.value for s in families["sensorhub_dew_point_celsius"].samples}
    assert dew["a1"] < temps["a1"].value
    up = {s.labels["sensor"]: s.value for s in families["sensorhub_sensor_up"].samples}
    assert up == {"a1": 1.0, "b1": 1.0}
    attempts = {s.labels["sensor"]: s.value
                for s in families["sensorhub_read_attempts"].samples if s.name.endswith("_total")}
    assert attempts == {"a1": 3.0, "b1": 3.0}
    firing = {(s.labels["sensor"], s.labels["kind"]): s.value
              for s in families["sensorhub_alert_firing"].samples}
    assert firing[("a1", "temperature_above")] == 1.0 and firing[("b1", "offline")] == 0.0
    assert "sensorhub_connected_clients" in families
    assert "process_resident_memory_bytes" in families  # the standard names, unprefixed
    assert not [name for name in families if name.startswith("sensorhub_process")]
    humidity = {s.labels["sensor"]: s.value
                for s in families["sensorhub_relative_humidity_ratio"].samples}
    assert 0 < humidity["a1"] < 1  # a ratio, as Prometheus spells percentages
    assert humidity["a1"] == site.web.hub.poller.latest("a1").humidity / 100
    assert "sensorhub_absolute_humidity_grams_per_cubic_meter" in families
    stamps = {s.labels["sensor"]: s.value
              for s in families["sensorhub_last_good_reading_timestamp_seconds"].samples}
    assert stamps["a1"] == site.web.hub.poller.latest("a1").ts
    failures = {(s.labels["sensor"], s.labels["kind"]): s.value
                for s in families["sensorhub_read_failures"].samples
                if s.name.endswith("_total")}
    for kind in ("checksum", "timeout", "not_found", "implausible", "bad_message"):
        assert failures[("b1", kind)] == 0.0  # present from the start, so rate() works


def test_promtool_finds_nothing_to_lint(make_site: Any) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool missing in CI: ./dev installs Debian's prometheus package")
        pytest.skip("needs promtool (apt install prometheus)")
    channels = {"push": {"type": "webhook", "url": "http://127.0.0.1:9/"}}
    site = make_site(sensors=sensors(0), extra={"metrics": {"token": TOKEN},
                                                "notify": {"channels": channels}})
    site.poll(times=2)
    text = site.client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
                             ).get_data(as_text=True)
    assert "sensorhub_notifications_total" in text
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                            text=True, timeout=30, check=False)
    assert result.returncode == 0 and result.stdout + result.stderr == "", \
        result.stdout + result.stderr


def test_an_offline_sensors_values_are_not_exported_as_live(make_site: Any) -> None:
    gone = [{"id": "gone", "room": "a", "driver": "mock", "interval": 0.2, "offline_after": 1,
             "options": {"outage_after": 0.3, "outage_for": 600}}]
    site = make_site(sensors=gone, extra={"metrics": {"token": TOKEN}})
    assert site.poll("gone") == 1  # heard once, then unplugged
    deadline = time.monotonic() + 10
    while site.web.hub.poller.state("gone").state != "offline":
        assert time.monotonic() < deadline, "the sensor never went offline"
        time.sleep(0.1)
        site.poll("gone")
    text = site.client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
                             ).get_data(as_text=True)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert [s.value for s in families["sensorhub_sensor_up"].samples] == [0.0]
    assert families["sensorhub_temperature_celsius"].samples == []
    assert families["sensorhub_relative_humidity_ratio"].samples == []
    assert families["sensorhub_dew_point_celsius"].samples == []
    [stamp] = families["sensorhub_last_good_reading_timestamp_seconds"].samples
    assert stamp.value < time.time() - 0.5  # when it was last heard of, not a live value


def test_metrics_off_by_default_and_allow_list(make_site: Any) -> None:
    off = make_site(sensors=sensors(0))
    assert off.client().get("/metrics").status_code == 404
    elsewhere = make_site(sensors=sensors(0), extra={"metrics": {"allow": ["10.0.0.0/8"]}})
    assert elsewhere.client().get("/metrics").status_code == 403  # from 127.0.0.1
    inside = elsewhere.client().get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert inside.status_code == 200
    here = make_site(sensors=sensors(0), extra={"metrics": {"allow": ["127.0.0.1"]}})
    assert here.client().get("/metrics").status_code == 200


def test_behind_a_trusted_proxy_the_allow_list_sees_the_client(make_site: Any) -> None:
    """Issue 12 item 8: behind nginx every scrape came from 127.0.0.1, so
    ``allow: [127.0.0.1]`` let every client on the LAN through the proxy."""
    server = {"host": "127.0.0.1", "port": 5000, "async_mode": "threading",
              "trusted_proxies": ["127.0.0.1"]}
    site = make_site(sensors=sensors(0), extra={"server": server,
                                                "metrics": {"allow": ["127.0.0.1", "10.0.0.9"]}})

    def scrape(peer: str, forwarded: str) -> int:
        return site.client().get("/metrics", environ_base={"REMOTE_ADDR": peer},
                                 headers={"X-Forwarded-For": forwarded}).status_code

    assert scrape("127.0.0.1", "192.168.1.50") == 403  # a LAN client through nginx
    assert scrape("127.0.0.1", "10.0.0.9") == 200  # Prometheus through nginx
    assert scrape("192.168.1.50", "10.0.0.9") == 403  # its own header: ignored
    assert site.client().get("/metrics").status_code == 200  # on the Pi, no proxy
