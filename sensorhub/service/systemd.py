"""sd_notify over NOTIFY_SOCKET (a few lines, no dependency), and the poller watchdog.

Both are no-ops when not started by systemd.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)


def notify(message: str) -> bool:
    """Send one sd_notify message (READY=1, WATCHDOG=1, STOPPING=1, STATUS=...)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as error:
        log.warning("sd_notify(%s) failed: %s", message.split("=")[0], error)
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings systemd expects (None: no watchdog)."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1e6
    except ValueError:
        return None


def allowances(sensors: Iterable[Any]) -> list[tuple[str, float]]:
    """(id, seconds its loop may go without cycling): interval, two timeouts, 10 s slack."""
    return [(s.id, s.interval + 2 * s.timeout + 10.0) for s in sensors]


class PollerWatchdog:
    """Pings systemd's watchdog only while every sensor loop keeps cycling.

    Called from the poller's loops (never from a timer of its own), so a stuck event
    loop or a dead sensor loop stops the pings and systemd restarts the service.
    """

    def __init__(self, sensors: Iterable[tuple[str, float]], interval: float,
                 send: Callable[[str], bool] = notify,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._mono = monotonic
        now = monotonic()
        # sensor -> [seconds its loop may go without cycling, when it last cycled];
        # replaced whole by track(), so a loop beating meanwhile sees one map or the other
        self._loops = {sid: [allowed, now] for sid, allowed in sensors}
        self._every = interval / 3
        self._last_ping = 0.0
        self._send = send
        self.pings = 0

    def track(self, sensors: Iterable[tuple[str, float]]) -> None:
        """Watch these loops from now on (a reload added or removed sensors)."""
        now, old = self._mono(), self._loops
        self._loops = {sid: [allowed, old[sid][1] if sid in old else now]
                       for sid, allowed in sensors}

    @property
    def idle(self) -> bool:
        """Whether no loop is watched (nothing polled: something else must ping)."""
        return not self._loops

    def beat(self, sensor_id: str) -> None:
        """One loop cycled; ping if every loop is alive and a ping is due."""
        now, loops = self._mono(), self._loops
        if sensor_id not in loops:
            return  # a loop a reload just stopped, cycling one last time
        loops[sensor_id][1] = now
        if now - self._last_ping < self._every:
            return
        stale = [s for s, (allowed, last) in loops.items() if now - last > allowed]
        if stale:
            log.warning("watchdog not pinged: sensor loops stalled: %s", ", ".join(stale))
            return
        self._last_ping = now
        if self._send("WATCHDOG=1"):
            self.pings += 1
