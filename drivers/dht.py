"""DHT11 / DHT22 (AM2302): read by the kernel's dht11 driver or by adafruit_dht.

``backend: kernel`` reads the IIO device of ``dtoverlay=dht11,gpiopin=N``: the kernel
times the pulses itself, on every Pi model, with no helper process. ``adafruit`` is
adafruit-circuitpython-dht on Blinka (imported lazily, see drivers.blinka). ``auto``
(the default) takes the kernel's device when there is one for the pin.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from drivers.base import DriverBase, Sample
from drivers.blinka import board_pin, check_capture, explain, import_dht
from drivers.errors import (
    BadPinError,
    ChecksumError,
    DriverError,
    IncompleteReadError,
    PulseInStuckError,
    SensorNotFoundError,
    TransientReadError,
    translate_runtime_error,
)
from drivers.iio import channel_value, family
from drivers.sysfs import IIO_DIR, SYSFS, children, device_name
from drivers.timing import blocking_sleep

KERNEL_DEVICE = "dht11"  # the kernel's driver reads DHT11 and DHT22 alike


def kernel_devices(sysfs: str) -> list[tuple[Path, str]]:
    """Every IIO device of the kernel's dht11 driver, with its name (``dht11@4``)."""
    found = []
    for device in children(Path(sysfs) / IIO_DIR):
        name = device_name(device)
        if name is not None and family(name) == KERNEL_DEVICE:
            found.append((device, name))
    return found


def kernel_device(sysfs: str, pin: int) -> Path | None:
    """The dht11 IIO device of one data pin (its name carries the pin: ``dht11@<hex>``)."""
    devices = kernel_devices(sysfs)
    for wanted in (f"{pin:x}", str(pin)):
        for device, name in devices:
            if name.partition("@")[2].lower() == wanted:
                return device
    unnamed = [d for d, name in devices if "@" not in name]
    return unnamed[0] if len(devices) == 1 and unnamed else None


class KernelDht:
    """A DHT read through the kernel (EIO: bad checksum; ETIMEDOUT: no answer)."""

    def __init__(self, sysfs: str, pin: int) -> None:
        self.sysfs, self.pin = sysfs, pin

    def read(self) -> Sample:
        """Both channels of one measurement (the kernel keeps a result for 2 s)."""
        device = kernel_device(self.sysfs, self.pin)
        if device is None:
            names = ", ".join(n for _, n in kernel_devices(self.sysfs)) or "none"
            raise SensorNotFoundError(f"{Path(self.sysfs) / IIO_DIR}: no dht11 device for "
                                      f"GPIO {self.pin} (dht11 devices: {names})")
        values = [channel_value(device, q, eio=ChecksumError)
                  for q in ("temperature", "humidity")]
        if None in values:
            raise SensorNotFoundError(f"{device}: no in_temp_input/in_humidityrelative_input")
        return Sample(round(values[0], 2), round(values[1], 2))

    def close(self) -> None:
        """Nothing to release: the kernel owns the pin."""

    def abort(self) -> None:
        """A kernel read ends by itself (the driver's own 1 s timeout)."""


class AdafruitDht:
    """A DHT read through adafruit_dht; restarts its pulse-in helper when that dies."""

    def __init__(self, model: str, pin: int, use_pulseio: bool) -> None:
        adafruit_dht, board = import_dht()
        self._pin = board_pin(board, pin)
        check_capture(adafruit_dht, board, use_pulseio)
        self._factory = getattr(adafruit_dht, model)
        self._use_pulseio = use_pulseio
        self._aborted = False
        self._device: Any = self._open()

    def _open(self) -> Any:
        try:
            return self._factory(self._pin, use_pulseio=self._use_pulseio)
        except RuntimeError as error:
            if "pulsein" in str(error).lower():  # the helper never answered
                raise translate_runtime_error(error) from error
            raise explain(error) from error
        except Exception as error:  # NameError, OSError, ... from the library
            raise explain(error) from error

    def read(self) -> Sample:
        """One measurement; any exception of the library becomes a DriverError."""
        if self._device is None:
            self._aborted = False
            self._device = self._open()
        helper = getattr(getattr(self._device, "pulse_in", None), "_process", None)
        if helper is not None and helper.poll() is not None:  # died between reads
            self.close()
            self._device = self._open()
        try:
            # Both properties share one measure(): the library caches it for 2 s.
            temperature = self._device.temperature
            humidity = self._device.humidity
        except Exception as error:
            if self._aborted:  # abort() removed the helper's queue under the blocked read
                self._device = None
                raise PulseInStuckError("the libgpiod_pulsein helper stopped answering "
                                        "mid-read; a new one starts at the next read") from error
            known = translate_runtime_error(error) if isinstance(error, RuntimeError) else None
            if known is not None and type(known) is not TransientReadError:
                raise known from error  # one of adafruit_dht's own messages
            raise explain(error) from error
        if temperature is None or humidity is None:  # never truthiness: 0.0 °C is real
            raise IncompleteReadError("the sensor has not produced a value yet")
        return Sample(float(temperature), float(humidity))

    def abort(self) -> None:
        """Unblock a read waiting on a dead helper: stopping it removes its message queue."""
        device = self._device
        if device is not None:
            self._aborted = True
            with contextlib.suppress(Exception):  # already gone: the read ends either way
                device.exit()

    def close(self) -> None:
        """Stop the pulse-in helper (if any) and release the pin."""
        device, self._device = self._device, None
        if device is None:
            return
        try:
            device.exit()
        except Exception as error:
            raise PulseInStuckError(f"could not release the pin: {error}") from error


class DhtDriver(DriverBase):
    """One DHT sensor on one BCM GPIO pin."""

    model = "DHT22"
    min_interval = 2.0
    #: both adafruit_dht and the kernel answer reads closer than this from their cache
    #: (after a failure, adafruit_dht's cache is the last *good* values: stale as fresh)
    library_cache_seconds = 2.0

    def __init__(self, pin: int | None, use_pulseio: bool = True, backend: str = "auto",
                 sysfs: str = SYSFS) -> None:
        if pin is None:
            raise BadPinError(f"{self.model} needs a data pin")
        self.pin = pin
        if backend == "kernel" or (backend == "auto" and kernel_device(sysfs, pin)):
            self.backend = "kernel"
            self._reader: KernelDht | AdafruitDht = KernelDht(sysfs, pin)
        else:
            self.backend = "adafruit"
            self._reader = AdafruitDht(self.model, pin, use_pulseio)
        self._last_read: float | None = None
        self._closed = False

    def read(self) -> Sample:
        """Take one measurement (waiting out the 2 s cache: every read really measures)."""
        if self._closed:
            raise DriverError(f"{self.model} on GPIO {self.pin} is closed")
        if self._last_read is not None:
            wait = self._last_read + self.library_cache_seconds + 0.01 - time.monotonic()
            if wait > 0:
                blocking_sleep(wait)
        self._last_read = time.monotonic()
        return self._reader.read()

    def abort(self) -> None:
        """Unblock a read that outlived its timeout (called from another thread)."""
        self._reader.abort()

    def close(self) -> None:
        """Release the sensor (idempotent)."""
        if not self._closed:
            self._closed = True
            self._reader.close()


class DHT22Driver(DhtDriver):
    """DHT22 / AM2302: -40..80 °C ±0.5, 0..100 %RH ±2-5, 0.1 resolution."""

    model = "DHT22"


class DHT11Driver(DhtDriver):
    """DHT11: 0..50 °C ±2, 20..90 %RH ±5, 1 °C / 1 % resolution."""

    model = "DHT11"
