"""Deliver one channel's queued notifications: in order, off the event loop, with retries.

A courier is a task per channel, so a slow or dead receiver never delays another
channel, the poller or the web. Each round takes the channel's due notifications
oldest first and hands them to the channel in a worker thread with a timeout; the
first failure ends the round (the receiver is likely down: keep the order, don't
hammer it) and the next round comes after an exponential backoff
(``notify.retry_after`` doubling with each failed round up to ``notify.retry_max``);
the backoff is the channel's, not the message's, so messages stay in order. A message older than
``notify.max_age``, or past its channel's ``retries``, is given up, and logged as such.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sensorhub.alerts.channels import Channel
from sensorhub.alerts.outbox import Outbox, Queued
from sensorhub.config.routes import NotifyConfig
from sensorhub.runtime import Runtime

log = logging.getLogger(__name__)

IDLE = 30.0  # seconds between looks at the queue when nothing is due (and no wake-up)
BATCH = 20


def backoff(attempts: int, settings: NotifyConfig) -> float:
    """Seconds before the next try after ``attempts`` failed ones."""
    return min(settings.retry_max, settings.retry_after * 2.0 ** max(0, attempts - 1))


class Courier:
    """The delivery task of one channel."""

    def __init__(self, channel: Channel, outbox: Outbox, runtime: Runtime,
                 settings: NotifyConfig, wall_clock: Callable[[], float] = time.time) -> None:
        self.channel = channel
        self.outbox = outbox
        self.runtime = runtime
        self.settings = settings
        self._wall = wall_clock
        self._wake = runtime.event()
        self._done = runtime.event()  # set when the task has ended
        self._stopping = False
        self._failed_rounds = 0
        self.sent = self.failed = self.gave_up = 0

    def start(self) -> None:
        """Start the delivery task."""
        self.runtime.spawn(self._loop)

    def stop(self) -> None:
        """Let the task end (a delivery in progress finishes in its thread)."""
        self._stopping = True
        self._wake.set()

    def wait(self, timeout: float) -> bool:
        """Wait for a stopped task to end (its delivery in flight included)."""
        return bool(self._done.wait(timeout))

    def wake(self) -> None:
        """Look at the queue now (something was queued)."""
        self._wake.set()

    def _loop(self) -> None:
        try:
            while not self._stopping:
                try:
                    delay = self.run_round()
                except Exception:  # the database was busy or gone: look again later
                    log.exception("notify %s: delivery round failed", self.channel.name)
                    delay = IDLE
                if delay > 0:
                    self._wake.wait(delay)
                self._wake.clear()
        finally:
            self._done.set()

    def run_round(self) -> float:
        """Deliver what is due; return seconds until the next look."""
        name = self.channel.name
        items = self.runtime.run_blocking(lambda: self.outbox.due(name, self._wall(), BATCH))
        for item in items:
            if self._stopping:
                return IDLE
            if not self._deliver(item):
                self._failed_rounds += 1
                return backoff(self._failed_rounds, self.settings)
        self._failed_rounds = 0
        if len(items) == BATCH:
            return 0.0  # more waiting
        upcoming = self.runtime.run_blocking(lambda: self.outbox.next_due(name))
        if upcoming is None:
            return IDLE
        return min(IDLE, max(0.05, upcoming - self._wall()))

    def _deliver(self, item: Queued) -> bool:
        """Try one notification; False when it failed (ends the round)."""
        channel, outbox, now = self.channel, self.outbox, self._wall()
        too_old = now - item.created > self.settings.max_age
        if too_old or (channel.retries is not None and item.attempts > channel.retries):
            why = (f"not delivered within notify.max_age ({self.settings.max_age:g} s)"
                   if too_old else f"no success in {item.attempts} tries")
            self._give_up(item, why)
            return True
        try:
            answer = self.runtime.run_blocking(lambda: channel.deliver(item.notification),
                                               timeout=channel.timeout + 2)
        except Exception as error:  # ChannelError, a timeout, a bug: all are a failed try
            reason = str(error) or type(error).__name__
            attempts = item.attempts + 1
            done = now - item.created > self.settings.max_age or (
                channel.retries is not None and attempts > channel.retries)
            self.failed += 1
            log.warning("notify %s: %s failed (try %d): %s", channel.name,
                        item.notification.key, attempts, reason)
            self.runtime.run_blocking(lambda: outbox.failed(item, reason, self._wall()))
            if done:
                self._give_up(item, f"last error: {reason}")
            return False
        self.sent += 1
        log.info("notify %s: sent %s", channel.name, item.notification.key)
        self.runtime.run_blocking(lambda: outbox.sent(item, str(answer), self._wall()))
        return True

    def _give_up(self, item: Queued, why: str) -> None:
        self.gave_up += 1
        log.error("notify %s: gave up %s: %s", self.channel.name, item.notification.key, why)
        self.runtime.run_blocking(lambda: self.outbox.give_up(item.id, why, self._wall()))
