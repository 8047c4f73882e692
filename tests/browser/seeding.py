"""History for a browser test's server, written before it starts through the real store
(so the rollups and statistics are the writer's own), with known features to find."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from sensorhub.readings import Reading
from sensorhub.storage.store import Store

DAY = 86400.0


@dataclass(frozen=True)
class Seeded:
    """What was written: the times of the features a test looks for (epoch s)."""

    now: float
    first: dict[str, float]  # sensor -> its oldest reading
    gap: tuple[float, float]  # a1 has no reading in (gap[0], gap[1]) but one...
    lone: float  # ...alone in its middle
    hot_day: float  # noon of the day a1 reached 35 °C
    cold_day: float  # noon of the day a1 fell to 5 °C


def noon(ts: float) -> float:
    """Local noon of the day of ``ts``."""
    t = time.localtime(ts)
    return time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 12, 0, 0, 0, 0, -1))


def seed(directory: Path, *, days: float = 9, young: tuple[str, ...] = ("b1",)) -> Seeded:
    """a1: a reading a minute for ``days`` up to now, a daily cycle around 21 °C, a gap 10
    to 12 h ago with one lone reading in it, one hot and one cold day; each sensor in
    ``young``: two hours of readings only."""
    now = time.time()
    gap = (now - 12 * 3600, now - 10 * 3600)
    lone = (gap[0] + gap[1]) / 2
    hot, cold = noon(now - 3 * DAY), noon(now - 5 * DAY)
    store = Store(directory / "data" / "test.db", retention_days=30)
    first = {"a1": now - days * DAY}
    ts = first["a1"]
    while ts < now - 5:
        if not gap[0] < ts < gap[1]:
            phase = 2 * math.pi * ((ts % DAY) / DAY)
            t = 21 + 1.5 * math.sin(phase) + 0.7 * (int(ts // DAY) % 3)  # days differ
            if abs(ts - hot) < 1800:
                t = 35.0 if abs(ts - hot) < 60 else 27.0
            if abs(ts - cold) < 1800:
                t = 5.0 if abs(ts - cold) < 60 else 12.0
            store.add(Reading("a1", "a", ts, 0, round(t, 1), round(45 - 3 * math.sin(phase), 1)))
        ts += 60
    store.add(Reading("a1", "a", lone, 0, 21.0, 45.0))
    for sensor in young:
        first[sensor] = now - 2 * 3600
        ts = first[sensor]
        while ts < now - 5:
            store.add(Reading(sensor, "b", ts, 0, 20.5, 50.0))
            ts += 60
    store.flush()
    store.close()
    return Seeded(now, first, gap, lone, hot, cold)
