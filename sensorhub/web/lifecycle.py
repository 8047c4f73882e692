"""Only the server's own connection lifecycle may run the connect and disconnect handlers.

python-socketio (5.18) dispatches a client's EVENT packet by its name through the
same handler table as its own lifecycle: an ordinary event that a client names
``connect`` or ``disconnect`` runs the app's connect or disconnect handler (its
``reserved_events`` only keep those two names away from the ``*`` catch-all).
Unguarded, a client could run disconnect to drop out of the registry, and so out of
every re-check, while staying in its rooms, or run connect again with another user's
token to gain that user's rooms.

So the handlers ask ``Lifecycle`` whether a call is the server's own, by facts a
client cannot forge:

* connect: python-socketio passes the very environ dict it keeps for the socket, and
  calls while the socket is still pending; a client's event carries JSON it sent (a
  new object) and is only dispatched once the socket is connected.
* disconnect: python-socketio marks the socket as disconnecting before it calls the
  handler; a client's event is only dispatched while the socket is connected.

Anything else is refused, logged and counted (``refused``: /metrics, the admin's
/healthz). ``connect_error`` and ``disconnecting``, lifecycle names on the client
side, are refused the same way by the catch-all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sensorhub.runtime import real_lock

log = logging.getLogger(__name__)

LIFECYCLE_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting"})
NAMESPACE = "/"


class Lifecycle:
    """Tells the server's own connect and disconnect from client events named like them."""

    def __init__(self, server: Any) -> None:
        """``server``: the python-socketio Server (Flask-SocketIO's ``socketio.server``)."""
        self._server = server
        self._lock = real_lock()
        self.refused = 0

    def is_connect(self, sid: str, args: Sequence[Any]) -> bool:
        """Whether a connect handler call with these arguments is the server's own."""
        environ = self._server.get_environ(sid, namespace=NAMESPACE)
        return (environ is not None and len(args) > 0 and args[0] is environ
                and not self._server.manager.is_connected(sid, NAMESPACE))

    def is_disconnect(self, sid: str) -> bool:
        """Whether a disconnect handler call is the server's own (the socket is leaving)."""
        return not self._server.manager.is_connected(sid, NAMESPACE)

    def refuse(self, event: str, sid: str) -> dict[str, str]:
        """Count and log a client event named like a lifecycle event; the answer to send."""
        with self._lock:
            self.refused += 1
        log.warning("refused an event named %r from socket %s: only the server's own "
                    "connection lifecycle runs it", str(event)[:64], sid)
        return {"error": "reserved event"}
