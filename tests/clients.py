"""Real Socket.IO clients for the tests, and what they read of the server process."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from pathlib import Path
from typing import Any

import socketio

from tests.conftest import LiveServer


def thread_count(pid: int) -> int:
    """Threads of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads: line")


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS: line")


class Watcher:
    """A real python-socketio client that records every event it receives, in order."""

    def __init__(self, server: LiveServer, *, auth: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, wait: float = 15.0) -> None:
        self.client = socketio.Client(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.arrivals: list[tuple[str, float]] = []  # (event, time.monotonic()) as received
        self.lock = threading.Lock()
        self.snapshot = threading.Event()

        @self.client.on("*")
        def catch_all(event: str, data: Any = None) -> None:
            with self.lock:
                self.events.append((event, data))
                self.arrivals.append((event, time.monotonic()))
            if event == "snapshot":
                self.snapshot.set()

        self.client.connect(server.url, auth=auth, headers=headers or {},
                            transports=["websocket"], wait_timeout=wait)
        assert self.snapshot.wait(wait), "no snapshot after connect"

    def of(self, event: str) -> list[Any]:
        """Payloads received for one event, in order."""
        with self.lock:
            return [d for e, d in self.events if e == event]

    def arrived(self, event: str) -> list[float]:
        """When each ``event`` arrived (time.monotonic()), in order."""
        with self.lock:
            return [t for e, t in self.arrivals if e == event]

    def close(self) -> None:
        """Disconnect politely (never raises), without waiting for the close handshake.

        The client sends Engine.IO's close packet and a websocket close frame, and then
        websocket-client waits up to 3 s for the server's close frame. Its own reader
        thread has usually taken that frame already; an eventlet server drops the TCP
        connection at once, which ends the wait, but a threading (werkzeug) one keeps it
        open, so every close cost the full 3 s there. The server has had both goodbyes
        by then: 0.2 s is enough.
        """
        close_socket(self.client)


def close_socket(client: socketio.Client) -> None:
    """Disconnect a python-socketio client and close its websocket (see Watcher.close).

    When the server ended the connection (a kick, a restart, a kill), python-engineio's
    reader stops but leaves the websocket's TCP socket open, and disconnect() then has
    nothing to close: the socket would wait for the garbage collector (ResourceWarning).
    """
    ws = getattr(client.eio, "ws", None)
    if ws is not None:
        ws.close = functools.partial(ws.close, timeout=0.2)
    with contextlib.suppress(Exception):  # the server may already be gone
        client.disconnect()
    if ws is not None:
        ws.shutdown()  # no-op once closed


def close_all(watchers: list[Watcher]) -> None:
    """Disconnect in parallel (each close may wait 0.2 s for the handshake)."""
    closers = [threading.Thread(target=w.close) for w in watchers]
    for t in closers:
        t.start()
    for t in closers:
        t.join(10)
