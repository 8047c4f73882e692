"""Reading history back: the newest reading, downsampled ranges, every reading in a range.

Each query sees readings still in memory as well as those on disk (a reconnecting
browser backfills up to now), without ever missing or doubling one while a batch is
being committed: the memory snapshot is taken first, the database snapshot second,
and the batch number in ``meta`` says which of the in-memory readings it already has.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from sensorhub.readings import Reading
from sensorhub.storage.rollups import ROLLUPS, Agg, agg_add, agg_new, hundredths, mean, unit

if TYPE_CHECKING:
    from sensorhub.storage.store import Store

MAX_POINTS_LIMIT = 10_000
# A point per bucket of a grouped query (_query), as history() returns it:
# [ts s, t_avg, h_avg, t_min, t_max, h_min, h_max]; a lone reading keeps its own time,
# a bucket of several sits at its centre; means are rounded to hundredths.
_POINTS_SQL = """
SELECT round(max(min(CASE WHEN n = 1 THEN ts_sum ELSE (2 * k + 1) * :step / 2 END, :hi), :lo)
             / 1000.0, 3),
       round(1.0 * t_sum / t_n) / 100.0, round(1.0 * h_sum / h_n) / 100.0,
       t_min / 100.0, t_max / 100.0, h_min / 100.0, h_max / 100.0
FROM ({grouped}) ORDER BY k
"""


def latest(store: Store, sensor: str) -> tuple[float, float | None, float | None] | None:
    """The newest stored reading of a sensor as (ts, temperature, humidity)."""
    inflight, pending, _taken = store.unflushed(sensor)
    for r in reversed(inflight + pending):
        return (r.ts, r.temperature, r.humidity)
    sid = store.sensor_key(sensor)
    if sid is None:
        return None
    with store.reader() as conn:
        row = conn.execute("SELECT ts, t, h FROM readings WHERE sensor = ? "
                           "ORDER BY ts DESC LIMIT 1", (sid,)).fetchone()
    if row is None:
        return None
    return (row[0] / 1000, unit(row[1]), unit(row[2]))

def history(store: Store, sensor: str, since: float, until: float, max_points: int = 1000
            ) -> dict[str, Any]:
    """Readings of one sensor in [since, until], at most ``max_points`` buckets.

    Each point is ``[ts, t_avg, h_avg, t_min, t_max, h_min, h_max]``; a bucket
    keeps its extremes, so a spike never vanishes when zoomed out. Readings not
    yet flushed are included, so a reconnecting browser can backfill up to now.
    """
    max_points = max(2, min(int(max_points), MAX_POINTS_LIMIT))
    # readings are stored at round(ts * 1000): widen the edges, never cut one off
    since_ms, until_ms = math.floor(since * 1000), math.ceil(until * 1000)
    span = max(1, until_ms - since_ms)
    wanted = span / (max_points - 1)
    resolution = 1
    for width in sorted(ROLLUPS):
        if wanted >= width:
            resolution = width
    step = max(1, math.ceil(wanted / resolution)) * resolution
    buckets: dict[int, Agg] = {}
    points: list[list[Any]] = []
    inflight, pending, taken = store.unflushed(sensor)  # before the database: see _not_in
    unflushed = _not_in(-1, inflight, pending, taken)
    sid = store.sensor_key(sensor)
    if sid is not None:
        with store.reader() as conn:
            conn.execute("BEGIN")  # one snapshot for the batch number and the rows
            try:
                committed = _committed_batch(conn)
                unflushed = _not_in(committed, inflight, pending, taken)
                # Buckets no unflushed reading falls in come out of SQLite as finished
                # points (the hot path: no per-point Python). Only the newest few,
                # which memory adds to, are merged here.
                first = min((t for t in (round(r.ts * 1000) for r in unflushed)
                             if since_ms <= t <= until_ms), default=None)
                split = (until_ms + 1 if first is None
                         else max(since_ms, first // step * step))
                if split > since_ms:
                    points = list(map(list, _query(
                        conn, sid, since_ms, split - 1, step, resolution,
                        points_within=(since_ms, until_ms))))
                if split <= until_ms:
                    for row in _query(conn, sid, split, until_ms, step, resolution):
                        buckets[row[0]] = list(row[1:])
            finally:
                conn.execute("COMMIT")
    for r in unflushed:
        ts = round(r.ts * 1000)
        if since_ms <= ts <= until_ms:
            agg = buckets.setdefault(ts // step, agg_new())
            agg_add(agg, hundredths(r.temperature), hundredths(r.humidity), ts)
    for key in sorted(buckets):
        a = buckets[key]
        ts = a[8] / a[9] if a[9] == 1 else (2 * key + 1) * step // 2  # centre, whole ms
        ts = min(max(ts, since_ms), until_ms)
        points.append([round(ts / 1000, 3), mean(a[0], a[1]), mean(a[4], a[5]),
                       unit(a[2]), unit(a[3]), unit(a[6]), unit(a[7])])
    return {"sensor": sensor, "since": since, "until": until, "step": step / 1000,
            "points": points}

def _query(conn: sqlite3.Connection, sid: int, since_ms: int, until_ms: int, step: int,
           resolution: int, points_within: tuple[int, int] | None = None
           ) -> Iterable[tuple[Any, ...]]:
    """Buckets of ``step`` ms in a range: aggregate rows ``(k, *Agg)`` by default.

    With ``points_within=(lo, hi)`` (the request's edges), finished points as
    ``history`` returns them instead, oldest first, computed by SQLite.
    """
    if resolution == 1:
        sql = ("SELECT ts / :step AS k, sum(t) AS t_sum, count(t) AS t_n, min(t) AS t_min, "
               "max(t) AS t_max, sum(h) AS h_sum, count(h) AS h_n, min(h) AS h_min, "
               "max(h) AS h_max, sum(ts) AS ts_sum, count(*) AS n FROM readings "
               "WHERE sensor = :sid AND ts BETWEEN :a AND :b GROUP BY k")
        params = {"step": step, "sid": sid, "a": since_ms, "b": until_ms}
    else:
        sql = (f"SELECT bucket * :res / :step AS k, sum(t_sum) AS t_sum, sum(t_n) AS t_n, "
               f"min(t_min) AS t_min, max(t_max) AS t_max, sum(h_sum) AS h_sum, "
               f"sum(h_n) AS h_n, min(h_min) AS h_min, max(h_max) AS h_max, "
               f"sum((bucket * :res + :half) * (t_n + h_n > 0)) AS ts_sum, "
               f"sum(t_n + h_n > 0) AS n FROM {ROLLUPS[resolution]} "
               f"WHERE sensor = :sid AND bucket BETWEEN :a AND :b GROUP BY k")
        params = {"res": resolution, "half": resolution // 2, "step": step, "sid": sid,
                  "a": since_ms // resolution, "b": until_ms // resolution}
    if points_within is None:
        return conn.execute(sql, params)
    return conn.execute(_POINTS_SQL.format(grouped=sql),
                        {**params, "lo": points_within[0], "hi": points_within[1]})

def export_rows(store: Store, sensor: str, since: float, until: float, chunk: int = 5000
                ) -> Iterator[tuple[float, float | None, float | None]]:
    """Every reading of a sensor in a range (unflushed ones too), oldest first."""
    last = int(since * 1000) - 1
    until_ms = int(until * 1000)
    inflight, pending, taken = store.unflushed(sensor)  # before the database: see _not_in
    sid = store.sensor_key(sensor)
    committed = -1
    if sid is not None:
        with store.reader() as conn:
            conn.execute("BEGIN")  # one snapshot over every chunk
            try:
                committed = _committed_batch(conn)
                while True:
                    rows = conn.execute(
                        "SELECT ts, t, h FROM readings WHERE sensor = ? AND ts > ? "
                        "AND ts <= ? ORDER BY ts LIMIT ?",
                        (sid, last, until_ms, chunk)).fetchall()
                    for ts, t, h in rows:
                        yield (ts / 1000, unit(t), unit(h))
                    if rows:
                        last = rows[-1][0]
                    if len(rows) < chunk:
                        break
            finally:
                conn.execute("COMMIT")
    for r in _not_in(committed, inflight, pending, taken):
        if last < round(r.ts * 1000) <= until_ms:
            yield (r.ts, r.temperature, r.humidity)


def _committed_batch(conn: sqlite3.Connection) -> int:
    """Number of the latest batch in this connection's read snapshot."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'batch'").fetchone()
    return int(row[0]) if row else 0

def _not_in(committed: int, inflight: list[Reading], pending: list[Reading], taken: int
            ) -> list[Reading]:
    """Of an earlier memory snapshot, the readings a DB snapshot at ``committed`` lacks.

    The in-flight batch is number ``taken``; pending readings all go into a later one,
    so a snapshot that has a later batch has them too. Taking the memory snapshot
    first and the database second, a reading is never missed during a commit.
    """
    return ((inflight if committed < taken else [])
            + (pending if committed <= taken else []))
