"""Fake RPi.GPIO (0.7.x API): outputs only, every driven level recorded in fakehw.world.

Fails like the real module: the import raises RuntimeError off a Pi (set
``fakehw.world.not_a_pi`` or ``FAKE_GPIO_NOT_A_PI=1``), a channel the board lacks is a
ValueError, using a channel before ``setmode``/``setup`` is a RuntimeError, and
setting up a line another program left as an output warns (RuntimeWarning) unless
``setwarnings(False)``. The line state lives in the world, so it outlives a re-import.
"""  # noqa: N999

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import fakehw

_world = fakehw.world
if _world.not_a_pi or fakehw.env_flag(fakehw.ENV_NOT_A_PI):
    raise RuntimeError("This module can only be run on a Raspberry Pi!")

VERSION = "0.7.1"
RPI_INFO = {"P1_REVISION": 3, "REVISION": "c03111", "TYPE": "Pi 4 Model B",
            "MANUFACTURER": "Sony", "PROCESSOR": "BCM2711", "RAM": "4G"}
LOW, HIGH = 0, 1
OUT, IN = 0, 1
BOARD, BCM = 10, 11
PUD_OFF, PUD_DOWN, PUD_UP = 20, 21, 22

# physical header pin -> BCM number, for GPIO.BOARD numbering
_BOARD_TO_BCM = {3: 2, 5: 3, 7: 4, 8: 14, 10: 15, 11: 17, 12: 18, 13: 27, 15: 22, 16: 23,
                 18: 24, 19: 10, 21: 9, 22: 25, 23: 11, 24: 8, 26: 7, 27: 0, 28: 1, 29: 5,
                 31: 6, 32: 12, 33: 13, 35: 19, 36: 16, 37: 26, 38: 20, 40: 21}
_INVALID_CHANNEL = "The channel sent is invalid on a Raspberry Pi"

_mode: int | None = None
_warnings = True
_directions: dict[int, int] = {}  # BCM line -> direction, for lines this program set up


def setwarnings(flag: bool) -> None:
    """Enable or disable warning messages."""
    global _warnings
    _warnings = bool(flag)


def setmode(mode: int) -> None:
    """Choose BOARD or BCM channel numbering (once per program)."""
    global _mode
    if mode not in (BOARD, BCM):
        raise ValueError("An invalid mode was passed to setmode()")
    if _mode is not None and mode != _mode:
        raise ValueError("A different mode has already been set!")
    _mode = mode


def getmode() -> int | None:
    """The numbering mode set, or None."""
    return _mode


def _channels(channel: Any) -> list[Any]:
    return list(channel) if isinstance(channel, list | tuple) else [channel]


def _bcm(channel: Any) -> int:
    if _mode is None:
        raise RuntimeError("Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or "
                           "GPIO.setmode(GPIO.BCM)")
    if isinstance(channel, bool) or not isinstance(channel, int):
        raise ValueError(_INVALID_CHANNEL)
    if _mode == BOARD:
        if channel not in _BOARD_TO_BCM:
            raise ValueError(_INVALID_CHANNEL)
        return _BOARD_TO_BCM[channel]
    if not 0 <= channel <= 27:
        raise ValueError(_INVALID_CHANNEL)
    return channel


def setup(channel: int | Iterable[int], direction: int, pull_up_down: int = PUD_OFF,
          initial: int = -1) -> None:
    """Make channels inputs or outputs (outputs optionally at an ``initial`` level)."""
    if direction not in (IN, OUT):
        raise ValueError("An invalid direction was passed to setup()")
    if direction == OUT and pull_up_down != PUD_OFF:
        raise ValueError("pull_up_down parameter is not valid for outputs")
    if direction == IN and initial != -1:
        raise ValueError("initial parameter is not valid for inputs")
    for ch in _channels(channel):
        line = _bcm(ch)
        if _warnings and _world.function(line) == "out" and line not in _directions:
            warnings.warn("This channel is already in use, continuing anyway.  Use "
                          "GPIO.setwarnings(False) to disable warnings.", RuntimeWarning,
                          stacklevel=2)
        _directions[line] = direction
        if direction == OUT and initial != -1:
            _world.drive(line, bool(initial), "setup")


def output(channel: int | Iterable[int], value: int | Iterable[int]) -> None:
    """Drive output channels HIGH or LOW."""
    channels = _channels(channel)
    values = _channels(value) if isinstance(value, list | tuple) else [value] * len(channels)
    if len(values) != len(channels):
        raise RuntimeError("Number of channels != number of values")
    for ch, level in zip(channels, values, strict=True):
        line = _bcm(ch)
        if _directions.get(line) != OUT:
            raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
        _world.drive(line, bool(level), "output")


def input(channel: int) -> int:  # shadows the builtin, as the real module's does
    """The level of a channel set up by this program."""
    line = _bcm(channel)
    if line not in _directions:
        raise RuntimeError("You must setup() the GPIO channel first")
    return HIGH if _world.levels.get(line) else LOW


def gpio_function(channel: int) -> int:
    """OUT or IN: what the line currently is (whoever set it up)."""
    return OUT if _world.function(_bcm(channel)) == "out" else IN


def cleanup(channel: int | Iterable[int] | None = None) -> None:
    """Return the channels this program set up (all of them by default) to inputs."""
    global _mode
    if channel is None:
        lines = sorted(_directions)
        if not lines and _warnings:
            warnings.warn("No channels have been set up yet - nothing to clean up!  Try "
                          "cleaning up at the end of your program instead!", RuntimeWarning,
                          stacklevel=2)
        _mode = None
    else:
        lines = [_bcm(ch) for ch in _channels(channel)]
    for line in lines:
        if _directions.pop(line, None) is not None:
            _world.release(line)
