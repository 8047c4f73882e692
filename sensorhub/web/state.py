"""What the web side of one process holds, and the typed way a request reaches it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from sensorhub.config import Config
from sensorhub.hub import Hub
from sensorhub.web.broadcaster import Broadcaster
from sensorhub.web.clients import Clients
from sensorhub.web.lifecycle import Lifecycle
from sensorhub.web.limits import WebLimits
from sensorhub.web.reload import Reloader, ReloadResult
from sensorhub.web.throttle import HashGate, LoginThrottle

EXTENSION = "sensorhub"


@dataclass
class Web:
    """The hub plus what only the web needs: sockets, the broadcaster, login limits."""

    hub: Hub
    socketio: Any
    broadcaster: Broadcaster
    clients: Clients
    lifecycle: Lifecycle
    limits: WebLimits  # history/export per client and user, the web query gate
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)
    hash_gate: HashGate = field(default_factory=HashGate)
    boot: str = field(default_factory=lambda: secrets.token_hex(4))
    first_password: str | None = None  # set when this start made the admin user
    reloader: Reloader = field(default_factory=Reloader)

    @property
    def config(self) -> Config:
        """The running configuration."""
        return self.hub.config

    def reload(self) -> ReloadResult:
        """Re-read config.yaml and run it without a restart (sensorhub.web.reload)."""
        return self.reloader.reload(self)

    def security_counters(self) -> dict[str, int]:
        """What the guards refused or held back since start (admin /healthz, /metrics)."""
        gate = self.hash_gate
        return {"lifecycle_events_refused": self.lifecycle.refused,
                "logins_throttled": self.login_throttle.refused, "logins_busy": gate.busy,
                "password_hashes_running": gate.running, "password_hashes_peak": gate.peak,
                "password_hashes_limit": gate.limit}


def current() -> Web:
    """The Web of the app handling this request or socket event."""
    return current_app.extensions[EXTENSION]
