"""Hand alert events to a channel from a task of their own, with retries and backoff.

The engine never waits for a receiver: ``send`` queues the event and returns. The
task delivers events in order, off the event loop, each with the channel's timeout;
a failed delivery is retried with exponential backoff up to the channel's retries.
The queue is bounded (the oldest event is dropped once it is full).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from sensorhub.alerts.channels import Channel
from sensorhub.runtime import Runtime

log = logging.getLogger(__name__)

QUEUE = 200


class Dispatcher:
    """The delivery task of one channel."""

    def __init__(self, channel: Channel, runtime: Runtime, queue: int = QUEUE) -> None:
        self.channel = channel
        self.runtime = runtime
        self._queue: deque[dict[str, Any]] = deque(maxlen=queue)
        self._wake = runtime.event()
        self._stopping = False
        self.sent = 0
        self.failed = 0

    def start(self) -> None:
        """Start the delivery task."""
        self.runtime.spawn(self._loop)

    def stop(self) -> None:
        """Let the task end."""
        self._stopping = True
        self._wake.set()

    def send(self, event: dict[str, Any]) -> None:
        """Queue one event (never blocks; the oldest is dropped when the queue is full)."""
        self._queue.append(event)
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.wait(5.0)
            self._wake.clear()
            while self._queue and not self._stopping:
                self._deliver(self._queue.popleft())

    def _deliver(self, event: dict[str, Any]) -> None:
        channel = self.channel
        for attempt in range(channel.retries + 1):
            try:
                self.runtime.run_blocking(lambda: channel.deliver(event),
                                          timeout=channel.timeout + 1)
                self.sent += 1
                return
            except Exception as error:
                if attempt == channel.retries:
                    self.failed += 1
                    log.error("%s failed after %d tries: %s", channel.name, attempt + 1, error)
                    return
                self.runtime.sleep(min(30.0, 2.0 ** attempt))
