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
from sensorhub.web.limits import WebLimits
from sensorhub.web.security import RateLimiter

EXTENSION = "sensorhub"


@dataclass
class Web:
    """The hub plus what only the web needs: sockets, the broadcaster, login limits."""

    hub: Hub
    socketio: Any
    broadcaster: Broadcaster
    clients: Clients
    limits: WebLimits  # history/export per client and user, the web query gate
    login_by_client: RateLimiter = field(default_factory=lambda: RateLimiter(10, 300.0))
    login_by_user: RateLimiter = field(default_factory=lambda: RateLimiter(5, 300.0))
    boot: str = field(default_factory=lambda: secrets.token_hex(4))
    first_password: str | None = None  # set when this start made the admin user

    @property
    def config(self) -> Config:
        """The running configuration."""
        return self.hub.config


def current() -> Web:
    """The Web of the app handling this request or socket event."""
    return current_app.extensions[EXTENSION]
