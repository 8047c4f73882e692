"""A fake /sys laid out as the kernel lays it out, for the sysfs drivers and detect.

Devices live under ``devices/`` and the class/bus directories hold symlinks to them,
as in the real sysfs (``bus/iio/devices/iio:device0 -> ../../../devices/...``). A test
changes a value (``set``), makes a device vanish and come back (``unplug``/``plug``),
or renumbers it (``renumber``: what a reboot does to ``iio:deviceN``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from drivers.sysfs import GPIO_DIR, HWMON_DIR, I2C_CLIENTS_DIR, I2C_DEV_DIR, IIO_DIR, W1_DIR


@dataclass
class Device:
    """One device directory and the class/bus link that lists it."""

    tree: FakeSysfs
    real: Path  # devices/.../<entry>
    link_dir: Path  # bus/iio/devices, class/hwmon, ...
    entry: str  # iio:device0, hwmon1, 28-...

    @property
    def path(self) -> Path:
        """Where the drivers see it."""
        return self.link_dir / self.entry

    def set(self, attribute: str, value: str | int | float) -> None:
        """Write one attribute's content (what the kernel would answer next)."""
        target = self.real / attribute
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"{value}\n")

    def remove(self, attribute: str) -> None:
        """Drop one attribute (a channel this driver version lacks)."""
        (self.real / attribute).unlink()

    def unplug(self) -> None:
        """The device vanishes (driver unbound, sensor unplugged, w1 slave dropped)."""
        (self.link_dir / self.entry).unlink()
        self.real.rename(self.real.with_name(self.real.name + ".gone"))

    def plug(self) -> None:
        """The device comes back."""
        self.real.with_name(self.real.name + ".gone").rename(self.real)
        self._link()

    def renumber(self, entry: str) -> None:
        """The kernel numbers it differently (another boot, another probe order)."""
        (self.link_dir / self.entry).unlink()
        new_real = self.real.with_name(entry)
        self.real.rename(new_real)
        self.real, self.entry = new_real, entry
        self._link()

    def _link(self) -> None:
        self.link_dir.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(self.real, self.link_dir), self.link_dir / self.entry)


class FakeSysfs:
    """A directory that looks like /sys to the drivers (``hardware.sysfs``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _device(self, parent: str, entry: str, link_dir: str, attributes: dict[str, object]
                ) -> Device:
        real = self.root / "devices" / parent / entry
        real.mkdir(parents=True)
        device = Device(self, real, self.root / link_dir, entry)
        for attribute, value in attributes.items():
            device.set(attribute, value)  # type: ignore[arg-type]
        device._link()
        return device

    def _next(self, link_dir: str, prefix: str) -> str:
        used = {p.name for p in (self.root / link_dir).glob(f"{prefix}*")} \
            if (self.root / link_dir).is_dir() else set()
        return next(f"{prefix}{n}" for n in range(100) if f"{prefix}{n}" not in used)

    def iio(self, name: str, parent: str, **channels: object) -> Device:
        """An IIO device (``name`` and channel files like ``in_temp_input``)."""
        entry = self._next(IIO_DIR, "iio:device")
        return self._device(parent, entry, IIO_DIR, {"name": name, **channels})

    def dht11(self, pin: int, temperature: float, humidity: float) -> Device:
        """``dtoverlay=dht11,gpiopin=N``: a platform device named dht11@<pin in hex>."""
        name = f"dht11@{pin:x}"
        return self.iio(name, f"platform/{name}", in_temp_input=round(temperature * 1000),
                        in_humidityrelative_input=round(humidity * 1000))

    def bme280(self, bus: int, address: int, temperature: float, humidity: float,
               pressure: float) -> Device:
        """``dtoverlay=i2c-sensor,bme280``: the bmp280 driver's processed channels."""
        self.i2c_client(bus, address, "bme280")
        return self.iio("bme280", f"platform/soc/i2c-{bus}/{bus}-{address:04x}",
                        in_temp_input=round(temperature * 1000),
                        in_humidityrelative_input=f"{humidity * 1000:.6f}",
                        in_pressure_input=f"{pressure / 10:.9f}")  # kPa

    def hwmon(self, name: str, parent: str, **attributes: object) -> Device:
        """A hwmon device (``name``, ``temp1_input`` ...)."""
        entry = self._next(HWMON_DIR, "hwmon")
        return self._device(f"{parent}/hwmon", entry, HWMON_DIR, {"name": name, **attributes})

    def sht3x(self, bus: int, address: int, temperature: float, humidity: float) -> Device:
        """``dtoverlay=i2c-sensor,sht3x``: the kernel's hwmon driver."""
        self.i2c_client(bus, address, "sht3x")
        return self.hwmon("sht3x", f"platform/soc/i2c-{bus}/{bus}-{address:04x}",
                          temp1_input=round(temperature * 1000),
                          humidity1_input=round(humidity * 1000))

    def ds18b20(self, address: str, temperature: float | None = None,
                w1_slave: str | None = None) -> Device:
        """A 1-Wire thermometer: ``temperature`` (current kernels) and/or ``w1_slave``."""
        attributes: dict[str, object] = {"name": address}
        if temperature is not None:
            attributes["temperature"] = round(temperature * 1000)
        if w1_slave is not None:
            attributes["w1_slave"] = w1_slave
        return self._device("w1_bus_master1", address, W1_DIR, attributes)

    def i2c_adapter(self, bus: int) -> None:
        """``/dev/i2c-N`` exists (i2c-dev loaded, ``dtparam=i2c_arm=on``)."""
        (self.root / I2C_DEV_DIR / f"i2c-{bus}").mkdir(parents=True, exist_ok=True)

    def i2c_client(self, bus: int, address: int, name: str) -> None:
        """A device the kernel bound on an I2C bus (an overlay's sensor)."""
        self.i2c_adapter(bus)
        client = self.root / I2C_CLIENTS_DIR / f"{bus}-{address:04x}"
        client.mkdir(parents=True, exist_ok=True)
        (client / "name").write_text(f"{name}\n")

    def gpiochip(self, number: int) -> None:
        """A GPIO character device ``/dev/gpiochipN`` (listed on the gpio bus)."""
        (self.root / GPIO_DIR / f"gpiochip{number}").mkdir(parents=True, exist_ok=True)


def w1_slave(milli: int, crc_ok: bool = True) -> str:
    """A ``w1_slave`` read as older kernels print it."""
    raw = int(milli * 16 / 1000) & 0xFFFF
    scratch = f"{raw & 0xFF:02x} {raw >> 8:02x} 4b 46 7f ff 0c 10 1c"
    return f"{scratch} : crc=1c {'YES' if crc_ok else 'NO'}\n{scratch} t={milli}"
