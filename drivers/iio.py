"""Any sensor the kernel reads through IIO (``/sys/bus/iio/devices/iio:deviceN``).

``dtoverlay=i2c-sensor,bme280`` (and bmp280, bme680, htu21, si7020, ...) or
``dtoverlay=dht11,gpiopin=N`` make the kernel read the sensor with correct timing on
every Pi model; the values appear as channel files. Each channel comes either
processed (``<channel>_input``) or raw (``<channel>_raw``, with ``_offset`` and
``_scale``: value = (raw + offset) x scale, Documentation/ABI/testing/sysfs-bus-iio).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drivers.base import QUANTITIES, DriverBase, Sample
from drivers.errors import DriverError, HardwareUnavailableError
from drivers.sysfs import IIO_DIR, SYSFS, find_device, read_number

# quantity -> (channel names in the order tried, factor from ABI units to ours):
# m°C -> °C, m%RH -> %RH, kPa -> hPa, percent -> ppm
CHANNELS: dict[str, tuple[tuple[str, ...], float]] = {
    "temperature": (("in_temp", "in_temp0", "in_temp_ambient"), 0.001),
    "humidity": (("in_humidityrelative", "in_humidityrelative0"), 0.001),
    "pressure": (("in_pressure", "in_pressure0"), 10.0),
    "co2": (("in_concentration_co2", "in_concentration0_co2"), 10_000.0),
}
# what common IIO sensor drivers measure, by the name they give their device
KNOWN: dict[str, tuple[str, ...]] = {
    "dht11": ("temperature", "humidity"),
    "bme280": ("temperature", "humidity", "pressure"),
    "bme680": ("temperature", "humidity", "pressure"),
    "bmp280": ("temperature", "pressure"),
    "bmp180": ("temperature", "pressure"),
    "bmp085": ("temperature", "pressure"),
    "bmp380": ("temperature", "pressure"),
    "bmp388": ("temperature", "pressure"),
    "bmp390": ("temperature", "pressure"),
    "dps310": ("temperature", "pressure"),
    "ms5611": ("temperature", "pressure"),
    "lps22hb": ("temperature", "pressure"),
    "htu21": ("temperature", "humidity"),
    "si7020": ("temperature", "humidity"),
    "hdc100x": ("temperature", "humidity"),
    "hdc1080": ("temperature", "humidity"),
    "hdc2010": ("temperature", "humidity"),
    "hdc2080": ("temperature", "humidity"),
    "hts221": ("temperature", "humidity"),
    "am2315": ("temperature", "humidity"),
    "scd30": ("temperature", "humidity", "co2"),
    "scd4x": ("temperature", "humidity", "co2"),
}


def family(name: str) -> str:
    """The driver part of a device name: ``dht11@4`` (a platform device) -> ``dht11``."""
    return name.partition("@")[0]


def declared(options: Mapping[str, Any], known: Mapping[str, tuple[str, ...]]
             ) -> tuple[str, ...] | None:
    """What a sysfs sensor measures: its quantity flags, else its device's known set."""
    flags = [q for q in QUANTITIES if options.get(q) is True]
    if flags:
        return tuple(flags)
    device = options.get("device")
    return known.get(family(device)) if isinstance(device, str) else None


def channel_value(device: Path, quantity: str, *, eio: type[DriverError] | None = None
                  ) -> float | None:
    """One quantity from an IIO device in our units, or None if it has no such channel."""
    names, factor = CHANNELS[quantity]
    for name in names:
        processed = device / f"{name}_input"
        if processed.exists():
            return read_number(processed, eio=eio) * factor
        raw = device / f"{name}_raw"
        if raw.exists():
            kind = names[0]  # a shared attribute (in_temp_scale) serves in_temp0 as well
            value = read_number(raw, eio=eio)
            offset = _attribute(device, name, kind, "offset", 0.0)
            scale = _attribute(device, name, kind, "scale", 1.0)
            return (value + offset) * scale * factor
    return None


def _attribute(device: Path, name: str, kind: str, what: str, default: float) -> float:
    for candidate in (device / f"{name}_{what}", device / f"{kind}_{what}"):
        if candidate.exists():
            return read_number(candidate)
    return default


def channels(device: Path) -> tuple[str, ...]:
    """The quantities an IIO device has channels for."""
    return tuple(q for q in QUANTITIES
                 if any((device / f"{name}_{suffix}").exists()
                        for name in CHANNELS[q][0] for suffix in ("input", "raw")))


def read_sample(device: Path, quantities: tuple[str, ...], *,
                eio: type[DriverError] | None = None) -> Sample:
    """Every wanted quantity of one IIO device (one read of each channel)."""
    values: dict[str, float | None] = dict.fromkeys(QUANTITIES)
    for quantity in quantities:
        value = channel_value(device, quantity, eio=eio)
        if value is None:
            name = CHANNELS[quantity][0][0]
            raise HardwareUnavailableError(
                f"{device}: no {quantity} channel ({name}_input or {name}_raw)")
        values[quantity] = round(value, 3)
    return Sample(**values)


class KernelDevice(DriverBase):
    """A sysfs device found by its ``name`` at every read (its number is not stable)."""

    min_interval = 1.0
    what = "IIO"
    directory = IIO_DIR
    known: Mapping[str, tuple[str, ...]] = KNOWN

    def __init__(self, pin: int | None = None, *, device: str, index: int = 0,
                 sysfs: str = SYSFS, **flags: bool) -> None:
        self.base = Path(sysfs) / self.directory
        self.device = device
        self.index = index
        quantities = declared({"device": device, **flags}, self.known)
        if not quantities:
            raise HardwareUnavailableError(f"{self.what} device {device!r}: say what it "
                                           "measures (options: temperature: true, ...)")
        self.quantities = quantities

    def find(self) -> Path:
        """The device's directory now (it may have been renumbered, or be gone)."""
        return find_device(self.base, self.device, self.index, what=self.what)


class IioDriver(KernelDevice):
    """One IIO device."""

    def read(self) -> Sample:
        """Find the device again and read its channels."""
        return read_sample(self.find(), self.quantities)
