"""DHT11 / DHT22 (AM2302) over adafruit-circuitpython-dht, imported lazily."""

from __future__ import annotations

import time
from typing import Any

from drivers.base import DriverBase, Sample
from drivers.errors import (
    BadPinError,
    DriverError,
    HardwareUnavailableError,
    IncompleteReadError,
    PulseInStuckError,
    TransientReadError,
    translate_runtime_error,
)
from drivers.timing import blocking_sleep


def _import_hardware() -> tuple[Any, Any]:
    """Import adafruit_dht and board, turning their failures into one clear error."""
    try:
        import adafruit_dht
        import board
    except ImportError as error:
        raise HardwareUnavailableError(
            f"{error}; install the Pi extra: pip install 'sensorhub[pi]'"
        ) from error
    except (NotImplementedError, RuntimeError) as error:  # Blinka: board not supported
        raise HardwareUnavailableError(
            f"this machine is not a supported board ({error}); use driver: mock here"
        ) from error
    return adafruit_dht, board


class DhtDriver(DriverBase):
    """One DHT sensor on one BCM GPIO pin."""

    model = "DHT22"
    min_interval = 2.0
    #: adafruit_dht answers reads closer than this from its cache: after a failed
    #: measurement that is the last *good* values, however old (stale data as fresh)
    library_cache_seconds = 2.0

    def __init__(self, pin: int | None, use_pulseio: bool = True) -> None:
        if pin is None:
            raise BadPinError(f"{self.model} needs a data pin")
        adafruit_dht, board = _import_hardware()
        board_pin = getattr(board, f"D{pin}", None)
        if board_pin is None:
            raise BadPinError(f"this board has no GPIO {pin} (board.D{pin})")
        self.pin = pin
        self._last_read: float | None = None
        try:
            self._device = getattr(adafruit_dht, self.model)(board_pin, use_pulseio=use_pulseio)
        except (RuntimeError, OSError) as error:
            raise translate_runtime_error(error) from error
        self._closed = False

    def read(self) -> Sample:
        """Take one measurement; adafruit_dht's errors become DriverErrors."""
        if self._closed:
            raise DriverError(f"{self.model} on GPIO {self.pin} is closed")
        if self._last_read is not None:  # wait out the cache: every read really measures
            wait = self._last_read + self.library_cache_seconds + 0.01 - time.monotonic()
            if wait > 0:
                blocking_sleep(wait)
        self._last_read = time.monotonic()
        try:
            # Both properties share one measure(): the library caches it for 2 s.
            temperature = self._device.temperature
            humidity = self._device.humidity
        except RuntimeError as error:
            raise translate_runtime_error(error) from error
        except OSError as error:
            if "set line" in str(error).lower():
                raise translate_runtime_error(error) from error
            raise TransientReadError(f"GPIO error: {error}") from error
        if temperature is None or humidity is None:  # never truthiness: 0.0 °C is real
            raise IncompleteReadError("the sensor has not produced a value yet")
        return Sample(float(temperature), float(humidity))

    def close(self) -> None:
        """Stop the pulsein helper (if any) and release the pin."""
        if self._closed:
            return
        self._closed = True
        try:
            self._device.exit()
        except (RuntimeError, OSError) as error:  # already gone: nothing to release
            raise PulseInStuckError(f"could not release GPIO {self.pin}: {error}") from error


class DHT22Driver(DhtDriver):
    """DHT22 / AM2302: -40..80 °C ±0.5, 0..100 %RH ±2-5, 0.1 resolution."""

    model = "DHT22"


class DHT11Driver(DhtDriver):
    """DHT11: 0..50 °C ±2, 20..90 %RH ±5, 1 °C / 1 % resolution."""

    model = "DHT11"
