"""Userspace I2C through smbus2 (``/dev/i2c-N``), for sensors with no kernel overlay.

smbus2 is a small pure-Python wrapper of the kernel's i2c-dev ioctls (I2C_RDWR gives
exact write/read transactions); it needs no Blinka, so an I2C sensor works on every Pi
whatever the state of Blinka's gpiod and pulse-in stack. Errors of the bus become
DriverErrors naming the bus and the address.
"""

from __future__ import annotations

import errno
from typing import Any

from drivers.errors import (
    ChecksumError,
    DriverError,
    HardwareUnavailableError,
    SensorNotFoundError,
)
from drivers.sysfs import kernel_error

ENABLE_HINT = "enable I2C: dtparam=i2c_arm=on in /boot/firmware/config.txt (or raspi-config)"


def crc8(data: bytes) -> int:
    """Sensirion's and Aosong's CRC-8: polynomial 0x31, init 0xFF, no reflection."""
    crc = 0xFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc << 1 ^ 0x31) & 0xFF if crc & 0x80 else crc << 1 & 0xFF
    return crc


class I2cDevice:
    """One address on one bus: plain writes and reads, errors with where they happened."""

    def __init__(self, bus: int, address: int) -> None:
        try:
            import smbus2
        except ImportError as error:
            raise HardwareUnavailableError(
                f"{error}; install the Pi extra: pip install 'sensorhub[pi]'") from error
        self.where = f"/dev/i2c-{bus} address 0x{address:02x}"
        self.address = address
        self._msg = smbus2.i2c_msg
        try:
            self._bus: Any = smbus2.SMBus(bus)
        except FileNotFoundError as error:
            raise HardwareUnavailableError(f"/dev/i2c-{bus} does not exist; {ENABLE_HINT}"
                                           ) from error
        except PermissionError as error:
            raise HardwareUnavailableError(f"/dev/i2c-{bus}: permission denied (add the user "
                                           "to the i2c group)") from error
        except OSError as error:
            raise kernel_error(error, f"/dev/i2c-{bus}") from error

    def write(self, data: bytes) -> None:
        """One write transaction."""
        self._transfer(self._msg.write(self.address, data))

    def read(self, length: int) -> bytes:
        """One read transaction of ``length`` bytes."""
        message = self._msg.read(self.address, length)
        self._transfer(message)
        return bytes(message)

    def probe(self) -> bool:
        """Whether anything acknowledges the address (an SMBus quick write, as i2cdetect)."""
        try:
            self._bus.write_quick(self.address)
        except OSError:
            return False
        return True

    def _transfer(self, message: Any) -> None:
        try:
            self._bus.i2c_rdwr(message)
        except OSError as error:
            if error.errno in (errno.EREMOTEIO, errno.ENXIO, errno.EIO):
                raise SensorNotFoundError(f"{self.where}: no answer ({error.strerror}); "
                                          "check wiring and the address") from error
            raise kernel_error(error, self.where) from error

    def close(self) -> None:
        """Close the bus file."""
        self._bus.close()


def words(data: bytes, where: str) -> list[int]:
    """16-bit big-endian words, each followed by its CRC-8 (the Sensirion framing)."""
    values = []
    for i in range(0, len(data) - 2, 3):
        chunk = data[i:i + 2]
        if crc8(chunk) != data[i + 2]:
            raise ChecksumError(f"{where}: CRC mismatch in word {i // 3} ({data.hex(' ')})")
        values.append(chunk[0] << 8 | chunk[1])
    return values


__all__ = ["ENABLE_HINT", "DriverError", "I2cDevice", "crc8", "words"]
