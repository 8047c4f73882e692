"""config.yaml for the kernel-first and I2C drivers: hardware.sysfs and each driver's options."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensorhub.config import ConfigError, parse_config

ROOMS = "rooms:\n  - {id: a, name: A}\n"


def config_with(tmp_path: Path, sensors: str, extra: str = ""):
    return parse_config(ROOMS + "sensors:\n" + sensors + extra, tmp_path / "config.yaml")


def problems(tmp_path: Path, sensors: str, extra: str = "") -> list[str]:
    with pytest.raises(ConfigError) as error:
        config_with(tmp_path, sensors, extra)
    return [str(p).split(": ", 1)[1] for p in error.value.problems]


MOCK = "  - {id: m, room: a, driver: mock, interval: 1}\n"


def test_hardware_sysfs_defaults_to_sys_and_resolves_relative_paths(tmp_path: Path) -> None:
    assert str(config_with(tmp_path, MOCK).hardware.sysfs) == "/sys"
    (tmp_path / "fake-sys").mkdir()
    config = config_with(tmp_path, MOCK, "hardware:\n  sysfs: fake-sys\n")
    assert config.hardware.sysfs == tmp_path / "fake-sys"


@pytest.mark.parametrize(("extra", "expected"), [
    ("hardware:\n  sysfs: nowhere\n",
     "config.yaml:6: hardware.sysfs: {tmp}/nowhere is not a directory"),
    ("hardware:\n  sysf: /sys\n", "config.yaml:6: hardware.sysf: unknown key; known keys: sysfs"),
    ("hardware:\n  sysfs: 3\n", "config.yaml:6: hardware.sysfs: expected str, got int '3'"),
    ("hardware: /sys\n", "config.yaml:5: hardware: expected a mapping, got str '/sys'"),
])
def test_hardware_problems_name_the_line(tmp_path: Path, extra: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        config_with(tmp_path, MOCK, extra)
    found = [str(p) for p in error.value.problems]
    assert any(p.endswith(expected.format(tmp=tmp_path)) for p in found), found


def test_kernel_sensors_measure_what_their_device_reads(tmp_path: Path) -> None:
    config = config_with(tmp_path, """\
  - {id: bme, room: a, driver: iio, interval: 10, options: {device: bme280}}
  - {id: dht, room: a, driver: iio, interval: 10, options: {device: dht11@4}}
  - {id: odd, room: a, driver: iio, interval: 10, options: {device: iio:device3, co2: true}}
  - {id: sht, room: a, driver: hwmon, interval: 10, options: {device: sht3x, index: 1}}
  - {id: cpu, room: a, driver: hwmon, interval: 10, options: {device: cpu_thermal}}
  - {id: pipe, room: a, driver: ds18b20, interval: 10, options: {address: 28-0316a2795bff}}
  - {id: one, room: a, driver: ds18b20, interval: 5}
  - {id: porch, room: a, driver: dht22, interval: 10, pin: 4, options: {backend: kernel}}
""")
    measured = {s.id: s.quantities for s in config.sensors}
    assert measured == {
        "bme": ("temperature", "humidity", "pressure"), "dht": ("temperature", "humidity"),
        "odd": ("co2",), "sht": ("temperature", "humidity"), "cpu": ("temperature",),
        "pipe": ("temperature",), "one": ("temperature",),
        "porch": ("temperature", "humidity")}
    assert config.sensors[-1].options["backend"] == "kernel"


@pytest.mark.parametrize(("sensor", "expected"), [
    ("{id: x, room: a, driver: iio, interval: 10}", "sensors[0].options.device: required"),
    ("{id: x, room: a, driver: iio, interval: 10, options: {device: thing}}",
     "sensors[0].options: iio device 'thing' is not one sensorhub knows; say what it measures"),
    ("{id: x, room: a, driver: iio, interval: 10, options: {device: ../../etc}}",
     "sensors[0].options.device: '../../etc' is not a kernel device name"),
    ("{id: x, room: a, driver: hwmon, interval: 10, options: {device: sht3x, pressure: true}}",
     "sensors[0].options.pressure: unknown key"),
    ("{id: x, room: a, driver: ds18b20, interval: 10, options: {address: 28-xyz}}",
     "sensors[0].options.address: '28-xyz' is not a 1-Wire address"),
    ("{id: x, room: a, driver: ds18b20, interval: 0.5}",
     "sensors[0].interval: 0.5 s is below the ds18b20 minimum of 1.0 s"),
    ("{id: x, room: a, driver: dht22, pin: 4, interval: 10, options: {backend: pigpio}}",
     "sensors[0].options.backend: must be one of auto, kernel, adafruit, got 'pigpio'"),
    ("{id: x, room: a, driver: ds18b20, interval: 10, offsets: {humidity: 1}}",
     "a ds18b20 sensor here measures temperature, not humidity"),
])
def test_driver_option_problems(tmp_path: Path, sensor: str, expected: str) -> None:
    found = problems(tmp_path, f"  - {sensor}\n")
    assert any(expected in p for p in found), found


def test_the_starter_config_shows_a_valid_example_of_every_new_driver() -> None:
    """Uncommented, config.yaml's examples pass the checker (and still cover each driver)."""
    import re

    from tests.conftest import ROOT

    source = ROOT / "config.yaml"
    text = source.read_text()
    assert {s.driver for s in parse_config(text, source).sensors} == {"mock"}
    example = re.compile(r"^(\s*)# ((?:- |\s*[a-z_]+:).*)$")
    uncommented = "\n".join(example.sub(r"\1\2", line) for line in text.splitlines())
    config = parse_config(uncommented, source)
    drivers = {s.driver for s in config.sensors}
    assert drivers >= {"dht22", "iio", "hwmon", "ds18b20", "scd4x", "aht20", "mock"}
    assert str(config.hardware.sysfs) == "/sys"
