"""SQLite history: batched writes, 1-min/15-min rollups, downsampled range queries.

Readings are kept in memory and written in one transaction every ``flush_interval``
seconds (an SD card wears out with an fsync per reading). With WAL and
``synchronous=FULL`` each batch is durable once committed, so a power cut loses at
most the readings of one flush interval. A failing write (disk full, read-only file,
locked database) keeps the batch in memory and retries; nothing crashes.

Values are stored as integer hundredths and times as integer milliseconds in a
WITHOUT ROWID table, about 25 bytes a reading on disk.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sensorhub.readings import Reading
from sensorhub.runtime import real_lock

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS sensor_ids (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS readings (
    sensor INTEGER NOT NULL, ts INTEGER NOT NULL, t INTEGER, h INTEGER,
    PRIMARY KEY (sensor, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
ROLLUP_SCHEMA = """
CREATE TABLE IF NOT EXISTS {table} (
    sensor INTEGER NOT NULL, bucket INTEGER NOT NULL,
    t_sum INTEGER NOT NULL, t_n INTEGER NOT NULL, t_min INTEGER, t_max INTEGER,
    h_sum INTEGER NOT NULL, h_n INTEGER NOT NULL, h_min INTEGER, h_max INTEGER,
    PRIMARY KEY (sensor, bucket)) WITHOUT ROWID;
"""
#: rollup levels: bucket width in ms -> table
ROLLUPS = {60_000: "rollup_1m", 900_000: "rollup_15m"}
MAX_PENDING = 200_000  # ~2 days of 8 sensors at 2 s, kept in RAM while the disk refuses
MAX_POINTS_LIMIT = 10_000
# A point per bucket of a grouped query (Store._query), as history() returns it:
# [ts s, t_avg, h_avg, t_min, t_max, h_min, h_max]; a lone reading keeps its own time,
# a bucket of several sits at its centre; means are rounded to hundredths.
_POINTS_SQL = """
SELECT round(max(min(CASE WHEN n = 1 THEN ts_sum ELSE (2 * k + 1) * :step / 2 END, :hi), :lo)
             / 1000.0, 3),
       round(1.0 * t_sum / t_n) / 100.0, round(1.0 * h_sum / h_n) / 100.0,
       t_min / 100.0, t_max / 100.0, h_min / 100.0, h_max / 100.0
FROM ({grouped}) ORDER BY k
"""

# one aggregate row: bucket key -> [t_sum, t_n, t_min, t_max, h_sum, h_n, h_min, h_max, ts_sum, n]
Agg = list[Any]


def _hundredths(value: float | None) -> int | None:
    return None if value is None else round(value * 100)


def _agg_new() -> Agg:
    return [0, 0, None, None, 0, 0, None, None, 0, 0]


def _agg_add(a: Agg, t: int | None, h: int | None, ts: int) -> None:
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


def _agg_merge(a: Agg, b: Agg) -> None:
    for i_sum, i_n, i_min, i_max in ((0, 1, 2, 3), (4, 5, 6, 7)):
        a[i_sum] += b[i_sum]
        a[i_n] += b[i_n]
        for i, pick in ((i_min, min), (i_max, max)):
            if b[i] is not None:
                a[i] = b[i] if a[i] is None else pick(a[i], b[i])
    a[8] += b[8]
    a[9] += b[9]


class StoreError(RuntimeError):
    """The database cannot be opened or has the wrong shape."""


class Store:
    """The readings database of one sensorhub instance."""

    def __init__(self, path: str | Path, *, retention_days: float = 90.0,
                 monotonic: Any = time.monotonic, wall_clock: Any = time.time) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self._mono = monotonic
        self._wall = wall_clock
        self._pending: list[Reading] = []
        self._inflight: list[Reading] = []  # the batch being committed right now
        self._taken = 0  # number of the latest batch taken for writing (meta 'batch')
        self._lock = real_lock()  # guards the three above; held for O(1) work only
        self._flush_lock = real_lock()
        self._readers: list[sqlite3.Connection] = []
        self._ids: dict[str, int] = {}
        self.flushes = 0  # one commit (one fsync of the WAL) each
        self.written = 0
        self.dropped = 0
        self.write_error: str | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = self.connect()
            self._writer.executescript(SCHEMA + "".join(
                ROLLUP_SCHEMA.format(table=t) for t in ROLLUPS.values()))
            self._ids = dict(self._writer.execute("SELECT name, id FROM sensor_ids"))
            meta = dict(self._writer.execute("SELECT key, value FROM meta"))
            self._taken = int(meta.get("batch", 0))
        except sqlite3.DatabaseError as error:
            raise StoreError(f"cannot open database {self.path}: {error}") from error
        # retention runs on a clock that ignores wall-clock jumps (see trusted_now)
        wall = self._wall()
        if "trusted" in meta and "wall" in meta:
            downtime = max(0.0, wall - float(meta["wall"]))
            self._trusted0 = float(meta["trusted"]) + downtime
        else:
            self._trusted0 = wall
        self._mono0 = self._mono()

    # -- connections -----------------------------------------------------------------
    def connect(self) -> sqlite3.Connection:
        """Open a new connection with the store's settings (WAL, busy timeout)."""
        conn = sqlite3.connect(self.path, timeout=2.0, check_same_thread=False,
                               isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # one WAL fsync per batch commit
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """Borrow a read connection from a small pool."""
        try:
            conn = self._readers.pop()
        except IndexError:
            conn = self.connect()
        try:
            yield conn
        finally:
            self._readers.append(conn)

    def close(self) -> None:
        """Flush what is pending, record the clocks, close every connection."""
        self.flush()
        with suppress(sqlite3.Error):  # so a jump seen while idle is not taken for downtime
            self._write_meta(self._writer)
        for conn in [*self._readers, self._writer]:
            with suppress(sqlite3.Error):
                conn.close()
        self._readers.clear()

    # -- writing ---------------------------------------------------------------------
    def add(self, reading: Reading) -> None:
        """Queue a reading for the next batch (cheap: called on the hot path)."""
        with self._lock:
            self._pending.append(reading)
            if len(self._pending) > MAX_PENDING:
                del self._pending[: len(self._pending) - MAX_PENDING]
                self.dropped += 1

    @property
    def pending(self) -> int:
        """Readings accepted but not yet on disk."""
        return len(self._pending) + len(self._inflight)

    def _sensor_id(self, conn: sqlite3.Connection, name: str) -> int:
        sid = self._ids.get(name)
        if sid is None:
            conn.execute("INSERT OR IGNORE INTO sensor_ids (name) VALUES (?)", (name,))
            sid = conn.execute("SELECT id FROM sensor_ids WHERE name = ?", (name,)).fetchone()[0]
        return sid

    def flush(self) -> int:
        """Write every pending reading in one transaction; return how many were written.

        On failure the batch goes back to the front of the queue and the error is
        logged once (and again when writing resumes).
        """
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
                if not batch:
                    return 0  # no commit, no fsync: an idle Pi does not wear its SD card
                # still visible to history() until committed (see _unflushed)
                self._inflight = batch
                self._taken += 1
                number = self._taken
            new_ids: dict[str, int] = {}
            try:
                if self.write_error is not None:
                    self._reopen_writer()
                conn = self._writer
                conn.execute("BEGIN IMMEDIATE")
                rows = []
                rollups: dict[int, dict[tuple[int, int], Agg]] = {w: {} for w in ROLLUPS}
                for r in batch:
                    sid = new_ids.get(r.sensor) or self._sensor_id(conn, r.sensor)
                    new_ids[r.sensor] = sid
                    ts = round(r.ts * 1000)
                    t, h = _hundredths(r.temperature), _hundredths(r.humidity)
                    rows.append((sid, ts, t, h))
                    for width, aggs in rollups.items():
                        key = (sid, ts // width)
                        agg = aggs.get(key)
                        if agg is None:
                            agg = aggs[key] = _agg_new()
                        _agg_add(agg, t, h, ts)
                conn.executemany("INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?)", rows)
                for width, aggs in rollups.items():
                    self._upsert_rollup(conn, ROLLUPS[width], aggs)
                self._write_meta(conn, batch=number)
                conn.execute("COMMIT")
            except sqlite3.Error as error:
                with suppress(sqlite3.Error):
                    self._writer.execute("ROLLBACK")
                with self._lock:
                    self._inflight = []
                    self._pending[:0] = batch
                    overflow = len(self._pending) - MAX_PENDING
                    if overflow > 0:
                        del self._pending[:overflow]
                        self.dropped += overflow
                message = f"{type(error).__name__}: {error}"
                if message != self.write_error:
                    log.error("cannot write readings to %s (%s); keeping %d in memory and "
                              "retrying every flush", self.path, message, self.pending)
                self.write_error = message
                return 0
            with self._lock:
                self._inflight = []
            self._ids.update(new_ids)
            self.flushes += 1
            self.written += len(batch)
            if self.write_error is not None:
                log.warning("writing readings to %s resumed (%d written)", self.path, len(batch))
                self.write_error = None
            return len(batch)

    def _reopen_writer(self) -> None:
        """Replace the writer with a fresh connection after a failed write.

        SQLite opens a file it may not write as read-only and keeps it so even once the
        file is writable again; a fresh connection also drops any state a disk-full or
        I/O error left behind. Raises sqlite3.Error if the database still cannot open.
        """
        # close first, idle readers too: SQLite shares one read-only -shm per process
        idle, self._readers = self._readers, []
        for conn in [*idle, self._writer]:
            with suppress(sqlite3.Error):
                conn.close()
        self._writer = self.connect()

    @staticmethod
    def _upsert_rollup(conn: sqlite3.Connection, table: str,
                       aggs: dict[tuple[int, int], Agg]) -> None:
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

    def trusted_now(self) -> float:
        """Wall-clock time that advances only with the monotonic clock while running.

        At start it takes the stored value plus the downtime the wall clock shows, so
        a clock that leaps forward while we run never makes history look old.
        """
        return self._trusted0 + (self._mono() - self._mono0)

    def _write_meta(self, conn: sqlite3.Connection, batch: int | None = None) -> None:
        rows = [("trusted", repr(self.trusted_now())), ("wall", repr(self._wall()))]
        if batch is not None:
            rows.append(("batch", str(batch)))
        conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)

    # -- reading what is not on disk yet ---------------------------------------------
    def _unflushed(self, sensor: str) -> tuple[list[Reading], list[Reading], int]:
        """(batch being committed, pending readings) of a sensor, and that batch's number."""
        with self._lock:
            return ([r for r in self._inflight if r.sensor == sensor],
                    [r for r in self._pending if r.sensor == sensor], self._taken)

    @staticmethod
    def _committed_batch(conn: sqlite3.Connection) -> int:
        """Number of the latest batch in this connection's read snapshot."""
        row = conn.execute("SELECT value FROM meta WHERE key = 'batch'").fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _not_in(committed: int, inflight: list[Reading], pending: list[Reading], taken: int
                ) -> list[Reading]:
        """Of an earlier memory snapshot, the readings a DB snapshot at ``committed`` lacks.

        The in-flight batch is number ``taken``; pending readings all go into a later one,
        so a snapshot that has a later batch has them too. Taking the memory snapshot
        first and the database second, a reading is never missed during a commit.
        """
        return ((inflight if committed < taken else [])
                + (pending if committed <= taken else []))

    # -- retention -------------------------------------------------------------------
    def retention_cutoff(self) -> float:
        """Readings older than this (epoch s) may go: never ahead of the trusted clock."""
        return min(self.trusted_now(), self._wall()) - self.retention_days * 86400

    def apply_retention(self) -> int:
        """Delete readings and rollups older than the retention window; return rows gone."""
        cutoff_ms = int(self.retention_cutoff() * 1000)
        with self._flush_lock:
            try:
                conn = self._writer
                conn.execute("BEGIN IMMEDIATE")
                gone = conn.execute("DELETE FROM readings WHERE ts < ?", (cutoff_ms,)).rowcount
                for width, table in ROLLUPS.items():
                    conn.execute(f"DELETE FROM {table} WHERE bucket < ?", (cutoff_ms // width,))
                self._write_meta(conn)  # hourly, even when no readings arrive
                conn.execute("COMMIT")
            except sqlite3.Error as error:
                with suppress(sqlite3.Error):
                    self._writer.execute("ROLLBACK")
                log.error("retention pass failed: %s", error)
                return 0
        if gone:
            log.info("retention removed %d readings older than %.0f days", gone,
                     self.retention_days)
        return gone

    # -- reading ---------------------------------------------------------------------
    def latest(self, sensor: str) -> tuple[float, float | None, float | None] | None:
        """The newest stored reading of a sensor as (ts, temperature, humidity)."""
        inflight, pending, _taken = self._unflushed(sensor)
        for r in reversed(inflight + pending):
            return (r.ts, r.temperature, r.humidity)
        sid = self._ids.get(sensor)
        if sid is None:
            return None
        with self.reader() as conn:
            row = conn.execute("SELECT ts, t, h FROM readings WHERE sensor = ? "
                               "ORDER BY ts DESC LIMIT 1", (sid,)).fetchone()
        if row is None:
            return None
        return (row[0] / 1000, _unit(row[1]), _unit(row[2]))

    def history(self, sensor: str, since: float, until: float, max_points: int = 1000
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
        inflight, pending, taken = self._unflushed(sensor)  # before the database: see _not_in
        unflushed = self._not_in(-1, inflight, pending, taken)
        sid = self._ids.get(sensor)
        if sid is not None:
            with self.reader() as conn:
                conn.execute("BEGIN")  # one snapshot for the batch number and the rows
                try:
                    committed = self._committed_batch(conn)
                    unflushed = self._not_in(committed, inflight, pending, taken)
                    # Buckets no unflushed reading falls in come out of SQLite as finished
                    # points (the hot path: no per-point Python). Only the newest few,
                    # which memory adds to, are merged here.
                    first = min((t for t in (round(r.ts * 1000) for r in unflushed)
                                 if since_ms <= t <= until_ms), default=None)
                    split = (until_ms + 1 if first is None
                             else max(since_ms, first // step * step))
                    if split > since_ms:
                        points = list(map(list, self._query(
                            conn, sid, since_ms, split - 1, step, resolution,
                            points_within=(since_ms, until_ms))))
                    if split <= until_ms:
                        for row in self._query(conn, sid, split, until_ms, step, resolution):
                            buckets[row[0]] = list(row[1:])
                finally:
                    conn.execute("COMMIT")
        for r in unflushed:
            ts = round(r.ts * 1000)
            if since_ms <= ts <= until_ms:
                agg = buckets.setdefault(ts // step, _agg_new())
                _agg_add(agg, _hundredths(r.temperature), _hundredths(r.humidity), ts)
        for key in sorted(buckets):
            a = buckets[key]
            ts = a[8] / a[9] if a[9] == 1 else (2 * key + 1) * step // 2  # centre, whole ms
            ts = min(max(ts, since_ms), until_ms)
            points.append([round(ts / 1000, 3), _mean(a[0], a[1]), _mean(a[4], a[5]),
                           _unit(a[2]), _unit(a[3]), _unit(a[6]), _unit(a[7])])
        return {"sensor": sensor, "since": since, "until": until, "step": step / 1000,
                "points": points}

    @staticmethod
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

    def export_rows(self, sensor: str, since: float, until: float, chunk: int = 5000
                    ) -> Iterator[tuple[float, float | None, float | None]]:
        """Every reading of a sensor in a range (unflushed ones too), oldest first."""
        last = int(since * 1000) - 1
        until_ms = int(until * 1000)
        inflight, pending, taken = self._unflushed(sensor)  # before the database: see _not_in
        sid = self._ids.get(sensor)
        committed = -1
        if sid is not None:
            with self.reader() as conn:
                conn.execute("BEGIN")  # one snapshot over every chunk
                try:
                    committed = self._committed_batch(conn)
                    while True:
                        rows = conn.execute(
                            "SELECT ts, t, h FROM readings WHERE sensor = ? AND ts > ? "
                            "AND ts <= ? ORDER BY ts LIMIT ?",
                            (sid, last, until_ms, chunk)).fetchall()
                        for ts, t, h in rows:
                            yield (ts / 1000, _unit(t), _unit(h))
                        if rows:
                            last = rows[-1][0]
                        if len(rows) < chunk:
                            break
                finally:
                    conn.execute("COMMIT")
        for r in self._not_in(committed, inflight, pending, taken):
            if last < round(r.ts * 1000) <= until_ms:
                yield (r.ts, r.temperature, r.humidity)

    def count(self) -> int:
        """Readings on disk."""
        with self.reader() as conn:
            return conn.execute("SELECT count(*) FROM readings").fetchone()[0]


def _unit(value: int | None) -> float | None:
    return None if value is None else value / 100


def _mean(total: int, n: int) -> float | None:
    """The mean in units, rounded to hundredths half away from zero (as _POINTS_SQL)."""
    if n == 0:
        return None
    mean = total / n
    return math.copysign(math.floor(abs(mean) + 0.5), mean) / 100 + 0.0
