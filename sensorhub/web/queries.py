"""Parse and check history requests from sockets and query strings (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_SPAN = 10 * 366 * 86400.0  # a request for 100 years is clamped to the last ten
LATEST = 253402300799.0  # 9999-12-31T23:59:59Z: times past it fit no date or SQLite integer
DEFAULT_MAX_POINTS = 1000
MAX_POINTS = 10_000


class BadRequestError(ValueError):
    """The request is malformed; the message says how."""


@dataclass(frozen=True)
class HistoryQuery:
    """A validated history request."""

    sensor: str
    since: float
    until: float
    max_points: int


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadRequestError(f"{name} must be a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):  # OverflowError: a JSON int beyond any float
        raise BadRequestError(f"{name} must be a number") from None
    if not math.isfinite(number):
        raise BadRequestError(f"{name} must be finite")
    return number


def parse_history(data: Any, now: float) -> HistoryQuery:
    """Validate ``{sensor, since, until?, max_points?}``; clamp absurd ranges and sizes."""
    if not isinstance(data, Mapping):
        raise BadRequestError("expected an object")
    sensor = data.get("sensor")
    if not isinstance(sensor, str) or not 0 < len(sensor) <= 64:
        raise BadRequestError("sensor must be a sensor id")
    if data.get("since") is None:
        raise BadRequestError("since is required")
    since = _number(data["since"], "since")
    until = now if data.get("until") is None else _number(data["until"], "until")
    if not 0 <= until <= LATEST:
        raise BadRequestError("until must be a time between 1970 and 9999 (epoch seconds)")
    if since > until:
        raise BadRequestError("since is after until")
    since = max(since, until - MAX_SPAN)
    max_points = DEFAULT_MAX_POINTS
    if data.get("max_points") is not None:
        raw = data["max_points"]
        value = _number(raw, "max_points")
        if value != int(value):
            raise BadRequestError("max_points must be a whole number")
        max_points = min(max(int(value), 2), MAX_POINTS)
    return HistoryQuery(sensor, since, until, max_points)
