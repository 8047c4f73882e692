"""GPIO outputs (sensor power, alarms) over RPi.GPIO / rpi-lgpio or gpiod, imported lazily.

A backend is chosen by name, like gpiozero's pin factories; the recording ``mock``
backend is used only when configured explicitly, never as a silent fallback.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from drivers.errors import BadPinError, HardwareUnavailableError
from drivers.gpiochip import GpiodBackend
from drivers.sysfs import SYSFS
from drivers.timing import blocking_sleep


class GpioBackend(Protocol):
    """Drive output pins."""

    def setup_output(self, pin: int, high: bool) -> None:
        """Make a pin an output at the given level."""
        ...

    def write(self, pin: int, high: bool) -> None:
        """Set an output pin's level."""
        ...

    def release(self, pin: int) -> None:
        """Release one pin this backend set up (a sensor or alarm that was removed)."""
        ...

    def cleanup(self) -> None:
        """Release every pin this backend set up."""
        ...


class RPiGpioBackend:
    """RPi.GPIO (or rpi-lgpio, which installs the same module name on a Pi 5)."""

    def __init__(self) -> None:
        try:
            import RPi.GPIO as GPIO
        except ImportError as error:
            raise HardwareUnavailableError(
                f"{error}; install RPi.GPIO (rpi-lgpio on a Pi 5)"
            ) from error
        except RuntimeError as error:  # "This module can only be run on a Raspberry Pi!"
            raise HardwareUnavailableError(f"RPi.GPIO: {error}") from error
        self._gpio = GPIO
        GPIO.setwarnings(False)
        GPIO.setmode(GPIO.BCM)
        self._pins: set[int] = set()

    def setup_output(self, pin: int, high: bool) -> None:
        """Make a pin an output at the given level."""
        gpio = self._gpio
        try:
            gpio.setup(pin, gpio.OUT, initial=gpio.HIGH if high else gpio.LOW)
        except ValueError as error:
            raise BadPinError(f"GPIO {pin}: {error}") from error
        self._pins.add(pin)

    def write(self, pin: int, high: bool) -> None:
        """Set an output pin's level."""
        self._gpio.output(pin, self._gpio.HIGH if high else self._gpio.LOW)

    def release(self, pin: int) -> None:
        """Return one of our pins to an input (no-op for a pin we never set up)."""
        if pin in self._pins:
            self._gpio.cleanup(pin)
            self._pins.discard(pin)

    def cleanup(self) -> None:
        """Release the pins we set up (only ours: other programs may use the rest)."""
        if self._pins:
            self._gpio.cleanup(sorted(self._pins))
            self._pins.clear()


class MockGpioBackend:
    """Records every level change with a monotonic timestamp, like gpiozero's MockPin."""

    def __init__(self) -> None:
        self.history: list[tuple[float, int, bool]] = []
        self.levels: dict[int, bool] = {}

    def setup_output(self, pin: int, high: bool) -> None:
        """Make a pin an output at the given level."""
        self.write(pin, high)

    def write(self, pin: int, high: bool) -> None:
        """Set an output pin's level."""
        self.levels[pin] = high
        self.history.append((time.monotonic(), pin, high))

    def states(self, pin: int) -> list[bool]:
        """The sequence of levels one pin went through."""
        return [high for _, p, high in self.history if p == pin]

    def release(self, pin: int) -> None:
        """Forget one pin (it is no longer driven)."""
        self.levels.pop(pin, None)

    def cleanup(self) -> None:
        """Forget the pins."""
        self.levels.clear()


BACKENDS: dict[str, type[Any]] = {"rpigpio": RPiGpioBackend, "gpiod": GpiodBackend,
                                   "mock": MockGpioBackend}


def open_backend(name: str, sysfs: str = SYSFS) -> GpioBackend:
    """Open the named GPIO backend (gpiod looks for the header chip under ``sysfs``)."""
    if name == "gpiod":
        return GpiodBackend(sysfs)
    return BACKENDS[name]()


class PowerSwitch:
    """A GPIO that powers one sensor: cutting power revives a hung DHT."""

    def __init__(self, backend: GpioBackend, pin: int, off_seconds: float = 2.0) -> None:
        self.backend = backend
        self.pin = pin
        self.off_seconds = off_seconds
        backend.setup_output(pin, True)

    def cycle(self) -> None:
        """Power off, wait for the sensor's capacitor to drain, power on (blocking)."""
        self.backend.write(self.pin, False)
        blocking_sleep(self.off_seconds)
        self.backend.write(self.pin, True)
