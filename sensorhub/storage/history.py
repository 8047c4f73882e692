"""Reading history back: the newest reading, downsampled ranges, every reading in a range,
long-term statistics.

Each query sees readings still in memory as well as those on disk (a reconnecting
browser backfills up to now), without ever missing or doubling one while a batch is
being committed: the memory snapshot is taken first, the database snapshot second,
and the batch number in ``meta`` says which of the in-memory readings it already has.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from sensorhub.readings import QUANTITIES, Reading
from sensorhub.storage.rollups import (
    COLUMNS,
    ROLLUPS,
    Agg,
    agg_add,
    agg_new,
    hundredths,
    mean,
    unit,
)
from sensorhub.storage.schema import STATS
from sensorhub.storage.statistics import HOUR_MS
from sensorhub.storage.statistics import fields as stats_fields
from sensorhub.storage.statistics import query as stats_query

if TYPE_CHECKING:
    from sensorhub.storage.store import Store

MAX_POINTS_LIMIT = 10_000
#: every tier a range can be read from: bucket width in ms -> table (statistics last)
TIERS = {**ROLLUPS, HOUR_MS: STATS["hour"]}
#: resolutions whose buckets are cached: raw readings and rollups, whose rows hold only
#: readings of their own bucket (not the statistics tier)
CACHED = frozenset((1, *ROLLUPS))
#: what each element of a history point is: temperature and humidity for every sensor
BASE_FIELDS = ("ts", "temperature", "humidity", "temperature_min", "temperature_max",
               "humidity_min", "humidity_max")
#: appended for a sensor that also measures pressure or CO2
EXTRA_FIELDS = ("pressure", "pressure_min", "pressure_max", "co2", "co2_min", "co2_max")


def _now(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` right here (export_rows' default ``run``)."""
    return fn()


def _width(quantities: Sequence[str]) -> int:
    """How many columns a query needs: 2 (t, h) or all of them (p, c too)."""
    return len(COLUMNS) if set(quantities) - {"temperature", "humidity"} else 2


def fields(quantities: Sequence[str]) -> tuple[str, ...]:
    """The names of a history point's elements for a sensor measuring ``quantities``."""
    return BASE_FIELDS + (EXTRA_FIELDS if _width(quantities) > 2 else ())


@cache
def _grouped_sql(width: int, raw: bool, table: str = "") -> str:
    """Aggregates per bucket ``k`` of the first ``width`` columns, as rows ``(k, *Agg)``."""
    cols = COLUMNS[:width]
    if raw:
        # coalesce: a bucket whose values are all NULL sums to 0, as an aggregate does
        parts = [f"coalesce(sum({q}), 0) AS {q}_sum, count({q}) AS {q}_n, min({q}) AS {q}_min, "
                 f"max({q}) AS {q}_max" for q in cols]
        return (f"SELECT ts / :step AS k, {', '.join(parts)}, sum(ts) AS ts_sum, "
                "count(*) AS n FROM readings WHERE sensor = :sid AND ts BETWEEN :a AND :b "
                "GROUP BY k")
    parts = [f"sum({q}_sum) AS {q}_sum, sum({q}_n) AS {q}_n, min({q}_min) AS {q}_min, "
             f"max({q}_max) AS {q}_max" for q in cols]
    any_value = " + ".join(f"{q}_n" for q in COLUMNS) + " > 0"  # a bucket with a reading
    return (f"SELECT bucket * :res / :step AS k, {', '.join(parts)}, "
            f"sum((bucket * :res + :half) * ({any_value})) AS ts_sum, "
            f"sum({any_value}) AS n FROM {table} "
            "WHERE sensor = :sid AND bucket BETWEEN :a AND :b GROUP BY k")


@cache
def _points_sql(width: int, grouped: str) -> str:
    """Finished points from grouped rows, as ``history`` returns them (see BASE_FIELDS).

    A lone reading keeps its own time, a bucket of several sits at its centre; means
    are rounded to hundredths.
    """
    avg = [f"round(1.0 * {q}_sum / {q}_n) / 100.0" for q in COLUMNS]
    extremes = [f"{q}_min / 100.0, {q}_max / 100.0" for q in COLUMNS]
    columns = [avg[0], avg[1], extremes[0], extremes[1]]
    if width > 2:
        columns += [avg[2], extremes[2], avg[3], extremes[3]]
    return ("SELECT round(max(min(CASE WHEN n = 1 THEN ts_sum ELSE (2 * k + 1) * :step / 2 END,"
            f" :hi), :lo) / 1000.0, 3), {', '.join(columns)} FROM ({grouped}) ORDER BY k")


def _point(a: Agg, ts_ms: float, width: int) -> list[Any]:
    """A history point from an aggregate built in Python (same layout as _points_sql)."""
    point: list[Any] = [round(ts_ms / 1000, 3), mean(a[0], a[1]), mean(a[4], a[5]),
                        unit(a[2]), unit(a[3]), unit(a[6]), unit(a[7])]
    if width > 2:
        point += [mean(a[8], a[9]), unit(a[10]), unit(a[11]),
                  mean(a[12], a[13]), unit(a[14]), unit(a[15])]
    return point


def latest(store: Store, sensor: str) -> Reading | None:
    """The newest stored reading of a sensor (room unknown: "", seq 0)."""
    inflight, pending, _taken = store.unflushed(sensor)
    for r in reversed(inflight + pending):
        return r
    sid = store.sensor_key(sensor)
    if sid is None:
        return None
    with store.reader() as conn:
        row = conn.execute(f"SELECT ts, {', '.join(COLUMNS)} FROM readings WHERE sensor = ? "
                           "ORDER BY ts DESC LIMIT 1", (sid,)).fetchone()
    if row is None:
        return None
    return Reading(sensor, "", row[0] / 1000, 0, *(unit(v) for v in row[1:]))


def history(store: Store, sensor: str, since: float, until: float, max_points: int = 1000,
            quantities: Sequence[str] = ("temperature", "humidity")) -> dict[str, Any]:
    """Readings of one sensor in [since, until], at most ``max_points`` buckets.

    Each point is laid out as ``fields`` names it: ``[ts, t_avg, h_avg, t_min, t_max,
    h_min, h_max]``, then pressure and CO2 (mean, min, max) for a sensor measuring
    them; a bucket keeps its extremes, so a spike never vanishes when zoomed out.
    Readings not yet flushed are included, so a reconnecting browser can backfill up
    to now.
    """
    width = _width(quantities)
    max_points = max(2, min(int(max_points), MAX_POINTS_LIMIT))
    # readings are stored at round(ts * 1000): widen the edges, never cut one off
    since_ms, until_ms = math.floor(since * 1000), math.ceil(until * 1000)
    span = max(1, until_ms - since_ms)
    wanted = span / (max_points - 1)
    resolution = 1
    for bucket_width in sorted(TIERS):
        if wanted >= bucket_width:
            resolution = bucket_width
    if since_ms < store.retention_cutoff() * 1000:
        resolution = HOUR_MS  # readings and rollups that old are gone: statistics remain
    step = max(1, math.ceil(wanted / resolution)) * resolution
    buckets: dict[int, Agg] = {}
    points: list[list[Any]] = []
    inflight, pending, taken = store.unflushed(sensor)  # before the database: see _not_in
    ticket = store.points.ticket()  # before the database too: see storage.pointcache
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
                    points = _finished(store, ticket if resolution in CACHED else None, conn,
                                       sid, (since_ms, split - 1), until_ms, step, resolution,
                                       width)
                if split <= until_ms:
                    for row in _query(conn, sid, split, until_ms, step, resolution, width):
                        buckets[row[0]] = list(row[1:])
            finally:
                conn.execute("COMMIT")
    for r in unflushed:
        ts = round(r.ts * 1000)
        if since_ms <= ts <= until_ms:
            agg = buckets.setdefault(ts // step, agg_new(width))
            agg_add(agg, [hundredths(r.value(q)) for q in QUANTITIES[:width]], ts)
    for key in sorted(buckets):
        a = buckets[key]
        ts = a[-2] / a[-1] if a[-1] == 1 else (2 * key + 1) * step // 2  # centre, whole ms
        points.append(_point(a, min(max(ts, since_ms), until_ms), width))
    return {"sensor": sensor, "since": since, "until": until, "step": step / 1000,
            "fields": list(fields(quantities)), "points": points}


def _finished(store: Store, ticket: int | None, conn: sqlite3.Connection, sid: int,
              within: tuple[int, int], until_ms: int, step: int, resolution: int, width: int
              ) -> list[list[Any]]:
    """Finished points of the buckets in ``within`` (ms), oldest first.

    Whole buckets come from the store's point cache where it has them; SQLite
    computes the rest: the partial bucket at each edge, and what the cache lacks.
    """
    lo, hi = within

    def run(a: int, b: int) -> list[list[Any]]:
        return list(map(list, _query(conn, sid, a, b, step, resolution, width,
                                     points_within=(lo, until_ms))))

    first, last = -(-lo // step), (hi + 1) // step - 1  # the buckets wholly inside
    if ticket is None or first > last:
        return run(lo, hi)
    head = run(lo, first * step - 1) if lo < first * step else []
    tail = run((last + 1) * step, hi) if (last + 1) * step <= hi else []
    # a point's time lies in its own bucket (a lone reading's, or the centre)
    middle = store.points.buckets(ticket, (sid, step, resolution, width), first, last,
                                  lambda a, b: [(round(p[0] * 1000) // step, p)
                                                for p in run(a * step, (b + 1) * step - 1)])
    return head + middle + tail


def _query(conn: sqlite3.Connection, sid: int, since_ms: int, until_ms: int, step: int,
           resolution: int, width: int, points_within: tuple[int, int] | None = None
           ) -> Iterable[tuple[Any, ...]]:
    """Buckets of ``step`` ms in a range: aggregate rows ``(k, *Agg)`` by default.

    With ``points_within=(lo, hi)`` (the request's edges), finished points as
    ``history`` returns them instead, oldest first, computed by SQLite.
    """
    if resolution == 1:
        sql = _grouped_sql(width, True)
        params = {"step": step, "sid": sid, "a": since_ms, "b": until_ms}
    else:
        sql = _grouped_sql(width, False, TIERS[resolution])
        params = {"res": resolution, "half": resolution // 2, "step": step, "sid": sid,
                  "a": since_ms // resolution, "b": until_ms // resolution}
    if points_within is None:
        return conn.execute(sql, params)
    return conn.execute(_points_sql(width, sql),
                        {**params, "lo": points_within[0], "hi": points_within[1]})


def statistics(store: Store, sensor: str, period: str, since: float, until: float,
               quantities: Sequence[str] = ("temperature", "humidity")) -> dict[str, Any]:
    """Mean, min, max and count per hour, day or month in [since, until].

    Rows are laid out as ``fields`` names them; the newest ``flush_interval`` of
    readings (not yet written) is not in them.
    """
    width = _width(quantities)
    sid = store.sensor_key(sensor)
    rows: list[list[Any]] = []
    if sid is not None:
        with store.reader() as conn:
            rows = stats_query(conn, sid, period, since, until, width)
    return {"sensor": sensor, "period": period, "since": since, "until": until,
            "fields": stats_fields(QUANTITIES, width), "rows": rows}


def export_rows(store: Store, sensor: str, since: float, until: float, chunk: int = 5000,
                run: Callable[[Callable[[], Any]], Any] | None = None
                ) -> Iterator[tuple[float | None, ...]]:
    """``(ts, temperature, humidity, pressure, co2)`` of every reading in a range.

    Unflushed readings are included; oldest first. Each chunk of ``chunk`` rows is
    read in its own short read transaction (through ``run``, e.g. off the event
    loop), never across a yield: a consumer that stalls holds no snapshot, so SQLite
    can keep checkpointing and the WAL does not grow behind it.
    """
    last = int(since * 1000) - 1
    until_ms = int(until * 1000)
    while True:
        rows, last, unflushed = (run or _now)(
            partial(_export_chunk, store, sensor, last, until_ms, chunk))
        yield from rows
        if unflushed is not None:  # the database had no more: memory has the rest
            for r in unflushed:
                if last < round(r.ts * 1000) <= until_ms:
                    yield (r.ts, *(r.value(q) for q in QUANTITIES))
            return


def _export_chunk(store: Store, sensor: str, after_ms: int, until_ms: int, chunk: int
                  ) -> tuple[list[tuple[float | None, ...]], int, list[Reading] | None]:
    """The stored rows of one chunk after ``after_ms``, the time of its last row (ms),
    and for the last chunk the unflushed readings its snapshot lacks (else None)."""
    inflight, pending, taken = store.unflushed(sensor)  # before the database: see _not_in
    sid = store.sensor_key(sensor)
    committed, rows = -1, []
    if sid is not None:
        with store.reader() as conn:
            conn.execute("BEGIN")  # the batch number and the rows from one snapshot
            try:
                committed = _committed_batch(conn)
                rows = conn.execute(
                    f"SELECT ts, {', '.join(COLUMNS)} FROM readings WHERE sensor = ? "
                    "AND ts > ? AND ts <= ? ORDER BY ts LIMIT ?",
                    (sid, after_ms, until_ms, chunk)).fetchall()
            finally:
                conn.execute("COMMIT")
    values = [(row[0] / 1000, *(unit(v) for v in row[1:])) for row in rows]
    last = rows[-1][0] if rows else after_ms
    if len(rows) == chunk:
        return values, last, None
    return values, last, _not_in(committed, inflight, pending, taken)


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
