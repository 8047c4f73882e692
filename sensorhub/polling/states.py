"""Per-sensor records: read health, and when a sensor shows ok, failing or offline.

A sensor is ``ok`` after a good reading, ``failing`` while reads fail, and
``offline`` once it has gone ``offline_after`` seconds without one. A lone failed
read (DHTs fail a few percent of reads) is retried and not shown; three in a row make
it ``failing``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from drivers.base import Driver
from drivers.errors import DriverError
from drivers.gpio import PowerSwitch
from sensorhub.config import SensorConfig
from sensorhub.polling.filter import SampleFilter
from sensorhub.readings import Reading, SensorState

log = logging.getLogger(__name__)

NO_READING_YET = "no reading yet"
FAILING_AFTER = 3  # failed reads in a row before an ok sensor is shown as failing


@dataclass
class Health:
    """Read-health counters of one sensor."""

    attempts: int = 0
    good: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    power_cycles: int = 0
    last_good_ts: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain-data copy for the API."""
        return {"attempts": self.attempts, "good": self.good,
                "failures": dict(self.failures), "power_cycles": self.power_cycles,
                "last_good_ts": self.last_good_ts}


@dataclass
class SensorRecord:
    """What the poller keeps about one sensor (private to sensorhub.polling)."""

    cfg: SensorConfig
    state: SensorState
    filter: SampleFilter
    driver: Driver | None = None
    power: PowerSwitch | None = None
    seq: int = 0
    in_flight: bool = False
    consecutive_failures: int = 0
    failures_since_cycle: int = 0  # power_cycle_after counts these
    last_good_mono: float | None = None
    last_reading: Reading | None = None
    open_error: DriverError | None = None
    open_error_at: float = 0.0
    powered_at: float | None = None  # monotonic time the power pin last went high
    started: float = 0.0  # monotonic time polling began: "silent since" before any reading
    last_ts: float | None = None  # newest pushed ts: replays at or before it are dropped
    tick_key: int | None = None  # the instant of the schedule its loop polls for next
    health: Health = field(default_factory=Health)
    stop: Any = None  # the runtime event that ends this sensor's loop (all, or a reload)
    done: Any = None  # set when its loop has ended (None: no loop was started)


def shown_state(record: SensorRecord, error: str | None, now: float) -> str | None:
    """The state to show after a read (``error`` None: it was good); None: stay quiet."""
    cfg = record.cfg
    silent_since = record.last_good_mono or record.started
    if error is None:
        return "ok"
    if now - silent_since >= cfg.offline_after:
        return "offline"
    if record.consecutive_failures >= FAILING_AFTER or record.last_good_mono is None:
        return "failing"
    log.debug("sensor %s: %s (retrying)", cfg.id, error)  # a lone checksum error
    return None


def transition(record: SensorRecord, state: str, error: str | None, wall: float
               ) -> SensorState | None:
    """Move a record to ``state``; return the new state if sinks must hear of it."""
    cfg = record.cfg
    old = record.state
    if state == old.state and error == old.error:
        return None
    if state == old.state and state != "ok":
        # same state, new message: keep 'since', update the error quietly
        record.state = SensorState(cfg.id, cfg.room, state, old.since, error)
        return None
    record.state = SensorState(cfg.id, cfg.room, state, wall, error)
    if state != "ok":
        log.warning("sensor %s is %s: %s", cfg.id, state, error)
    elif old.error != NO_READING_YET:
        log.info("sensor %s is ok again", cfg.id)
    return record.state
