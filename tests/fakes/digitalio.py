"""Fake Blinka 10 ``digitalio``: the board's Pin class, or None where Blinka has none.

On a Raspberry Pi, importing it needs ``gpiod`` (import_microcontroller -> import_mod
-> RuntimeError). On a PC no microcontroller matches, ``Pin`` stays None and
``DigitalInOut(pin)`` raises TypeError, as adafruit_dht's bit-banging then does.
"""

from __future__ import annotations

from typing import Any

import adafruit_blinka

Pin: Any = None
if adafruit_blinka.is_pi():
    adafruit_blinka.require("gpiod")
    Pin = adafruit_blinka.Pin


class Direction:
    """Direction Enumeration."""

    INPUT = "input"
    OUTPUT = "output"


class Pull:
    """PullUp/PullDown Enumeration."""

    UP = "up"
    DOWN = "down"


class DigitalInOut:
    """digitalio.DigitalInOut: opening the pin opens the header chip."""

    def __init__(self, pin: Any) -> None:
        self._pin = Pin(pin.id)  # TypeError when Pin is None, as in Blinka
        self.direction = Direction.INPUT

    @property
    def direction(self) -> str:
        """Input or output."""
        return self._direction

    @direction.setter
    def direction(self, value: str) -> None:
        self._direction = value
        self._pin.init(mode=self._pin.OUT if value == Direction.OUTPUT else self._pin.IN)

    @property
    def value(self) -> bool:
        """The level."""
        return self._pin.value() == 1

    @value.setter
    def value(self, val: bool) -> None:
        self._pin.value(1 if val else 0)

    def deinit(self) -> None:
        """Release the pin."""
        self._pin = None

    def __enter__(self) -> DigitalInOut:
        return self

    def __exit__(self, *exc: object) -> None:
        self.deinit()
