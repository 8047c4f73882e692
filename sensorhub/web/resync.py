"""Give connected sockets the rooms their rights allow now, live, without a reconnect.

When rights change under an open socket (a reload adds, removes or publishes a room;
an admin changes a user's rooms, which ``Clients.revalidate`` notices within 5 s),
``resync`` recomputes the rooms each socket may watch with ``rights.rooms_for``,
makes it leave the Socket.IO rooms it may no longer watch and join the new ones (of
the kind it connected with: ``room:`` for ``reading`` events, ``batch:`` for
``readings``), and sends it a fresh ``snapshot``, which clients take as their whole
new state (docs/protocol.md). An anonymous viewer whose last public room went is
disconnected, as it would be refused if it connected now.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sensorhub.rights import Principal, anonymous_may_watch, rooms_for
from sensorhub.web.broadcaster import NAMESPACE, batch_room_key, room_key
from sensorhub.web.snapshot import snapshot

if TYPE_CHECKING:
    from sensorhub.web.state import Web

log = logging.getLogger(__name__)

#: the Socket.IO rooms that carry a sensorhub room (a socket's own sid room is not one)
ROOM_PREFIXES = (room_key(""), batch_room_key(""))


def resync(web: Web, sids: Iterable[str] | None = None) -> int:
    """Bring every connected socket (or those in ``sids``) in line; return how many.

    It uses the principals the registry holds, which is right after a reload (the
    config changed, not the users). After a user's rooms or admin flag changed in the
    database, call ``Clients.revalidate(user=name)`` instead: it re-reads the user
    and resyncs that user's sockets (the 5-s task does the same for everyone).
    """
    wanted = None if sids is None else set(sids)
    done = 0
    for sid, principal in web.clients.items():
        if wanted is None or sid in wanted:
            done += resync_socket(web, sid, principal)
    return done


def resync_socket(web: Web, sid: str, principal: Principal) -> bool:
    """Rooms and a fresh snapshot for one socket; False if it was gone or cut off."""
    server = web.socketio.server
    if principal.anonymous and not anonymous_may_watch(web.config):
        log.info("disconnecting anonymous %s: no room is public any more", sid)
        web.clients.remove(sid)
        server.disconnect(sid, namespace=NAMESPACE)
        return False
    want = set(web.broadcaster.socket_rooms(rooms_for(principal, web.config),
                                            web.clients.batch(sid)))
    have = {room for room in _rooms_of(server, sid) if room.startswith(ROOM_PREFIXES)}
    try:
        for room in have - want:
            server.leave_room(sid, room, namespace=NAMESPACE)
        for room in want - have:
            server.enter_room(sid, room, namespace=NAMESPACE)
    except (KeyError, ValueError):  # it disconnected meanwhile: nothing to bring in line
        return False
    if have != want:
        log.info("socket %s (%s) now watches %s", sid, principal.name or "anonymous",
                 ", ".join(sorted(want)) or "no room")
    web.broadcaster.to_client(sid, "snapshot", snapshot(web.hub, web.boot, principal))
    return True


def _rooms_of(server: Any, sid: str) -> list[str]:
    """The rooms a socket is in (retried: another thread may be adding a room)."""
    for _ in range(3):
        try:
            return list(server.rooms(sid, namespace=NAMESPACE))
        except RuntimeError:  # "dictionary changed size during iteration" (threading mode)
            continue
    return list(server.rooms(sid, namespace=NAMESPACE))
