"""Long-term statistics: a year of one-minute readings, the 1-year chart, the daily table.

1. A generator writes a year of one sensor read once a minute (525,600 readings)
   through the real ``Store.add`` and ``Store.flush`` (a day per batch), so the 1- and
   15-minute rollups and the hourly and daily statistics are the writer's own. Then
   retention runs with the default 90 days: the older readings and rollups go and only
   the statistics hold the rest of the year, as on a Pi that has run for a year.
2. The page's 1-year chart (``history`` for 365 days at max_points = 600, which the
   store answers from the hourly statistics) and the 1-year daily table
   (``statistics`` by day), then the monthly one: in the store, and end to end over
   HTTP against ``sensorhub run`` on that database. Target: p50 <= 50 ms each.
3. What statistics cost the writer: an hour of 8 sensors at 2 s through ``Store.add``
   and a flush every 5 s, with the statistics and with them switched off, alternated.

    python bench/longterm.py                   # a year (~1 min)
    python bench/longterm.py --smoke           # 20 days, few repeats (~10 s)

(Not bench/statistics.py: run by path, a script's folder comes first on sys.path, and
that file would stand in for the standard library's statistics in every benchmark.)
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    admin_token,
    emit_summary,
    median,
    percentile,
    progress,
    start_sensorhub,
    workdir,
)

DAY = 86400.0
SENSOR = "a1"
TARGET_MS = 50.0


def generate(path: Path, days: float, end: float) -> dict[str, Any]:
    """A reading a minute for ``days`` up to ``end``, through the store; then retention."""
    from sensorhub.readings import Reading
    from sensorhub.storage.store import Store

    store = Store(path, retention_days=90)
    started = time.perf_counter()
    count = int(days * 1440)
    first = end - count * 60
    for i in range(count):
        ts = first + i * 60
        phase = 2 * math.pi * (ts % DAY) / DAY
        season = 8 * math.sin(2 * math.pi * (ts % (365 * DAY)) / (365 * DAY))
        jitter = ((i * 7919) % 41 - 20) / 100
        store.add(Reading(SENSOR, "a", ts, 0, round(15 + season + 4 * math.sin(phase) + jitter, 1),
                          round(60 - 10 * math.sin(phase) + 3 * jitter, 1)))
        if i % 1440 == 1439:
            store.flush()
    store.flush()
    written = time.perf_counter() - started
    gone = store.apply_retention()
    tables = ("readings", "rollup_1m", "rollup_15m", "stats_hour", "stats_day")
    with store.reader() as conn:
        rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        try:  # bytes per table (SQLite's dbstat), after the deletions
            size = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
        except sqlite3.Error:
            size = {}
    store.close()
    return {"readings": count, "seconds": written, "us_per_reading": 1e6 * written / count,
            "removed_by_retention": gone, "rows_left": rows,
            "bytes": {t: size.get(t) for t in tables}}


def time_store(path: Path, end: float, days: float, repeats: int) -> dict[str, Any]:
    """The chart's and the tables' queries in-process: cold first call, warm p50/p99."""
    from sensorhub.storage.store import Store

    store = Store(path, retention_days=90)
    calls = {
        "chart": lambda: store.history(SENSOR, end - days * DAY, end, 600),
        "daily_table": lambda: store.statistics(SENSOR, "day", end - days * DAY, end),
        "monthly_table": lambda: store.statistics(SENSOR, "month", end - days * DAY, end),
    }
    out: dict[str, Any] = {}
    try:
        for name, call in calls.items():
            times = []
            for _ in range(repeats + 1):
                t = time.perf_counter()
                answer = call()
                times.append(1000 * (time.perf_counter() - t))
            size = len(answer.get("points", answer.get("rows", [])))
            out[name] = {"cold_ms": times[0], "p50_ms": percentile(times[1:], 50),
                         "p99_ms": percentile(times[1:], 99), "rows": size,
                         **({"step_s": answer["step"]} if "step" in answer else {})}
    finally:
        store.close()
    return out


def time_http(server: Any, token: str, days: float, repeats: int) -> dict[str, Any]:
    """The same over HTTP, client-side wall time, as the page asks for them."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    routes = {"chart": ("/api/history", {"max_points": 600}),
              "daily_table": ("/api/statistics", {"period": "day"}),
              "monthly_table": ("/api/statistics", {"period": "month"})}
    out: dict[str, Any] = {}
    for name, (route, extra) in routes.items():
        times, sizes = [], []
        for _ in range(repeats + 1):
            now = time.time()
            t = time.perf_counter()
            answer = session.get(server.url + route, timeout=30, params={
                "sensor": SENSOR, "since": now - days * DAY, "until": now, **extra})
            times.append(1000 * (time.perf_counter() - t))
            answer.raise_for_status()
            sizes.append(len(answer.content))
        body = answer.json()
        out[name] = {"first_ms": times[0], "p50_ms": percentile(times[1:], 50),
                     "p99_ms": percentile(times[1:], 99), "bytes": median(sizes),
                     "rows": len(body.get("points", body.get("rows", [])))}
    session.close()
    return out


def writer_cost(directory: Path, pairs: int) -> dict[str, Any]:
    """CPU of an hour of 8 sensors at 2 s fed through the store (batches of 5 s), with
    and without statistics, alternated; the median of each."""
    import resource

    from sensorhub.readings import Reading
    from sensorhub.storage.store import Store

    def run(n: int, statistics: bool) -> float:
        store = Store(directory / f"ingest-{n}-{statistics}.db")
        if not statistics:
            store._statistics.write = lambda conn, rows: {}  # type: ignore[method-assign]
        start = time.time() - 3600
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        before = cpu.ru_utime + cpu.ru_stime
        for tick in range(1800):
            for s in range(8):
                store.add(Reading(f"s{s}", "a", start + 2 * tick + s / 1000, tick,
                                  20 + s + (tick % 13) / 10, 50 + (tick % 7)))
            if tick % 5 == 4:  # 8 sensors at 2 s: a batch every 5 s holds 2.5 ticks
                store.flush()
        store.flush()
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        store.close()
        return cpu.ru_utime + cpu.ru_stime - before

    with_stats, without = [], []
    for n in range(pairs):
        order = [(True, with_stats), (False, without)]
        for statistics, into in order if n % 2 == 0 else order[::-1]:
            into.append(run(n, statistics))
    a, b = median(with_stats), median(without)
    return {"cpu_s_per_hour_with": a, "cpu_s_per_hour_without": b,
            "statistics_cpu_s_per_hour": a - b if a is not None and b is not None else None,
            "cpu_pct_of_one_core_with": 100 * a / 3600 if a is not None else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=365, help="days of one-minute data")
    parser.add_argument("--repeats", type=int, default=40, help="requests per query")
    parser.add_argument("--mode", default="eventlet", choices=("eventlet", "threading"))
    parser.add_argument("--pairs", type=int, default=3, help="writer-cost A/B pairs")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--smoke", action="store_true", help="20 days, 5 repeats, 1 pair")
    args = parser.parse_args(argv)
    if args.smoke:
        args.days, args.repeats, args.pairs = 20, 5, 1
    summary: dict[str, Any] = {"days": args.days, "repeats": args.repeats, "mode": args.mode}
    with workdir("longterm", keep=args.keep) as root:
        server_dir = root / "server"
        db = server_dir / "data" / "bench.db"
        db.parent.mkdir(parents=True)
        end = time.time()
        progress(f"writing {args.days:g} days of one-minute readings through the store")
        summary["generate"] = generate(db, args.days, end)
        progress("timing the queries in the store")
        summary["store"] = time_store(db, end, args.days, args.repeats)
        tokens: list[str] = []
        sensors = [{"id": SENSOR, "room": "a", "driver": "mock", "interval": 60}]
        server = start_sensorhub(server_dir, args.mode, rooms=("a",), sensors=sensors,
                                 storage={"retention_days": 90},
                                 prepare=lambda path: tokens.append(admin_token(path)))
        try:
            progress("timing the queries over HTTP")
            summary["http"] = time_http(server, tokens[0], args.days, args.repeats)
        finally:
            server.stop()
        progress("the writer's cost of statistics")
        summary["writer"] = writer_cost(root, args.pairs)
    http, store = summary["http"], summary["store"]
    summary["targets"] = {
        "1y_chart_p50_ms<=50": {"http": http["chart"]["p50_ms"], "store": store["chart"]["p50_ms"],
                                "met": http["chart"]["p50_ms"] <= TARGET_MS},
        "1y_daily_table_p50_ms<=50": {"http": http["daily_table"]["p50_ms"],
                                      "store": store["daily_table"]["p50_ms"],
                                      "met": http["daily_table"]["p50_ms"] <= TARGET_MS},
    }
    emit_summary("longterm", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
