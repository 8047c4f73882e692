"""Fake gpiod (libgpiod v2 Python bindings): chips by path, labels, output line requests.

The chips are ``fakehw.world.header_chips()`` (path -> label, number of lines); every
level driven is recorded in the world like RPi.GPIO's. Fails like the real module:
a missing chip is FileNotFoundError, an unreadable one PermissionError, a line
another request holds OSError EBUSY, an offset past the chip's lines ValueError.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from typing import Any

import fakehw
from gpiod.line import Direction, Value

__version__ = "2.5.0"
_held: set[tuple[str, int]] = set()


@dataclass(frozen=True)
class ChipInfo:
    """gpiod.ChipInfo."""

    name: str
    label: str
    num_lines: int


@dataclass
class LineSettings:
    """gpiod.LineSettings (the fields used here)."""

    direction: Direction = Direction.AS_IS
    output_value: Value = Value.INACTIVE


class LineRequest:
    """gpiod.LineRequest: lines held until release()."""

    def __init__(self, path: str, offsets: list[int]) -> None:
        self.path, self.offsets = path, offsets

    def set_value(self, offset: int, value: Value) -> None:
        """Drive one requested line."""
        if offset not in self.offsets:
            raise ValueError(f"offset {offset} was not requested")
        fakehw.world.drive(offset, value is Value.ACTIVE, "output")

    def release(self) -> None:
        """Give the lines back."""
        for offset in self.offsets:
            _held.discard((self.path, offset))
            fakehw.world.release(offset)
        self.offsets = []


class Chip:
    """gpiod.Chip opened by path."""

    def __init__(self, path: str) -> None:
        chips = fakehw.world.header_chips()
        if path not in chips:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        if not fakehw.world.chip_access:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        self.path = path
        self._label, self._lines = chips[path]

    def get_info(self) -> ChipInfo:
        """Name, label and line count."""
        return ChipInfo(os.path.basename(self.path), self._label, self._lines)

    def request_lines(self, config: dict[int, LineSettings], consumer: str | None = None
                      ) -> LineRequest:
        """Request lines with their settings."""
        for offset in config:
            if not 0 <= offset < self._lines:
                raise ValueError("offset out of range")
            if (self.path, offset) in _held:
                raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))
        for offset, settings in config.items():
            _held.add((self.path, offset))
            if settings.direction is Direction.OUTPUT:
                fakehw.world.drive(offset, settings.output_value is Value.ACTIVE, "setup")
        return LineRequest(self.path, list(config))

    def close(self) -> None:
        """Close the chip."""

    def __enter__(self) -> Chip:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
