"""History: a month of 8 sensors at 2 s (~10 M readings), queried, sized and fed.

1. A generator fills a sensorhub database the way the store does: readings of all
   sensors interleaved in time order, in batches, with the 1-minute and 15-minute
   rollups of each batch (about 30 s for 30 days on a 2-core machine).
2. History requests for one sensor (30 days at max_points = 1000, 7 days, 24 h, 1 h),
   repeated: in-process through ``Store.history`` and end to end through
   ``GET /api/history`` of a running ``sensorhub run`` on that database; in the same
   run, the same requests to ``bench/reference_app.py``, which answers 1000 points
   of the same shape from memory with Flask's ``jsonify`` (the floor: a bare app's
   HTTP and JSON, no query, no authentication).
3. Bytes per reading on disk (after a WAL checkpoint), per table from ``dbstat``.
4. Steady ingest: an hour of 8 sensors at 2 s fed through ``Store.add`` and flushed
   every 5 s (720 batches, as fast as it goes): CPU seconds per hour of real time,
   commits per hour, and fsync/fdatasync calls per hour counted with strace when
   it is installed.

A calibration loop (fixed pure-Python work) is timed in the same run so figures from
different machines can be compared.

    python bench/history.py                        # 30 days x 8 sensors
    python bench/history.py --days 7 --keep-db /tmp/h7.db
    python bench/history.py --smoke                # ~10 s, for CI
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    admin_token,
    child_env,
    emit_summary,
    median,
    mock_sensors,
    percentile,
    progress,
    ratio,
    rnd,
    start_reference,
    start_sensorhub,
    workdir,
)

ROOMS = ("a", "b")
ROLLUP_SQL = """
INSERT INTO {table} (sensor, bucket, t_sum, t_n, t_min, t_max, h_sum, h_n, h_min, h_max)
SELECT sensor, ts / {width} AS b, sum(t), count(t), min(t), max(t),
    sum(h), count(h), min(h), max(h)
FROM readings WHERE sensor = ? AND ts BETWEEN ? AND ? GROUP BY b
ON CONFLICT (sensor, bucket) DO UPDATE SET
    t_sum = t_sum + excluded.t_sum, t_n = t_n + excluded.t_n,
    t_min = min(t_min, excluded.t_min), t_max = max(t_max, excluded.t_max),
    h_sum = h_sum + excluded.h_sum, h_n = h_n + excluded.h_n,
    h_min = min(h_min, excluded.h_min), h_max = max(h_max, excluded.h_max)
"""
SPANS = {"30d": 30 * 86400, "7d": 7 * 86400, "24h": 86400, "1h": 3600}


def calibration_ms() -> float:
    """Milliseconds for a fixed pure-Python workload (best of 3): the machine's speed."""
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(300_000):
            total += i % 7
        best = min(best, time.perf_counter() - start)
    return 1000 * best


# -- the generator ----------------------------------------------------------------------
def generate(path: Path, sensors: list[str], days: float, interval: float,
             end: float | None = None, batch_s: float = 3600.0) -> dict[str, Any]:
    """Fill ``path`` with ``days`` of readings ending at ``end`` (default: now).

    Same schema and layout as the store writes: rows of all sensors interleaved in
    time order, committed in batches, each batch adding its rollup rows.
    """
    from sensorhub.storage.schema import STATS_FROM_ROLLUPS
    from sensorhub.storage.store import ROLLUPS, Store

    Store(path).close()  # the schema, exactly as the product makes it
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # a generator, not the product: no fsyncs
    ids = []
    for name in sensors:
        conn.execute("INSERT OR IGNORE INTO sensor_ids (name) VALUES (?)", (name,))
        ids.append(conn.execute("SELECT id FROM sensor_ids WHERE name = ?", (name,))
                   .fetchone()[0])
    end_ms = int(1000 * (end if end is not None else time.time()))
    step_ms = int(1000 * interval)
    count = int(days * 86400 / interval)
    first_ms = end_ms - count * step_ms
    per_batch = max(1, int(batch_s / interval))
    started = time.monotonic()
    # a daily cycle per sensor plus deterministic jitter: realistic value sizes on disk
    cycle = [math.sin(2 * math.pi * m / 1440) for m in range(1440)]
    for lo in range(0, count, per_batch):
        hi = min(count, lo + per_batch)
        rows = []
        for k in range(lo, hi):
            ts = first_ms + k * step_ms
            c = cycle[(ts // 60_000) % 1440]
            for n, sid in enumerate(ids):
                jitter = (k * 7919 + n * 104729) % 41 - 20
                rows.append((sid, ts + 3 * n, 2100 + 150 * n + int(300 * c) + jitter,
                             5500 - int(800 * c) + 3 * jitter))
        batch_lo, batch_hi = first_ms + lo * step_ms, first_ms + (hi - 1) * step_ms + 3 * len(ids)
        conn.execute("BEGIN")
        conn.executemany("INSERT OR IGNORE INTO readings (sensor, ts, t, h) VALUES (?, ?, ?, ?)",
                         rows)
        for width, table in ROLLUPS.items():
            for sid in ids:
                conn.execute(ROLLUP_SQL.format(table=table, width=width),
                             (sid, batch_lo, batch_hi))
        conn.execute("COMMIT")
    for statement in STATS_FROM_ROLLUPS:  # the hourly and daily statistics, as a migration
        conn.execute(statement)           # makes them (the store keeps them time-weighted)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {"readings": count * len(ids), "seconds": time.monotonic() - started,
            "first_ts": first_ms / 1000, "last_ts": end_ms / 1000}


# -- queries ----------------------------------------------------------------------------
def time_store(path: Path, sensors: list[str], end: float, repeats: int) -> dict[str, Any]:
    """Store.history in-process: first (cold) call and warm p50/p99 per span."""
    from sensorhub.storage.store import Store

    store = Store(path)
    out: dict[str, Any] = {}
    try:
        for name, span in SPANS.items():
            times, points = [], 0
            for i in range(repeats + 1):
                sensor = sensors[i % len(sensors)]
                t = time.perf_counter()
                answer = store.history(sensor, end - span, end, 1000)
                times.append(1000 * (time.perf_counter() - t))
                points = len(answer["points"])
            out[name] = {"cold_ms": times[0], "p50_ms": percentile(times[1:], 50),
                         "p99_ms": percentile(times[1:], 99), "points": points,
                         "step_s": answer["step"]}
    finally:
        store.close()
    return out


def time_http(server: Any, token: str, sensors: list[str], repeats: int) -> dict[str, Any]:
    """GET /api/history end to end (client-side wall time) per span."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    out: dict[str, Any] = {}
    for name, span in SPANS.items():
        times, sizes = [], []
        for i in range(repeats + 1):
            sensor = sensors[i % len(sensors)]
            now = time.time()
            t = time.perf_counter()
            answer = session.get(f"{server.url}/api/history", timeout=30, params={
                "sensor": sensor, "since": now - span, "until": now, "max_points": 1000})
            times.append(1000 * (time.perf_counter() - t))
            answer.raise_for_status()
            sizes.append(len(answer.content))
        out[name] = {"first_ms": times[0], "p50_ms": percentile(times[1:], 50),
                     "p99_ms": percentile(times[1:], 99), "bytes": median(sizes),
                     "points": len(answer.json()["points"])}
    session.close()
    return out


def disk_usage(path: Path) -> dict[str, Any]:
    """Bytes on disk (database + WAL after a checkpoint) and per table from dbstat."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    readings = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    tables: dict[str, Any] = {}
    try:
        for name, size, unused in conn.execute(
                "SELECT name, sum(pgsize), sum(unused) FROM dbstat GROUP BY name"):
            tables[name] = {"bytes": size, "fill_pct": 100 * (1 - unused / size)}
    except sqlite3.Error:
        tables = {}
    conn.close()
    total = sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists())
    return {"readings": readings, "bytes": total,
            "bytes_per_reading": total / readings if readings else None, "tables": tables}


# -- ingest -----------------------------------------------------------------------------
def ingest_worker(path: str, sensors: list[str], hours: float, interval: float,
                  flush_every: float) -> dict[str, Any]:
    """Feed ``hours`` of readings through Store.add/flush as fast as possible."""
    from sensorhub.readings import Reading
    from sensorhub.storage.store import Store

    store = Store(path)
    row = store.connect().execute("SELECT max(ts) FROM readings").fetchone()[0]
    start = (row or 0) / 1000 + interval
    ticks = int(hours * 3600 / interval)
    next_flush = start + flush_every  # the housekeeping loop's schedule, in simulated time
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for k in range(ticks):
        ts = start + k * interval
        if ts >= next_flush:
            store.flush()
            next_flush += flush_every
        for n, sensor in enumerate(sensors):
            store.add(Reading(sensor, "a", ts + 0.003 * n, k + 1, 21.0 + n / 10 + (k % 9) / 10,
                              55.0 - (k % 13) / 10))
    store.flush()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    commits = store.flushes
    store.close()
    return {"readings": ticks * len(sensors), "cpu_s": cpu, "wall_s": wall, "commits": commits}


def ingest(path: Path, sensors: list[str], hours: float, interval: float, flush_every: float
           ) -> dict[str, Any]:
    """CPU per hour of real time, commits and fsyncs per hour, for steady ingest."""
    spec = json.dumps({"path": str(path), "sensors": sensors, "hours": hours,
                       "interval": interval, "flush_every": flush_every})
    cmd = [PYTHON, __file__, "--ingest-worker", spec]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600,
                         env=child_env())
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["cpu_pct_of_one_core"] = 100 * result["cpu_s"] / (hours * 3600)
    result["commits_per_hour"] = result["commits"] / hours
    strace = shutil.which("strace")
    if strace:
        log = path.parent / "strace.txt"
        subprocess.run([strace, "-f", "-c", "-o", str(log), "-e", "trace=fsync,fdatasync",
                        *cmd], check=True, capture_output=True, timeout=900, env=child_env())
        calls = 0
        for line in log.read_text().splitlines():
            parts = line.split()
            if parts and parts[-1] in ("fsync", "fdatasync"):
                calls += int(parts[3])
        result["fsyncs_per_hour"] = calls / hours
    else:
        result["fsyncs_per_hour"] = None
        result["fsyncs_note"] = "strace not installed: commits_per_hour is the floor"
    return result


# -- main -------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Generate, query, size, ingest; print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=40, help="requests per span")
    parser.add_argument("--ingest-hours", type=float, default=1.0)
    parser.add_argument("--flush-interval", type=float, default=5.0)
    parser.add_argument("--mode", default="eventlet", choices=("eventlet", "threading"))
    parser.add_argument("--keep-db", type=Path, help="keep the generated database here")
    parser.add_argument("--smoke", action="store_true", help="a small, quick run (CI)")
    parser.add_argument("--ingest-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ingest_worker:
        spec = json.loads(args.ingest_worker)
        print(json.dumps(ingest_worker(spec["path"], spec["sensors"], spec["hours"],
                                       spec["interval"], spec["flush_every"])))
        return 0
    if args.smoke:
        args.days, args.repeats, args.ingest_hours = 0.5, 3, 0.05
    sensor_specs = mock_sensors(ROOMS, 4, args.interval)
    sensors = [s["id"] for s in sensor_specs]
    started = time.monotonic()
    summary: dict[str, Any] = {"scenario": {
        "days": args.days, "sensors": len(sensors), "interval_s": args.interval,
        "max_points": 1000, "repeats": args.repeats, "ingest_hours": args.ingest_hours,
        "flush_interval_s": args.flush_interval, "mode": args.mode}}
    summary["calibration_ms"] = calibration_ms()
    with workdir("history") as scratch:
        server_dir = scratch / "server"
        db = server_dir / "data" / "bench.db"
        db.parent.mkdir(parents=True)
        end = time.time()
        progress(f"history: generating {args.days:g} days x {len(sensors)} sensors")
        summary["generate"] = generate(db, sensors, args.days, args.interval, end)
        summary["disk"] = disk_usage(db)
        progress(f"history: {json.dumps(rnd(summary['generate']))}; timing Store.history")
        summary["store_history"] = time_store(db, sensors, end, args.repeats)
        tokens: list[str] = []
        server = start_sensorhub(server_dir, args.mode, rooms=ROOMS, sensors=sensor_specs,
                                 flush_interval=args.flush_interval,
                                 prepare=lambda path: tokens.append(admin_token(path)))
        reference = start_reference(scratch / "reference", args.mode, rooms=ROOMS,
                                     per_room=4, interval=args.interval)
        try:
            progress("history: timing GET /api/history (sensorhub, then the reference)")
            summary["http_history"] = time_http(server, tokens[0], sensors, args.repeats)
            summary["http_history_reference"] = time_http(reference, "", sensors,
                                                          args.repeats)
        finally:
            server.stop()
            reference.stop()
        summary["http_p50_ratio_sensorhub_to_reference"] = {
            span: ratio(summary["http_history"][span]["p50_ms"],
                        summary["http_history_reference"][span]["p50_ms"]) for span in SPANS}
        progress("history: ingest")
        summary["ingest"] = ingest(db, sensors, args.ingest_hours, args.interval,
                                   args.flush_interval)
        if args.keep_db:
            shutil.copy(db, args.keep_db)
    summary["targets"] = {
        "30d_p50_ms<=50": summary["http_history"]["30d"]["p50_ms"] <= 50,
        "30d_p99_ms<=150": summary["http_history"]["30d"]["p99_ms"] <= 150,
        "1h_p50_ms<=5": summary["http_history"]["1h"]["p50_ms"] <= 5,
        "bytes_per_reading<=32": (summary["disk"]["bytes_per_reading"] or 99) <= 32,
        "ingest_cpu_pct<0.5": summary["ingest"]["cpu_pct_of_one_core"] < 0.5,
    }
    summary["elapsed_s"] = time.monotonic() - started
    emit_summary("history", summary, save=not args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
