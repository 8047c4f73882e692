"""The two WSGI servers ``sensorhub run`` can use, both behind the connection guard.

Each takes a listening socket opened by sensorhub.service.instance.listen and
returns ``(close, run)``: ``run`` serves until ``close`` is called. Neither ever
sends a traceback to a client (eventlet's ``debug`` defaults to True and would).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sensorhub.service.guard import ConnectionGuard

log = logging.getLogger("sensorhub.service.wsgi")

#: the last line of a traceback eventlet logs when a client went away mid-response
GONE = ("BrokenPipeError", "ConnectionResetError", "TimeoutError", "socket.timeout",
        "timed out")


class EventletLog:
    """What eventlet's WSGI server logs, sorted: a client that left is not an error.

    eventlet logs every exception during a response (a client that stopped reading
    and hit ``send_timeout``, a reset connection) as a full traceback at INFO.
    """

    def debug(self, message: str, *args: Any) -> None:
        """Chatter (accepted, timed out): debug."""
        log.debug(message, *args)

    def info(self, message: str, *args: Any) -> None:
        """A traceback is a client gone (one debug line) or a real failure (error)."""
        if not message.startswith("Traceback"):
            log.debug(message, *args)
            return
        last = message.rstrip().splitlines()[-1]
        if any(last.startswith(name) or name in last for name in GONE):
            log.debug("client went away mid-response: %s", last)
        else:
            log.error("failed while sending a response:\n%s", message)

    def error(self, message: str, *args: Any) -> None:
        """Errors stay errors."""
        log.error(message, *args)

    warning = error


class _GuardedListener:
    """The listening socket as eventlet's accept loop sees it: admission first."""

    def __init__(self, sock: Any, guard: ConnectionGuard) -> None:
        self._sock = sock
        self._guard = guard

    def accept(self) -> tuple[Any, Any]:
        """The next connection the guard admits (refused ones are closed at once)."""
        while True:
            conn, address = self._sock.accept()
            if self._guard.admit(conn, address):
                return conn, address
            conn.close()

    def __getattr__(self, name: str) -> Any:  # getsockname, family, close
        return getattr(self._sock, name)


def eventlet_server(app: Callable[..., Any], sock: Any, guard: ConnectionGuard
                    ) -> tuple[Callable[[], None], Callable[[], None]]:
    """eventlet's WSGI server; its pool has room for every connection the guard admits."""
    import eventlet.wsgi

    def run() -> None:
        eventlet.wsgi.server(_GuardedListener(sock, guard), guard.wrap(app), log_output=False,
                             log=EventletLog(), debug=False,
                             max_size=2 * guard.limits.max_connections)

    return sock.close, run


def threading_server(app: Callable[..., Any], sock: Any, guard: ConnectionGuard
                     ) -> tuple[Callable[[], None], Callable[[], None]]:
    """werkzeug's threaded server (one thread per connection) with admission first."""
    from werkzeug.serving import ThreadedWSGIServer

    class GuardedServer(ThreadedWSGIServer):
        def verify_request(self, request: Any, client_address: Any) -> bool:
            return guard.admit(request, client_address)

    host, port = sock.getsockname()[:2]
    server = GuardedServer(host, port, guard.wrap(app), fd=sock.fileno())
    sock.close()  # werkzeug listens on its own duplicate of the socket

    def close() -> None:
        server.shutdown()
        server.server_close()

    return close, server.serve_forever
