"""Long-term statistics: time-weighted hourly and daily tiers, written with each batch,
kept beyond the readings' retention, and read back by hour, day and month."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from sensorhub.readings import Reading
from sensorhub.storage import schema, statistics
from sensorhub.storage.store import Store

HOUR = 3600.0
# 2026-01-15 00:00 UTC: whole hours and days, far from any DST change in UTC
T0 = 1_768_435_200.0


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server in UTC, so local days are UTC days."""
    yield from _zone(monkeypatch, "UTC")


def _zone(monkeypatch: pytest.MonkeyPatch, zone: str) -> Iterator[None]:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    statistics.day_start_ms.cache_clear()
    yield
    monkeypatch.undo()
    time.tzset()
    statistics.day_start_ms.cache_clear()


def reading(ts: float, t: float | None, h: float | None = 50.0, sensor: str = "s1",
            p: float | None = None) -> Reading:
    return Reading(sensor, "a", ts, 0, t, h, p, None)


def stats_of(store: Store, period: str, since: float, until: float,
             quantities: tuple[str, ...] = ("temperature", "humidity")) -> list[dict]:
    answer = store.statistics("s1", period, since, until, quantities)
    return [dict(zip(answer["fields"], row, strict=True)) for row in answer["rows"]]


def test_the_mean_is_weighted_by_time_and_extremes_and_counts_are_kept(
        tmp_path: Path, utc: None) -> None:
    store = Store(tmp_path / "db.sqlite", retention_days=36500)
    # 10 °C read every minute for 50 minutes, then 20 °C every 5 s for 10 minutes
    for i in range(50):
        store.add(reading(T0 + 60 * i, 10.0))
    for i in range(120):
        store.add(reading(T0 + 3000 + 5 * i, 20.0))
    store.add(reading(T0 + HOUR, 15.0))  # the next hour begins
    store.flush()
    [hour, _next] = stats_of(store, "hour", T0, T0 + HOUR)
    assert hour["start"] == T0 and hour["label"] == "2026-01-15 00:00"
    assert hour["temperature_n"] == 170
    assert (hour["temperature_min"], hour["temperature_max"]) == (10.0, 20.0)
    # by time: 50 min at 10 and 10 min at 20 = 11.67; by count it would be 17.06
    assert hour["temperature_mean"] == pytest.approx(11.67)
    assert hour["humidity_mean"] == 50.0 and hour["humidity_n"] == 170
    store.close()


def test_a_value_is_split_at_the_hour_and_a_silent_sensor_is_a_gap(
        tmp_path: Path, utc: None) -> None:
    store = Store(tmp_path / "db.sqlite", retention_days=36500)
    store.add(reading(T0 + HOUR - 60, 10.0))  # 59 min past: its minute is in hour 0
    store.add(reading(T0 + HOUR + 60, 30.0))  # 1 min into hour 1
    store.add(reading(T0 + 5 * HOUR, 0.0))  # hours later: 30 counts for 10 min only
    store.flush()
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        rows = dict(((b, (w, d)) for b, w, d in conn.execute(
            "SELECT bucket, t_w, t_d FROM stats_hour ORDER BY bucket")))
    first = int(T0 // HOUR)
    assert rows[first] == (1000 * 60_000, 60_000)  # 10.00 °C for 60 s
    assert rows[first + 1] == (1000 * 60_000 + 3000 * 600_000, 60_000 + 600_000)
    assert rows[first + 5] == (0, 0)  # the newest value waits for its successor
    [h0, h1, h5] = stats_of(store, "hour", T0, T0 + 6 * HOUR)
    assert (h0["temperature_mean"], h1["temperature_mean"]) == (10.0, pytest.approx(28.18, 0.01))
    assert h5["temperature_mean"] == 0.0  # no time yet: the plain mean of its samples
    store.close()


def test_the_newest_value_is_weighed_by_the_next_batch_and_after_a_restart(
        tmp_path: Path, utc: None) -> None:
    path = tmp_path / "db.sqlite"
    store = Store(path, retention_days=36500)
    store.add(reading(T0, 10.0))
    store.flush()
    store.add(reading(T0 + 60, 20.0))
    store.flush()
    store.close()
    again = Store(path, retention_days=36500)  # a restart: 20 °C still stands until T0 + 120
    again.add(reading(T0 + 120, 30.0))
    again.flush()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT t_w, t_d, t_n FROM stats_hour").fetchone() == (
            1000 * 60_000 + 2000 * 60_000, 120_000, 3)
    again.close()


def test_a_failed_write_leaves_no_statistics_behind(tmp_path: Path, utc: None) -> None:
    path = tmp_path / "db.sqlite"
    store = Store(path, retention_days=36500)
    store.add(reading(T0, 10.0))
    store.flush()
    with sqlite3.connect(path) as conn:  # the next commit fails inside its transaction
        conn.execute("CREATE TRIGGER no BEFORE INSERT ON meta BEGIN SELECT RAISE(ABORT, 'no'); END")
    store.add(reading(T0 + 60, 20.0))
    assert store.flush() == 0 and store.write_error
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER no")
    assert store.flush() == 1  # the retry writes the batch once, statistics included
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT t_w, t_d, t_n FROM stats_hour").fetchone() == (
            1000 * 60_000, 60_000, 2)
    store.close()


def test_days_are_the_servers_local_days_and_months_add_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in _zone(monkeypatch, "America/New_York"):  # UTC-5 in January
        store = Store(tmp_path / "db.sqlite", retention_days=36500)
        midnight = datetime(2026, 1, 20).timestamp()  # local midnight, 05:00 UTC
        store.add(reading(midnight - 300, 4.0))  # five to midnight, 19 January
        store.add(reading(midnight + 300, 8.0))  # five past, 20 January
        store.add(reading(midnight + 86400 * 12, -2.0))  # 1 February
        store.add(reading(midnight + 86400 * 12 + 60, -1.0))
        store.flush()
        days = stats_of(store, "day", midnight - 86400, midnight + 86400 * 13)
        assert [d["label"] for d in days] == ["2026-01-19", "2026-01-20", "2026-02-01"]
        assert days[1]["start"] == midnight
        # 4 °C stood 5 min on the 19th and 5 min on the 20th, then 8 °C up to 10 min
        assert days[0]["temperature_mean"] == 4.0 and days[0]["temperature_n"] == 1
        assert days[1]["temperature_mean"] == pytest.approx((4 * 5 + 8 * 10) / 15, abs=0.01)
        months = stats_of(store, "month", midnight - 86400 * 30, midnight + 86400 * 13)
        assert [m["label"] for m in months] == ["2026-01", "2026-02"]
        assert months[0]["start"] == datetime(2026, 1, 1).timestamp()
        assert (months[0]["temperature_min"], months[0]["temperature_max"]) == (4.0, 8.0)
        assert months[0]["temperature_n"] == 2 and months[1]["temperature_n"] == 2
        assert months[1]["temperature_min"] == -2.0
        store.close()


def test_statistics_outlive_the_readings_and_a_clock_leap(tmp_path: Path, utc: None) -> None:
    wall = [T0 + 400 * 86400]
    mono = [0.0]
    store = Store(tmp_path / "db.sqlite", retention_days=30, statistics_retention_days=365,
                  wall_clock=lambda: wall[0], monotonic=lambda: mono[0])
    for day in (0, 100, 390):  # 400, 300 and 10 days ago
        store.add(reading(T0 + day * 86400, 10.0 + day / 100))
        store.add(reading(T0 + day * 86400 + 60, 10.0 + day / 100))
    store.flush()
    store.apply_retention()
    assert store.count() == 2  # readings: the last 30 days only
    kept = stats_of(store, "day", T0 - 86400, T0 + 400 * 86400)
    assert [d["label"] for d in kept] == ["2026-04-25", "2027-02-09"]  # 300 and 10 days ago
    # the year-old view still has points, read from the hourly statistics
    history = store.history("s1", T0 + 99 * 86400, T0 + 101 * 86400, 100)
    assert history["step"] == 3600 and [p[1] for p in history["points"]] == [11.0]

    wall[0] += 20 * 365 * 86400  # the clock leaps 20 years while we run
    store.apply_retention()
    assert len(stats_of(store, "day", T0, T0 + 400 * 86400)) == 2
    store.close()


def test_a_database_from_schema_2_gets_statistics_from_its_rollups(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in _zone(monkeypatch, "Asia/Kolkata"):  # UTC+5:30: days do not start on an hour
        path = tmp_path / "old.db"
        conn = sqlite3.connect(path, isolation_level=None)
        schema.migrate(conn, schema.MIGRATIONS[:2])
        conn.execute("INSERT INTO sensor_ids VALUES (1, 's1')")
        minutes = [int(T0 // 60) + m for m in (0, 1, 60 * 24 - 331, 60 * 24 - 330)]
        for i, bucket in enumerate(minutes):  # two readings a minute, 20.00 and 21.00 °C
            conn.execute("INSERT INTO rollup_1m (sensor, bucket, t_sum, t_n, t_min, t_max, "
                         "h_sum, h_n) VALUES (1, ?, 4100, 2, 2000, 2100, 0, 0)", (bucket,))
            conn.execute("INSERT INTO readings (sensor, ts, t) VALUES (1, ?, 2000), (1, ?, 2100)",
                         (bucket * 60_000 + i, bucket * 60_000 + 30_000))
        conn.close()
        store = Store(path, retention_days=36500)
        days = stats_of(store, "day", T0 - 86400, T0 + 2 * 86400)
        # the SQL backfill puts minutes in the same local days as the writer would
        expect = sorted({statistics.local_day(b * 60_000) for b in minutes})
        assert [statistics.local_day(int(d["start"] * 1000)) for d in days] == expect
        assert sum(d["temperature_n"] for d in days) == 8
        assert {d["temperature_mean"] for d in days} == {20.5}
        hours = stats_of(store, "hour", T0, T0 + 2 * 86400)
        assert sum(h["temperature_n"] for h in hours) == 8
        with sqlite3.connect(path) as check:
            assert check.execute("SELECT sum(t_d) FROM stats_hour").fetchone()[0] == 4 * 60_000
        store.close()
