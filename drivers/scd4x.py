"""Sensirion SCD40/SCD41: CO2 (photoacoustic), temperature and humidity over I2C.

From the datasheet (SCD4x, chapter 3): 16-bit commands; every word read back carries
a CRC-8; in periodic mode a new measurement is ready every 5 s. The sensor has no
kernel driver on Raspberry Pi OS, so it is read from userspace (drivers.i2c).
"""

from __future__ import annotations

from drivers.base import DriverBase, Sample
from drivers.errors import IncompleteReadError
from drivers.i2c import I2cDevice, words
from drivers.timing import blocking_sleep

ADDRESS = 0x62
START_PERIODIC = 0x21B1
STOP_PERIODIC = 0x3F86
READ_MEASUREMENT = 0xEC05
DATA_READY = 0xE4B8
STOP_SECONDS = 0.5  # the sensor ignores commands this long after a stop
PERIOD = 5.0
POLL = 0.1


def command(code: int) -> bytes:
    """A command as the two bytes the sensor expects."""
    return bytes((code >> 8, code & 0xFF))


class Scd4xDriver(DriverBase):
    """An SCD4x in periodic mode: each read waits for the next measurement (5 s apart)."""

    min_interval = PERIOD

    def __init__(self, pin: int | None = None, *, bus: int = 1, address: int = ADDRESS) -> None:
        self._device = I2cDevice(bus, address)
        try:
            # it may still be measuring for an earlier run: stop, then start afresh
            self._device.write(command(STOP_PERIODIC))
            blocking_sleep(STOP_SECONDS)
            self._device.write(command(START_PERIODIC))
        except Exception:
            self._device.close()
            raise

    def _ready(self) -> bool:
        self._device.write(command(DATA_READY))
        blocking_sleep(0.001)
        (status,) = words(self._device.read(3), self._device.where)
        return status & 0x07FF != 0  # the lower 11 bits: new data waiting

    def read(self) -> Sample:
        """The next measurement: CO2 in ppm, °C, %RH."""
        waited = 0.0
        while not self._ready():
            if waited >= PERIOD * 1.3:
                raise IncompleteReadError(f"{self._device.where}: no measurement within "
                                          f"{PERIOD * 1.3:g} s (periodic mode not running?)")
            blocking_sleep(POLL)
            waited += POLL
        self._device.write(command(READ_MEASUREMENT))
        blocking_sleep(0.001)
        co2, raw_t, raw_h = words(self._device.read(9), self._device.where)
        return Sample(round(-45 + 175 * raw_t / 65535, 2), round(100 * raw_h / 65535, 2),
                      None, float(co2))

    def close(self) -> None:
        """Stop periodic measurement (saves power) and close the bus."""
        try:
            self._device.write(command(STOP_PERIODIC))
        finally:
            self._device.close()
