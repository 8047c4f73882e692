"""One sensorhub per database, one server per port, and a clear line when not.

Two pollers on one database store every reading twice and, on a Pi, fight over the
same GPIO line. The lock is an ``flock`` on ``<database>.lock``: the kernel drops
it when the process ends, however it ends, so a crash never leaves a stale lock.
Web processes that share a message queue (docs/multinode.md) all run on one
database on purpose and take it shared; Redis elects the one that polls.

The listening socket is opened without SO_REUSEPORT (eventlet's default sets it),
so a second server on a taken port fails instead of silently sharing it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from pathlib import Path
from typing import Any

BACKLOG = 128


class StartError(RuntimeError):
    """The service cannot start; the message is the one line to show."""


class InstanceLock:
    """An flock on a file next to the database, held for the life of the process."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    def acquire(self, *, shared: bool = False) -> None:
        """Take the lock (exclusive, or shared by message-queue web processes).

        Raises StartError naming the running instance's PID when it is taken.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # owner only, as the database
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            who = f"PID {holder}" if holder.isdigit() else "web processes sharing a message queue"
            raise StartError(f"sensorhub is already running on {self.path.with_suffix('')} "
                             f"({who}); stop it first, or use another storage.path") from None
        os.ftruncate(fd, 0)  # whoever held it last is gone
        if not shared:  # shared holders are several: none of them can name itself here
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Let go (the process exiting does the same)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def bind(host: str, port: int) -> Any:
    """Claim the TCP port (not listening yet); StartError with one line if it is taken.

    SO_REUSEADDR lets a restarted server bind while old connections linger in
    TIME_WAIT; it never lets a second socket bind a port another one listens on.
    Listening starts only once the app is built (``listen``): until then a client
    is refused at once rather than left waiting in the backlog.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise StartError(f"cannot listen on {host}:{port}: {error.strerror} "
                         "(check server.host)") from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise _port_error(host, port, error) from None
    # TCP_NODELAY (Linux hands it on to accepted sockets): eventlet writes headers and
    # body separately, and Nagle's algorithm would hold the body until the client
    # ACKs the headers, which a delayed ACK puts off by 40 ms (docs/performance.md)
    with contextlib.suppress(OSError):  # not TCP: nothing to do
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def listen(sock: Any, host: str, port: int) -> None:
    """Start accepting on a bound socket (a rival that bound meanwhile fails here)."""
    try:
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        raise _port_error(host, port, error) from None


def _port_error(host: str, port: int, error: OSError) -> StartError:
    if error.errno == errno.EADDRINUSE:
        return StartError(f"cannot listen on {host}:{port}: the port is already in use by "
                          "another program; choose another with --port (or server.port)")
    return StartError(f"cannot listen on {host}:{port}: {error.strerror}")
