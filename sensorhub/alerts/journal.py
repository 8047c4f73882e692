"""Alert transitions on their way to the alert log: in order, retried until stored.

The engine decides and announces a transition at once; storing it is this module's
job. Normally the write happens right away, in the caller's task. When the database
refuses (disk full, read-only, locked), the transition waits here in memory and a
task of its own retries every ``RETRY_EVERY`` seconds, in order (a clear is never
written before its firing), logging once when writing stops and once when it
resumes. A transition waiting here is lost if the process dies before the disk
recovers, like the readings the store keeps in memory.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

from sensorhub.alerts.log import AlertLog
from sensorhub.runtime import Runtime, real_lock

log = logging.getLogger(__name__)

RETRY_EVERY = 5.0  # seconds between attempts while the database refuses
MAX_WAITING = 10_000  # transitions kept in memory (thousands of alert episodes)

#: stores one transition; may return a callable to run once stored, in the caller's
#: task (the write itself runs in a worker thread, where waking a task is not safe)
Write = Callable[[AlertLog], Any]


class Journal:
    """The ordered queue of alert-log writes and the task that retries them."""

    def __init__(self, alert_log: AlertLog, runtime: Runtime, where: str = "the database"
                 ) -> None:
        self.log = alert_log
        self.runtime = runtime
        self.where = where
        self.error: str | None = None
        self.dropped = 0
        self._writes: deque[Write] = deque()
        self._draining = real_lock()  # one drain at a time; never waited on
        self._wake = runtime.event()
        self._stopping = False

    @property
    def waiting(self) -> int:
        """Transitions not stored yet."""
        return len(self._writes)

    def start(self) -> None:
        """Start the retry task."""
        self.runtime.spawn(self._loop)

    def stop(self) -> None:
        """Try once more to store what waits, and end the retry task."""
        self._stopping = True
        self._wake.set()
        self.drain()

    def record(self, write: Write) -> None:
        """Store a transition now if the database lets us, else keep it for a retry."""
        if len(self._writes) >= MAX_WAITING:
            self._writes.popleft()
            self.dropped += 1
        self._writes.append(write)
        if self.error is None:
            self.drain()
        else:
            self._wake.set()

    def drain(self) -> None:
        """Write every waiting transition in order; stop at the first refusal."""
        if not self._draining.acquire(blocking=False):
            self._wake.set()  # another task is draining: the retry task makes sure
            return
        try:
            while self._writes:
                try:
                    after = self.runtime.run_blocking(partial(self._writes[0], self.log))
                except sqlite3.Error as error:
                    self._failed(f"{type(error).__name__}: {error}")
                    return
                self._writes.popleft()
                if callable(after):  # back in our own task: safe to wake other tasks
                    after()
            if self.error is not None:
                log.warning("recording alert transitions in %s resumed", self.where)
                self.error = None
        finally:
            self._draining.release()

    def _failed(self, message: str) -> None:
        if message != self.error:
            log.error("cannot record alert transitions in %s (%s); %d waiting, retrying "
                      "every %.0f s (the dashboard is told at once)", self.where, message,
                      len(self._writes), RETRY_EVERY)
        self.error = message

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.wait(RETRY_EVERY)
            self._wake.clear()
            if self._writes and not self._stopping:
                self.drain()
