"""Real Socket.IO clients for the tests, and what they read of the server process."""

from __future__ import annotations

import contextlib
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
        """Disconnect (never raises)."""
        with contextlib.suppress(Exception):  # the server may already be gone
            self.client.disconnect()


def close_all(watchers: list[Watcher]) -> None:
    """Disconnect in parallel: a threading-mode server takes seconds per websocket."""
    closers = [threading.Thread(target=w.close) for w in watchers]
    for t in closers:
        t.start()
    for t in closers:
        t.join(10)
