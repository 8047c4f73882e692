"""SQLite history: batched writes, 1-min/15-min rollups, statistics, range queries.

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
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sensorhub.readings import Reading, SensorState
from sensorhub.runtime import real_lock
from sensorhub.storage import history as queries
from sensorhub.storage import statistics as stats
from sensorhub.storage.files import private_database
from sensorhub.storage.pointcache import ALL, PointCache
from sensorhub.storage.rollups import (
    COLUMNS,
    ROLLUPS,
    Agg,
    agg_add,
    agg_new,
    hundredths,
    upsert_rollup,
)
from sensorhub.storage.schema import STATS, SchemaError, migrate

log = logging.getLogger(__name__)

MAX_PENDING = 200_000  # ~2 days of 8 sensors at 2 s, kept in RAM while the disk refuses
VALUES = slice(4, 4 + len(COLUMNS))  # a Reading's measured values, in COLUMNS order
INSERT_READING = (f"INSERT OR IGNORE INTO readings (sensor, ts, {', '.join(COLUMNS)}) "
                  f"VALUES (?, ?, {', '.join('?' * len(COLUMNS))})")


class StoreError(RuntimeError):
    """The database cannot be opened or has the wrong shape."""


class Store:
    """The readings database of one sensorhub instance."""

    def __init__(self, path: str | Path, *, retention_days: float = 90.0,
                 statistics_retention_days: float | None = None,
                 monotonic: Any = time.monotonic, wall_clock: Any = time.time) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self.statistics_retention_days = statistics_retention_days  # None: forever
        self._statistics = stats.Statistics()
        self._mono = monotonic
        self._wall = wall_clock
        self._pending: list[Reading] = []
        self._inflight: list[Reading] = []  # the batch being committed right now
        self._taken = 0  # number of the latest batch taken for writing (meta 'batch')
        self._lock = real_lock()  # guards the three above; held for O(1) work only
        self._flush_lock = real_lock()
        self._readers: list[sqlite3.Connection] = []
        self.points = PointCache()  # finished history buckets (storage.pointcache)
        self._ids: dict[str, int] = {}
        self.flushes = 0  # one commit (one fsync of the WAL) each
        self.written = 0
        self.dropped = 0
        self.write_error: str | None = None
        try:
            private_database(self.path)
            self._writer = self.connect()
            migrate(self._writer)
            self._ids = dict(self._writer.execute("SELECT name, id FROM sensor_ids"))
            meta = dict(self._writer.execute("SELECT key, value FROM meta"))
            self._taken = int(meta.get("batch", 0))
        except (sqlite3.DatabaseError, SchemaError, OSError) as error:
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
    def on_reading(self, reading: Reading) -> None:
        """Poller sink: queue the reading for the next batch."""
        self.add(reading)

    def on_state(self, state: SensorState) -> None:
        """Poller sink: states are not stored."""

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
        # cached history buckets: none is used while a batch is written, and those it
        # may have changed are dropped once it is committed (storage.pointcache)
        with self._flush_lock, self.points.writing() as written:
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
                    values = [hundredths(v) for v in r[VALUES]]
                    rows.append((sid, ts, *values))
                    written[sid] = min(ts, written.get(sid, ts))
                    for width, aggs in rollups.items():
                        key = (sid, ts // width)
                        agg = aggs.get(key)
                        if agg is None:
                            agg = aggs[key] = agg_new()
                        agg_add(agg, values, ts)
                conn.executemany(INSERT_READING, rows)
                for width, aggs in rollups.items():
                    upsert_rollup(conn, ROLLUPS[width], aggs)
                newest = self._statistics.write(conn, rows)
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
            self._statistics.keep(newest)
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

    # -- what readers need ------------------------------------------------------------
    def unflushed(self, sensor: str) -> tuple[list[Reading], list[Reading], int]:
        """(batch being committed, pending readings) of a sensor, and that batch's number."""
        with self._lock:
            return ([r for r in self._inflight if r.sensor == sensor],
                    [r for r in self._pending if r.sensor == sensor], self._taken)

    def sensor_key(self, sensor: str) -> int | None:
        """The integer key of a sensor in the readings tables (None: nothing stored yet)."""
        return self._ids.get(sensor)

    # -- retention -------------------------------------------------------------------
    def retention_cutoff(self, days: float | None = None) -> float:
        """Readings older than this (epoch s) may go: never ahead of the trusted clock."""
        days = self.retention_days if days is None else days
        return min(self.trusted_now(), self._wall()) - days * 86400

    def apply_retention(self) -> int:
        """Delete readings and rollups (and statistics past their own retention) older
        than the retention window; return the readings gone."""
        cutoff_ms = int(self.retention_cutoff() * 1000)
        keep_stats = self.statistics_retention_days
        with self._flush_lock, self.points.writing() as written:
            written[ALL] = 0  # old buckets go: drop every cached one
            try:
                conn = self._writer
                conn.execute("BEGIN IMMEDIATE")
                gone = conn.execute("DELETE FROM readings WHERE ts < ?", (cutoff_ms,)).rowcount
                for width, table in ROLLUPS.items():
                    conn.execute(f"DELETE FROM {table} WHERE bucket < ?", (cutoff_ms // width,))
                if keep_stats is not None:  # the same trusted cutoff: a clock leap keeps all
                    stats_ms = int(self.retention_cutoff(keep_stats) * 1000)
                    conn.execute(f"DELETE FROM {STATS['hour']} WHERE bucket < ?",
                                 (stats_ms // stats.HOUR_MS,))
                    conn.execute(f"DELETE FROM {STATS['day']} WHERE bucket < ?",
                                 (stats.local_day(stats_ms),))
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

    # -- reading (sensorhub.storage.history) -------------------------------------------
    def latest(self, sensor: str) -> Reading | None:
        """The newest stored reading of a sensor (room unknown: "", seq 0)."""
        return queries.latest(self, sensor)

    def history(self, sensor: str, since: float, until: float, max_points: int = 1000,
                quantities: Sequence[str] = ("temperature", "humidity")) -> dict[str, Any]:
        """Readings of one sensor in [since, until], at most ``max_points`` buckets."""
        return queries.history(self, sensor, since, until, max_points, quantities)

    def statistics(self, sensor: str, period: str, since: float, until: float,
                   quantities: Sequence[str] = ("temperature", "humidity")) -> dict[str, Any]:
        """Hourly, daily or monthly mean/min/max/count of a sensor (storage.statistics)."""
        return queries.statistics(self, sensor, period, since, until, quantities)

    def export_rows(self, sensor: str, since: float, until: float, chunk: int = 5000,
                    run: Callable[[Callable[[], Any]], Any] | None = None
                    ) -> Iterator[tuple[float | None, ...]]:
        """Every reading in a range, a short read transaction a chunk (via ``run``)."""
        return queries.export_rows(self, sensor, since, until, chunk, run)

    def count(self) -> int:
        """Readings on disk."""
        with self.reader() as conn:
            return conn.execute("SELECT count(*) FROM readings").fetchone()[0]
