"""The kernel's sysfs, read the way its ABI says: one root, devices found by name.

Every sysfs driver (iio, hwmon, ds18b20, the DHT's kernel backend) reads through here,
under one root (``hardware.sysfs`` in config.yaml, ``/sys`` by default), so tests and
users can point all of them at another tree. A kernel error becomes the matching
DriverError with the sysfs path in its message.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from drivers.errors import (
    DriverError,
    HardwareUnavailableError,
    SensorNotFoundError,
    TransientReadError,
)

SYSFS = "/sys"
IIO_DIR = "bus/iio/devices"
HWMON_DIR = "class/hwmon"
W1_DIR = "bus/w1/devices"
I2C_DEV_DIR = "class/i2c-dev"
I2C_CLIENTS_DIR = "bus/i2c/devices"
GPIO_DIR = "bus/gpio/devices"
_NUMBERED = re.compile(r"^(iio:device|hwmon)(\d+)$")

# errno -> (error class, what it means for a sensor). EIO is the dht11 driver's answer
# to a bad checksum or an undecodable frame, and an I2C driver's to a failed transfer.
_ERRNO: dict[int, tuple[type[DriverError], str]] = {
    errno.EIO: (TransientReadError, "the kernel driver got garbled data or a failed transfer"),
    errno.ETIMEDOUT: (SensorNotFoundError, "the sensor did not answer in time"),
    errno.EREMOTEIO: (SensorNotFoundError, "nothing acknowledged on the bus"),
    errno.ENXIO: (SensorNotFoundError, "nothing answered at this address"),
    errno.ENODEV: (SensorNotFoundError, "the device is gone"),
    errno.ENOENT: (SensorNotFoundError, "the device is gone"),
    errno.EAGAIN: (TransientReadError, "the driver is busy"),
    errno.EBUSY: (TransientReadError, "the driver is busy"),
    errno.EINVAL: (TransientReadError, "the driver refused the read"),
    errno.EACCES: (HardwareUnavailableError, "permission denied"),
    errno.EPERM: (HardwareUnavailableError, "permission denied"),
}


def kernel_error(error: OSError, path: Path | str, *, eio: type[DriverError] | None = None
                 ) -> DriverError:
    """The DriverError for an OSError the kernel gave on ``path``.

    ``eio`` names what EIO means for this driver (the dht11 driver: a bad checksum).
    """
    cls, meaning = _ERRNO.get(error.errno or 0, (TransientReadError, "read failed"))
    if error.errno == errno.EIO and eio is not None:
        cls = eio
    reason = error.strerror or os.strerror(error.errno or 0)
    return cls(f"{path}: {meaning} ({reason})")


def read_text(path: Path, *, eio: type[DriverError] | None = None) -> str:
    """One sysfs attribute's text (one read from the start, as sysfs wants it)."""
    try:
        with open(path, "rb", buffering=0) as attribute:
            data = attribute.read(4096)
    except OSError as error:
        raise kernel_error(error, path, eio=eio) from error
    return data.decode("ascii", "replace").strip()


def read_number(path: Path, *, eio: type[DriverError] | None = None) -> float:
    """One sysfs attribute holding a number (integer or decimal)."""
    text = read_text(path, eio=eio)
    if not text:  # w1_therm answers a failed conversion with an empty read
        raise SensorNotFoundError(f"{path}: empty read (the kernel got no valid answer)")
    try:
        return float(text)
    except ValueError:
        raise TransientReadError(f"{path}: not a number: {text[:40]!r}") from None


def children(directory: Path) -> list[Path]:
    """The entries of a sysfs directory in natural order (hwmon2 before hwmon10)."""
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return []
    except OSError as error:
        raise kernel_error(error, directory) from error

    def key(path: Path) -> tuple[str, int, str]:
        match = _NUMBERED.match(path.name)
        return (match.group(1), int(match.group(2)), "") if match else (path.name, -1, "")
    return sorted(entries, key=key)


def device_name(device: Path) -> str | None:
    """A device's ``name`` attribute (hwmon may keep it under ``device/``), or None."""
    for candidate in (device / "name", device / "device" / "name"):
        if candidate.is_file():
            try:
                return read_text(candidate)
            except DriverError:
                return None
    return None


def find_device(base: Path, wanted: str, index: int = 0, *, what: str) -> Path:
    """The device under ``base`` whose ``name`` is ``wanted`` (or named so itself).

    The kernel numbers devices in probe order, which changes between boots, so a
    device is found by its name each time; ``index`` picks one of several alike.
    """
    devices = children(base)
    if _NUMBERED.match(wanted):  # iio:device3 / hwmon3: that exact entry
        direct = base / wanted
        if direct.is_dir():
            return direct
        raise SensorNotFoundError(f"{direct}: no such {what} device (is the overlay loaded?)")
    alike = [d for d in devices if device_name(d) == wanted]
    if index < len(alike):
        return alike[index]
    seen = sorted({n for d in devices if (n := device_name(d))})
    found = f"found: {', '.join(seen)}" if seen else "none at all"
    count = f" #{index}" if index else ""
    raise SensorNotFoundError(f"{base}: no {what} device named {wanted!r}{count} ({found})")
