"""Fake smbus2 0.6: ``SMBus(bus)`` on ``/dev/i2c-N`` and ``i2c_rdwr`` of ``i2c_msg``s.

The buses and the devices answering on them come from ``fakehw.world.i2c``
(tests/fakes/i2c_devices.py models each sensor's command set). Fails like the real
module on Linux: a missing bus is FileNotFoundError from ``os.open``, an address that
does not acknowledge is OSError 121 (Remote I/O error) from the ioctl.
"""

from __future__ import annotations

import errno
import os
from typing import Any

import fakehw

I2C_M_RD = 0x0001


class i2c_msg:  # noqa: N801 - the real class's name
    """One message of a combined transaction."""

    def __init__(self, addr: int, flags: int, buf: bytearray) -> None:
        self.addr, self.flags, self.buf = addr, flags, buf

    @property
    def len(self) -> int:
        """Bytes in the message."""
        return len(self.buf)

    def __iter__(self) -> Any:
        return iter(self.buf)

    def __len__(self) -> int:
        return len(self.buf)

    def __bytes__(self) -> bytes:
        return bytes(self.buf)

    @staticmethod
    def read(address: int, length: int) -> i2c_msg:
        """Prepares an i2c read transaction."""
        return i2c_msg(address, I2C_M_RD, bytearray(length))

    @staticmethod
    def write(address: int, buf: Any) -> i2c_msg:
        """Prepares an i2c write transaction."""
        data = bytes(map(ord, buf)) if isinstance(buf, str) else bytes(buf)
        return i2c_msg(address, 0, bytearray(data))


def _nack() -> OSError:
    return OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))


class SMBus:
    """One open ``/dev/i2c-N``."""

    def __init__(self, bus: int | str | None = None, force: bool = False) -> None:
        self.fd: int | None = None
        self.bus: int | None = None
        if bus is not None:
            self.open(bus)

    def open(self, bus: int | str) -> None:
        """Open the bus device file."""
        number = bus if isinstance(bus, int) else int(str(bus).rpartition("-")[2])
        path = f"/dev/i2c-{number}"
        if number not in fakehw.world.i2c:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        self.fd, self.bus = 3, number

    def _device(self, address: int) -> Any:
        if self.fd is None:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        device = fakehw.world.i2c.get(self.bus, {}).get(address)
        if device is None:
            raise _nack()
        return device

    def i2c_rdwr(self, *i2c_msgs: i2c_msg) -> None:
        """A combined transaction: each message to its device."""
        for message in i2c_msgs:
            device = self._device(message.addr)
            if message.flags & I2C_M_RD:
                message.buf[:] = device.read(len(message.buf))
            else:
                device.write(bytes(message.buf))

    def write_quick(self, i2c_addr: int, force: bool | None = None) -> None:
        """SMBus quick write: only the address's acknowledge."""
        self._device(i2c_addr)

    def close(self) -> None:
        """Close the bus."""
        self.fd = None
