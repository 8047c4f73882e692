"""Fake gpiod.line: the enums the requests use."""

from __future__ import annotations

from enum import Enum


class Direction(Enum):
    """Line direction."""

    AS_IS = 1
    INPUT = 2
    OUTPUT = 3


class Value(Enum):
    """Line level."""

    INACTIVE = 0
    ACTIVE = 1
