"""Parse and check history, statistics and export requests (pure functions)."""

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


def _until(data: Mapping[str, Any], now: float) -> float:
    """``until`` (default now), a time the store can hold: 1970 to 9999."""
    until = now if data.get("until") is None else _number(data["until"], "until")
    if not 0 <= until <= LATEST:
        raise BadRequestError("until must be a time between 1970 and 9999 (epoch seconds)")
    return until


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
    until = _until(data, now)
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


PERIODS = ("hour", "day", "month")
DEFAULT_STATS_SPAN = {"hour": 2 * 86400.0, "day": 31 * 86400.0, "month": 366 * 86400.0}
MAX_STATS_SPAN = {"hour": 366 * 86400.0, "day": 100 * 366 * 86400.0,
                  "month": 100 * 366 * 86400.0}
MAX_EXPORT_SENSORS = 64
UNITS = ("C", "F")


@dataclass(frozen=True)
class StatisticsQuery:
    """A validated statistics request."""

    sensor: str
    period: str
    since: float
    until: float


def _sensor_id(value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise BadRequestError("sensor must be a sensor id")
    return value


def _span(data: Mapping[str, Any], now: float, default: float) -> tuple[float, float]:
    until = _until(data, now)
    since = until - default if data.get("since") is None else _number(data["since"], "since")
    if since > until:
        raise BadRequestError("since is after until")
    return since, until


def parse_statistics(data: Any, now: float) -> StatisticsQuery:
    """Validate ``{sensor, period?, since?, until?}`` (period hour, day or month)."""
    if not isinstance(data, Mapping):
        raise BadRequestError("expected an object")
    sensor = _sensor_id(data.get("sensor"))
    period = data.get("period") or "day"
    if period not in PERIODS:
        raise BadRequestError("period must be hour, day or month")
    since, until = _span(data, now, DEFAULT_STATS_SPAN[period])
    if period == "hour" and until - since > MAX_STATS_SPAN["hour"]:
        raise BadRequestError("hourly statistics cover at most 366 days: ask for days")
    return StatisticsQuery(sensor, period, max(since, until - MAX_STATS_SPAN[period]), until)


@dataclass(frozen=True)
class ExportQuery:
    """A validated export request: sensors, a range and the temperature unit."""

    sensors: tuple[str, ...]
    since: float
    until: float
    unit: str


def parse_export(sensors: list[Any], data: Mapping[str, Any], now: float) -> ExportQuery:
    """Validate an export: one or more ``sensor``, ``since`` (default 0), ``until``, ``unit``."""
    if not sensors:
        raise BadRequestError("sensor is required")
    if len(sensors) > MAX_EXPORT_SENSORS:
        raise BadRequestError(f"at most {MAX_EXPORT_SENSORS} sensors")
    ids = tuple(dict.fromkeys(_sensor_id(s) for s in sensors))  # in order, once each
    since, until = _span({"since": 0, **data}, now, 0.0)
    since = max(since, until - MAX_SPAN)
    unit = data.get("unit") or "C"
    if unit not in UNITS:
        raise BadRequestError("unit must be C or F")
    return ExportQuery(ids, since, until, unit)
