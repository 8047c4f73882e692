"""Connected sockets and who each one authenticated as, re-checked on a schedule.

A socket keeps the principal it connected with; every ``REVALIDATE_EVERY`` seconds
one query reads every user and token, and a socket whose token was revoked or whose
user changed (password, rooms, admin) or went is disconnected.
"""

from __future__ import annotations

import logging
from typing import Any

from sensorhub.rights import Principal
from sensorhub.runtime import Event, Runtime
from sensorhub.storage.users import Users

log = logging.getLogger(__name__)

REVALIDATE_EVERY = 5.0  # seconds; one query for all clients


class Clients:
    """The registry of connected sockets (sid -> principal)."""

    def __init__(self, users: Users, socketio: Any, runtime: Runtime) -> None:
        self._users = users
        self._socketio = socketio
        self._runtime = runtime
        self._by_sid: dict[str, Principal] = {}
        self._stop: Event | None = None

    def add(self, sid: str, principal: Principal) -> None:
        """Register a socket the server accepted."""
        self._by_sid[sid] = principal

    def remove(self, sid: str) -> None:
        """Forget a socket that disconnected."""
        self._by_sid.pop(sid, None)

    def get(self, sid: str) -> Principal | None:
        """The principal of a connected socket (None: not connected)."""
        return self._by_sid.get(sid)

    def __len__(self) -> int:
        return len(self._by_sid)

    def revalidate(self) -> None:
        """Disconnect clients whose token was revoked or whose user changed or went."""
        if not self._by_sid:
            return
        users, token_ids = self._users.validity()
        for sid, principal in list(self._by_sid.items()):
            if not self._users.holds(principal, users, token_ids):
                log.info("disconnecting %s (%s): credentials no longer valid", sid,
                         principal.name)
                self._by_sid.pop(sid, None)
                self._socketio.server.disconnect(sid, namespace="/")

    def start(self) -> None:
        """Re-check every ``REVALIDATE_EVERY`` seconds until ``stop``."""
        self._stop = self._runtime.event()
        self._runtime.spawn(self._loop, self._stop)

    def stop(self) -> None:
        """End the re-check task."""
        if self._stop is not None:
            self._stop.set()

    def _loop(self, stop: Event) -> None:
        while not stop.wait(REVALIDATE_EVERY):
            try:
                self.revalidate()
            except Exception:  # a locked database now and then must not end the checks
                log.exception("re-checking clients failed")
