"""Connected sockets and who each one authenticated as, re-checked at once and on a schedule.

A socket keeps the principal it connected with. Whenever this process ends a
credential (logout, a revoked token, a password change, a removal) ``Users`` calls
``revalidate`` at once; every ``REVALIDATE_EVERY`` seconds it runs anyway, for what
other processes did (the command line, other web processes sharing the message
queue). One query reads every user and live credential, and a socket whose token or
session ended, or whose account changed (password, rooms, admin) or went, is
disconnected. So is a socket the server holds but the registry does not know: only
the server's own lifecycle adds and removes entries (``lifecycle.py``), and a socket
nobody re-checks must not keep its rooms.
"""

from __future__ import annotations

import logging
from typing import Any

from sensorhub.rights import Principal
from sensorhub.runtime import Event, Runtime
from sensorhub.storage.users import Users

log = logging.getLogger(__name__)

# seconds; one query for all clients. Under 5 so that a change made elsewhere cuts
# its sockets within 5 s even when the query and the disconnects take a moment.
REVALIDATE_EVERY = 4.0
NAMESPACE = "/"


class Clients:
    """The registry of connected sockets (sid -> principal)."""

    def __init__(self, users: Users, socketio: Any, runtime: Runtime) -> None:
        self._users = users
        self._socketio = socketio
        self._runtime = runtime
        self._by_sid: dict[str, Principal] = {}
        self._stop: Event | None = None
        users.watch(self.revalidate)  # a credential this process ends is cut at once

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
        """Disconnect clients whose credential ended or whose account changed or went."""
        for sid in self._orphans():
            log.warning("disconnecting %s: connected but unknown to the registry", sid)
            self._socketio.server.disconnect(sid, namespace=NAMESPACE)
        if not self._by_sid:
            return
        validity = self._users.validity()
        for sid, principal in list(self._by_sid.items()):
            if not self._users.holds(principal, validity):
                log.info("disconnecting %s (%s): credentials no longer valid", sid,
                         principal.name)
                self._by_sid.pop(sid, None)
                self._socketio.server.disconnect(sid, namespace=NAMESPACE)

    def _orphans(self) -> list[str]:
        """Connected sockets the registry does not know (none, unless something is wrong)."""
        manager = self._socketio.server.manager
        try:
            sids = [sid for sid, _eio_sid in manager.get_participants(NAMESPACE, None)]
        except RuntimeError:  # the rooms changed while we looked (threading mode): next time
            return []
        # connected first: the connect handler registers a socket before it counts as
        # connected, so a socket caught connecting is never taken for an orphan
        return [sid for sid in sids
                if manager.is_connected(sid, NAMESPACE) and sid not in self._by_sid]

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
