"""Everything one running sensorhub owns, and its background housekeeping."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sensorhub.alerts.engine import AlertEngine
from sensorhub.config import Config
from sensorhub.polling.loop import Poller
from sensorhub.readings import Reading
from sensorhub.rights import Principal, rooms_for, visible_sensors
from sensorhub.runtime import Runtime
from sensorhub.storage.store import Store
from sensorhub.storage.users import Users
from sensorhub.web.broadcaster import Broadcaster
from sensorhub.web.security import RateLimiter

log = logging.getLogger(__name__)

RETENTION_EVERY = 3600.0
REVALIDATE_EVERY = 5.0  # seconds; one query for all clients


@dataclass
class Hub:
    """The app's state: config, store, users, poller, broadcaster and clients."""

    config: Config
    store: Store
    users: Users
    poller: Poller
    broadcaster: Broadcaster
    runtime: Runtime
    socketio: Any
    alerts: AlertEngine
    boot: str = field(default_factory=lambda: secrets.token_hex(4))
    clients: dict[str, Principal] = field(default_factory=dict)
    login_by_client: RateLimiter = field(default_factory=lambda: RateLimiter(10, 300.0))
    login_by_user: RateLimiter = field(default_factory=lambda: RateLimiter(5, 300.0))
    _stop: Any = None
    _done: Any = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start polling and housekeeping."""
        self._stop = self.runtime.event()
        self._done = self.runtime.event()
        self.alerts.start()
        self.poller.start()
        self.runtime.spawn(self._housekeeping)

    def stop(self) -> None:
        """Stop polling, write every pending reading, close the database."""
        if self._stop is not None:
            self._stop.set()
            self._done.wait(10.0)
        self.poller.stop()
        self.alerts.stop()
        self.store.close()
        log.info("stopped; %d readings written in %d batches", self.store.written,
                 self.store.flushes)

    def _housekeeping(self) -> None:
        interval = self.config.storage.flush_interval
        last_retention = last_revalidate = time.monotonic()
        self.runtime.run_blocking(self.store.apply_retention)
        try:
            while not self._stop.wait(interval):
                self.runtime.run_blocking(self.store.flush)
                now = time.monotonic()
                if now - last_retention >= RETENTION_EVERY:
                    last_retention = now
                    self.runtime.run_blocking(self.store.apply_retention)
                if now - last_revalidate >= REVALIDATE_EVERY:
                    last_revalidate = now
                    self.revalidate_clients()
        except Exception:
            log.exception("housekeeping crashed")
        finally:
            self._done.set()

    def revalidate_clients(self) -> None:
        """Disconnect clients whose token was revoked or whose user changed or went."""
        if not self.clients:
            return
        users, token_ids = self.users.validity()
        for sid, principal in list(self.clients.items()):
            if not self.users.holds(principal, users, token_ids):
                log.info("disconnecting %s (%s): credentials no longer valid", sid,
                         principal.name)
                self.clients.pop(sid, None)
                self.socketio.server.disconnect(sid, namespace="/")

    # -- views of the state ----------------------------------------------------------
    def latest(self, sensor_id: str) -> dict[str, Any] | None:
        """The newest reading of a sensor: live if any, else the stored one."""
        reading: Reading | None = self.poller.latest(sensor_id)
        if reading is None:
            stored = self.store.latest(sensor_id)
            if stored is None:
                return None
            ts, t, h = stored
            reading = Reading(sensor_id, "", ts, 0, t, h)
        message = reading.to_message()
        del message["sensor"], message["room"]
        if message["seq"] == 0:
            message["seq"] = None  # from the database, not this boot's sequence
        return message

    def snapshot(self, principal: Principal, *, health: bool = False) -> dict[str, Any]:
        """What a principal may see right now (the ``snapshot`` event)."""
        config = self.config
        rooms = rooms_for(principal, config)
        sensors = []
        for s in visible_sensors(principal, config):
            entry: dict[str, Any] = {
                "id": s.id, "name": s.name, "room": s.room, "interval": s.interval,
                "state": self.poller.sensors[s.id].state.to_message(),
                "latest": self.latest(s.id),
                "alert_rules": [{"kind": r.kind, "threshold": r.threshold, "for": r.hold}
                                for r in s.alerts],
            }
            if health:
                entry["health"] = self.poller.health(s.id)
            sensors.append(entry)
        user = None if principal.anonymous else {
            "name": principal.name, "admin": principal.admin, "kind": principal.kind}
        return {
            "server_time": time.time(), "boot": self.boot, "user": user,
            "alerts": self.alerts.active(s["id"] for s in sensors),
            "rooms": [{"id": r.id, "name": r.name, "public": r.public}
                      for r in config.rooms if r.id in rooms],
            "sensors": sensors,
        }

    def sensor_visible(self, principal: Principal, sensor_id: str) -> bool:
        """Whether a sensor exists and the principal may see it."""
        return any(s.id == sensor_id for s in visible_sensors(principal, self.config))
