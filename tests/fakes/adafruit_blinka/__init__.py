"""Fake Adafruit Blinka 10.x internals: board detection, platform packages, the Pi's pins.

Follows adafruit_blinka/platform_dependencies.py (the install prompt), importing.py
(the "platform library was not found" RuntimeError) and
microcontroller/generic_linux/raspberry_pi_pin.py (the header chip found by label),
with the machine described by ``fakehw.world`` instead of /proc and /dev.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import fakehw

PLATFORMDETECT_VERSION = "3.89.1"
_LABELS = {"pinctrl-bcm2835", "pinctrl-bcm2711", "pinctrl-rp1"}


def board_id() -> str | None:
    """What adafruit_platformdetect says this machine is."""
    return fakehw.world.board


def is_pi() -> bool:
    """detector.board.any_raspberry_pi."""
    return (board_id() or "").startswith("RASPBERRY_PI")


def platform_dependencies() -> list[tuple[str, str]]:
    """get_platform_dependencies(): (import name, pip requirement) for this board."""
    if not is_pi():
        return []
    deps = [("gpiod", "gpiod>=2.2.2,<3"),
            ("adafruit_blinka_raspberry_pi_pwm", "Adafruit-Blinka-Raspberry-Pi-PWM>=1.0.2")]
    if board_id() == "RASPBERRY_PI_5":
        deps.append(("adafruit_raspberry_pi5_neopixel_write",
                     "Adafruit-Blinka-Raspberry-Pi5-Neopixel"))
    else:
        deps.append(("_rpi_ws281x", "rpi_ws281x>=4.0.0"))
    return deps


def install_missing_platform_dependencies(input_func: Any = input) -> bool:
    """Offer to pip-install missing packages, from a terminal only (as Blinka 10 does)."""
    if os.environ.get("BLINKA_SKIP_DEPENDENCY_CHECK") == "1":
        return False
    missing = [req for name, req in platform_dependencies()
               if name not in fakehw.world.installed]
    if not missing:
        return False
    if sys.stdin is None or sys.stdout is None \
            or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False  # Blinka raises here only for *outdated* versions, not missing ones
    fakehw.world.prompts += 1
    print("\nBlinka detected missing or outdated platform dependencies:")
    for requirement in missing:
        print(f"  - {requirement}")
    try:
        response = input_func("Install them into the current Python environment? [Y/n] ")
    except EOFError:
        return False
    if response.strip().lower() not in ("", "y", "yes"):
        return False
    # no network on the Pi: pip fails, and gpiod is not optional
    raise RuntimeError(f"Unable to install the platform dependencies. Try: {sys.executable} "
                       f"-m pip install {' '.join(missing)}")


def require(name: str) -> None:
    """import_mod(): a missing platform module becomes Blinka's RuntimeError."""
    if name in fakehw.world.installed:
        return
    requirement = dict(platform_dependencies()).get(name, name)
    raise RuntimeError(f"The platform library '{name}' was not found. To install, try "
                       f"typing: {sys.executable} -m pip install '{requirement}'")


def find_chip(offset: int) -> int:
    """raspberry_pi_pin._find_chip(): the header controller, found by its label."""
    world = fakehw.world
    if not world.chip_access and world.header_chips():
        raise PermissionError(
            "Cannot inspect Raspberry Pi GPIO controllers; grant access to the gpio group")
    candidates = [int(path.rpartition("gpiochip")[2])
                  for path, (label, lines) in sorted(world.header_chips().items())
                  if label in _LABELS and offset < lines]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise RuntimeError("Multiple Raspberry Pi header GPIO controllers match this pin")
    raise RuntimeError(f"No Raspberry Pi header GPIO controller exposes GPIO {offset}")


class Pin:
    """raspberry_pi_pin.Pin: a BCM number whose chip is looked up when first used."""

    IN, OUT = 0, 1
    PULL_UP = 1

    def __init__(self, bcm_number: int) -> None:
        if isinstance(bcm_number, bool) or not isinstance(bcm_number, int):
            raise TypeError("BCM GPIO number must be an integer")
        self.id = bcm_number
        self._chip: int | None = None

    @property
    def chip_index(self) -> int:
        """Header controller index (raises when there is none)."""
        return self._chip if self._chip is not None else find_chip(self.id)

    def init(self, mode: int = IN, pull: Any = None) -> None:
        """Request the line: opens the header chip."""
        self._chip = find_chip(self.id)

    def value(self, val: int | None = None) -> int:
        """The line's level (the fake DHT answers through the world, not levels)."""
        return 1

    def __repr__(self) -> str:
        return str(self.id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pin) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)
