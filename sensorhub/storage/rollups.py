"""Aggregates of readings: one row per sensor and bucket in each rollup table.

Values are integer hundredths. An aggregate keeps sum, count, min and max of each
quantity (columns ``<q>_sum``, ``<q>_n``, ``<q>_min``, ``<q>_max`` for q in
``schema.COLUMNS``), plus the sum of the readings' times and their number (so a
bucket of one reading keeps that reading's own time when drawn).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from typing import Any

from sensorhub.storage.schema import COLUMNS, ROLLUPS

__all__ = ["COLUMNS", "ROLLUPS", "Agg", "add_values", "agg_add", "agg_new", "hundredths", "mean",
           "unit", "upsert_rollup"]

# one aggregate: [sum, n, min, max] per quantity, then ts_sum and n (the last two)
Agg = list[Any]
_AGG_COLUMNS = [f"{q}_{part}" for q in COLUMNS for part in ("sum", "n", "min", "max")]
_UPSERT = {table: (
    f"INSERT INTO {table} (sensor, bucket, {', '.join(_AGG_COLUMNS)}) "
    f"VALUES (?, ?, {', '.join('?' * len(_AGG_COLUMNS))}) "
    "ON CONFLICT (sensor, bucket) DO UPDATE SET "
    + ", ".join(
        f"{q}_sum = {q}_sum + excluded.{q}_sum, {q}_n = {q}_n + excluded.{q}_n, "
        f"{q}_min = min(coalesce({q}_min, excluded.{q}_min), "
        f"coalesce(excluded.{q}_min, {q}_min)), "
        f"{q}_max = max(coalesce({q}_max, excluded.{q}_max), "
        f"coalesce(excluded.{q}_max, {q}_max))"
        for q in COLUMNS)) for table in ROLLUPS.values()}


def hundredths(value: float | None) -> int | None:
    """A value as stored (integer hundredths)."""
    return None if value is None else round(value * 100)


def unit(value: int | None) -> float | None:
    """A stored value back in its unit."""
    return None if value is None else value / 100


def mean(total: int, n: int) -> float | None:
    """The mean in units, rounded to hundredths half away from zero (as SQLite's round)."""
    if n == 0:
        return None
    value = total / n
    return math.copysign(math.floor(abs(value) + 0.5), value) / 100 + 0.0


def agg_new(quantities: int = len(COLUMNS)) -> Agg:
    """An empty aggregate of the first ``quantities`` columns."""
    return [0, 0, None, None] * quantities + [0, 0]


def add_values(a: list[Any], values: Sequence[int | None], stride: int = 4) -> None:
    """Add values (hundredths in COLUMNS order) to [sum, n, min, max, ...] per quantity,
    ``stride`` places apart (statistics keep two more per quantity)."""
    for i, v in enumerate(values):
        if v is not None:
            base = stride * i
            a[base] += v
            a[base + 1] += 1
            a[base + 2] = v if a[base + 2] is None else min(a[base + 2], v)
            a[base + 3] = v if a[base + 3] is None else max(a[base + 3], v)


def agg_add(a: Agg, values: Sequence[int | None], ts: int) -> None:
    """Add one reading (hundredths in COLUMNS order, time in ms) to an aggregate."""
    add_values(a, values)
    a[-2] += ts
    a[-1] += 1


def upsert_rollup(conn: sqlite3.Connection, table: str,
                  aggs: dict[tuple[int, int], Agg]) -> None:
    """Merge a batch's aggregates into a rollup table."""
    conn.executemany(_UPSERT[table],
                     [(sid, bucket, *a[:-2]) for (sid, bucket), a in aggs.items()])
