"""Pressure and CO2 beside temperature and humidity: config, filter, store, alerts, MQTT."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drivers.base import Sample
from drivers.errors import ImplausibleReadingError
from drivers.registry import DRIVER_SPECS
from sensorhub.alerts.engine import AlertEngine, AlertLog
from sensorhub.config import ConfigError, parse_config
from sensorhub.mqtt.homeassistant import discovery_messages
from sensorhub.polling.filter import SampleFilter
from sensorhub.readings import Reading
from sensorhub.runtime import ThreadingRuntime
from sensorhub.storage.store import Store

T0 = 1_790_000_000.0
CONFIG = """\
rooms: [{id: lab}]
sensors:
  - id: air
    room: lab
    driver: mock
    interval: 1
    options: {pressure: true, co2: true}
"""


def config_with(extra: str, tmp_path: Path) -> object:
    return parse_config(CONFIG + extra, tmp_path / "config.yaml")


def test_a_sensor_measures_what_its_driver_and_options_say(tmp_path: Path) -> None:
    config = parse_config(CONFIG + """\
  - {id: dht, room: lab, driver: dht22, interval: 5, pin: 4}
  - {id: plain, room: lab, driver: mock, interval: 1}
  - {id: co2-only, room: lab, driver: mqtt_json, interval: 10,
     options: {topic: office/scd41, co2_field: co2}}
mqtt: {url: "mqtt://127.0.0.1:1883"}
""", tmp_path / "config.yaml")
    assert [s.quantities for s in config.sensors] == [
        ("temperature", "humidity", "pressure", "co2"), ("temperature", "humidity"),
        ("temperature", "humidity"), ("co2",)]


@pytest.mark.parametrize(("extra", "expected"), [
    ("    calibrate: {co2: [[400, 420]]}\n",
     "sensors[0].calibrate.co2: expected two [raw, true] pairs"),
    ("    calibrate: {temperature: [[20, 21], [20, 30]]}\n",
     "sensors[0].calibrate.temperature: the two raw values must differ"),
    ("    offsets: {co2: 5000}\n", "sensors[0].offsets.co2: must be between -2000.0 and 2000.0"),
    ("    offsets: {wind: 1}\n", "sensors[0].offsets.wind: unknown key"),
    ("    alerts: [{quantity: rain, above: 1}]\n",
     "sensors[0].alerts[0].quantity: must be one of temperature, humidity, pressure, co2"),
])
def test_bad_quantity_settings_name_their_line(tmp_path: Path, extra: str, expected: str
                                                ) -> None:
    with pytest.raises(ConfigError) as caught:
        config_with(extra, tmp_path)
    # the line of the setting itself: the eighth, right after the options
    assert any(f"config.yaml:8: {expected}" in str(p) for p in caught.value.problems), \
        caught.value.problems


def test_settings_for_a_quantity_the_sensor_lacks_are_refused(tmp_path: Path) -> None:
    text = ("rooms: [{id: lab}]\nsensors:\n  - {id: t, room: lab, driver: dht22, interval: 5, "
            "pin: 4, offsets: {pressure: 1}, alerts: [{quantity: co2, above: 1000}]}\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, tmp_path / "config.yaml")
    messages = [str(p) for p in caught.value.problems]
    assert any("offsets.pressure: a dht22 sensor here measures temperature, humidity, not "
               "pressure" in m for m in messages), messages
    assert any("alerts[0].quantity: must be one of temperature, humidity, got 'co2'" in m
               for m in messages), messages


def test_calibration_then_offset_then_range(tmp_path: Path) -> None:
    config = config_with("    calibrate: {temperature: [[0.5, 0.0], [99.0, 100.0]], "
                         "co2: [[400, 420], [2000, 2100]]}\n"
                         "    offsets: {temperature: 0.25, pressure: -1.5}\n", tmp_path)
    sensor = config.sensors[0]
    sift = SampleFilter(sensor, DRIVER_SPECS["mock"])
    out = sift.apply(Sample(50.0, 40.0, 1000.0, 1200.0))
    # the line through (0.5, 0.0) and (99.0, 100.0), then the offset
    assert out.temperature == round((50.0 - 0.5) * 100.0 / 98.5 + 0.25, 2)
    assert out.pressure == 998.5 and out.humidity == 40.0
    assert out.co2 == pytest.approx(420 + (1200 - 400) * 1680 / 1600)
    with pytest.raises(ImplausibleReadingError,
                       match=r"pressure 1200\.0 hPa is outside 280\.\.1120 hPa"):
        SampleFilter(sensor, DRIVER_SPECS["mock"]).apply(Sample(20.0, 40.0, 1201.5, None))


def test_a_pressure_jump_is_held_back_until_confirmed(tmp_path: Path) -> None:
    sensor = config_with("", tmp_path).sensors[0]
    sift = SampleFilter(sensor, DRIVER_SPECS["mock"])
    sift.accepted = sift.apply(Sample(20.0, 40.0, 1000.0, 600.0))
    with pytest.raises(ImplausibleReadingError,
                       match=r"jump from .*1000\.0 hPa.* to .*1030\.0 hPa"):
        sift.apply(Sample(20.0, 40.0, 1030.0, 600.0))
    # CO2 has no jump filter: a person breathing next to the sensor is real
    assert sift.apply(Sample(20.0, 40.0, 1000.5, 3000.0)).co2 == 3000.0


def test_the_store_keeps_every_quantity_through_rollups_and_export(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite", retention_days=36500)
    for i in range(240):  # four minutes, one a second
        store.add(Reading("air", "lab", T0 + i, i, 20.0, 40.0, 1000.0 + (i % 10) / 10,
                          400.0 + i))
        store.add(Reading("dht", "lab", T0 + i, i, 21.0, 41.0))
    assert store.flush() == 480
    raw = store.history("air", T0, T0 + 239, 1000, ("temperature", "humidity", "pressure",
                                                    "co2"))
    assert raw["fields"][7:] == ["pressure", "pressure_min", "pressure_max", "co2", "co2_min",
                                 "co2_max"]
    assert len(raw["points"]) == 240 and raw["points"][5][7:] == [1000.5, 1000.5, 1000.5,
                                                                  405.0, 405.0, 405.0]
    # a four-point view comes from the one-minute rollup in two-minute buckets: means and
    # extremes per bucket (the first bucket holds the first 40 readings)
    coarse = store.history("air", T0, T0 + 239, 4, ("pressure", "co2"))
    assert coarse["step"] == 120.0
    assert coarse["points"][0][7:] == [1000.45, 1000.0, 1000.9, 419.5, 400.0, 439.0]
    # a sensor with temperature and humidity only keeps the short points
    dht = store.history("dht", T0, T0 + 239, 4)
    assert dht["fields"] == ["ts", "temperature", "humidity", "temperature_min",
                             "temperature_max", "humidity_min", "humidity_max"]
    assert all(len(p) == 7 for p in dht["points"])
    rows = list(store.export_rows("air", T0, T0 + 2))
    assert rows == [(T0, 20.0, 40.0, 1000.0, 400.0), (T0 + 1, 20.0, 40.0, 1000.1, 401.0),
                    (T0 + 2, 20.0, 40.0, 1000.2, 402.0)]
    latest = store.latest("air")
    assert latest is not None and (latest.pressure, latest.co2) == (1000.9, 639.0)
    store.close()


def test_an_alert_on_co2_fires_and_clears(tmp_path: Path) -> None:
    config = config_with("    alerts: [{quantity: co2, above: 1000, clear_hysteresis: 100}]\n",
                         tmp_path)
    events: list[dict[str, object]] = []
    engine = AlertEngine(config, AlertLog(Store(tmp_path / "db.sqlite").connect),
                         ThreadingRuntime(), emit=events.append)
    for i, co2 in enumerate((800.0, 1200.0, 950.0, 850.0)):
        engine.on_reading(Reading("air", "lab", T0 + i, i, 20.0, 40.0, 1000.0, co2))
    assert [(e["kind"], e["state"], e["value"]) for e in events] == [
        ("co2_above", "firing", 1200.0), ("co2_above", "cleared", 850.0)]


def test_home_assistant_gets_the_right_device_class_per_quantity(tmp_path: Path) -> None:
    config = config_with("  - {id: dht, room: lab, driver: dht22, interval: 5, pin: 4}\n",
                         tmp_path)
    messages = discovery_messages("homeassistant", "pi", config.sensors, config.rooms, "1")
    found = {(json.loads(p)["unique_id"], json.loads(p)["device_class"],
              json.loads(p)["unit_of_measurement"]) for _t, p in messages}
    assert found == {
        ("sensorhub_pi_air_temperature", "temperature", "°C"),
        ("sensorhub_pi_air_humidity", "humidity", "%"),
        ("sensorhub_pi_air_pressure", "atmospheric_pressure", "hPa"),
        ("sensorhub_pi_air_co2", "carbon_dioxide", "ppm"),
        ("sensorhub_pi_dht_temperature", "temperature", "°C"),
        ("sensorhub_pi_dht_humidity", "humidity", "%"),
    }
