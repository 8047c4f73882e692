"""Who may hold a connection to the server, and for how long, in both async modes.

Left alone, either WSGI server keeps a connection that sends nothing forever, and
eventlet's stops accepting at 1024 of them: a device that opens that many locks
everyone else out. The guard sees every connection the moment it is accepted and
every request the moment its headers are complete:

- a connection that has not sent a complete request within ``request_timeout`` of
  connecting (or of its last answer) is shut down, however slowly it trickles bytes;
- each client address may hold ``max_connections_per_client``, and the server
  ``max_connections`` in all; at a cap the oldest *idle* connection (the client's
  own first) makes room, so a flood of idle sockets cannot keep a real request out;
  with nothing idle to drop, the new connection is refused;
- a response that the client stops reading is abandoned after ``send_timeout``
  (a socket timeout while a request is answered; websockets have none).

Connections are only ever ``shutdown()`` from here: the server's own task for the
connection sees the end, and closes it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sensorhub.config.limits import Limits
from sensorhub.runtime import Event, real_lock

log = logging.getLogger(__name__)

LOG_EVERY = 60.0  # seconds between two log lines about the same limit and client
Key = tuple[str, int]  # (client address, client port): one TCP connection


@dataclass
class _Conn:
    key: Key
    sock: Any
    idle_since: float | None  # None while a request is being answered

    @property
    def client(self) -> str:
        return self.key[0]


class ConnectionGuard:
    """Admission, idle and send limits for the connections of one server."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = real_lock()  # the server's accept loop, request tasks and the reaper
        self._conns: dict[Key, _Conn] = {}
        self._logged: dict[str, float] = {}
        self.refused = self.dropped = 0

    def __len__(self) -> int:
        return len(self._conns)

    # -- accepting ---------------------------------------------------------------------
    def admit(self, sock: Any, address: Any) -> bool:
        """Register a new connection, dropping an idle one to make room; False: refuse it."""
        key = (str(address[0]), int(address[1]))
        client = key[0]
        victims: list[tuple[_Conn, str]] = []
        with self._lock:
            if not self._trusted(client):
                mine = [c for c in self._conns.values() if c.client == client]
                if len(mine) >= self.limits.max_connections_per_client:
                    room, victim = self._make_room(mine, self.limits.max_connections_per_client)
                    if not room:
                        return self._refuse(client, "per client")
                    victims += [(victim, "per client")] if victim else []
            if len(self._conns) >= self.limits.max_connections:
                room, victim = self._make_room(list(self._conns.values()),
                                               self.limits.max_connections)
                if not room:
                    return self._refuse(client, "in all")
                victims += [(victim, "in all")] if victim else []
            self._conns[key] = _Conn(key, sock, self._clock())
        for victim, which in victims:
            self._note(victim.client, which, "dropping the oldest idle connection to make room")
            _shut(victim.sock)
        return True

    def _make_room(self, among: list[_Conn], cap: int) -> tuple[bool, _Conn | None]:
        """Make room for one more among ``among`` (at ``cap``): (room?, who must go).

        Closed connections are forgotten first; if that is not enough, the oldest idle
        one is forgotten and returned for the caller to shut. No room: all are busy.
        """
        alive = []
        for conn in among:
            if _closed(conn.sock):
                self._conns.pop(conn.key, None)
            else:
                alive.append(conn)
        if len(alive) < cap:
            return True, None
        idle = [c for c in alive if c.idle_since is not None]
        if not idle:
            return False, None
        victim = min(idle, key=lambda c: c.idle_since or 0.0)
        self._conns.pop(victim.key, None)
        self.dropped += 1
        return True, victim

    def _refuse(self, client: str, which: str) -> bool:
        self.refused += 1
        self._note(client, which, "refusing new connections")
        return False

    def _note(self, client: str, which: str, doing: str) -> None:
        key = f"{which}:{client}" if which == "per client" else which
        now = self._clock()
        if now - self._logged.get(key, -LOG_EVERY) < LOG_EVERY:
            return
        self._logged[key] = now
        if which == "per client":
            log.warning("connection limit per client reached: %s has %d open "
                        "(server.max_connections_per_client); %s", client,
                        self.limits.max_connections_per_client, doing)
        else:
            log.warning("connection limit reached: %d open (server.max_connections); %s",
                        self.limits.max_connections, doing)

    def _trusted(self, client: str) -> bool:
        """A trusted reverse proxy carries many clients: only the total cap applies."""
        if not self.limits.trusted_proxies:
            return False
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in net for net in self.limits.trusted_proxies)

    # -- requests ----------------------------------------------------------------------
    def wrap(self, app: Callable[..., Any]) -> Callable[..., Any]:
        """WSGI middleware that marks a connection busy while its request is answered."""
        def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            key = (str(environ.get("REMOTE_ADDR", "")), int(environ.get("REMOTE_PORT") or 0))
            websocket = environ.get("HTTP_UPGRADE", "").lower() == "websocket"
            self._busy(key, websocket)
            try:
                result = app(environ, start_response)
            except BaseException:
                self._idle(key)
                raise
            finishing = _SizedFinishing if hasattr(result, "__len__") else _Finishing
            return finishing(result, lambda: self._idle(key))

        return guarded

    def _busy(self, key: Key, websocket: bool) -> None:
        with self._lock:
            conn = self._conns.get(key)
            if conn is None:
                return
            conn.idle_since = None
        # a websocket may be quiet for a long time; a response must keep moving
        with contextlib.suppress(OSError):
            conn.sock.settimeout(None if websocket else self.limits.send_timeout)

    def _idle(self, key: Key) -> None:
        with self._lock:
            conn = self._conns.get(key)
            if conn is not None:
                conn.idle_since = self._clock()

    # -- the reaper --------------------------------------------------------------------
    def reap(self) -> int:
        """Shut connections idle longer than ``request_timeout``; forget closed ones."""
        now = self._clock()
        with self._lock:
            closed = [k for k, c in self._conns.items() if _closed(c.sock)]
            for key in closed:
                del self._conns[key]
            late = [(k, c) for k, c in self._conns.items() if c.idle_since is not None
                    and now - c.idle_since > self.limits.request_timeout]
            for key, _conn in late:
                del self._conns[key]
        for _key, conn in late:
            _shut(conn.sock)
        return len(late)

    def run(self, stop: Event) -> None:
        """Reap every half second until ``stop`` is set."""
        while not stop.wait(0.5):
            try:
                self.reap()
            except Exception:  # a bug here must not end the reaping
                log.exception("connection reaper failed")


class _Finishing:
    """A response iterable that tells the guard when the response is over."""

    def __init__(self, result: Iterable[bytes], done: Callable[[], None]) -> None:
        self._result = result
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._result)

    def close(self) -> None:
        """Close the response, then mark the connection idle again."""
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            self._done()


class _SizedFinishing(_Finishing):
    """The same for a finished body: eventlet sets Content-Length from its length.

    Only a body that has a length may say so: for a generator eventlet would
    consume it to measure it.
    """

    def __len__(self) -> int:
        return len(self._result)  # type: ignore[arg-type]


def _closed(sock: Any) -> bool:
    try:
        return sock.fileno() == -1
    except (OSError, ValueError):
        return True


def _shut(sock: Any) -> None:
    """End a connection from outside its task: its reads see EOF, its writes fail."""
    with contextlib.suppress(OSError, ValueError):
        sock.shutdown(socket.SHUT_RDWR)
