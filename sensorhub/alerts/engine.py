"""Threshold alerts with hold time and hysteresis, and offline alerts.

The engine is a poller sink: it sees every accepted reading and every state change,
decides when an alert fires or clears, records each episode in the state database
(so alert state survives a restart and its history can be queried), and hands the
event to the broadcaster, the GPIO alarm outputs and the webhook sender. Nothing it
does blocks the poller: database writes and webhook posts run off the event loop.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sensorhub.config import Config, SensorConfig
from sensorhub.config.alerts import AlertRule, WebhookConfig
from sensorhub.readings import Reading, SensorState
from sensorhub.runtime import Runtime

log = logging.getLogger(__name__)

OFFLINE = "offline"
WEBHOOK_QUEUE = 200


class AlertLog:
    """Alert episodes in the state database."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect

    def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result
        finally:
            conn.close()

    def open(self, sensor: str, room: str, kind: str, since: float, value: float | None,
             threshold: float | None) -> int:
        """Record a firing alert; return its id."""
        return self._run(lambda c: c.execute(
            "INSERT INTO alerts (sensor, room, kind, since, value, threshold) "
            "VALUES (?, ?, ?, ?, ?, ?)", (sensor, room, kind, since, value, threshold)).lastrowid)

    def close(self, alert_id: int, cleared: float, value: float | None) -> None:
        """Record that an alert cleared."""
        self._run(lambda c: c.execute("UPDATE alerts SET cleared = ?, cleared_value = ? "
                                      "WHERE id = ?", (cleared, value, alert_id)))

    def active(self) -> list[dict[str, Any]]:
        """Alerts still firing."""
        return self.history(active_only=True)

    def history(self, sensors: Iterable[str] | None = None, since: float = 0.0,
                limit: int = 200, active_only: bool = False) -> list[dict[str, Any]]:
        """Alert episodes, newest first."""
        sql = "SELECT id, sensor, room, kind, since, value, threshold, cleared, cleared_value " \
              "FROM alerts WHERE (since >= ? OR cleared IS NULL)"
        args: list[Any] = [since]
        if active_only:
            sql += " AND cleared IS NULL"
        if sensors is not None:
            wanted = list(sensors)
            sql += f" AND sensor IN ({','.join('?' * len(wanted))})"
            args += wanted
        sql += " ORDER BY since DESC LIMIT ?"
        args.append(limit)
        rows = self._run(lambda c: c.execute(sql, args).fetchall())
        keys = ("id", "sensor", "room", "kind", "since", "value", "threshold", "cleared",
                "cleared_value")
        return [dict(zip(keys, row, strict=True)) for row in rows]


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

    @property
    def firing(self) -> bool:
        return self.alert_id is not None

    def threshold(self) -> float | None:
        return self.rule.threshold if self.rule else self.sensor.offline_after

    def message(self, state: str, value: float | None, since: float) -> dict[str, Any]:
        """The Socket.IO ``alert`` payload."""
        return {"sensor": self.sensor.id, "room": self.sensor.room, "kind": self.kind,
                "state": state, "since": since, "value": value, "threshold": self.threshold()}


class AlertEngine:
    """Decides when alerts fire and clear; a poller sink."""

    def __init__(self, config: Config, log_store: AlertLog, runtime: Runtime,
                 emit: Callable[[dict[str, Any]], None],
                 gpio: Callable[[], Any] | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.log = log_store
        self.runtime = runtime
        self._emit = emit
        self._gpio = gpio
        self._mono = monotonic
        self._wall = wall_clock
        self._webhook = WebhookSender(config.webhook, runtime) if config.webhook else None
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
        self._pins_ready: set[int] = set()

    def start(self) -> None:
        """Set alarm outputs to match the restored state; start the webhook sender."""
        for watch in self._watches.values():
            if watch.rule and watch.rule.output_pin is not None:
                self._drive(watch.rule)
        if self._webhook is not None:
            self._webhook.start()

    def stop(self) -> None:
        """Stop the webhook sender."""
        if self._webhook is not None:
            self._webhook.stop()

    # -- sink ------------------------------------------------------------------------
    def on_reading(self, reading: Reading) -> None:
        """Check every threshold rule of the reading's sensor."""
        for watch in self._by_sensor.get(reading.sensor, ()):
            rule = watch.rule
            if rule is None:
                continue
            value = reading.temperature if rule.quantity == "temperature" else reading.humidity
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
        watch.since = watch.value = None

    def _announce(self, watch: _Watch, message: dict[str, Any]) -> None:
        try:
            self._emit(message)
        except Exception:
            log.exception("could not push an alert")
        if watch.rule is not None and watch.rule.output_pin is not None:
            self._drive(watch.rule)
        if self._webhook is not None:
            self._webhook.send(message)

    def _drive(self, rule: AlertRule) -> None:
        """Set an alarm output: active while any rule using that pin is firing."""
        pin = rule.output_pin
        if self._gpio is None or pin is None:
            return
        active = any(w.firing for w in self._watches.values()
                     if w.rule is not None and w.rule.output_pin == pin)
        level = active == rule.active_high
        try:
            backend = self._gpio()
            if pin not in self._pins_ready:
                backend.setup_output(pin, level)
                self._pins_ready.add(pin)
            else:
                backend.write(pin, level)
        except Exception as error:  # no GPIO here: the dashboard still shows the alert
            log.error("alarm output GPIO %d: %s", pin, error)

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


class WebhookSender:
    """POSTs alert events to a LAN URL from its own task, with timeout and retries."""

    def __init__(self, config: WebhookConfig, runtime: Runtime) -> None:
        self.config = config
        self.runtime = runtime
        self._queue: deque[dict[str, Any]] = deque(maxlen=WEBHOOK_QUEUE)
        self._wake = runtime.event()
        self._stopping = False
        self.sent = 0
        self.failed = 0

    def start(self) -> None:
        """Start the sending task."""
        self.runtime.spawn(self._loop)

    def stop(self) -> None:
        """Let the task end."""
        self._stopping = True
        self._wake.set()

    def send(self, message: dict[str, Any]) -> None:
        """Queue one event (never blocks; the oldest is dropped when 200 are waiting)."""
        self._queue.append(message)
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.wait(5.0)
            self._wake.clear()
            while self._queue and not self._stopping:
                self._deliver(self._queue.popleft())

    def _deliver(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        for attempt in range(self.config.retries + 1):
            try:
                self.runtime.run_blocking(lambda: self._post(body),
                                          timeout=self.config.timeout + 1)
                self.sent += 1
                return
            except Exception as error:
                if attempt == self.config.retries:
                    self.failed += 1
                    log.error("webhook %s failed after %d tries: %s", self.config.url,
                              attempt + 1, error)
                    return
                self.runtime.sleep(min(30.0, 2.0 ** attempt))

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(self.config.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self.config.timeout) as answer:
            if answer.status >= 300:
                raise OSError(f"HTTP {answer.status}")
