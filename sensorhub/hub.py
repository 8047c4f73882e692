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
from typing import Any

from sensorhub.alerts.engine import AlertEngine, AlertLog
from sensorhub.config import Config
from sensorhub.polling.loop import Poller, Sink
from sensorhub.polling.power import SharedGpio
from sensorhub.runtime import Event, Runtime
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
    poller: Poller
    alerts: AlertEngine | None
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
        self.store.close()
        log.info("stopped; %d readings written in %d batches", self.store.written,
                 self.store.flushes)

    def _housekeeping(self) -> None:
        assert self._stop is not None and self._done is not None
        interval = self.config.storage.flush_interval
        last_retention = time.monotonic()
        self.runtime.run_blocking(self.store.apply_retention)
        try:
            while not self._stop.wait(interval):
                self.runtime.run_blocking(self.store.flush)
                now = time.monotonic()
                if now - last_retention >= RETENTION_EVERY:
                    last_retention = now
                    self.runtime.run_blocking(self.store.apply_retention)
        except Exception:
            log.exception("housekeeping crashed")
        finally:
            self._done.set()


def assemble(config: Config, runtime: Runtime, *, sinks: Sequence[Sink] = (),
             emit_alert: Callable[[dict[str, Any]], None] | None = None,
             alerts: bool = True, on_cycle: Callable[[str], None] | None = None) -> Hub:
    """Build every part of one process and wire the poller to its sinks and sources.

    ``sinks`` come right after the store (the broadcaster, a leader's state mirror);
    ``emit_alert`` pushes alert events to the dashboard; ``alerts=False`` (a sensor
    node) leaves alerting to the hub that receives its readings.
    """
    store = Store(config.storage.path, retention_days=config.storage.retention_days,
                  statistics_retention_days=config.storage.statistics_retention_days)
    users = Users(store.connect)
    gpio = SharedGpio(config.gpio_backend)
    engine = AlertEngine(config, AlertLog(store.connect), runtime, emit=emit_alert,
                         gpio=gpio) if alerts else None
    bridge = None
    if config.mqtt is not None:
        from sensorhub.mqtt.bridge import MqttBridge  # paho only when configured

        bridge = MqttBridge(config, runtime, store)
    poller = Poller(config.sensors, runtime,
                    sinks=[store, *sinks, *([engine] if engine else []),
                           *(bridge.sinks if bridge else [])],
                    sources=[bridge] if bridge else [], gpio=gpio, on_cycle=on_cycle)
    return Hub(config=config, runtime=runtime, store=store, users=users, poller=poller,
               alerts=engine, bridge=bridge)
