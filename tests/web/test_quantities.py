"""Pressure and CO2 end to end in the app: payloads, history, CSV export, /metrics."""

from __future__ import annotations

import csv
import io
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.web.conftest import Site, received

SENSORS = [
    {"id": "air", "name": "Office air", "room": "a", "driver": "mock", "interval": 1,
     "options": {"seed": 3, "pressure": True, "co2": True},
     "calibrate": {"co2": [[400, 410], [2000, 2050]]}, "offsets": {"pressure": -0.5}},
    {"id": "dht", "room": "b", "driver": "mock", "interval": 1, "options": {"seed": 4}},
]
TOKEN = "scrape-token-0123456789"


def test_every_quantity_reaches_sockets_history_export_and_metrics(make_site) -> None:
    site: Site = make_site(sensors=SENSORS, extra={"metrics": {"token": TOKEN}})
    site.add_user("root", admin=True)
    sock = site.socket(auth={"token": site.token("root")})
    snapshot = received(sock, "snapshot")[0]
    assert {s["id"]: s["quantities"] for s in snapshot["sensors"]} == {
        "air": ["temperature", "humidity", "pressure", "co2"],
        "dht": ["temperature", "humidity"]}
    for _ in range(3):  # readings are stored per millisecond: one millisecond apart at least
        assert site.poll() == 2
        time.sleep(0.01)
    readings = received(sock, "reading")
    air = [r for r in readings if r["sensor"] == "air"]
    dht = [r for r in readings if r["sensor"] == "dht"]
    assert len(air) == 3 and all(990 < r["pressure"] < 1040 and r["co2"] >= 400 for r in air)
    assert all(r["pressure"] is None and r["co2"] is None for r in dht)  # null, as before

    headers = site.bearer("root")
    since = air[0]["ts"] - 1
    history = site.client().get(f"/api/history?sensor=air&since={since}&max_points=10000",
                                headers=headers).get_json()
    assert history["fields"][7:] == ["pressure", "pressure_min", "pressure_max", "co2",
                                     "co2_min", "co2_max"]
    assert [p[7] for p in history["points"]] == [r["pressure"] for r in air]
    assert [p[10] for p in history["points"]] == [r["co2"] for r in air]
    ack = sock.emit("history", {"sensor": "dht", "since": since}, callback=True)
    assert len(ack["fields"]) == 7 and all(len(p) == 7 for p in ack["points"])

    export = site.client().get("/api/export.csv?sensor=air", headers=headers)
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows[0] == ["sensor", "time_utc", "epoch", "temperature_c", "humidity_pct",
                       "pressure_hpa", "co2_ppm"]
    assert [float(r[5]) for r in rows[1:]] == [r["pressure"] for r in air]
    plain = site.client().get("/api/export.csv?sensor=dht", headers=headers)
    assert plain.get_data(as_text=True).splitlines()[0] == (
        "sensor,time_utc,epoch,temperature_c,humidity_pct")

    sensors = site.client().get("/api/sensors", headers=headers).get_json()["sensors"]
    assert sensors[0]["corrections"] == {
        "calibrate": {"co2": [[400.0, 410.0], [2000.0, 2050.0]]}, "offsets": {"pressure": -0.5}}
    metrics = site.client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    text = metrics.get_data(as_text=True)
    pascals = {f.name: f for f in text_string_to_metric_families(text)}[
        "sensorhub_pressure_pascals"].samples
    assert [(s.labels["sensor"], s.value) for s in pascals] == [
        ("air", pytest.approx(air[-1]["pressure"] * 100))]  # Prometheus' base unit
    assert f'sensorhub_co2_ppm{{room="a",sensor="air"}} {air[-1]["co2"]}' in text
