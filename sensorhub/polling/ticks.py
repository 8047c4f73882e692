"""Which sensors are due at each instant, so the poller can tell when a tick is over.

Sensors on the same interval (and intervals that meet, such as 1 s and 2 s) are due
at the same instant of the poller's schedule: a tick. Each sensor loop says which
instant it waits for next (``expect``) and when it has finished polling for it
(``done``); when the last sensor due at an instant is done, ``on_tick`` runs. By
then every reading taken in that tick has reached the sinks, so a sink that groups
readings (the broadcaster's ``readings`` batches) can send them at once instead of
guessing with a fixed window.

A sensor that fails, hangs or is late still reports ``done`` for the instant it
expected (after its read timeout, at worst), so a tick never waits for a reading
that will not come longer than the read takes; sinks bound their own wait as well.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sensorhub.runtime import real_lock

log = logging.getLogger(__name__)


def instant_key(due: float) -> int:
    """An instant of the schedule to the millisecond.

    Slots of different intervals may meet in theory and miss in the last bit of a
    float: 0.1 * 3 is not 0.3.
    """
    return round(due * 1000)


class Ticks:
    """The sensors still due at each instant of the schedule."""

    def __init__(self, on_tick: Callable[[], None] | None = None) -> None:
        self._on_tick = on_tick
        self._due: dict[int, set[str]] = {}  # instant -> sensors not done with it yet
        self._lock = real_lock()  # sensor loops are threads in threading mode

    def expect(self, sensor_id: str, due: float) -> int:
        """Note that a sensor will poll at instant ``due``; the key to pass to ``done``."""
        key = instant_key(due)
        with self._lock:
            self._due.setdefault(key, set()).add(sensor_id)
        return key

    def done(self, sensor_id: str, key: int) -> None:
        """A sensor finished polling for an instant; end the tick if it was the last."""
        with self._lock:
            waiting = self._due.get(key)
            if waiting is None:
                return
            waiting.discard(sensor_id)
            if waiting:
                return
            del self._due[key]
        self._end_tick()

    def forget(self, sensor_id: str) -> None:
        """A sensor's loop ended for good (a reload removed it): no instant waits for it
        any more, and one it was the last to be due at ends now."""
        with self._lock:
            ended = 0
            for key, waiting in list(self._due.items()):
                if sensor_id in waiting:
                    waiting.discard(sensor_id)
                    if not waiting:
                        del self._due[key]
                        ended += 1
        if ended:
            self._end_tick()

    def _end_tick(self) -> None:
        if self._on_tick is None:
            return
        try:
            self._on_tick()
        except Exception:  # a sink's bug must not end a sensor's loop
            log.exception("tick listener failed")

    def pending(self) -> dict[int, frozenset[str]]:
        """Instants not over yet, and who is still due at each (for tests and debugging)."""
        with self._lock:
            return {key: frozenset(ids) for key, ids in self._due.items()}
