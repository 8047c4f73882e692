"""Hostile clients for the limit tests: raw sockets and raw websockets on 127.0.0.1.

Floods are sent without a Socket.IO client library in between (it would pace, batch
or refuse what a hostile device sends), always bounded in count and in time.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import resource
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import websocket

from tests.conftest import LiveServer


def raise_open_files(wanted: int) -> None:
    """Let this test process hold ``wanted`` sockets (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def open_idle(port: int, count: int, seconds: float) -> list[socket.socket]:
    """Open up to ``count`` TCP connections that never send a byte, for at most ``seconds``."""
    held: list[socket.socket] = []
    deadline = time.monotonic() + seconds
    while len(held) < count and time.monotonic() < deadline:
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=1.0))
        except OSError:
            continue  # backlog full for a moment, or refused: try again until the deadline
    return held


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed (or reset) this idle connection."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def max_gap(times: Iterable[float]) -> float:
    """The longest interval between consecutive times (0 for fewer than two)."""
    ordered = sorted(times)
    return max((b - a for a, b in itertools.pairwise(ordered)), default=0.0)


def stored_times(db: Path, sensor: str, since: float, until: float) -> list[float]:
    """Epoch times of a sensor's stored readings in [since, until] (server stopped)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return [ts / 1000 for (ts,) in conn.execute(
            "SELECT ts FROM readings r JOIN sensor_ids s ON s.id = r.sensor "
            "WHERE s.name = ? AND ts BETWEEN ? AND ? ORDER BY ts",
            (sensor, since * 1000, until * 1000))]


def server_fds(pid: int) -> int:
    """Open file descriptors of a process."""
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


class RawSocketIO:
    """Engine.IO v4 / Socket.IO v5 spoken by hand over one websocket.

    Connects to the default namespace (anonymously unless ``auth`` is given) and
    can then send anything: text packets, binary frames, floods.
    """

    def __init__(self, server: LiveServer, auth: dict[str, Any] | None = None,
                 timeout: float = 15.0) -> None:
        url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(url, timeout=timeout)
        opening = self.ws.recv()
        assert opening.startswith("0{"), opening
        self.ws.send("40" + (json.dumps(auth) if auth else ""))
        self.read_until('42["snapshot"')
        self.received = 0
        self.acks = 0  # answers to our requests among what was received
        self.closed = threading.Event()

    def read_until(self, prefix: str, limit: int = 1000) -> str:
        """Read packets (answering pings) until one starts with ``prefix``."""
        for _ in range(limit):
            packet = self.ws.recv()
            if packet == "2":
                self.ws.send("3")
            elif isinstance(packet, str) and packet.startswith("44"):
                raise AssertionError(f"connection refused: {packet}")
            elif isinstance(packet, str) and packet.startswith(prefix):
                return packet
        raise AssertionError(f"no {prefix} in {limit} packets")

    def drain_in_background(self, raw: bool = False) -> threading.Thread:
        """Read (and discard) everything the server sends until it closes the socket.

        ``raw``: bytes straight off the TCP socket, no websocket parsing (cheap for
        this test process: the server's answers are what is measured); ``received``
        then counts bytes and nothing answers the server's pings.
        """
        def drain_raw() -> None:
            try:
                while chunk := self.ws.sock.recv(1 << 20):
                    self.received += len(chunk)
            except OSError:
                pass
            finally:
                self.closed.set()

        def drain() -> None:
            try:
                while True:
                    packet = self.ws.recv()
                    if packet == "":
                        break
                    if packet == "2":
                        self.ws.send("3")
                    self.received += 1
                    self.acks += isinstance(packet, str) and packet.startswith("43")
            except (OSError, websocket.WebSocketException):
                pass
            finally:
                self.closed.set()

        thread = threading.Thread(target=drain_raw if raw else drain, daemon=True)
        thread.start()
        return thread

    def flood(self, packets: Iterable[str | bytes], seconds: float) -> int:
        """Send packets as fast as the server takes them, for at most ``seconds``.

        Returns how many went out; stops early when the server closes the socket.
        """
        sent = 0
        deadline = time.monotonic() + seconds
        self.ws.sock.settimeout(max(0.5, seconds))
        try:
            for packet in packets:
                if time.monotonic() > deadline or self.closed.is_set():
                    break
                if isinstance(packet, bytes):
                    self.ws.send_binary(packet)
                else:
                    self.ws.send(packet)
                sent += 1
        except (OSError, websocket.WebSocketException):
            pass  # the server closed the connection: what a limit does
        return sent

    def close(self) -> None:
        """Drop the connection (never raises)."""
        with contextlib.suppress(OSError, websocket.WebSocketException):
            self.ws.close(timeout=1)
        # close() does nothing once websocket-client thinks the connection is gone
        # (the server cut it off), and the TCP socket would wait for the GC
        with contextlib.suppress(OSError):
            self.ws.shutdown()
