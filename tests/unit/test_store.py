"""The SQLite store: batching, rollups, downsampling, retention, write failures."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import pytest

from sensorhub.readings import Reading
from sensorhub.storage.store import Store

T0 = 1_790_000_000.0  # a fixed epoch second, so buckets are reproducible


def reading(ts: float, t: float | None = 20.0, h: float | None = 50.0, sensor: str = "s1",
            seq: int = 0) -> Reading:
    return Reading(sensor, "a", ts, seq, t, h)


def fill(store: Store, start: float, count: int, step: float, sensor: str = "s1") -> None:
    for i in range(count):
        store.add(reading(start + i * step, 20.0 + (i % 10) / 10, 50.0 + (i % 7), sensor, i))
    store.flush()


def test_batched_writes_survive_a_clean_close(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = Store(path)
    for i in range(50):
        store.add(reading(T0 + i, 20 + i / 100))
    assert store.pending == 50
    assert store.count() == 0  # nothing written until the batch
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] == 50
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again = Store(path)
    latest = again.latest("s1")
    assert latest is not None
    assert (latest.ts, latest.temperature, latest.humidity) == (T0 + 49, 20.49, 50.0)
    again.close()


def test_one_commit_per_batch(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    for i in range(100):
        store.add(reading(T0 + i))
    assert store.flush() == 100
    assert store.flushes == 1
    assert store.flush() == 0 and store.flushes == 1
    store.close()


def test_values_round_trip_including_zero_and_none(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.add(reading(T0, 0.0, 0.0))
    store.add(reading(T0 + 1, -12.35, None))
    store.flush()
    points = store.history("s1", T0 - 1, T0 + 2)["points"]
    assert [p[:3] for p in points] == [[T0, 0.0, 0.0], [T0 + 1, -12.35, None]]
    store.close()


def test_raw_history_when_it_fits(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    fill(store, T0, 100, 2.0)
    answer = store.history("s1", T0, T0 + 198, max_points=1000)
    assert len(answer["points"]) == 100
    assert [p[0] for p in answer["points"]] == [T0 + 2 * i for i in range(100)]
    store.close()


@pytest.mark.parametrize("span_hours", [1, 24, 24 * 30])
def test_downsampling_keeps_extremes(tmp_path: Path, span_hours: int) -> None:
    store = Store(tmp_path / "db.sqlite")
    step = 2.0 if span_hours <= 24 else 60.0
    count = int(span_hours * 3600 / step)
    fill(store, T0, count, step)
    spike_at = T0 + (count // 3) * step + step / 2
    store.add(reading(spike_at, 45.5, 99.0))
    store.add(reading(spike_at + 0.5, -5.25, 1.0))
    store.flush()
    answer = store.history("s1", T0, T0 + count * step, max_points=200)
    points = answer["points"]
    assert len(points) <= 200
    assert max(p[4] for p in points) == 45.5  # t_max
    assert min(p[3] for p in points) == -5.25  # t_min
    assert max(p[6] for p in points) == 99.0 and min(p[5] for p in points) == 1.0
    means = [p[1] for p in points]
    assert all(19.0 < m < 25.0 for m in means), "means must stay means, not extremes"
    timestamps = [p[0] for p in points]
    assert timestamps == sorted(timestamps)
    store.close()


def test_history_includes_unflushed_readings(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    fill(store, T0, 10, 1.0)
    store.add(reading(T0 + 10, 30.0))
    answer = store.history("s1", T0, T0 + 20)
    assert answer["points"][-1][:2] == [T0 + 10, 30.0]
    store.close()


def test_other_sensors_do_not_leak(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    fill(store, T0, 10, 1.0, sensor="s1")
    fill(store, T0, 10, 1.0, sensor="s2")
    assert store.history("s3", T0, T0 + 20)["points"] == []
    assert len(store.history("s2", T0, T0 + 20)["points"]) == 10
    store.close()


class FakeClock:
    def __init__(self, wall: float) -> None:
        self.wall = wall
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def test_retention_deletes_only_old_rows(tmp_path: Path) -> None:
    clock = FakeClock(T0 + 100 * 86400)
    store = Store(tmp_path / "db.sqlite", retention_days=30, monotonic=lambda: clock.mono,
                  wall_clock=lambda: clock.wall)
    fill(store, T0, 10, 60.0)  # 100 days old
    fill(store, clock.wall - 86400, 10, 60.0)  # a day old
    assert store.apply_retention() == 10
    assert store.count() == 10
    recent = store.history("s1", clock.wall - 86400, clock.wall, max_points=10000)["points"]
    assert len(recent) == 10
    store.close()


def test_retention_ignores_a_forward_clock_jump(tmp_path: Path) -> None:
    """A Pi with no RTC: the wall clock leaps two years ahead while we run."""
    clock = FakeClock(T0)
    store = Store(tmp_path / "db.sqlite", retention_days=30, monotonic=lambda: clock.mono,
                  wall_clock=lambda: clock.wall)
    fill(store, T0 - 3600, 60, 60.0)  # the last hour, in the old clock's time
    clock.wall += 2 * 365 * 86400  # NTP or a user fixes the clock: a jump, no time passed
    clock.advance(3600)
    assert store.apply_retention() == 0
    assert store.count() == 60
    store.close()
    # and after a restart the jump is still not mistaken for elapsed time
    clock.advance(60)
    again = Store(tmp_path / "db.sqlite", retention_days=30, monotonic=lambda: clock.mono,
                  wall_clock=lambda: clock.wall)
    assert again.apply_retention() == 0 and again.count() == 60
    clock.advance(31 * 86400)  # a month of real running time does age them out
    assert again.apply_retention() == 60
    again.close()


def test_write_failure_keeps_readings_and_resumes(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "db.sqlite"
    store = Store(path)
    fill(store, T0, 5, 1.0)
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    for i in range(5, 10):
        store.add(reading(T0 + i))
    store._writer.execute("PRAGMA busy_timeout = 100")
    assert store.flush() == 0
    assert store.pending == 5 and store.write_error and "locked" in store.write_error
    assert "cannot write readings" in caplog.text
    assert len(store.history("s1", T0, T0 + 20)["points"]) == 10  # still served from memory
    blocker.rollback()
    blocker.close()
    assert store.flush() == 5
    assert store.write_error is None and store.count() == 10
    assert "resumed" in caplog.text
    store.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write a read-only file")
def test_read_only_database_file(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    Store(path).close()
    path.chmod(0o444)
    store = Store(path)
    store.add(reading(T0))
    assert store.flush() == 0 and store.pending == 1
    store._pending.clear()


def test_database_size_per_reading(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = Store(path)
    for day in range(3):
        fill(store, T0 + day * 86400, 43200, 2.0)
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
    per_reading = path.stat().st_size / (3 * 43200)
    assert per_reading < 40, f"{per_reading:.1f} bytes per reading"



@pytest.mark.parametrize("max_points", [1000, 30, 7])
def test_flushed_and_unflushed_history_agree(tmp_path: Path, max_points: int) -> None:
    """Finished buckets come from SQL, the newest from memory: the two must not differ."""
    values = [20.0, 20.01, -0.01, -0.02, None, 21.5, 0.0, 0.01, 35.25, 35.26]
    flushed, held = Store(tmp_path / "a.sqlite"), Store(tmp_path / "b.sqlite")
    for i in range(300):
        r = reading(T0 + i * 0.5, values[i % len(values)], 50.0 + (i % 3) / 100, seq=i)
        flushed.add(r)
        held.add(r)
    flushed.flush()
    a = flushed.history("s1", T0, T0 + 150, max_points)["points"]
    b = held.history("s1", T0, T0 + 150, max_points)["points"]
    assert a == b and 2 <= len(a) <= max_points
    flushed.close()
    held.close()


def test_means_round_half_away_from_zero(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    for i, t in enumerate([20.0, 20.01, -0.01, -0.02]):
        store.add(reading(T0 + i, t))
    store.flush()
    points = store.history("s1", T0, T0 + 3.999, max_points=3)["points"]
    assert [p[1] for p in points] == [20.01, -0.02]
    store.close()


def test_database_and_its_companions_are_owner_only(tmp_path: Path) -> None:
    """Issue 12 item 10: 0600 even under the usual shell umask 022, not just systemd's."""
    old_umask = os.umask(0o022)
    try:
        store = Store(tmp_path / "data" / "s.db")
        store.add(reading(T0))
        store.flush()
        files = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "data").iterdir()}
        assert {"s.db", "s.db-wal", "s.db-shm"} <= set(files), files
        assert set(files.values()) == {0o600}, {n: oct(m) for n, m in files.items()}
        assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
        store.close()
        # a file an older release left world-readable is tightened, never loosened
        (tmp_path / "data" / "s.db").chmod(0o644)
        Store(tmp_path / "data" / "s.db").close()
        assert (tmp_path / "data" / "s.db").stat().st_mode & 0o777 == 0o600
        (tmp_path / "data" / "s.db").chmod(0o444)
        with contextlib.suppress(Exception):  # read-only: it may refuse to open, fine
            Store(tmp_path / "data" / "s.db").close()
        assert (tmp_path / "data" / "s.db").stat().st_mode & 0o777 == 0o400
    finally:
        os.umask(old_umask)
