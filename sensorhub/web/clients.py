"""Connected sockets and who each one authenticated as, re-checked on a schedule.

A socket keeps the principal it connected with; every ``REVALIDATE_EVERY`` seconds
one query reads every user and token. A socket whose token was revoked, or whose
user went or changed password, is disconnected; one whose user's rooms or admin flag
changed keeps its connection and takes the new rights live (``on_rights_changed``,
set to sensorhub.web.resync by the app: new rooms joined, old ones left, a fresh
snapshot).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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
        self._batch: set[str] = set()  # sockets that take coalesced `readings` events
        #: (sid, new principal) of a socket whose rights changed under the same
        #: credentials; None: such a socket is disconnected instead
        self.on_rights_changed: Callable[[str, Principal], Any] | None = None
        self._stop: Event | None = None

    def add(self, sid: str, principal: Principal, *, batch: bool = False) -> None:
        """Register a socket the server accepted (``batch``: it takes ``readings``)."""
        self._by_sid[sid] = principal
        if batch:
            self._batch.add(sid)

    def remove(self, sid: str) -> None:
        """Forget a socket that disconnected."""
        self._by_sid.pop(sid, None)
        self._batch.discard(sid)

    def get(self, sid: str) -> Principal | None:
        """The principal of a connected socket (None: not connected)."""
        return self._by_sid.get(sid)

    def batch(self, sid: str) -> bool:
        """Whether a socket connected for coalesced ``readings`` events."""
        return sid in self._batch

    def items(self) -> list[tuple[str, Principal]]:
        """Every connected socket and its principal (a copy: safe to act on)."""
        return list(self._by_sid.items())

    def __len__(self) -> int:
        return len(self._by_sid)

    def revalidate(self, user: str | None = None) -> None:
        """Re-check every socket (or ``user``'s) against the users and tokens now.

        Revoked token, user gone, password changed: disconnected. Same credentials
        but other rooms or admin flag: the new rights are applied live.
        """
        targets = [(sid, p) for sid, p in self._by_sid.items()
                   if user is None or p.name == user]
        if not targets:
            return
        users, token_ids = self._users.validity()
        for sid, principal in targets:
            if self._users.holds(principal, users, token_ids):
                continue
            found = users.get(principal.name or "")
            fresh = None if found is None or found.epoch != principal.epoch else \
                found.principal(principal.kind, principal.token_id)
            if (fresh is not None and self.on_rights_changed is not None
                    and self._users.holds(fresh, users, token_ids)):
                log.info("rights of %s (%s) changed: applying them live", sid, principal.name)
                self._by_sid[sid] = fresh
                self.on_rights_changed(sid, fresh)
                continue
            log.info("disconnecting %s (%s): credentials no longer valid", sid,
                     principal.name)
            self.remove(sid)
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
