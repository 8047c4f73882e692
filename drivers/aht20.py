"""Aosong AHT20 (and AHT21/AHT25): temperature and humidity over I2C.

From the datasheet (AHT20, section 5.4): read the status byte, send the
initialisation command if the calibration bit is clear, then each measurement is
trigger (0xAC 0x33 0x00), wait 80 ms, read 7 bytes (status, 20-bit humidity, 20-bit
temperature, CRC-8). The sensor has no kernel overlay on Raspberry Pi OS.
"""

from __future__ import annotations

from drivers.base import DriverBase, Sample
from drivers.errors import ChecksumError, IncompleteReadError
from drivers.i2c import I2cDevice, crc8
from drivers.timing import blocking_sleep

ADDRESS = 0x38
INITIALISE = bytes((0xBE, 0x08, 0x00))
TRIGGER = bytes((0xAC, 0x33, 0x00))
BUSY, CALIBRATED = 0x80, 0x08
MEASURE_SECONDS = 0.08
TRIES = 5


class Aht20Driver(DriverBase):
    """One AHT20: a measurement per read."""

    min_interval = 1.0

    def __init__(self, pin: int | None = None, *, bus: int = 1, address: int = ADDRESS) -> None:
        self._device = I2cDevice(bus, address)
        try:
            blocking_sleep(0.04)  # the datasheet's power-on time
            if not self._device.read(1)[0] & CALIBRATED:
                self._device.write(INITIALISE)
                blocking_sleep(0.01)
        except Exception:
            self._device.close()
            raise

    def read(self) -> Sample:
        """Trigger a measurement and read it back."""
        self._device.write(TRIGGER)
        for _ in range(TRIES):
            blocking_sleep(MEASURE_SECONDS)
            data = self._device.read(7)
            if not data[0] & BUSY:
                break
        else:
            raise IncompleteReadError(f"{self._device.where}: still busy after "
                                      f"{TRIES * MEASURE_SECONDS:g} s")
        if crc8(data[:6]) != data[6]:
            raise ChecksumError(f"{self._device.where}: CRC mismatch ({data.hex(' ')})")
        raw_h = data[1] << 12 | data[2] << 4 | data[3] >> 4
        raw_t = (data[3] & 0x0F) << 16 | data[4] << 8 | data[5]
        return Sample(round(raw_t * 200 / 2**20 - 50, 2), round(raw_h * 100 / 2**20, 2))

    def close(self) -> None:
        """Close the bus."""
        self._device.close()
