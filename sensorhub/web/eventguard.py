"""Every Socket.IO message a client sends passes here first: rate, size, attachments.

It sits between Engine.IO and Socket.IO (the Engine.IO ``message`` handler), so a
message over a limit costs a few microseconds and never reaches a handler, a log
line or a worker:

- each connection has ``event_rate`` messages a second (``event_burst`` at once),
  each started KiB of a message counting as one (the server's websocket reads a
  message byte by byte in Python under eventlet: bytes are what cost); excess is
  dropped and counted, and a connection that has more than a whole burst dropped
  within a minute is disconnected;
- a binary event may announce at most ``max_event_attachments`` attachments, and its
  attachments may hold at most ``max_event_bytes`` together (python-socketio keeps
  them in memory until the last one arrives); over either, the client is
  disconnected;
- a message Socket.IO cannot decode, or a binary message no event announced, is
  dropped (and counts as dropped), never logged with a traceback each time;
- after every message the reader yields, so one client's flood cannot keep the event
  loop from everyone else (eventlet reads a busy socket without ever yielding).

Trouble is logged once per client address a minute (MinuteLog). Handlers run in each
client's reader task (``async_handlers=False``), one at a time per client.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sensorhub.config.limits import Limits
from sensorhub.web.limits import LOG_EVERY, MinuteLog, client_address

log = logging.getLogger(__name__)

BINARY_HEADER = re.compile(r"[56](\d+)-")  # BINARY_EVENT / BINARY_ACK: count of attachments


@dataclass
class _Client:
    """What the guard knows about one Engine.IO connection."""

    address: str
    tokens: float
    refilled: float
    attachments: int = 0  # still to come for the current binary event
    held: int = 0  # bytes of that event so far
    dropping: bool = False  # the current binary event was dropped: drop its attachments
    dropped: list[float] = field(default_factory=list)  # when messages were dropped
    closed: bool = False


class EventGuard:
    """Wraps the Engine.IO handlers of a Flask-SocketIO server with the limits."""

    def __init__(self, socketio: Any, limits: Limits, notes: MinuteLog,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._socketio = socketio
        self._notes = notes
        self._clock = clock
        self._clients: dict[str, _Client] = {}
        self.dropped = self.disconnected = 0
        eio = socketio.server.eio
        self._eio = eio
        self._connect = eio.handlers["connect"]
        self._message = eio.handlers["message"]
        self._disconnect = eio.handlers["disconnect"]
        eio.on("connect", self.on_connect)
        eio.on("message", self.on_message)
        eio.on("disconnect", self.on_disconnect)

    def on_connect(self, eio_sid: str, environ: dict[str, Any], *args: Any) -> Any:
        """Start counting for a new connection, then let Socket.IO have it."""
        now = self._clock()
        self._clients[eio_sid] = _Client(client_address(environ, self.limits),
                                         float(self.limits.event_burst), now)
        return self._connect(eio_sid, environ, *args)

    def on_disconnect(self, eio_sid: str, *args: Any) -> Any:
        """Forget the connection, then let Socket.IO know."""
        self._clients.pop(eio_sid, None)
        return self._disconnect(eio_sid, *args)

    def on_message(self, eio_sid: str, data: str | bytes) -> None:
        """Check one message against the limits; pass it on or drop it."""
        client = self._clients.get(eio_sid)
        if client is None or client.closed:
            return  # disconnected by us: what is still in flight goes nowhere
        try:
            if self._admit(eio_sid, client, data):
                self._message(eio_sid, data)
        except Exception as error:  # a message Socket.IO cannot decode
            self._notes.note(client.address, "bad message", "dropped a malformed Socket.IO "
                             "message from %s: %s", client.address, _brief(error))
        finally:
            self._socketio.sleep(0)  # let the other clients, and the poller, run

    def _admit(self, eio_sid: str, client: _Client, data: str | bytes) -> bool:
        if isinstance(data, bytes):
            return self._attachment(eio_sid, client, data)
        # attachments are announced by their event and bounded in number and bytes
        header = BINARY_HEADER.match(data)
        announced = int(header.group(1)) if header else 0
        if announced > self.limits.max_event_attachments:
            self._abuse(eio_sid, client, f"announced {announced} binary attachments "
                        f"(server.max_event_attachments is {self.limits.max_event_attachments})")
            return False
        admitted = self._take(client, 1 + len(data) // 1024)
        # a dropped binary event's attachments are dropped with it, uncounted and unkept
        client.attachments, client.held, client.dropping = announced, len(data), not admitted
        if not admitted:
            self._drop(eio_sid, client)
        return admitted

    def _attachment(self, eio_sid: str, client: _Client, data: bytes) -> bool:
        if client.attachments <= 0:  # no event announced it: dropped, and it counts
            self._drop(eio_sid, client)
            return False
        client.attachments -= 1
        if client.dropping:
            return False
        client.held += len(data)
        client.tokens -= len(data) // 1024  # paid after the fact: later messages wait
        if client.held > self.limits.max_event_bytes:
            self._abuse(eio_sid, client, f"sent more than {self.limits.max_event_bytes} bytes "
                        "in one event (server.max_event_bytes)")
            return False
        return True

    def _take(self, client: _Client, cost: int) -> bool:
        """Take ``cost`` tokens from the client's bucket (refilled at ``event_rate``)."""
        now = self._clock()
        client.tokens = min(float(self.limits.event_burst),
                            client.tokens + (now - client.refilled) * self.limits.event_rate)
        client.refilled = now
        if client.tokens < cost:
            return False
        client.tokens -= cost
        return True

    def _drop(self, eio_sid: str, client: _Client) -> None:
        now = self._clock()
        self.dropped += 1
        client.dropped.append(now)
        while client.dropped and now - client.dropped[0] > LOG_EVERY:
            client.dropped.pop(0)
        if len(client.dropped) > self.limits.event_burst:
            self._abuse(eio_sid, client, f"kept sending over the limit of "
                        f"{self.limits.event_rate:g} events a second (server.event_rate)")
            return
        self._notes.note(client.address, "events", "dropping events from %s: over %g a "
                         "second (server.event_rate)", client.address, self.limits.event_rate)

    def _abuse(self, eio_sid: str, client: _Client, why: str) -> None:
        """Disconnect a client that keeps breaking a limit."""
        client.closed = True
        self.disconnected += 1
        self._notes.note(client.address, "disconnect", "disconnected %s: %s", client.address,
                         why)
        self._eio.disconnect(eio_sid)


def _brief(error: BaseException) -> str:
    """One line about an error, never a traceback."""
    text = str(error).splitlines()[0][:120] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
