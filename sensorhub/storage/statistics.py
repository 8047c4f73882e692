"""Long-term statistics: hourly and daily mean, min, max and sample count per quantity.

Two tables (made by ``schema`` migration 3) keep one row per sensor and bucket:
``stats_hour`` (bucket = epoch hour, UTC) and ``stats_day`` (bucket = the server's local
calendar day, counted from 1970-01-01). Each quantity ``q`` has ``q_sum``, ``q_n``,
``q_min``, ``q_max`` (hundredths, as the rollups: history can read ``stats_hour`` like
one) and ``q_w``, ``q_d``: the time-weighted integral (hundredths x ms) and the time it
covers (ms). A value stands from its reading until the next one, for at most
``HOLD_MS``: a sensor that went silent leaves a gap, not a flat weight.

They are written by the store's one writer, in the same transaction as the readings
(``Statistics.write`` then, once committed, ``Statistics.keep``), and they outlive the
readings: their retention is separate and, by default, forever.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sensorhub.storage.rollups import add_values, mean, unit
from sensorhub.storage.schema import COLUMNS
from sensorhub.storage.schema import STATS as TABLES

HOUR_MS = 3_600_000
HOLD_MS = 600_000  # how long one reading's value counts for when no next one comes
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
PERIODS = ("hour", "day", "month")
PARTS = ("sum", "n", "min", "max", "w", "d")
_COLS = [f"{q}_{p}" for q in COLUMNS for p in PARTS]
_UPSERT = {table: (
    f"INSERT INTO {table} (sensor, bucket, {', '.join(_COLS)}) "
    f"VALUES (?, ?, {', '.join('?' * len(_COLS))}) ON CONFLICT (sensor, bucket) DO UPDATE SET "
    + ", ".join(
        f"{q}_sum = {q}_sum + excluded.{q}_sum, {q}_n = {q}_n + excluded.{q}_n, "
        f"{q}_w = {q}_w + excluded.{q}_w, {q}_d = {q}_d + excluded.{q}_d, "
        f"{q}_min = min(coalesce({q}_min, excluded.{q}_min), "
        f"coalesce(excluded.{q}_min, {q}_min)), "
        f"{q}_max = max(coalesce({q}_max, excluded.{q}_max), "
        f"coalesce(excluded.{q}_max, {q}_max))" for q in COLUMNS))
    for table in TABLES.values()}

Values = Sequence[int | None]  # hundredths in COLUMNS order
Stat = list[Any]  # [sum, n, min, max, w, d] per quantity, flat


def local_day(ts_ms: int) -> int:
    """The server's local calendar day of a time, as days since 1970-01-01."""
    return date.fromtimestamp(ts_ms / 1000).toordinal() - EPOCH_ORDINAL


@lru_cache(maxsize=64)
def day_start_ms(day: int) -> int:
    """Local midnight at the start of a day number (DST-aware), in epoch ms."""
    d = date.fromordinal(day + EPOCH_ORDINAL)
    return round(datetime(d.year, d.month, d.day).timestamp() * 1000)


def _new() -> Stat:
    return [0, 0, None, None, 0, 0] * len(COLUMNS)


def _weigh(stat: Stat, values: Values, duration: int) -> None:
    for i, v in enumerate(values):
        if v is not None:
            stat[6 * i + 4] += v * duration
            stat[6 * i + 5] += duration


class Statistics:
    """Adds each batch of readings to the hourly and daily tiers (the writer's helper)."""

    def __init__(self) -> None:
        # sensor key -> (ts ms, values) of the newest reading counted: its value stands
        # until the next reading, which the next batch (or the next start) brings
        self._last: dict[int, tuple[int, tuple[int | None, ...]]] = {}

    def write(self, conn: sqlite3.Connection, rows: Iterable[Sequence[Any]]
              ) -> dict[int, tuple[int, tuple[int | None, ...]]]:
        """Add rows ``(sensor key, ts ms, *values)`` inside the caller's transaction.

        Returns the newest reading per sensor, for ``keep`` once the transaction has
        committed (a rolled-back batch must leave nothing behind, here either).
        """
        by_sensor: dict[int, list[Sequence[Any]]] = {}
        for row in rows:
            by_sensor.setdefault(row[0], []).append(row)
        hours: dict[tuple[int, int], Stat] = {}
        days: dict[tuple[int, int], Stat] = {}
        last = dict(self._last)
        for sid, own in by_sensor.items():
            own.sort(key=lambda r: r[1])
            prev = last.get(sid) or _newest_before(conn, sid, own[0][1])
            for _sid, ts, *values in own:
                add_values(_at(hours, sid, ts // HOUR_MS), values, 6)
                add_values(_at(days, sid, local_day(ts)), values, 6)
                if prev is not None and ts <= prev[0]:
                    continue  # late or repeated: a sample, but no time of its own
                if prev is not None:
                    _spread(hours, days, sid, prev, min(ts, prev[0] + HOLD_MS))
                prev = (ts, tuple(values))
            if prev is not None:
                last[sid] = prev
        for table, stats in ((TABLES["hour"], hours), (TABLES["day"], days)):
            conn.executemany(_UPSERT[table], [(sid, b, *s) for (sid, b), s in stats.items()])
        return last

    def keep(self, last: dict[int, tuple[int, tuple[int | None, ...]]]) -> None:
        """Remember the newest readings of a committed batch."""
        self._last = last


def _at(stats: dict[tuple[int, int], Stat], sid: int, bucket: int) -> Stat:
    stat = stats.get((sid, bucket))
    if stat is None:
        stat = stats[(sid, bucket)] = _new()
    return stat


def _spread(hours: dict[tuple[int, int], Stat], days: dict[tuple[int, int], Stat], sid: int,
            prev: tuple[int, Sequence[int | None]], end: int) -> None:
    """Weigh a value over [its time, end), split at hour and local-day boundaries."""
    start, values = prev
    t = start
    while t < end:  # at most two pieces: HOLD_MS is shorter than an hour
        cut = min(end, (t // HOUR_MS + 1) * HOUR_MS)
        _weigh(_at(hours, sid, t // HOUR_MS), values, cut - t)
        t = cut
    t = start
    while t < end:
        day = local_day(t)
        cut = min(end, day_start_ms(day + 1))
        if cut <= t:  # a zone rule that makes no progress: count the rest here
            cut = end
        _weigh(_at(days, sid, day), values, cut - t)
        t = cut


def _newest_before(conn: sqlite3.Connection, sid: int, ts: int
                   ) -> tuple[int, tuple[int | None, ...]] | None:
    """The reading before a batch, from the last run: its value stands until ``ts``."""
    row = conn.execute(f"SELECT ts, {', '.join(COLUMNS)} FROM readings WHERE sensor = ? "
                       "AND ts < ? ORDER BY ts DESC LIMIT 1", (sid, ts)).fetchone()
    return None if row is None else (row[0], tuple(row[1:]))


# -- reading back ------------------------------------------------------------------------
def _summary(stat: Sequence[Any], width: int) -> list[Any]:
    """[mean, min, max, n] per quantity: the time-weighted mean where time was seen."""
    out: list[Any] = []
    for i in range(width):
        s, n, lo, hi, w, d = stat[6 * i: 6 * i + 6]
        avg = mean(w, d) if d else mean(s, n)
        out += [avg, unit(lo), unit(hi), n]
    return out


def _add(total: Stat, stat: Sequence[Any]) -> None:
    for i in range(len(COLUMNS)):
        b = 6 * i
        for k in (0, 1, 4, 5):
            total[b + k] += stat[b + k]
        for k, pick in ((2, min), (3, max)):
            v = stat[b + k]
            if v is not None:
                total[b + k] = v if total[b + k] is None else pick(total[b + k], v)


def fields(quantities: Sequence[str], width: int) -> list[str]:
    """Names of a statistics row's elements."""
    return ["start", "label", *(f"{q}_{p}" for q in quantities[:width]
                                for p in ("mean", "min", "max", "n"))]


def query(conn: sqlite3.Connection, sid: int, period: str, since: float, until: float,
          width: int) -> list[list[Any]]:
    """Rows ``[start epoch s, label, mean, min, max, n, ...]`` of buckets in [since, until].

    Hours are UTC hours (labelled in server-local time), days are the server's local
    calendar days, months are summed from days.
    """
    since_ms, until_ms = int(since * 1000), int(until * 1000)
    if period == "hour":
        lo, hi, table = since_ms // HOUR_MS, until_ms // HOUR_MS, TABLES["hour"]
    else:
        lo, hi, table = local_day(since_ms), local_day(until_ms), TABLES["day"]
    found = conn.execute(f"SELECT bucket, {', '.join(_COLS)} FROM {table} WHERE sensor = ? "
                         "AND bucket BETWEEN ? AND ? ORDER BY bucket", (sid, lo, hi)).fetchall()
    rows: list[list[Any]] = []
    if period == "hour":
        for bucket, *stat in found:
            start = bucket * HOUR_MS / 1000
            label = datetime.fromtimestamp(start).strftime("%Y-%m-%d %H:00")
            rows.append([start, label, *_summary(stat, width)])
        return rows
    if period == "day":
        for bucket, *stat in found:
            rows.append([day_start_ms(bucket) / 1000,
                         date.fromordinal(bucket + EPOCH_ORDINAL).isoformat(),
                         *_summary(stat, width)])
        return rows
    months: dict[tuple[int, int], Stat] = {}
    for bucket, *stat in found:
        d = date.fromordinal(bucket + EPOCH_ORDINAL)
        _add(months.setdefault((d.year, d.month), _new()), stat)
    for (year, month), stat in sorted(months.items()):
        start = datetime(year, month, 1).timestamp()
        rows.append([start, f"{year:04d}-{month:02d}", *_summary(stat, width)])
    return rows
