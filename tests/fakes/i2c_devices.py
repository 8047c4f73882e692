"""I2C sensors as their datasheets describe them, for the fake smbus2 (fakehw.world.i2c).

``FakeScd4x`` (Sensirion SCD4x datasheet, ch. 3): 16-bit commands, CRC-8 after each
word, periodic measurements; commands not allowed in periodic mode and reads with
nothing to read are NACKed. ``FakeAht20`` (AHT20 datasheet, 5.4): status byte with the
calibration and busy bits, trigger then 7 bytes with a CRC-8. Both share Sensirion's
CRC (poly 0x31, init 0xFF); tests set ``corrupt_next`` to garble the next answer.
"""

from __future__ import annotations

import errno
import os
from typing import Any

import fakehw


def crc8(data: bytes) -> int:
    """Sensirion's CRC-8 (computed here independently of the driver's)."""
    crc = 0xFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def nack() -> OSError:
    """What the ioctl raises when the device does not acknowledge."""
    return OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))


class FakeScd4x:
    """An SCD40/SCD41 at 0x62."""

    def __init__(self, temperature: float = 21.0, humidity: float = 45.0, co2: float = 600,
                 period: float = 0.05) -> None:
        self.temperature, self.humidity, self.co2 = temperature, humidity, co2
        self.period = period  # 5 s on the real sensor
        self.periodic = False
        self.started = 0.0
        self.delivered = 0  # measurements read since the start
        self.corrupt_next = False
        self.commands: list[int] = []
        self._answer: bytes | None = None

    def _ready(self) -> bool:
        return self.periodic and \
            fakehw.world.clock() - self.started >= self.period * (self.delivered + 1)

    @staticmethod
    def _words(*values: int) -> bytes:
        out = bytearray()
        for value in values:
            pair = bytes((value >> 8 & 0xFF, value & 0xFF))
            out += pair + bytes((crc8(pair),))
        return bytes(out)

    def write(self, data: bytes) -> None:
        """A command (two bytes)."""
        code = data[0] << 8 | data[1]
        self.commands.append(code)
        if self.periodic and code not in (0xEC05, 0xE4B8, 0x3F86):
            raise nack()  # only these are allowed while measuring
        if code == 0x21B1:
            self.periodic, self.started, self.delivered = True, fakehw.world.clock(), 0
        elif code == 0x3F86:
            self.periodic = False
        elif code == 0xE4B8:
            self._answer = self._words(0x8006 if self._ready() else 0x8000)
        elif code == 0xEC05:
            if not self._ready():
                self._answer = None
                return
            self.delivered += 1
            self._answer = self._words(round(self.co2),
                                       round((self.temperature + 45) * 65535 / 175),
                                       round(self.humidity * 65535 / 100))
        elif code == 0x3682:
            self._answer = self._words(0xBEEF, 0x0123, 0x4567)

    def read(self, length: int) -> bytes:
        """The answer to the last command."""
        answer, self._answer = self._answer, None
        if answer is None:
            raise nack()
        if self.corrupt_next:
            self.corrupt_next = False
            answer = answer[:2] + bytes((answer[2] ^ 0xFF,)) + answer[3:]
        return answer[:length]


class FakeAht20:
    """An AHT20 at 0x38."""

    def __init__(self, temperature: float = 21.0, humidity: float = 45.0, *,
                 busy_reads: int = 0) -> None:
        self.temperature, self.humidity = temperature, humidity
        self.calibrated = False  # until the initialisation command (0xBE)
        self.busy_reads = busy_reads  # reads that still find it measuring
        self.corrupt_next = False
        self.measuring: Any = None
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        """A command (three bytes)."""
        self.writes.append(data)
        if data[:1] == b"\xbe":
            self.calibrated = True
        elif data == b"\xac\x33\x00":
            self.measuring = self.busy_reads

    def read(self, length: int) -> bytes:
        """The status byte, then the last measurement and its CRC."""
        status = 0x18 if self.calibrated else 0x10
        if self.measuring is None:
            return bytes([status] + [0] * (length - 1))
        if self.measuring > 0:
            self.measuring -= 1
            return bytes([status | 0x80] + [0] * (length - 1))
        raw_h = round(self.humidity * 2**20 / 100)
        raw_t = round((self.temperature + 50) * 2**20 / 200)
        data = bytes([status, raw_h >> 12 & 0xFF, raw_h >> 4 & 0xFF,
                      (raw_h & 0x0F) << 4 | raw_t >> 16 & 0x0F, raw_t >> 8 & 0xFF, raw_t & 0xFF])
        data += bytes((crc8(data),))
        if self.corrupt_next:
            self.corrupt_next = False
            data = data[:6] + bytes((data[6] ^ 0x55,))
        return data[:length]
