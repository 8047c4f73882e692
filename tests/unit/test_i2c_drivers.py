"""The userspace I2C drivers (SCD4x, AHT20) over the fake smbus2 and datasheet-true devices."""

from __future__ import annotations

import pytest

from drivers.errors import (
    ChecksumError,
    HardwareUnavailableError,
    IncompleteReadError,
    SensorNotFoundError,
)
from drivers.i2c import crc8
from drivers.registry import open_driver


@pytest.fixture
def bus(fake_hardware):
    """I2C bus 1 with nothing on it yet (fakehw.world.i2c[1])."""
    fake_hardware.i2c[1] = {}
    return fake_hardware.i2c[1]


def test_crc8_is_sensirions():
    assert crc8(b"\xbe\xef") == 0x92  # the datasheet's example
    assert crc8(b"") == 0xFF


def test_scd4x_reads_co2_temperature_and_humidity(bus):
    from i2c_devices import FakeScd4x

    sensor = bus[0x62] = FakeScd4x(22.5, 41.0, 812)
    driver = open_driver("scd4x", None, {})
    assert sensor.commands == [0x3F86, 0x21B1]  # stopped (an earlier run?) then started
    sample = driver.read()
    assert sample.co2 == 812.0 and sample.pressure is None
    assert sample.temperature == pytest.approx(22.5, abs=0.01)
    assert sample.humidity == pytest.approx(41.0, abs=0.01)
    sensor.co2 = 1450
    assert driver.read().co2 == 1450.0  # waits for the next periodic measurement
    driver.close()
    assert sensor.commands[-1] == 0x3F86 and not sensor.periodic


def test_scd4x_already_measuring_from_an_earlier_run(bus):
    from i2c_devices import FakeScd4x

    sensor = bus[0x62] = FakeScd4x()
    sensor.write(b"\x21\xb1")  # left running
    with open_driver("scd4x", None, {}) as driver:
        assert driver.read().co2 == 600.0


def test_scd4x_crc_mismatch_is_a_checksum_error(bus):
    from i2c_devices import FakeScd4x

    sensor = bus[0x62] = FakeScd4x()
    driver = open_driver("scd4x", None, {})
    sensor.corrupt_next = True
    with pytest.raises(ChecksumError, match="/dev/i2c-1 address 0x62: CRC mismatch"):
        driver.read()
    assert driver.read().co2 == 600.0
    driver.close()


def test_scd4x_not_started_times_out_as_incomplete(bus, monkeypatch):
    from i2c_devices import FakeScd4x

    import drivers.scd4x as scd4x

    sensor = bus[0x62] = FakeScd4x()
    driver = open_driver("scd4x", None, {})
    monkeypatch.setattr(scd4x, "PERIOD", 0.1)  # give up sooner than 6.5 s
    sensor.periodic = False  # it reset (brown-out) and is idle
    with pytest.raises(IncompleteReadError, match="periodic mode not running"):
        driver.read()


def test_an_unplugged_i2c_sensor_is_not_found_and_comes_back(bus):
    from i2c_devices import FakeAht20

    bus[0x38] = FakeAht20(19.5, 62.0)
    driver = open_driver("aht20", None, {"address": 0x38})
    sensor = bus.pop(0x38)
    with pytest.raises(SensorNotFoundError, match="/dev/i2c-1 address 0x38: no answer"):
        driver.read()
    bus[0x38] = sensor
    assert driver.read().temperature == pytest.approx(19.5, abs=0.01)
    driver.close()


def test_aht20_initialises_once_and_reads(bus):
    from i2c_devices import FakeAht20

    sensor = bus[0x38] = FakeAht20(-5.25, 87.5, busy_reads=2)
    driver = open_driver("aht20", None, {})
    assert sensor.writes == [b"\xbe\x08\x00"] and sensor.calibrated
    sample = driver.read()  # busy twice, then the values
    assert sample.temperature == pytest.approx(-5.25, abs=0.01)
    assert sample.humidity == pytest.approx(87.5, abs=0.01)
    driver.close()
    with open_driver("aht20", None, {}):
        pass
    assert sensor.writes.count(b"\xbe\x08\x00") == 1  # calibrated: no second init


def test_aht20_crc_and_busy_failures(bus):
    from i2c_devices import FakeAht20

    sensor = bus[0x38] = FakeAht20(busy_reads=99)
    driver = open_driver("aht20", None, {})
    with pytest.raises(IncompleteReadError, match="still busy"):
        driver.read()
    sensor.busy_reads = 0
    sensor.corrupt_next = True
    with pytest.raises(ChecksumError, match="0x38: CRC mismatch"):
        driver.read()
    driver.close()


def test_no_i2c_bus_says_how_to_enable_it(fake_hardware):
    with pytest.raises(HardwareUnavailableError, match="/dev/i2c-1 does not exist; enable I2C"):
        open_driver("scd4x", None, {})
    fake_hardware.i2c[3] = {}
    with pytest.raises(SensorNotFoundError, match="/dev/i2c-3 address 0x38"):
        open_driver("aht20", None, {"bus": 3})


def test_no_smbus2_asks_for_the_pi_extra(no_hardware):
    with pytest.raises(HardwareUnavailableError, match=r"sensorhub\[pi\]"):
        open_driver("aht20", None, {})
