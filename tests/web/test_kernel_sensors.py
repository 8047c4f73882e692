"""From a fake Pi's sysfs to the dashboard: detect, check-config, then every quantity served.

The tree holds what the issue's overlays make the kernel expose: a DHT on GPIO 4
(dtoverlay=dht11), a BME280 (i2c-sensor,bme280, IIO), an SHT3x (i2c-sensor,sht3x,
hwmon) and two DS18B20s (w1-gpio, one on an older kernel's w1_slave only). Readings go
through the real drivers, poller, store, broadcaster, alert engine and routes.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
import yaml

from drivers.dht import DhtDriver
from sensorhub.service.cli import main
from tests.fakes.sysfs_tree import FakeSysfs, w1_slave
from tests.web.conftest import Site, received

DS_A, DS_B = "28-0316a2795bff", "28-3c01d607d4aa"
TOKEN = "scrape-token-0123456789"
UNITS_IN_CSV = {"temperature_c", "humidity_pct", "pressure_hpa"}


@pytest.fixture
def tree(fake_sysfs: FakeSysfs) -> FakeSysfs:
    fake_sysfs.dht11(4, 21.3, 45.0)
    fake_sysfs.bme280(1, 0x76, 21.5, 45.1, 1013.25)
    fake_sysfs.sht3x(1, 0x44, 23.4, 51.2)
    fake_sysfs.ds18b20(DS_A, temperature=21.5)
    fake_sysfs.ds18b20(DS_B, w1_slave=w1_slave(5250))
    fake_sysfs.hwmon("w1_slave_temp", f"w1_bus_master1/{DS_A}", temp1_input=21500)
    return fake_sysfs


def detect(tmp_path: Path, tree: FakeSysfs, capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``sensorhub detect`` on a config whose hardware.sysfs is the tree."""
    base = tmp_path / "base.yaml"
    base.write_text(f"rooms:\n  - {{id: cellar, name: Cellar}}\nhardware:\n  sysfs: {tree.root}\n"
                    "sensors:\n  - {id: demo, room: cellar, driver: mock, interval: 1}\n")
    assert main(["detect", "-c", str(base)]) == 0
    return capsys.readouterr().out


def test_detect_lists_every_kernel_sensor_and_prints_config_check_config_accepts(
        tmp_path: Path, tree: FakeSysfs, capsys: pytest.CaptureFixture[str]) -> None:
    out = detect(tmp_path, tree, capsys)
    comments = [line for line in out.splitlines() if line.startswith("# ") and ": " in line]
    assert out.startswith(f"# sensorhub detect: 5 sensor(s) under {tree.root}")
    listed = "\n".join(comments)
    for expected in ("dht-gpio4: DHT on GPIO 4", "21.3 °C  45 %RH",
                     "bme280: bme280 on i2c-1 0x76", "21.5 °C  45.1 %RH  1013.25 hPa",
                     "sht3x: sht3x on i2c-1 0x44", "23.4 °C  51.2 %RH",
                     f"ds18b20-0316a2795bff: 1-Wire thermometer {DS_A}", "21.5 °C",
                     f"ds18b20-3c01d607d4aa: 1-Wire thermometer {DS_B}", "5.25 °C"):
        assert expected in listed, out
    assert "w1_slave_temp" not in out  # a DS18B20's hwmon twin is not a sixth sensor
    sensors = yaml.safe_load(out)["sensors"]
    assert [(s["id"], s["driver"], s["room"]) for s in sensors] == [
        ("dht-gpio4", "dht22", "cellar"), ("bme280", "iio", "cellar"),
        ("sht3x", "hwmon", "cellar"), ("ds18b20-0316a2795bff", "ds18b20", "cellar"),
        ("ds18b20-3c01d607d4aa", "ds18b20", "cellar")]
    # pasted under the existing sensors, the whole file passes check-config
    config = tmp_path / "config.yaml"
    text = (tmp_path / "base.yaml").read_text()
    config.write_text(text + out.replace("sensors:\n", ""))
    assert main(["check-config", "-c", str(config)]) == 0
    assert capsys.readouterr().out == f"{config}: ok (1 rooms, 6 sensors)\n"


def test_detected_sensors_reach_dashboard_history_export_metrics_and_alerts(
        tmp_path: Path, tree: FakeSysfs, capsys: pytest.CaptureFixture[str], make_site,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DhtDriver, "library_cache_seconds", 0.0)  # the fake kernel: no cache
    sensors = yaml.safe_load(detect(tmp_path, tree, capsys))["sensors"]
    by_id = {s["id"]: s for s in sensors}
    by_id["bme280"]["alerts"] = [{"quantity": "pressure", "below": 1020}]
    by_id["sht3x"]["alerts"] = [{"quantity": "humidity", "above": 50}]
    by_id[f"ds18b20-{DS_B[3:]}"].update(interval=1, offline_after=1)
    site: Site = make_site(rooms=[{"id": "cellar", "name": "Cellar"}], sensors=sensors,
                           extra={"hardware": {"sysfs": str(tree.root)},
                                  "metrics": {"token": TOKEN}})
    site.add_user("root", admin=True)
    sock = site.socket(auth={"token": site.token("root")})
    snapshot = received(sock, "snapshot")[0]
    assert {s["id"]: s["quantities"] for s in snapshot["sensors"]} == {
        "dht-gpio4": ["temperature", "humidity"],
        "bme280": ["temperature", "humidity", "pressure"],
        "sht3x": ["temperature", "humidity"],
        f"ds18b20-{DS_A[3:]}": ["temperature"], f"ds18b20-{DS_B[3:]}": ["temperature"]}
    for _ in range(2):
        assert site.poll() == 5
        time.sleep(0.01)
    readings = {r["sensor"]: r for r in received(sock, "reading")}
    assert (readings["bme280"]["temperature"], readings["bme280"]["humidity"],
            readings["bme280"]["pressure"]) == (21.5, 45.1, 1013.25)
    assert readings["dht-gpio4"]["humidity"] == 45.0 and readings["dht-gpio4"]["co2"] is None
    assert readings[f"ds18b20-{DS_B[3:]}"]["temperature"] == 5.25
    assert readings[f"ds18b20-{DS_B[3:]}"]["humidity"] is None

    headers = site.bearer("root")
    client = site.client()
    history = client.get("/api/history?sensor=bme280&since=0&max_points=100",
                         headers=headers).get_json()
    assert "pressure" in history["fields"]
    assert history["points"][-1][history["fields"].index("pressure")] == 1013.25
    site.flush()
    for sensor, expected in (("bme280", UNITS_IN_CSV), (f"ds18b20-{DS_A[3:]}", None)):
        export = client.get(f"/api/export.csv?sensor={sensor}", headers=headers)
        rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
        assert rows[0][:3] == ["sensor", "time_utc", "epoch"] and len(rows) == 3
        if expected:
            assert expected <= set(rows[0])
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    text = metrics.get_data(as_text=True)
    assert 'sensorhub_pressure_pascals{room="cellar",sensor="bme280"} 101325.0' in text
    assert 'sensorhub_relative_humidity_ratio{room="cellar",sensor="sht3x"} 0.512' in text
    assert f'sensorhub_temperature_celsius{{room="cellar",sensor="ds18b20-{DS_A[3:]}"}} 21.5' \
        in text
    alerts = client.get("/api/alerts", headers=headers).get_json()["alerts"]
    assert {(a["sensor"], a["kind"]) for a in alerts} >= {("bme280", "pressure_below"),
                                                           ("sht3x", "humidity_above")}


def test_a_broken_or_vanished_device_fails_alone_and_recovers(
        tmp_path: Path, tree: FakeSysfs, capsys: pytest.CaptureFixture[str], make_site,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DhtDriver, "library_cache_seconds", 0.0)
    sensors = yaml.safe_load(detect(tmp_path, tree, capsys))["sensors"]
    for sensor in sensors:  # short enough for "offline" to come within the test
        quick = 2 if sensor["driver"] == "dht22" else 1
        sensor.update(interval=quick, offline_after=quick)
    site: Site = make_site(rooms=[{"id": "cellar"}], sensors=sensors,
                           extra={"hardware": {"sysfs": str(tree.root)}})
    poller = site.web.hub.poller
    assert site.poll() == 5
    devices = {"bme280": _device(tree, "bus/iio/devices", "bme280")}
    devices["bme280"].unplug()
    (tree.root / "bus/w1/devices" / DS_B / "w1_slave").write_text(w1_slave(5250, crc_ok=False))
    for _ in range(3):
        site.poll()
    states = {s.sensor: s for s in poller.states()}
    assert states["bme280"].state == "failing"
    assert f"not_found: {tree.root}/bus/iio/devices: no IIO device named 'bme280'" \
        in (states["bme280"].error or "")
    assert states[f"ds18b20-{DS_B[3:]}"].state == "failing"
    assert f"checksum: {tree.root}/bus/w1/devices/{DS_B}/w1_slave: CRC check failed" \
        in (states[f"ds18b20-{DS_B[3:]}"].error or "")
    assert {s for s, st in states.items() if st.state == "ok"} == {
        "dht-gpio4", "sht3x", f"ds18b20-{DS_A[3:]}"}
    time.sleep(1.1)
    site.poll()
    assert poller.state("bme280").state == "offline"
    devices["bme280"].plug()
    devices["bme280"].renumber("iio:device9")  # and it came back under another number
    (tree.root / "bus/w1/devices" / DS_B / "w1_slave").write_text(w1_slave(6000))
    site.poll()
    assert {s.state for s in poller.states()} == {"ok"}
    assert poller.latest(f"ds18b20-{DS_B[3:]}").temperature == 6.0


def _device(tree: FakeSysfs, link_dir: str, name: str):
    """The fake tree's handle of the device called ``name``."""
    from tests.fakes.sysfs_tree import Device

    for link in sorted((tree.root / link_dir).iterdir()):
        if (link / "name").read_text().strip() == name:
            return Device(tree, link.resolve(), tree.root / link_dir, link.name)
    raise LookupError(name)
