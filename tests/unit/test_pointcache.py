"""Cached history buckets: every answer equals what SQLite alone computes.

The same store with an empty cache gives the answer without it; each test compares
the two after the writes that could make the cache wrong (a new batch, a late
reading into an old bucket, retention).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sensorhub.readings import Reading
from sensorhub.storage.pointcache import ALL, PointCache
from sensorhub.storage.store import Store

T0 = 1_790_000_000.0


def reading(ts: float, i: int, sensor: str = "s1") -> Reading:
    # a humidity missing now and then: whole buckets of None come back as None
    return Reading(sensor, "a", ts, i, 20.0 + (i % 10) / 10,
                   None if 100 <= i % 500 < 110 else 50.0 + (i % 7))


def fill(store: Store, start: float, count: int, step: float = 2.0, sensor: str = "s1") -> None:
    for i in range(count):
        store.add(reading(start + i * step, i, sensor))
    store.flush()


def answers(cached: Store, since: float, until: float, points: int = 1000) -> dict:
    """The store's answer, checked against its answer with an empty cache."""
    answer = cached.history("s1", since, until, points)
    kept, cached.points = cached.points, PointCache()
    try:
        assert answer == cached.history("s1", since, until, points)
    finally:
        cached.points = kept
    return answer


@pytest.fixture
def cached(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "db.sqlite", retention_days=36500)
    yield store
    store.close()


@pytest.mark.parametrize("span", [3600, 6 * 3600, 7 * 86400])  # raw, 1-min, 15-min tiers
def test_a_sliding_window_is_answered_from_the_cache(cached: Store,
                                                     span: int) -> None:
    fill(cached, T0, 2000, step=max(2.0, span / 1800))
    end = T0 + 2000 * max(2.0, span / 1800)
    first = answers(cached, end - span, end)
    assert len(first["points"]) > 500
    if span == 3600:
        assert any(p[2] is None for p in first["points"])
    hits = cached.points.hits
    for shift in (7.3, 60.0, 61.5):  # later requests: edges and the newest buckets move
        answers(cached, end - span + shift, end + shift)
    assert cached.points.hits > hits + 3 * 400


def test_a_new_batch_and_a_late_reading_change_the_answer(cached: Store) -> None:
    fill(cached, T0, 1800)
    end = T0 + 3600
    before = answers(cached, end - 3600, end)
    cached.add(reading(T0 + 1000.5, 999))  # late: into a bucket the cache holds
    unflushed = answers(cached, end - 3600, end)  # merged from memory
    assert unflushed["points"] != before["points"]
    fill(cached, end + 1.0, 3)  # a new batch (after the range) writes the late one too
    assert answers(cached, end - 3600, end)["points"] == unflushed["points"]
    answers(cached, end - 3600, end + 10)
    answers(cached, end - 3600, end + 10)


def test_retention_drops_everything(tmp_path: Path) -> None:
    clock = [T0 + 3600.0]
    cached = Store(tmp_path / "db.sqlite", retention_days=1800 / 86400,
                   wall_clock=lambda: clock[0], monotonic=lambda: clock[0])
    fill(cached, T0, 1800)
    clock[0] += 600  # the newest 20 minutes are kept
    answers(cached, T0 + 2400, T0 + 3600)
    answers(cached, T0 + 2400, T0 + 3600)
    hits = cached.points.hits
    assert hits > 0
    assert cached.apply_retention() > 0
    answers(cached, T0 + 2400, T0 + 3600)
    assert cached.points.hits == hits
    cached.close()


def test_no_ticket_while_writing_and_none_valid_across_a_write() -> None:
    cache = PointCache()
    ticket = cache.ticket()
    with cache.writing() as written:
        assert cache.ticket() is None
        written[1] = 0
    calls = []

    def compute(a: int, b: int) -> list[tuple[int, list[float]]]:
        calls.append((a, b))
        return [(k, [float(k)]) for k in range(a, b + 1)]

    assert cache.buckets(ticket, (1, 10, 1, 2), 0, 9, compute) == [[float(k)] for k in range(10)]
    assert cache.buckets(cache.ticket(), (1, 10, 1, 2), 0, 9, compute) == [
        [float(k)] for k in range(10)]  # the stale ticket stored nothing
    assert calls == [(0, 9), (0, 9)]
    assert cache.buckets(cache.ticket(), (1, 10, 1, 2), 2, 12, compute)[-1] == [12.0]
    assert calls[-1] == (10, 12)
    with cache.writing() as written:
        written[1] = 55  # bucket 5 (step 10) and later may have changed
    cache.buckets(cache.ticket(), (1, 10, 1, 2), 2, 12, compute)
    assert calls[-1] == (5, 12)
    with cache.writing() as written:
        written[ALL] = 0
    cache.buckets(cache.ticket(), (1, 10, 1, 2), 2, 12, compute)
    assert calls[-1] == (2, 12)


def test_empty_ranges_count_against_the_bound() -> None:
    """Requests over ranges with no reading (a gap, the future), each a little
    different: every entry costs something, so the cache stays bounded."""
    cache = PointCache()

    def nothing(a: int, b: int) -> list[tuple[int, list[float]]]:
        return []

    for step in range(1, 20_001):  # 20,000 keys, none with a point
        cache.buckets(cache.ticket(), (1, step, 1, 2), 0, 9, nothing)
    assert len(cache._entries) <= cache.max_points // 8
    assert cache._size <= cache.max_points


def test_a_missing_value_flushed_then_a_value_in_memory_share_a_bucket(
        cached: Store) -> None:
    """Humidity None stored, then a humidity not yet written, in one bucket: the
    bucket's sum must not be NULL (it was: history answered 500 until the next flush)."""
    fill(cached, T0, 10)
    cached.add(Reading("s1", "a", T0 + 21.0, 11, 21.0, None))
    cached.flush()
    cached.add(Reading("s1", "a", T0 + 21.5, 12, 21.0, 60.0))  # unflushed, same second
    answer = cached.history("s1", T0 + 20.5, T0 + 22.0, 1)
    assert [p[2] for p in answer["points"]] == [60.0]
