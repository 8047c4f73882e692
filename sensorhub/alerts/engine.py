"""Threshold alerts with hold time and hysteresis, and offline alerts.

The engine is a poller sink: it sees every accepted reading and every state change,
decides when an alert fires or clears, records each episode in the state database
(so alert state survives a restart and its history can be queried), and hands the
event to the dashboard, the GPIO alarm outputs (sensorhub.alerts.outputs) and the
channels (sensorhub.alerts.channels, each behind a sensorhub.alerts.dispatch task). Nothing it
does blocks the poller: database writes and webhook posts run off the event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sensorhub.alerts.channels import open_channel
from sensorhub.alerts.dispatch import Dispatcher
from sensorhub.alerts.log import AlertLog
from sensorhub.alerts.outputs import AlarmOutputs
from sensorhub.config import Config, SensorConfig
from sensorhub.config.alerts import AlertRule
from sensorhub.readings import Reading, SensorState
from sensorhub.runtime import Runtime

log = logging.getLogger(__name__)

OFFLINE = "offline"

__all__ = ["OFFLINE", "AlertEngine", "AlertLog"]


@dataclass
class _Watch:
    """What the engine knows about one (sensor, kind)."""

    sensor: SensorConfig
    kind: str
    rule: AlertRule | None  # None for the offline alert
    pending_since: float | None = None  # monotonic time the condition started to hold
    alert_id: int | None = None
    since: float | None = None
    value: float | None = None
    acked: float | None = None  # when someone acknowledged the firing alert
    acked_by: str | None = None

    @property
    def firing(self) -> bool:
        return self.alert_id is not None

    def threshold(self) -> float | None:
        return self.rule.threshold if self.rule else self.sensor.offline_after

    @property
    def silenced(self) -> bool:
        """Whether acknowledging turned this alert's output off."""
        return self.acked is not None and self.rule is not None and self.rule.silence_on_ack

    def message(self, state: str, value: float | None, since: float) -> dict[str, Any]:
        """The Socket.IO ``alert`` payload."""
        return {"sensor": self.sensor.id, "room": self.sensor.room, "kind": self.kind,
                "state": state, "since": since, "value": value, "threshold": self.threshold(),
                "acked": self.acked, "acked_by": self.acked_by}


class AlertEngine:
    """Decides when alerts fire and clear; a poller sink."""

    def __init__(self, config: Config, log_store: AlertLog, runtime: Runtime,
                 emit: Callable[[dict[str, Any]], None] | None = None,
                 gpio: Callable[[], Any] | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.log = log_store
        self.runtime = runtime
        self._emit = emit
        self._outputs = AlarmOutputs(gpio)
        self._mono = monotonic
        self._wall = wall_clock
        self._dispatchers = [Dispatcher(open_channel(ch.name, ch.kind, ch.options), runtime)
                             for ch in config.channels]
        self._watches: dict[tuple[str, str], _Watch] = {}
        self._by_sensor: dict[str, list[_Watch]] = {}
        for s in config.sensors:
            watches = [_Watch(s, rule.kind, rule) for rule in s.alerts]
            if s.alert_offline:
                watches.append(_Watch(s, OFFLINE, None))
            self._by_sensor[s.id] = watches
            self._watches.update({(s.id, w.kind): w for w in watches})
        for row in log_store.active():  # alerts that were firing when we stopped
            watch = self._watches.get((row["sensor"], row["kind"]))
            if watch is not None:
                watch.alert_id, watch.since, watch.value = row["id"], row["since"], row["value"]
                watch.acked, watch.acked_by = row["acked"], row["acked_by"]

    def start(self) -> None:
        """Set alarm outputs to match the restored state; start the webhook sender."""
        for watch in self._watches.values():
            if watch.rule and watch.rule.output_pin is not None:
                self._drive(watch.rule)
        for dispatcher in self._dispatchers:
            dispatcher.start()

    def stop(self) -> None:
        """Stop the webhook sender."""
        for dispatcher in self._dispatchers:
            dispatcher.stop()

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
    def _fire(self, watch: _Watch, value: float | None, ts: float) -> None:
        s = watch.sensor
        watch.alert_id = self.runtime.run_blocking(
            lambda: self.log.open(s.id, s.room, watch.kind, ts, value, watch.threshold()))
        watch.since, watch.value = ts, value
        log.warning("alert %s on sensor %s firing (value %s, threshold %s)", watch.kind, s.id,
                    value, watch.threshold())
        self._announce(watch, watch.message("firing", value, ts))

    def _clear(self, watch: _Watch, value: float | None, ts: float) -> None:
        alert_id = watch.alert_id
        assert alert_id is not None
        self.runtime.run_blocking(lambda: self.log.close(alert_id, ts, value))
        watch.alert_id = None
        log.info("alert %s on sensor %s cleared (value %s)", watch.kind, watch.sensor.id, value)
        self._announce(watch, watch.message("cleared", value, ts))
        watch.since = watch.value = watch.acked = watch.acked_by = None

    def acknowledge(self, sensor: str, kind: str, who: str) -> dict[str, Any] | None:
        """Record that ``who`` has seen a firing alert; None when it is not firing.

        The dashboard shows it as acknowledged, and its output pin goes off if the rule
        says ``silence_on_ack``; it still clears as usual. Acknowledging twice keeps
        the first one.
        """
        watch = self._watches.get((sensor, kind))
        if watch is None or watch.alert_id is None:
            return None
        if watch.acked is None:
            alert_id, now = watch.alert_id, self._wall()
            self.runtime.run_blocking(lambda: self.log.acknowledge(alert_id, now, who))
            watch.acked, watch.acked_by = now, who
            log.info("alert %s on sensor %s acknowledged by %s", kind, sensor, who)
            message = watch.message("acknowledged", watch.value, watch.since or now)
            if self._emit is not None:  # the dashboard only: channels had the firing
                self._emit(message)
            if watch.rule is not None and watch.rule.output_pin is not None:
                self._drive(watch.rule)
        return watch.message("firing", watch.value, watch.since or 0.0)

    def _announce(self, watch: _Watch, message: dict[str, Any]) -> None:
        if self._emit is not None:
            try:
                self._emit(message)
            except Exception:
                log.exception("could not push an alert")
        if watch.rule is not None and watch.rule.output_pin is not None:
            self._drive(watch.rule)
        for dispatcher in self._dispatchers:
            dispatcher.send(message)

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

    def firing(self) -> list[tuple[str, str, str]]:
        """(sensor, room, kind) of every firing alert."""
        return [(w.sensor.id, w.sensor.room, w.kind) for w in self._watches.values()
                if w.firing]

    def watched(self) -> list[tuple[str, str, str]]:
        """(sensor, room, kind) of every alert that can fire."""
        return [(w.sensor.id, w.sensor.room, w.kind) for w in self._watches.values()]
