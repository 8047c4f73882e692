"""Find every sensor this machine can read: kernel devices in sysfs and known I2C addresses.

IIO and hwmon devices are listed by name, 1-Wire thermometers by address, and on each
``/dev/i2c-N`` the addresses of the userspace sensors (SCD4x, AHT20) are probed, unless
a kernel driver owns them. Each find says which driver and options read it; ``read``
takes one reading through that very driver.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers import hwmon, iio
from drivers.base import Sample
from drivers.errors import DriverError
from drivers.sysfs import (
    HWMON_DIR,
    I2C_CLIENTS_DIR,
    I2C_DEV_DIR,
    IIO_DIR,
    children,
    device_name,
)
from drivers.w1 import thermometers

#: address -> (driver, what is there) for the sensors read from userspace
USERSPACE_I2C: dict[int, tuple[str, str]] = {0x62: ("scd4x", "SCD40/SCD41"),
                                             0x38: ("aht20", "AHT20")}
#: addresses of sensors the kernel reads, with the overlay that binds them
OVERLAY_HINTS: dict[int, str] = {
    0x76: "a BME280/BMP280? dtoverlay=i2c-sensor,bme280,addr=0x76",
    0x77: "a BME280/BMP280/BME680? dtoverlay=i2c-sensor,bme280,addr=0x77",
    0x44: "an SHT3x/SHT4x? dtoverlay=i2c-sensor,sht3x (or sht4x)",
    0x45: "an SHT3x? dtoverlay=i2c-sensor,sht3x,addr=0x45",
    0x40: "an HTU21/Si7021? dtoverlay=i2c-sensor,htu21 (or si7020)",
}
_I2C_CLIENT = re.compile(r"^(\d+)-00([0-9a-f]{2})$")


@dataclass
class Found:
    """One sensor: how to configure it and where it was seen."""

    driver: str
    where: str  # a sysfs path, or /dev/i2c-N and the address
    label: str  # what it is, in a few words
    options: dict[str, Any] = field(default_factory=dict)
    pin: int | None = None
    note: str = ""


def _i2c_place(device: Path) -> str | None:
    """``i2c-1 0x76`` if a kernel device sits on an I2C bus (its path says so)."""
    for part in reversed(device.resolve().parts):
        match = _I2C_CLIENT.match(part)
        if match:
            return f"i2c-{match.group(1)} 0x{match.group(2)}"
    return None


def _kernel(kind: str, base: Path, known: Mapping[str, tuple[str, ...]],
            present: Any) -> list[Found]:
    found: list[Found] = []
    seen: Counter[str] = Counter()
    for device in children(base):
        name = device_name(device)
        if name is None or name in hwmon.NOT_SENSORS:
            continue
        quantities = known.get(iio.family(name)) or present(device)
        if not quantities:
            continue  # an ADC, a fan, a voltage: not a climate sensor
        options: dict[str, Any] = {"device": name}
        if seen[name]:
            options["index"] = seen[name]
        seen[name] += 1
        if iio.family(name) not in known:
            options.update(dict.fromkeys(quantities, True))
        place = _i2c_place(device)
        label = f"{name}" + (f" on {place}" if place else "")
        found.append(Found(kind, str(device), label, options))
    return found


def _dht(found: Found) -> Found:
    """A dht11 IIO device read as a DHT, on the pin its name carries (``dht11@<hex>``)."""
    name = found.options["device"]
    address = name.partition("@")[2]
    if not address or "index" in found.options:
        return found
    pin = int(address, 16)
    return Found("dht22", found.where, f"DHT on GPIO {pin} (kernel dht11 driver)",
                 {"backend": "kernel"}, pin=pin,
                 note="the kernel reads DHT11 and DHT22 alike: use driver dht11 for a DHT11")


def scan_sysfs(sysfs: str) -> list[Found]:
    """Every kernel sensor under one sysfs root."""
    root = Path(sysfs)
    found = [_dht(f) if iio.family(f.options["device"]) == "dht11" else f
             for f in _kernel("iio", root / IIO_DIR, iio.KNOWN, iio.channels)]
    found += _kernel("hwmon", root / HWMON_DIR, hwmon.KNOWN, hwmon.attributes)
    for address in thermometers(sysfs):
        found.append(Found("ds18b20", str(root / "bus/w1/devices" / address),
                           f"1-Wire thermometer {address}", {"address": address}))
    return found


def scan_i2c(sysfs: str) -> tuple[list[Found], list[str]]:
    """Userspace I2C sensors on every bus, and hints for kernel sensors without an overlay."""
    from drivers.i2c import I2cDevice  # smbus2, only if there is a bus to look at

    found: list[Found] = []
    hints: list[str] = []
    root = Path(sysfs)
    for adapter in children(root / I2C_DEV_DIR):
        bus = int(adapter.name.rpartition("-")[2])
        for address in (*USERSPACE_I2C, *OVERLAY_HINTS):
            if (root / I2C_CLIENTS_DIR / f"{bus}-{address:04x}").exists():
                continue  # a kernel driver owns it: it shows up as IIO or hwmon above
            try:
                device = I2cDevice(bus, address)
            except DriverError as error:
                hints.append(f"/dev/i2c-{bus}: {error}")
                break
            try:
                present = device.probe()
            finally:
                device.close()
            if not present:
                continue
            where = f"/dev/i2c-{bus} 0x{address:02x}"
            if address in USERSPACE_I2C:
                driver, what = USERSPACE_I2C[address]
                options = {} if bus == 1 else {"bus": bus}
                found.append(Found(driver, where, f"{what} on i2c-{bus} 0x{address:02x}",
                                   options))
            else:
                hints.append(f"{where}: {OVERLAY_HINTS[address]}")
    return found, hints


def read(found: Found, sysfs: str) -> Sample | DriverError:
    """One reading through the driver the find names (or why there is none)."""
    from drivers.blinka import explain
    from drivers.registry import open_driver

    try:
        with open_driver(found.driver, found.pin, found.options, sysfs=sysfs) as driver:
            return driver.read()
    except Exception as error:
        return explain(error)
