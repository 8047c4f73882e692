"""Fake sysv_ipc: the message queues between Blinka's PulseIn and its helper process.

A queue removed while someone waits in ``receive(block=True)`` wakes them with
ExistentialError, as msgrcv's EIDRM does; that is the only way out of a read whose
helper died. ``fakehw.world.installed`` without "sysv_ipc" makes the import fail.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import fakehw

if "sysv_ipc" not in fakehw.world.installed:
    raise ModuleNotFoundError("No module named 'sysv_ipc'", name="sysv_ipc")

IPC_CREX = 0o3000


class ExistentialError(Exception):
    """The queue does not exist (any more)."""


class BusyError(Exception):
    """Nothing to receive without blocking."""


class MessageQueue:
    """One queue: typed messages, blocking receive."""

    _next_key = 1000

    def __init__(self, key: Any = None, flags: int = 0) -> None:
        MessageQueue._next_key += 1
        self.key = MessageQueue._next_key
        self._messages: deque[tuple[bytes, int]] = deque()
        self._removed = False
        self._changed = fakehw.real_condition()

    def send(self, message: Any, block: bool = True, type: int = 1) -> None:
        """Queue a message of a type."""
        with self._changed:
            if self._removed:
                raise ExistentialError("The queue no longer exists")
            data = message.encode() if isinstance(message, str) else bytes(message)
            self._messages.append((data, type))
            self._changed.notify_all()

    def receive(self, block: bool = True, type: int = 0) -> tuple[bytes, int]:
        """The oldest message of a type; blocks (forever) until one comes or the queue goes."""
        with self._changed:
            while True:
                if self._removed:
                    raise ExistentialError("The queue no longer exists")
                for item in self._messages:
                    if type in (0, item[1]):
                        self._messages.remove(item)
                        return item
                if not block:
                    raise BusyError("No available messages of the specified type")
                self._changed.wait()

    def remove(self) -> None:
        """Delete the queue; wakes every blocked receive."""
        with self._changed:
            if self._removed:
                raise ExistentialError("The queue no longer exists")
            self._removed = True
            self._changed.notify_all()
