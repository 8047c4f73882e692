"""Any sensor the kernel reads through hwmon (``/sys/class/hwmon/hwmonN``).

``dtoverlay=i2c-sensor,sht3x`` (sht4x, aht10, ...) binds the kernel's hwmon driver;
values appear as ``temp1_input`` (m°C) and ``humidity1_input`` (m%RH), per
Documentation/hwmon/sysfs-interface. Older drivers keep their files under ``device/``.
"""

from __future__ import annotations

from pathlib import Path

from drivers.base import QUANTITIES, Sample
from drivers.errors import HardwareUnavailableError
from drivers.iio import KernelDevice
from drivers.sysfs import HWMON_DIR, read_number

# quantity -> the first channel's attribute and its factor to our unit
ATTRIBUTES: dict[str, tuple[str, float]] = {
    "temperature": ("temp1_input", 0.001),
    "humidity": ("humidity1_input", 0.001),
}
KNOWN: dict[str, tuple[str, ...]] = {
    name: ("temperature", "humidity")
    for name in ("sht3x", "sht4x", "sht21", "shtc1", "aht10", "aht20", "htu31", "hih6130",
                 "hdc2010", "sht15")
} | {name: ("temperature",) for name in ("lm75", "tmp102", "ds1621", "cpu_thermal", "mcp9808",
                                          "jc42")}
#: hwmon names that are another driver's view of a sensor listed elsewhere
NOT_SENSORS = ("w1_slave_temp",)  # a DS18B20's hwmon twin: use driver ds18b20


def attribute(device: Path, quantity: str) -> Path | None:
    """Where a hwmon device keeps one quantity (itself or its ``device/``), or None."""
    name = ATTRIBUTES[quantity][0]
    for candidate in (device / name, device / "device" / name):
        if candidate.exists():
            return candidate
    return None


def attributes(device: Path) -> tuple[str, ...]:
    """The quantities a hwmon device has inputs for."""
    return tuple(q for q in QUANTITIES if q in ATTRIBUTES and attribute(device, q))


class HwmonDriver(KernelDevice):
    """One hwmon device."""

    what = "hwmon"
    directory = HWMON_DIR
    known = KNOWN

    def read(self) -> Sample:
        """Find the device again and read its inputs."""
        path = self.find()
        values: dict[str, float | None] = dict.fromkeys(QUANTITIES)
        for quantity in self.quantities:
            where = attribute(path, quantity)
            if where is None:
                raise HardwareUnavailableError(
                    f"{path}: no {quantity} input ({ATTRIBUTES[quantity][0]})")
            values[quantity] = round(read_number(where) * ATTRIBUTES[quantity][1], 3)
        return Sample(**values)
