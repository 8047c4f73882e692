"""DS18B20 (and the other w1_therm thermometers) on the kernel's 1-Wire bus.

``dtoverlay=w1-gpio`` makes the kernel find every sensor on the bus and list it under
``/sys/bus/w1/devices/28-xxxxxxxxxxxx``. Current kernels offer ``temperature`` (m°C;
empty when the read failed), older ones only ``w1_slave``::

    72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
    72 01 4b 46 7f ff 0e 10 57 t=23125

A CRC failure and 85 °C (the value a DS18B20 holds before its first conversion) are
failed reads, never readings.
"""

from __future__ import annotations

from pathlib import Path

from drivers.base import DriverBase, Sample
from drivers.errors import (
    ChecksumError,
    HardwareUnavailableError,
    ImplausibleReadingError,
    SensorNotFoundError,
)
from drivers.sysfs import SYSFS, W1_DIR, children, read_number, read_text

#: w1_therm's families: DS18S20, DS1822, DS18B20, DS1825/MAX31850, DS28EA00
FAMILIES = ("10", "22", "28", "3b", "42")
POWER_ON_MILLI = 85_000


def thermometers(sysfs: str = SYSFS) -> list[str]:
    """The addresses of every 1-Wire thermometer the kernel lists."""
    return [d.name for d in children(Path(sysfs) / W1_DIR)
            if d.name.partition("-")[0].lower() in FAMILIES and d.name.count("-") == 1]


def parse_w1_slave(text: str, path: Path) -> int:
    """The temperature in m°C from a ``w1_slave`` read, or the read's failure."""
    lines = text.splitlines()
    if len(lines) < 2 or "crc=" not in lines[0] or "t=" not in lines[1]:
        raise SensorNotFoundError(f"{path}: no valid answer from the sensor ({text[:60]!r})")
    if not lines[0].rstrip().endswith("YES"):
        raise ChecksumError(f"{path}: CRC check failed ({lines[0].strip()})")
    scratchpad = lines[0].partition(":")[0].split()
    if scratchpad and all(byte == "00" for byte in scratchpad):
        # a line held low reads as zeros, whose CRC is zero too: not 0 °C
        raise SensorNotFoundError(f"{path}: all-zero answer (data line shorted or held low)")
    return int(lines[1].rpartition("t=")[2])


class Ds18b20Driver(DriverBase):
    """One 1-Wire thermometer by its address (optional when the bus has exactly one)."""

    min_interval = 1.0  # a 12-bit conversion takes 750 ms

    def __init__(self, pin: int | None = None, *, address: str | None = None,
                 sysfs: str = SYSFS) -> None:
        self.base = Path(sysfs) / W1_DIR
        if address is None:
            found = thermometers(sysfs)
            if len(found) != 1:
                listed = ", ".join(found) if found else "none (is dtoverlay=w1-gpio set?)"
                raise HardwareUnavailableError(
                    f"{self.base}: name the sensor with options.address; found {listed}")
            address = found[0]
        self.address = address.lower()

    def read(self) -> Sample:
        """One conversion: ``temperature`` where the kernel has it, else ``w1_slave``."""
        device = self.base / self.address
        if not device.is_dir():
            raise SensorNotFoundError(f"{device}: not on the 1-Wire bus (unplugged or miswired?)")
        plain = device / "temperature"
        if plain.exists():
            milli = read_number(plain)  # empty read: the kernel's CRC check or reset failed
        else:
            path = device / "w1_slave"
            milli = parse_w1_slave(read_text(path), path)
        if milli == POWER_ON_MILLI:
            raise ImplausibleReadingError(
                f"{device}: 85 °C is the power-on value, no conversion ran "
                "(check VDD, or the pull-up for parasite power)")
        return Sample(round(milli / 1000, 3), None)
