"""Which channels hear of an alert, and when: routes, quiet hours, reminders.

The engine calls ``queue_in`` inside the transaction that records the alert, so each
message is queued in the outbox exactly when its alert is recorded. Routes
(sensorhub.config.routes) pick the channels; quiet hours hold a route's messages below
``critical`` until the quiet time ends (the Pi's local time); a route's ``repeat``
queues a "still firing" reminder every interval (reminders are skipped, not held,
during quiet hours). Each channel's courier (sensorhub.alerts.delivery) delivers.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sensorhub.alerts.channels import Channel, open_channel
from sensorhub.alerts.delivery import Courier
from sensorhub.alerts.message import Notification, compose
from sensorhub.alerts.outbox import Outbox
from sensorhub.config import Config
from sensorhub.config.routes import Route
from sensorhub.runtime import Runtime

log = logging.getLogger(__name__)

HOUSEKEEPING = 10.0  # seconds between reminder checks
KEEP_LOG = 30 * 86400.0  # finished notifications and their log are kept this long
PURGE_EVERY = 3600.0


def quiet_until(quiet: tuple[int, int], now: float) -> float | None:
    """When the quiet time that ``now`` falls in ends (None: not quiet now)."""
    start, end = quiet
    local = time.localtime(now)
    minute = local.tm_hour * 60 + local.tm_min
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    days = 1 if minute >= end else 0  # it ends tomorrow
    return time.mktime((local.tm_year, local.tm_mon, local.tm_mday + days, end // 60,
                        end % 60, 0, 0, 0, -1))


class Notifier:
    """Routes alert events to channels through the outbox; owns the couriers."""

    def __init__(self, config: Config, outbox: Outbox, runtime: Runtime,
                 channels: Mapping[str, Channel] | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.outbox = outbox
        self.runtime = runtime
        self._wall = wall_clock
        self.channels: dict[str, Channel] = dict(channels) if channels is not None else {
            ch.name: open_channel(ch.name, ch.kind, ch.options) for ch in config.channels}
        self.couriers = {name: Courier(channel, outbox, runtime, config.notify, wall_clock)
                         for name, channel in self.channels.items()}
        self.routes: tuple[Route, ...] = config.notify.routes or (
            Route(channels=tuple(self.channels)),)  # no routes: every channel hears all
        self._stop = runtime.event()
        self._stopping = False
        self._started = False  # start() ran: new couriers of a reload start at once
        self._firing: Callable[[], Iterable[dict[str, Any]]] = list

    # -- lifecycle -------------------------------------------------------------------
    def start(self, firing: Callable[[], Iterable[dict[str, Any]]] = list) -> None:
        """Start the couriers and the reminder task; ``firing`` lists firing alerts."""
        self._firing = firing
        self._started = True
        gone = self.outbox.abandon_unknown(self.channels, self._wall())
        if gone:
            log.warning("notify: gave up %d queued messages of channels no longer "
                        "configured", gone)
        for courier in self.couriers.values():
            courier.start()
        self.runtime.spawn(self._housekeeping)

    def stop(self) -> None:
        """Stop the couriers and the reminder task."""
        self._stopping = True
        self._stop.set()
        for courier in self.couriers.values():
            courier.stop()

    def reconfigure(self, config: Config) -> None:
        """Follow a reloaded config: routes, messages and retry settings at once.

        A channel whose settings did not change keeps its courier (and its backoff); a
        removed one's courier stops and its queued messages are given up, as at start;
        a new or changed one gets a new courier, started only once the old one has
        finished its delivery in flight, so two couriers never send one queue.
        """
        old = {ch.name: ch for ch in self.config.channels}
        new = {ch.name: ch for ch in config.channels}
        opened = {name: open_channel(name, ch.kind, ch.options) for name, ch in new.items()
                  if old.get(name) != ch or name not in self.channels}
        ending = [c for name, c in self.couriers.items() if name not in new or name in opened]
        for courier in ending:
            courier.stop()
        for courier in ending:
            if not courier.wait(courier.channel.timeout + 5.0):
                log.warning("notify %s: a delivery is still running after a reload",
                            courier.channel.name)
        channels = {name: opened.get(name) or self.channels[name] for name in new}
        couriers = {name: self.couriers[name] for name in new if name not in opened}
        for courier in couriers.values():
            courier.settings = config.notify
        couriers.update({name: Courier(channels[name], self.outbox, self.runtime,
                                       config.notify, self._wall) for name in opened})
        self.config, self.channels, self.couriers = config, channels, couriers
        self.routes = config.notify.routes or (Route(channels=tuple(channels)),)
        gone = self.runtime.run_blocking(
            lambda: self.outbox.abandon_unknown(channels, self._wall()))
        if gone:
            log.warning("notify: gave up %d queued messages of channels removed by a "
                        "reload", gone)
        if self._started and not self._stopping:
            for name in opened:
                couriers[name].start()

    # -- routing ---------------------------------------------------------------------
    def plan(self, event: Mapping[str, Any], now: float, reminder: bool = False
             ) -> dict[str, float]:
        """channel -> when to send, for one event (reminders: only routes with repeat)."""
        due: dict[str, float] = {}
        for route in self.routes:
            if reminder and route.repeat is None:
                continue
            if not route.matches(event["sensor"], event["room"], event["kind"],
                                 event.get("severity", "warning")):
                continue
            when = now
            if route.quiet is not None and event.get("severity") != "critical":
                end = quiet_until(route.quiet, now)
                if end is not None:
                    if reminder:
                        continue  # no reminders at night: the morning brings the state
                    when = end
            for name in route.channels:
                if name in self.channels:
                    due[name] = min(due.get(name, when), when)
        return due

    def queue_in(self, conn: sqlite3.Connection, event: Mapping[str, Any]) -> list[str]:
        """Queue an event's messages inside the caller's transaction; return the channels."""
        now = self._wall()
        notification = compose(self.config, event, now=now)
        due = self.plan(event, now)
        for name, when in due.items():
            Outbox.add(conn, name, notification, now, when)
        return list(due)

    def wake(self, channels: Iterable[str]) -> None:
        """Tell the couriers of these channels that something was queued."""
        for name in channels:
            courier = self.couriers.get(name)
            if courier is not None:
                courier.wake()

    def remind(self, firing: Iterable[Mapping[str, Any]], now: float) -> int:
        """Queue the reminders that are due for firing alerts; return how many."""
        items: list[tuple[str, Notification, float]] = []
        for event in firing:
            started = float(event.get("started") or event["since"])
            for route in self.routes:
                if route.repeat is None:
                    continue
                n = int((now - started) // route.repeat)
                if n < 1:
                    continue
                for name, when in self.plan(event, now, reminder=True).items():
                    if name in route.channels:
                        items.append((name, compose(self.config, event, reminder=n, now=now),
                                      when))
        if not items:
            return 0
        added = self.outbox.enqueue(items, now)
        if added:
            self.wake({name for name, _, _ in items})
        return added

    def _housekeeping(self) -> None:
        last_purge = 0.0
        while not self._stopping:
            try:
                now = self._wall()
                events = list(self._firing())
                if events:
                    self.runtime.run_blocking(lambda e=events, t=now: self.remind(e, t))
                if time.monotonic() - last_purge >= PURGE_EVERY:
                    last_purge = time.monotonic()
                    cutoff = now - KEEP_LOG
                    self.runtime.run_blocking(lambda c=cutoff: self.outbox.purge(c))
            except Exception:
                log.exception("notify: housekeeping failed")
            self._stop.wait(HOUSEKEEPING)
