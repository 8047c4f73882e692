"""GPIO outputs through libgpiod v2, on the header's GPIO chip found by its label.

The chip's number is not stable: on a Pi 5 the header moved from gpiochip4 to
gpiochip0 between kernels. Its label is (pinctrl-rp1 on a Pi 5, pinctrl-bcm2711 on a
Pi 4, pinctrl-bcm2835 before), so that is what we look for, among the chips the kernel
lists under ``<sysfs>/bus/gpio/devices``. Works on every Pi model, the Pi 5 included,
with the ``gpiod`` module that Blinka needs anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drivers.errors import BadPinError, HardwareUnavailableError
from drivers.sysfs import GPIO_DIR, SYSFS, children, kernel_error

HEADER_LABELS = ("pinctrl-rp1", "pinctrl-bcm2712", "pinctrl-bcm2711", "pinctrl-bcm2835")
CONSUMER = "sensorhub"


def _gpiod() -> Any:
    try:
        import gpiod
    except ImportError as error:
        raise HardwareUnavailableError(
            f"{error}; install it: pip install 'gpiod>=2.2.2,<3' (the Pi extra has it)"
        ) from error
    return gpiod


def header_chip(sysfs: str = SYSFS) -> str:
    """The ``/dev/gpiochipN`` whose label is the 40-pin header's, whatever its number."""
    gpiod = _gpiod()
    labels: dict[str, str] = {}
    for entry in children(Path(sysfs) / GPIO_DIR):
        if not entry.name.startswith("gpiochip"):
            continue
        path = f"/dev/{entry.name}"
        try:
            with gpiod.Chip(path) as chip:
                labels[path] = chip.get_info().label
        except PermissionError as error:
            raise HardwareUnavailableError(
                f"{path}: permission denied (add the user to the gpio group)") from error
        except OSError as error:
            raise kernel_error(error, path) from error
        if labels[path] in HEADER_LABELS:
            return path
    seen = ", ".join(f"{p} ({label})" for p, label in labels.items())
    raise HardwareUnavailableError(
        f"no GPIO chip labelled {', '.join(HEADER_LABELS)}; found "
        f"{seen or f'no gpiochip under {Path(sysfs) / GPIO_DIR}'}")


class GpiodBackend:
    """Output pins over libgpiod v2 (each pin its own line request, released on cleanup)."""

    def __init__(self, sysfs: str = SYSFS) -> None:
        gpiod = _gpiod()
        from gpiod.line import Direction, Value

        self._gpiod, self._direction, self._value = gpiod, Direction, Value
        self.path = header_chip(sysfs)
        self._chip = gpiod.Chip(self.path)
        self._requests: dict[int, Any] = {}

    def _level(self, high: bool) -> Any:
        return self._value.ACTIVE if high else self._value.INACTIVE

    def setup_output(self, pin: int, high: bool) -> None:
        """Request the line as an output at the given level."""
        settings = self._gpiod.LineSettings(direction=self._direction.OUTPUT,
                                            output_value=self._level(high))
        try:
            self._requests[pin] = self._chip.request_lines(config={pin: settings},
                                                           consumer=CONSUMER)
        except ValueError as error:
            raise BadPinError(f"GPIO {pin}: {error} on {self.path}") from error
        except OSError as error:
            raise kernel_error(error, f"{self.path} line {pin}") from error

    def write(self, pin: int, high: bool) -> None:
        """Set an output pin's level."""
        self._requests[pin].set_value(pin, self._level(high))

    def release(self, pin: int) -> None:
        """Give one of our lines back (it returns to an input); no-op for a line not ours."""
        request = self._requests.pop(pin, None)
        if request is not None:
            request.release()

    def cleanup(self) -> None:
        """Release our lines (they return to inputs) and close the chip."""
        for request in self._requests.values():
            request.release()
        self._requests.clear()
        self._chip.close()
