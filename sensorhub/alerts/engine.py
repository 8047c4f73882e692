"""Threshold alerts with hold time and hysteresis, and offline alerts.

The engine is a poller sink: it sees every accepted reading and every state change,
decides when an alert fires or clears, records each episode in the state database
(so alert state survives a restart and its history can be queried) together with the
notifications it queues (sensorhub.alerts.notifier, in the same transaction), and
hands the event to the dashboard and the GPIO alarm outputs
(sensorhub.alerts.outputs). Nothing it does blocks the poller: database writes run
off the event loop, and each channel's courier delivers from the outbox on its own.
A transition is decided and announced whatever the disk does; writing it (and the
notifications that go with it) is retried until it is stored (sensorhub.alerts.journal).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from sensorhub.alerts.journal import Journal
from sensorhub.alerts.log import AlertLog
from sensorhub.alerts.notifier import Notifier
from sensorhub.alerts.outbox import Outbox
from sensorhub.alerts.outputs import AlarmOutputs
from sensorhub.alerts.watches import OFFLINE, Episode, Watch, by_sensor, watches
from sensorhub.config import Config
from sensorhub.config.alerts import AlertRule
from sensorhub.readings import Reading, SensorState
from sensorhub.runtime import Runtime

log = logging.getLogger(__name__)


__all__ = ["OFFLINE", "AlertEngine", "AlertLog"]


class AlertEngine:
    """Decides when alerts fire and clear; a poller sink."""

    def __init__(self, config: Config, log_store: AlertLog, runtime: Runtime,
                 emit: Callable[[dict[str, Any]], None] | None = None,
                 gpio: Callable[[], Any] | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 notifier: Notifier | None = None) -> None:
        self.log = log_store
        self.runtime = runtime
        self.journal = Journal(log_store, runtime)
        self._emit = emit
        self._outputs = AlarmOutputs(gpio)
        self._mono = monotonic
        self._wall = wall_clock
        if notifier is None and config.channels:
            notifier = Notifier(config, Outbox(log_store.connect), runtime,
                                wall_clock=wall_clock)
        self.notifier = notifier
        self._started = False
        self._watches = watches(config.sensors)
        self._by_sensor = by_sensor(self._watches)
        for row in log_store.active():  # alerts that were firing when we stopped
            watch = self._watches.get((row["sensor"], row["kind"]))
            if watch is not None:
                watch.episode = Episode(row["id"])
                watch.since, watch.value = row["since"], row["value"]
                watch.acked, watch.acked_by = row["acked"], row["acked_by"]

    def start(self) -> None:
        """Set alarm outputs to match the restored state; start delivering notifications."""
        self._started = True
        for watch in self._watches.values():
            if watch.rule and watch.rule.output_pin is not None:
                self._drive(watch.rule)
        if self.notifier is not None:
            self.notifier.start(self.firing_events)
        self.journal.start()

    def stop(self) -> None:
        """Stop delivering notifications (what is queued stays queued); store what waits."""
        if self.notifier is not None:
            self.notifier.stop()
        self.journal.stop()

    def reconfigure(self, config: Config) -> None:
        """Follow a reloaded config: watch new rules and sensors, drop removed ones.

        A watch whose (sensor, kind) stays keeps its firing state, as across a restart
        (the same object: a transition in flight lands on it). An alert whose rule or
        sensor is gone ends: recorded as cleared and shown as such on the dashboard,
        with no notification (nothing cleared: the rule went). Alarm outputs no rule
        uses any more are switched off and released; notifications follow too.
        """
        old = self._watches
        fresh = watches(config.sensors)
        for key, watch in fresh.items():
            kept = old.get(key)
            if kept is not None:
                if kept.rule != watch.rule:
                    kept.pending_since = None  # held for the old threshold, not this one
                kept.sensor, kept.rule = watch.sensor, watch.rule
                fresh[key] = kept
        pins = {w.rule.output_pin: w.rule for w in old.values()
                if w.rule is not None and w.rule.output_pin is not None}
        self._watches, self._by_sensor = fresh, by_sensor(fresh)
        for key, watch in old.items():
            if key not in fresh:
                watch.retired = True
                if watch.firing:
                    self._end(watch)
        used = {w.rule.output_pin for w in fresh.values() if w.rule is not None}
        for pin, rule in pins.items():
            if pin not in used:
                self._outputs.release(rule)
        for watch in fresh.values():
            if watch.rule is not None and watch.rule.output_pin is not None:
                self._drive(watch.rule)
        if self.notifier is not None:
            self.notifier.reconfigure(config)
        elif config.channels:
            self.notifier = Notifier(config, Outbox(self.log.connect), self.runtime,
                                     wall_clock=self._wall)
            if self._started:  # else start() starts it with the rest
                self.notifier.start(self.firing_events)

    # -- sink ------------------------------------------------------------------------
    def on_reading(self, reading: Reading) -> None:
        """Check every threshold rule of the reading's sensor."""
        for watch in self._by_sensor.get(reading.sensor, ()):
            rule = watch.rule
            if rule is None:
                continue
            value = reading.value(rule.quantity)
            if value is None:
                continue
            beyond = value > rule.threshold if rule.op == "above" else value < rule.threshold
            if beyond:
                now = self._mono()
                if watch.pending_since is None:
                    watch.pending_since = now
                if not watch.firing and now - watch.pending_since >= rule.hold:
                    self._fire(watch, value, reading.ts)
                continue
            watch.pending_since = None
            back = (value <= rule.threshold - rule.hysteresis if rule.op == "above"
                    else value >= rule.threshold + rule.hysteresis)
            if watch.firing and back:
                self._clear(watch, value, reading.ts)

    def on_state(self, state: SensorState) -> None:
        """A sensor going offline is an alert; it clears when the sensor is ok again."""
        watch = self._watches.get((state.sensor, OFFLINE))
        if watch is None:
            return
        if state.state == "offline" and not watch.firing:
            self._fire(watch, None, state.since)
        elif state.state == "ok" and watch.firing:
            self._clear(watch, None, state.since)

    # -- transitions -----------------------------------------------------------------
    def _fire(self, watch: Watch, value: float | None, ts: float) -> None:
        s, kind, threshold = watch.sensor, watch.kind, watch.threshold()
        message = watch.message("firing", value, ts)
        queue, queued = self._queue(message, ts, watch.severity)
        episode = watch.episode = Episode()
        watch.since, watch.value = ts, value
        log.warning("alert %s on sensor %s firing (value %s, threshold %s)", kind, s.id,
                    value, threshold)

        def store(alert_log: AlertLog) -> Callable[[], None]:
            episode.id = alert_log.open(s.id, s.room, kind, ts, value, threshold, then=queue)
            return lambda: self._deliver(queued)

        self.journal.record(store)
        self._announce(watch, message)
        if watch.retired:  # a reload removed it while this was being recorded
            self._end(watch)

    def _clear(self, watch: Watch, value: float | None, ts: float) -> None:
        episode = watch.episode
        assert episode is not None
        message = watch.message("cleared", value, ts)
        queue, queued = self._queue(message, watch.since or ts, watch.severity)
        watch.episode = None

        def store(alert_log: AlertLog) -> Callable[[], None] | None:
            if episode.id is None:  # its firing was dropped, never stored
                return None
            alert_log.close(episode.id, ts, value, then=queue)
            return lambda: self._deliver(queued)

        self.journal.record(store)  # after the firing: the journal keeps the order
        log.info("alert %s on sensor %s cleared (value %s)", watch.kind, watch.sensor.id, value)
        self._announce(watch, message)
        watch.since = watch.value = watch.acked = watch.acked_by = None

    def acknowledge(self, sensor: str, kind: str, who: str) -> dict[str, Any] | None:
        """Record that ``who`` has seen a firing alert; None when it is not firing.

        The dashboard shows it as acknowledged, and its output pin goes off if the rule
        says ``silence_on_ack``; it still clears as usual. Acknowledging twice keeps
        the first one. Channels are not told: they had the firing.
        """
        watch = self._watches.get((sensor, kind))
        if watch is None or watch.episode is None:
            return None
        if watch.acked is None:
            episode, now = watch.episode, self._wall()

            def store(alert_log: AlertLog) -> None:
                if episode.id is not None:  # stored in order: after its firing
                    alert_log.acknowledge(episode.id, now, who)

            self.journal.record(store)
            watch.acked, watch.acked_by = now, who
            log.info("alert %s on sensor %s acknowledged by %s", kind, sensor, who)
            message = watch.message("acknowledged", watch.value, watch.since or now)
            if self._emit is not None:
                self._emit(message)
            if watch.rule is not None and watch.rule.output_pin is not None:
                self._drive(watch.rule)
        return watch.message("firing", watch.value, watch.since or 0.0)

    def _end(self, watch: Watch) -> None:
        """End the alert of a watch a reload removed (no notification)."""
        episode, ts = watch.episode, self._wall()
        assert episode is not None
        watch.episode = None

        def store(alert_log: AlertLog) -> None:
            if episode.id is not None:
                alert_log.close(episode.id, ts, None)

        self.journal.record(store)
        log.info("alert %s on sensor %s ended: a reload removed its rule or sensor",
                 watch.kind, watch.sensor.id)
        self._announce(watch, watch.message("cleared", None, ts))
        watch.since = watch.value = watch.acked = watch.acked_by = None

    def _queue(self, message: dict[str, Any], started: float, severity: str
               ) -> tuple[Any, list[str]]:
        """The in-transaction step that queues an event's notifications, and its channels."""
        notifier, queued = self.notifier, []
        if notifier is None:
            return None, queued

        def queue(conn: Any, alert_id: int) -> None:
            event = {**message, "id": alert_id, "started": started, "severity": severity}
            queued.extend(notifier.queue_in(conn, event))
        return queue, queued

    def _deliver(self, queued: list[str]) -> None:
        """Wake the couriers of the channels a stored transition queued messages for."""
        if self.notifier is not None and queued:
            self.notifier.wake(queued)

    def _announce(self, watch: Watch, message: dict[str, Any]) -> None:
        if self._emit is not None:
            try:
                self._emit(message)
            except Exception:
                log.exception("could not push an alert")
        if watch.rule is not None and watch.rule.output_pin is not None:
            self._drive(watch.rule)

    def _drive(self, rule: AlertRule) -> None:
        """Set an alarm output: active while any rule using that pin fires unsilenced."""
        self._outputs.drive(rule, (w.rule for w in self._watches.values()
                                   if w.firing and w.rule is not None and not w.silenced))

    # -- queries ---------------------------------------------------------------------
    def active(self, sensors: Iterable[str]) -> list[dict[str, Any]]:
        """Firing alerts of the given sensors, as ``alert`` payloads."""
        wanted = set(sensors)
        return [w.message("firing", w.value, w.since or 0.0) for w in self._watches.values()
                if w.firing and w.sensor.id in wanted]

    def firing_events(self) -> list[dict[str, Any]]:
        """Every firing alert as a notification event (for reminders)."""
        return [{**w.message("firing", w.value, w.since or 0.0), "id": w.episode.id,
                 "started": w.since, "severity": w.severity}
                for w in list(self._watches.values())
                if w.episode is not None and w.episode.id is not None]  # stored ones

    def firing(self) -> list[tuple[str, str, str]]:
        """(sensor, room, kind) of every firing alert."""
        return [(w.sensor.id, w.sensor.room, w.kind) for w in self._watches.values()
                if w.firing]

    def watched(self) -> list[tuple[str, str, str]]:
        """(sensor, room, kind) of every alert that can fire."""
        return [(w.sensor.id, w.sensor.room, w.kind) for w in self._watches.values()]
