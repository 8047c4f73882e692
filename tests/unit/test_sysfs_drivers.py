"""The kernel-first drivers (iio, hwmon, ds18b20, DHT backend: kernel) on fake sysfs trees.

Each tree is laid out as the kernel does it (tests/fakes/sysfs_tree.py); the drivers
are opened through the registry with ``sysfs=`` the tree, as the poller opens them.
"""

from __future__ import annotations

import errno

import pytest

from drivers.base import Sample
from drivers.dht import DHT11Driver, DHT22Driver
from drivers.errors import (
    ChecksumError,
    DriverError,
    HardwareUnavailableError,
    ImplausibleReadingError,
    SensorNotFoundError,
    TransientReadError,
)
from drivers.registry import open_driver
from drivers.sysfs import kernel_error
from tests.fakes.sysfs_tree import FakeSysfs, w1_slave

ADDRESS_A = "28-0316a2795bff"
ADDRESS_B = "28-3c01d607d4aa"


def opened(tree: FakeSysfs, driver: str, pin: int | None = None, **options: object):
    return open_driver(driver, pin, options, sysfs=str(tree.root))


# -- IIO ---------------------------------------------------------------------------

def test_iio_reads_processed_channels_in_our_units(fake_sysfs):
    fake_sysfs.bme280(1, 0x76, 21.5, 45.123, 1013.25)
    driver = opened(fake_sysfs, "iio", device="bme280")
    assert driver.read() == Sample(21.5, 45.123, 1013.25, None)  # kPa -> hPa, m% -> %


def test_iio_reads_raw_channels_as_raw_plus_offset_times_scale(fake_sysfs):
    # value = (raw + offset) x scale (sysfs-bus-iio); a type-wide scale serves in_temp0
    fake_sysfs.iio("scd30", "platform/soc/i2c-1/1-0061", in_temp0_raw=1000, in_temp_offset=-500,
                   in_temp_scale=40, in_humidityrelative_raw=4000, in_humidityrelative_scale=10,
                   in_concentration_co2_raw=612, in_concentration_co2_scale="0.0001")
    driver = opened(fake_sysfs, "iio", device="scd30")
    assert driver.quantities == ("temperature", "humidity", "co2")
    assert driver.read() == Sample(20.0, 40.0, None, 612.0)


def test_iio_finds_its_device_again_after_renumbering(fake_sysfs):
    fake_sysfs.iio("htu21", "platform/soc/i2c-1/1-0040", in_temp_input=19000,
                   in_humidityrelative_input=50000)
    bme = fake_sysfs.bme280(1, 0x77, 22.0, 40.0, 1000.0)
    driver = opened(fake_sysfs, "iio", device="bme280")
    assert bme.entry == "iio:device1"
    assert driver.read().pressure == 1000.0
    bme.renumber("iio:device0.new")
    bme.renumber("iio:device7")  # another boot, another order
    bme.set("in_pressure_input", "99.5")
    assert driver.read().pressure == 995.0


def test_iio_device_that_vanishes_fails_with_its_path_and_comes_back(fake_sysfs):
    bme = fake_sysfs.bme280(1, 0x76, 21.0, 40.0, 1010.0)
    driver = opened(fake_sysfs, "iio", device="bme280")
    bme.unplug()
    with pytest.raises(SensorNotFoundError) as info:
        driver.read()
    assert str(fake_sysfs.root / "bus/iio/devices") in str(info.value)
    assert "no IIO device named 'bme280'" in str(info.value)
    bme.plug()
    assert driver.read().temperature == 21.0


def test_iio_index_picks_one_of_several_alike_and_the_name_selects_exactly(fake_sysfs):
    fake_sysfs.bme280(1, 0x76, 21.0, 40.0, 1010.0)
    fake_sysfs.bme280(1, 0x77, 25.0, 30.0, 1011.0)
    assert opened(fake_sysfs, "iio", device="bme280", index=1).read().temperature == 25.0
    exact = opened(fake_sysfs, "iio", device="iio:device0", temperature=True)
    assert exact.read() == Sample(21.0, None)
    with pytest.raises(SensorNotFoundError, match="#2"):
        opened(fake_sysfs, "iio", device="bme280", index=2).read()


def test_iio_missing_channel_names_the_file(fake_sysfs):
    bme = fake_sysfs.bme280(1, 0x76, 21.0, 40.0, 1010.0)
    bme.remove("in_pressure_input")
    with pytest.raises(HardwareUnavailableError, match="in_pressure_input or in_pressure_raw"):
        opened(fake_sysfs, "iio", device="bme280").read()


def test_iio_unknown_device_reads_what_its_flags_say(fake_sysfs):
    fake_sysfs.iio("lps25h", "platform/x", in_pressure_raw=4096, in_pressure_scale="0.000244")
    driver = opened(fake_sysfs, "iio", device="lps25h", pressure=True)
    assert driver.read() == Sample(None, None, 9.994, None)
    with pytest.raises(HardwareUnavailableError, match="say what it measures"):
        opened(fake_sysfs, "iio", device="lps25h")


def test_a_garbled_value_is_a_transient_error(fake_sysfs):
    bme = fake_sysfs.bme280(1, 0x76, 21.0, 40.0, 1010.0)
    bme.set("in_temp_input", "")
    with pytest.raises(SensorNotFoundError, match="empty read"):
        opened(fake_sysfs, "iio", device="bme280").read()
    bme.set("in_temp_input", "nonsense")
    with pytest.raises(TransientReadError, match="not a number"):
        opened(fake_sysfs, "iio", device="bme280").read()


@pytest.mark.parametrize(("code", "cls", "kind"), [
    (errno.EIO, TransientReadError, "transient"),
    (errno.ETIMEDOUT, SensorNotFoundError, "not_found"),
    (errno.EREMOTEIO, SensorNotFoundError, "not_found"),
    (errno.ENODEV, SensorNotFoundError, "not_found"),
    (errno.EBUSY, TransientReadError, "transient"),
    (errno.EACCES, HardwareUnavailableError, "unavailable"),
])
def test_kernel_errors_map_to_our_kinds_with_the_path(code, cls, kind):
    error = kernel_error(OSError(code, "x"), "/sys/bus/iio/devices/iio:device0/in_temp_input")
    assert type(error) is cls and error.kind == kind
    assert str(error).startswith("/sys/bus/iio/devices/iio:device0/in_temp_input: ")
    dht = kernel_error(OSError(errno.EIO, "x"), "/p", eio=ChecksumError)
    assert type(dht) is ChecksumError  # the dht11 driver's EIO: a bad checksum


def test_an_oserror_reading_sysfs_becomes_the_mapped_error(fake_sysfs):
    # open() on a socket fails with ENXIO, the errno of an I2C read nobody answers
    import socket
    import tempfile

    bme = fake_sysfs.bme280(1, 0x76, 21.0, 40.0, 1010.0)
    (bme.real / "in_temp_input").unlink()
    with tempfile.TemporaryDirectory(dir="/tmp") as short, socket.socket(socket.AF_UNIX) as sock:
        sock.bind(f"{short}/s")  # AF_UNIX paths are short: bind here, link from the tree
        (bme.real / "in_temp_input").symlink_to(f"{short}/s")
        with pytest.raises(SensorNotFoundError) as info:
            opened(fake_sysfs, "iio", device="bme280").read()
    assert "in_temp_input: nothing answered at this address" in str(info.value)


# -- hwmon -------------------------------------------------------------------------

def test_hwmon_reads_temperature_and_humidity(fake_sysfs):
    fake_sysfs.hwmon("cpu_thermal", "virtual/thermal/thermal_zone0", temp1_input=48312)
    fake_sysfs.sht3x(1, 0x44, 23.45, 51.2)
    driver = opened(fake_sysfs, "hwmon", device="sht3x")
    assert driver.read() == Sample(23.45, 51.2)
    assert opened(fake_sysfs, "hwmon", device="cpu_thermal").read() == Sample(48.312, None)


def test_hwmon_files_under_device_as_older_drivers_keep_them(fake_sysfs):
    old = fake_sysfs.hwmon("placeholder", "platform/old")
    old.remove("name")
    old.set("device/name", "sht21")
    old.set("device/temp1_input", 20500)
    old.set("device/humidity1_input", 33000)
    assert opened(fake_sysfs, "hwmon", device="sht21").read() == Sample(20.5, 33.0)


def test_hwmon_device_that_vanishes_and_returns(fake_sysfs):
    sht = fake_sysfs.sht3x(1, 0x44, 23.0, 50.0)
    driver = opened(fake_sysfs, "hwmon", device="sht3x")
    sht.unplug()
    with pytest.raises(SensorNotFoundError, match="class/hwmon: no hwmon device named 'sht3x'"):
        driver.read()
    sht.plug()
    sht.set("temp1_input", 24000)
    assert driver.read().temperature == 24.0


# -- DS18B20 -----------------------------------------------------------------------

def test_ds18b20_reads_the_temperature_file(fake_sysfs):
    fake_sysfs.ds18b20(ADDRESS_A, temperature=21.625)
    assert opened(fake_sysfs, "ds18b20", address=ADDRESS_A).read() == Sample(21.625, None)


def test_ds18b20_reads_w1_slave_on_older_kernels(fake_sysfs):
    sensor = fake_sysfs.ds18b20(ADDRESS_A, w1_slave=w1_slave(-10125))
    driver = opened(fake_sysfs, "ds18b20", address=ADDRESS_A)
    assert driver.read() == Sample(-10.125, None)
    sensor.set("w1_slave", w1_slave(23125, crc_ok=False))
    with pytest.raises(ChecksumError, match=r"CRC check failed \(.*crc=1c NO\)"):
        driver.read()
    sensor.set("w1_slave", "00 00 00 00 00 00 00 00 00 : crc=00 YES\n"
                           "00 00 00 00 00 00 00 00 00 t=0")
    with pytest.raises(SensorNotFoundError, match="all-zero"):
        driver.read()
    sensor.set("w1_slave", "")
    with pytest.raises(SensorNotFoundError, match="no valid answer"):
        driver.read()


@pytest.mark.parametrize("form", ["temperature", "w1_slave"])
def test_ds18b20_power_on_value_is_a_failed_read(fake_sysfs, form):
    if form == "temperature":
        fake_sysfs.ds18b20(ADDRESS_A, temperature=85.0)
    else:
        fake_sysfs.ds18b20(ADDRESS_A, w1_slave=w1_slave(85000))
    with pytest.raises(ImplausibleReadingError, match="85 °C is the power-on value"):
        opened(fake_sysfs, "ds18b20", address=ADDRESS_A).read()


def test_ds18b20_failed_conversion_reads_empty(fake_sysfs):
    sensor = fake_sysfs.ds18b20(ADDRESS_A, temperature=20.0)
    sensor.set("temperature", "")  # w1_therm returns 0 bytes when CRC or reset failed
    with pytest.raises(SensorNotFoundError, match=f"{ADDRESS_A}/temperature: empty read"):
        opened(fake_sysfs, "ds18b20", address=ADDRESS_A).read()


def test_ds18b20_address_is_optional_with_exactly_one(fake_sysfs):
    with pytest.raises(HardwareUnavailableError, match="dtoverlay=w1-gpio"):
        opened(fake_sysfs, "ds18b20")
    fake_sysfs.ds18b20(ADDRESS_A, temperature=20.0)
    (fake_sysfs.root / "bus/w1/devices/w1_bus_master1").mkdir()  # the master: not a sensor
    assert opened(fake_sysfs, "ds18b20").read() == Sample(20.0, None)
    fake_sysfs.ds18b20(ADDRESS_B, temperature=30.0)
    with pytest.raises(HardwareUnavailableError, match=f"{ADDRESS_A}, {ADDRESS_B}"):
        opened(fake_sysfs, "ds18b20")


def test_ds18b20_unplugged_then_back(fake_sysfs):
    sensor = fake_sysfs.ds18b20(ADDRESS_A, temperature=20.0)
    driver = opened(fake_sysfs, "ds18b20", address=ADDRESS_A.upper().replace("28-", "28-"))
    sensor.unplug()
    with pytest.raises(SensorNotFoundError, match="not on the 1-Wire bus"):
        driver.read()
    sensor.plug()
    assert driver.read() == Sample(20.0, None)


# -- DHT through the kernel ----------------------------------------------------------

def test_dht_kernel_backend_reads_the_dht11_iio_device_of_its_pin(fake_sysfs):
    fake_sysfs.dht11(4, 21.3, 45.0)
    fake_sysfs.dht11(17, 18.0, 60.0)  # dht11@11: the unit address is the pin in hex
    for cls, pin, expected in ((DHT22Driver, 4, Sample(21.3, 45.0)),
                               (DHT11Driver, 17, Sample(18.0, 60.0))):
        driver = cls(pin, backend="kernel", sysfs=str(fake_sysfs.root))
        assert driver.backend == "kernel"
        assert driver.read() == expected
    with pytest.raises(SensorNotFoundError, match="no dht11 device for GPIO 22"):
        DHT22Driver(22, backend="kernel", sysfs=str(fake_sysfs.root)).read()


def test_dht_auto_takes_the_kernel_device_when_there_is_one(fake_sysfs, fake_hardware):
    fake_sysfs.dht11(4, 21.3, 45.0)
    assert opened(fake_sysfs, "dht22", 4).backend == "kernel"
    fake_hardware.script(pin=5, outcomes=["ok:19.0,55.0"])
    adafruit = opened(fake_sysfs, "dht22", 5)  # no overlay for GPIO 5: adafruit_dht
    assert adafruit.backend == "adafruit" and adafruit.read() == Sample(19.0, 55.0)
    adafruit.close()
    assert opened(fake_sysfs, "dht22", 4, backend="adafruit").backend == "adafruit"


def test_dht_kernel_errors_are_checksum_and_not_found(fake_sysfs):
    dht = fake_sysfs.dht11(4, 21.0, 40.0)
    driver = DHT22Driver(4, backend="kernel", sysfs=str(fake_sysfs.root))
    driver.library_cache_seconds = 0.0
    dht.unplug()
    with pytest.raises(SensorNotFoundError, match="no dht11 device for GPIO 4"):
        driver.read()
    dht.plug()
    assert driver.read() == Sample(21.0, 40.0)
    assert isinstance(kernel_error(OSError(errno.EIO, "Input/output error"), dht.path,
                                   eio=ChecksumError), DriverError)
