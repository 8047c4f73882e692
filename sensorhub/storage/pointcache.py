"""Finished history points of whole buckets, kept between requests.

A history request asks SQLite to group every stored reading of its range into
buckets of ``step`` ms (about 2 ms of SQLite work for the 1,800 readings of a
1-hour chart here). The dashboard asks for the same span again and again as time
moves on: bucket ``k`` (``k * step`` to ``(k + 1) * step - 1`` ms) of a sensor does
not change once its readings are written, so a request only needs SQLite for the
edges of its range and the buckets written since the previous one.

Correctness rests on one rule: an entry is stored or used only by a reader that
took its ``ticket`` while no write was running, and only if no write has started
since. Each writer of readings (a batch, retention) runs inside ``writing``, which
invalidates every ticket when it starts and, when it ends, drops the buckets it may
have changed: from the oldest reading a batch wrote onwards, for the sensors it
wrote; everything after retention. A reader takes its ticket before its database
snapshot, so a snapshot that holds a write never meets a cache that lacks it.

The cache holds numbers of sensors the caller already had the right to see: it is
keyed by sensor, and rights are checked before any query reaches the store.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sensorhub.runtime import real_lock

#: points kept in all (64 bytes each: 7 doubles and a bucket number; 13 doubles for a
#: sensor with pressure or CO2): 1 MiB, enough for 16 charts of 1,000 points
MAX_POINTS = 16_000
#: what an entry costs besides its points, in points (~450 bytes of objects): an entry
#: with no point at all (a range with no reading) is not free
ENTRY_COST = 8
Key = tuple[int, int, int, int]  # (sensor key, step ms, resolution ms, width)
Rows = list[tuple[int, list[Any]]]  # (bucket number, point)
ALL = -1  # a sensor key no sensor has: ``written[ALL] = 0`` drops every entry


def _cost(entry: _Entry) -> int:
    """What ``entry`` counts against MAX_POINTS."""
    return len(entry.keys) + ENTRY_COST


class _Entry:
    """Whole buckets ``first``..``last`` of one key: the numbers of those that have a
    point, and their points, flat, as doubles (a NaN stands for None: SQLite's
    hundredths / 100.0 are never NaN), a tenth of the memory of lists of floats."""

    __slots__ = ("first", "holes", "keys", "last", "values")

    def __init__(self, first: int, last: int, keys: array[int], values: array[float],
                 holes: bool) -> None:
        self.first, self.last, self.keys, self.values, self.holes = (
            first, last, keys, values, holes)

    @property
    def width(self) -> int:
        """Elements per point."""
        return len(self.values) // len(self.keys) if self.keys else 1

    def points(self, i: int, j: int) -> list[list[Any]]:
        """Points ``i``..``j - 1`` as new lists (callers may change them)."""
        n = self.width
        flat = self.values[i * n:j * n].tolist()
        rows = [flat[x:x + n] for x in range(0, len(flat), n)]
        if self.holes:
            rows = [[None if v != v else v for v in row] for row in rows]
        return rows

    def cut(self, n: int) -> None:
        """Keep the first ``n`` points only."""
        width = self.width
        self.keys, self.values = self.keys[:n], self.values[:n * width]


def _pack(rows: Rows) -> tuple[array[int], array[float], bool]:
    """Bucket numbers, flat values and whether any value is None."""
    values = [math.nan if v is None else v for _k, p in rows for v in p]
    return (array("q", [k for k, _p in rows]), array("d", values),
            any(v is None for _k, p in rows for v in p))


class PointCache:
    """Points of whole buckets per (sensor, step, resolution, width), invalidated by writes."""

    def __init__(self, max_points: int = MAX_POINTS) -> None:
        self.max_points = max_points
        self._lock = real_lock()
        self._entries: dict[Key, _Entry] = {}  # least recently used first
        self._size = 0
        self._generation = 0  # changes when a write starts and when it ends
        self._writing = 0
        self.hits = 0  # buckets answered from memory (for tests and the curious)

    def ticket(self) -> int | None:
        """Take before the database snapshot; None while a write runs (no cache then)."""
        with self._lock:
            return None if self._writing else self._generation

    def buckets(self, ticket: int | None, key: Key, first: int, last: int,
                compute: Callable[[int, int], Rows]) -> list[list[Any]]:
        """Points of whole buckets ``first``..``last``, oldest first.

        ``compute(a, b)`` gives ``(k, point)`` of buckets ``a``..``b`` from the
        snapshot taken after ``ticket``; only what the cache lacks is computed.
        """
        with self._lock:
            entry = self._entries.get(key) if ticket == self._generation else None
            low, high = (max(first, entry.first), min(last, entry.last)) if entry else (1, 0)
            if entry is None or low > high:
                entry = None
            else:
                i = bisect.bisect_left(entry.keys, low)
                j = bisect.bisect_right(entry.keys, high)
                keys, values = entry.keys[i:j], entry.values[i * entry.width:j * entry.width]
                kept = entry.points(i, j)
                holes = entry.holes
                self.hits += high - low + 1
                self._entries[key] = self._entries.pop(key)  # the most recently used
        if entry is None:
            fresh = compute(first, last)
            self._keep(ticket, key, _Entry(first, last, *_pack(fresh)))
            return [point for _k, point in fresh]
        before = compute(first, low - 1) if first < low else []
        after = compute(high + 1, last) if high < last else []
        if before or after or (first, last) != (entry.first, entry.last):
            (k0, v0, h0), (k1, v1, h1) = _pack(before), _pack(after)
            self._keep(ticket, key, _Entry(first, last, k0 + keys + k1, v0 + values + v1,
                                           h0 or holes or h1))
        return [*(p for _k, p in before), *kept, *(p for _k, p in after)]

    def _keep(self, ticket: int | None, key: Key, entry: _Entry) -> None:
        """Remember ``entry`` if no write came in since ``ticket``."""
        if ticket is None or len(entry.keys) > self.max_points // 4:
            return
        with self._lock:
            if ticket != self._generation:
                return
            old = self._entries.pop(key, None)
            self._size += _cost(entry) - (_cost(old) if old else 0)
            self._entries[key] = entry
            while self._size > self.max_points:
                gone = self._entries.pop(next(iter(self._entries)))
                self._size -= _cost(gone)

    @contextmanager
    def writing(self) -> Iterator[dict[int, int]]:
        """Around a write of readings (from before it begins to after it commits).

        The caller fills the mapping it yields: sensor key -> oldest reading written
        (ms), or ``ALL`` -> 0 to drop every entry (retention).
        """
        written: dict[int, int] = {}
        with self._lock:
            self._writing += 1
            self._generation += 1
        try:
            yield written
        finally:
            with self._lock:
                self._drop(written)
                self._writing -= 1
                self._generation += 1

    def _drop(self, written: Mapping[int, int]) -> None:
        """Forget the buckets a write may have changed (every one, for ``ALL``)."""
        if ALL in written:
            self._entries.clear()
            self._size = 0
            return
        for key in [k for k in self._entries if k[0] in written]:
            entry = self._entries[key]
            cut = written[key[0]] // key[1]  # the first bucket a written reading fell in
            if cut <= entry.first:
                del self._entries[key]
                self._size -= _cost(entry)
            elif cut <= entry.last:
                n = bisect.bisect_left(entry.keys, cut)
                self._size -= len(entry.keys) - n
                entry.last = cut - 1
                entry.cut(n)
