"""The composition root: everything one sensorhub process owns, wired in one place.

``assemble`` builds the store, users, the shared GPIO, the alert engine, the MQTT
bridge and the poller with all of its sinks and sources; nothing appends to the
poller afterwards. The web layer (sensorhub.web) and the node (sensorhub.service.node)
each add what is theirs through ``sinks`` and ``emit_alert``.

Readings flow one way: driver -> poller -> sinks (store, broadcaster, alerts, MQTT
outbox, leader mirror), in that order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from drivers.registry import open_driver
from sensorhub.alerts.engine import AlertEngine, AlertLog
from sensorhub.config import Config
from sensorhub.polling.loop import Poller, Sink
from sensorhub.polling.power import SharedGpio
from sensorhub.runtime import Event, Runtime
from sensorhub.storage.audit import Audit
from sensorhub.storage.sessions import Sessions
from sensorhub.storage.store import Store
from sensorhub.storage.users import Users

log = logging.getLogger(__name__)

RETENTION_EVERY = 3600.0


@dataclass
class Hub:
    """One process's config, database, users, poller and alerts, and their housekeeping."""

    config: Config
    runtime: Runtime
    store: Store
    users: Users
    sessions: Sessions
    poller: Poller
    alerts: AlertEngine | None
    audit: Audit
    bridge: Any = None  # sensorhub.mqtt.bridge.MqttBridge when config.mqtt is set
    _stop: Event | None = field(default=None, repr=False)
    _done: Event | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start alerts, polling and housekeeping (batched writes, retention)."""
        self._stop = self.runtime.event()
        self._done = self.runtime.event()
        if self.alerts is not None:
            self.alerts.start()
        self.poller.start()
        self.runtime.spawn(self._housekeeping)

    def stop(self) -> None:
        """Stop polling, write every pending reading, close the database."""
        if self._stop is not None and self._done is not None:
            self._stop.set()
            self._done.wait(10.0)
        self.poller.stop()
        if self.alerts is not None:
            self.alerts.stop()
        self.users.close()
        self.store.close()
        log.info("stopped; %d readings written in %d batches", self.store.written,
                 self.store.flushes)

    def apply(self, config: Config) -> None:
        """Run a reloaded config (``sensorhub.config.diff.compare`` made it).

        Alerts first, so a new sensor's first reading meets its rules; then the
        poller (new sensors start, removed ones stop, unchanged ones run on); the
        config last, so whoever reads ``hub.config`` finds every sensor it lists in
        the poller. Retention and the flush interval take effect at their next use.
        """
        if self.alerts is not None:
            self.alerts.reconfigure(config)
        self.poller.reconfigure(config.sensors)
        self.store.retention_days = config.storage.retention_days
        self.audit.retention_days = config.storage.audit_retention_days
        self.config = config

    def _housekeeping(self) -> None:
        """Flush every ``flush_interval``; a retention pass at start and then hourly.

        The flushes are what report a refusing disk (``store.write_error``, the log,
        /healthz) and keep the readings in memory until it writes again, so nothing a
        retention pass raises may end this loop: it is tried again in an hour.
        """
        assert self._stop is not None and self._done is not None
        last_retention = time.monotonic()
        try:
            self._retention()
            while not self._stop.wait(self.config.storage.flush_interval):
                self.runtime.run_blocking(self.store.flush)
                now = time.monotonic()
                if now - last_retention >= RETENTION_EVERY:
                    last_retention = now
                    self._retention()
        except Exception:
            log.exception("housekeeping crashed")
        finally:
            self._done.set()

    def _retention(self) -> None:
        """One retention pass off the loop; a failure is logged, never raised."""
        try:
            self.runtime.run_blocking(self._apply_retention)
        except Exception:
            log.exception("retention pass failed")

    def _apply_retention(self) -> None:
        self.store.apply_retention()  # each logs a database that refuses the deletes
        # the audit log's clock: never ahead of the store's trusted retention clock
        self.audit.apply_retention(min(self.store.trusted_now(), time.time()))


def assemble(config: Config, runtime: Runtime, *, sinks: Sequence[Sink] = (),
             emit_alert: Callable[[dict[str, Any]], None] | None = None,
             alerts: bool = True, on_cycle: Callable[[str], None] | None = None,
             on_tick: Callable[[], None] | None = None) -> Hub:
    """Build every part of one process and wire the poller to its sinks and sources.

    ``sinks`` come right after the store (the broadcaster, a leader's state mirror);
    ``emit_alert`` pushes alert events to the dashboard; ``alerts=False`` (a sensor
    node) leaves alerting to the hub that receives its readings. ``on_cycle`` runs after
    each read (the systemd watchdog), ``on_tick`` once every sensor due at an instant of
    the schedule has been read (the broadcaster sends its batches then).
    """
    store = Store(config.storage.path, retention_days=config.storage.retention_days,
                  statistics_retention_days=config.storage.statistics_retention_days)
    users = Users(store.connect, offload=runtime.run_blocking)
    sessions = Sessions(store.connect, users, lifetime=config.server.session_hours * 3600)
    gpio = SharedGpio(config.gpio_backend, str(config.hardware.sysfs))
    engine = AlertEngine(config, AlertLog(store.connect), runtime, emit=emit_alert,
                         gpio=gpio) if alerts else None
    bridge = None
    if config.mqtt is not None:
        from sensorhub.mqtt.bridge import MqttBridge  # paho only when configured

        bridge = MqttBridge(config, runtime, store)
    poller = Poller(config.sensors, runtime,
                    sinks=[store, *sinks, *([engine] if engine else []),
                           *(bridge.sinks if bridge else [])],
                    sources=[bridge] if bridge else [], gpio=gpio, on_cycle=on_cycle,
                    open_driver=partial(open_driver, sysfs=str(config.hardware.sysfs)),
                    on_tick=on_tick)
    audit = Audit(store.connect, retention_days=config.storage.audit_retention_days)
    return Hub(config=config, runtime=runtime, store=store, users=users, sessions=sessions,
               poller=poller, alerts=engine, audit=audit, bridge=bridge)
