"""Aggregates of readings: one row per sensor and bucket in each rollup table.

Values are integer hundredths. An aggregate keeps sum, count, min and max of each
quantity, plus the sum of the readings' times (so a bucket of one reading keeps that
reading's own time when drawn).
"""

from __future__ import annotations

import math
import sqlite3
from typing import Any

from sensorhub.storage.schema import ROLLUPS

__all__ = ["ROLLUPS", "Agg", "agg_add", "agg_new", "hundredths", "mean", "unit",
           "upsert_rollup"]

# one aggregate row: bucket key -> [t_sum, t_n, t_min, t_max, h_sum, h_n, h_min, h_max, ts_sum, n]
Agg = list[Any]


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


def agg_new() -> Agg:
    """An empty aggregate."""
    return [0, 0, None, None, 0, 0, None, None, 0, 0]


def agg_add(a: Agg, t: int | None, h: int | None, ts: int) -> None:
    """Add one reading (hundredths, ms) to an aggregate."""
    if t is not None:
        a[0] += t
        a[1] += 1
        a[2] = t if a[2] is None else min(a[2], t)
        a[3] = t if a[3] is None else max(a[3], t)
    if h is not None:
        a[4] += h
        a[5] += 1
        a[6] = h if a[6] is None else min(a[6], h)
        a[7] = h if a[7] is None else max(a[7], h)
    a[8] += ts
    a[9] += 1


def upsert_rollup(conn: sqlite3.Connection, table: str,
                  aggs: dict[tuple[int, int], Agg]) -> None:
    """Merge a batch's aggregates into a rollup table."""
    conn.executemany(
        f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (sensor, bucket) DO UPDATE SET "
        "t_sum = t_sum + excluded.t_sum, t_n = t_n + excluded.t_n, "
        "t_min = min(coalesce(t_min, excluded.t_min), coalesce(excluded.t_min, t_min)), "
        "t_max = max(coalesce(t_max, excluded.t_max), coalesce(excluded.t_max, t_max)), "
        "h_sum = h_sum + excluded.h_sum, h_n = h_n + excluded.h_n, "
        "h_min = min(coalesce(h_min, excluded.h_min), coalesce(excluded.h_min, h_min)), "
        "h_max = max(coalesce(h_max, excluded.h_max), coalesce(excluded.h_max, h_max))",
        [(sid, bucket, *a[:8]) for (sid, bucket), a in aggs.items()],
    )
