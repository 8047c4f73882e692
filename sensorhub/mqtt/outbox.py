"""Publish this Pi's readings to MQTT in order, with nothing lost while the broker is away.

The store is the on-disk buffer. Each sensor has a mark in the ``meta`` table: the
timestamp (ms) of its newest reading the broker has acknowledged (PUBACK). Readings
after the mark are published oldest first, a window at a time; the mark moves only
over acknowledged readings. After a restart, everything stored after the mark is
published again first. A reading is sent twice only when the process dies between
a PUBACK and the next save of the marks; the hub drops such replays by timestamp.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from sensorhub.config import SensorConfig
from sensorhub.mqtt.link import ONLINE, MqttLink, reading_topic, state_topic, status_topic
from sensorhub.readings import Reading, SensorState
from sensorhub.runtime import Event, Runtime
from sensorhub.storage.rollups import unit

log = logging.getLogger(__name__)

WINDOW = 50  # readings in flight at once: a backlog drains fast, a reconnect resends few
ACK_TIMEOUT = 10.0  # seconds to wait for a PUBACK before starting over from the mark
MARK_KEY = "mqtt_published:"
SAVE_EVERY = 5.0  # seconds between saves of moved marks: no fsync per PUBACK


def ms(ts: float) -> int:
    """A timestamp as the store keeps it (integer milliseconds)."""
    return round(ts * 1000)


class Outbox:
    """A poller sink that publishes readings and states of this node's own sensors."""

    def __init__(self, link: MqttLink, node: str, sensors: Sequence[SensorConfig],
                 connect: Callable[[], sqlite3.Connection], runtime: Runtime,
                 extra_on_connect: Sequence[tuple[str, str]] = (),
                 after_announce: Callable[[sqlite3.Connection], None] | None = None) -> None:
        self.link = link
        self.node = node
        self._rooms = {s.id: s.room for s in sensors}
        self._db = connect()
        self._runtime = runtime
        self._stop: Event = runtime.event()
        self._done: Event = runtime.event()
        self._queue: deque[Reading] = deque()
        self._states: dict[str, SensorState] = {}
        self._retained = list(extra_on_connect)  # e.g. Home Assistant discovery
        #: run with our connection once every retained message was acknowledged
        self._after_announce = after_announce
        self._announce_infos: list[Any] | None = None
        self._marks: dict[str, int] = {}
        self._saved: dict[str, int] = {}
        self.published = 0
        link.on_connected.append(self._announce)

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Queue what the store holds past each mark, then start publishing."""
        rows = dict(self._db.execute("SELECT key, value FROM meta WHERE key LIKE ?",
                                     (MARK_KEY + "%",)))
        self._saved = {k[len(MARK_KEY):]: int(v) for k, v in rows.items()}
        self._marks = dict(self._saved)
        backlog: list[Reading] = []
        for sensor, room in self._rooms.items():
            mark = self._marks.get(sensor, -1)
            for ts, *values in self._db.execute(
                    "SELECT r.ts, r.t, r.h, r.p, r.c FROM readings r "
                    "JOIN sensor_ids s ON s.id = r.sensor"
                    " WHERE s.name = ? AND r.ts > ? ORDER BY r.ts", (sensor, mark)):
                backlog.append(Reading(sensor, room, ts / 1000, 0, *map(unit, values)))
        backlog.sort(key=lambda r: r.ts)
        self._queue.extendleft(reversed(backlog))  # before anything accepted meanwhile
        if backlog:
            log.info("mqtt: %d stored readings not yet acknowledged; publishing them first",
                     len(backlog))
        self._runtime.spawn(self._run)

    def stop(self) -> None:
        """Stop publishing, mark the node offline (a clean exit sends no will), save marks."""
        self._stop.set()
        self._done.wait(ACK_TIMEOUT + 1)
        if self.link.connected:
            info = self.link.publish(status_topic(self.node), "offline", retain=True)
            with suppress(RuntimeError, ValueError):
                info.wait_for_publish(2.0)
        self.save_marks()
        self._check_announced()  # a node stopped right after connecting still remembers
        with suppress(sqlite3.Error):
            self._db.close()

    def save_marks(self) -> None:
        """Write the marks that moved (every SAVE_EVERY seconds and on stop)."""
        changed = {k: v for k, v in self._marks.items() if self._saved.get(k) != v}
        if not changed:
            return
        try:
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                 [(MARK_KEY + k, str(v)) for k, v in changed.items()])
        except sqlite3.Error as error:  # retried at the next flush; at worst a replay
            log.warning("mqtt: cannot save publish marks: %s", error)
            return
        self._saved.update(changed)

    @property
    def backlog(self) -> int:
        """Readings accepted but not yet acknowledged by the broker."""
        return len(self._queue)

    # -- sink ------------------------------------------------------------------------
    def on_reading(self, reading: Reading) -> None:
        """Queue a reading of one of our own sensors."""
        if reading.sensor in self._rooms:
            self._queue.append(reading)

    def on_state(self, state: SensorState) -> None:
        """Publish a state change (retained: a late subscriber sees the current state)."""
        if state.sensor not in self._rooms:
            return
        self._states[state.sensor] = state
        if self.link.connected:
            self._publish_state(state)

    # -- publishing ------------------------------------------------------------------
    def _announce(self) -> None:
        """On every (re)connect: online, current states, discovery (paho's thread)."""
        self.link.publish(status_topic(self.node), ONLINE, retain=True)
        self._announce_infos = [self.link.publish(topic, payload, retain=True)
                                for topic, payload in self._retained]
        for state in list(self._states.values()):
            self._publish_state(state)

    def _publish_state(self, state: SensorState) -> None:
        self.link.publish(state_topic(self.node, state.sensor),
                          json.dumps(state.to_message()), retain=True)

    def _run(self) -> None:
        last_save = time.monotonic()
        try:
            while not self._stop.is_set():
                if time.monotonic() - last_save >= SAVE_EVERY:
                    last_save = time.monotonic()
                    self.save_marks()
                self._check_announced()
                if not self.link.connected or not self._queue:
                    self._stop.wait(0.05)
                    continue
                self._publish_window()
        except Exception:
            log.exception("mqtt: publisher crashed")
        finally:
            self._done.set()

    def _check_announced(self) -> None:
        """Once the broker has every retained message, run ``after_announce`` (once)."""
        infos = self._announce_infos
        if self._after_announce is None or infos is None:
            return
        try:
            if not all(info.is_published() for info in infos):
                return
        except (RuntimeError, ValueError):  # lost the connection: the next connect retries
            return
        try:
            self._after_announce(self._db)
        except sqlite3.Error as error:
            log.warning("mqtt: cannot record what was announced: %s", error)
            return
        self._after_announce = None

    def _publish_window(self) -> None:
        batch = [self._queue[i] for i in range(min(WINDOW, len(self._queue)))]
        infos = []
        for reading in batch:
            message = reading.to_message()
            message["ts"] = ms(reading.ts) / 1000  # what the store keeps; replays match
            infos.append(self.link.publish(reading_topic(self.node, reading.sensor),
                                           json.dumps(message)))
        for reading, info in zip(batch, infos, strict=True):
            if not self._acknowledged(info):
                return  # lost the broker: start over from the oldest unacknowledged
            if self._queue and self._queue[0] is reading:
                self._queue.popleft()
            self._marks[reading.sensor] = ms(reading.ts)
            self.published += 1

    def _acknowledged(self, info: Any) -> bool:
        deadline = time.monotonic() + ACK_TIMEOUT
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                if info.is_published():
                    return True
            except (RuntimeError, ValueError):  # not sent: no connection, queue full
                return False
            if not self.link.connected:
                return False
            self._stop.wait(0.005)
        return False
