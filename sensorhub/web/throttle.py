"""What stands between a login form and the password hash: a throttle and a gate.

A password check is scrypt: 32 MiB of memory and 0.1 to 0.5 s of CPU a time on a Pi.

* ``LoginThrottle`` counts attempts per (user name, client address) *when they
  start*, before their hash runs, so a burst of simultaneous guesses gets the free
  attempts and 429 for the rest. The first ``FREE_ATTEMPTS`` cost nothing; after
  that each attempt waits ``BASE_DELAY`` seconds, doubling per failure up to
  ``MAX_DELAY``. There is no hard lock, and a stranger's failures at one address
  never slow the real user down at another.
* ``HashGate`` lets at most ``HASHES_AT_ONCE`` hashes run at once; the others wait
  up to ``HASH_WAIT`` seconds for a turn and are then told to come back. A flood of
  logins (no account needed) costs one hash's memory, not one per request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sensorhub.runtime import real_lock

T = TypeVar("T")

FREE_ATTEMPTS = 3  # failures per (user, client) before any delay
BASE_DELAY = 1.0  # seconds after the free attempts; doubles with each failure
MAX_DELAY = 300.0  # the longest wait between two attempts
FORGET_AFTER = 3600.0  # a pair quiet this long starts afresh
MAX_KEYS = 10_000  # pairs remembered at most (memory under a spray of names)
HASHES_AT_ONCE = 1  # password hashes running at the same time
HASH_WAIT = 5.0  # seconds a login waits for its turn before "busy, try again"


@dataclass
class _Attempts:
    count: int
    last: float


class LoginThrottle:
    """Growing delays per (user name, client address), counted before the hash runs."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *,
                 free: int = FREE_ATTEMPTS, base: float = BASE_DELAY,
                 cap: float = MAX_DELAY) -> None:
        self._clock = clock
        self.free, self.base, self.cap = free, base, cap
        self._pairs: dict[tuple[str, str], _Attempts] = {}
        self._lock = real_lock()  # O(1) work only, never across I/O
        self.refused = 0

    def delay(self, count: int) -> float:
        """How long to wait after ``count`` attempts before the next one."""
        return 0.0 if count < self.free else min(self.cap, self.base * 2 ** (count - self.free))

    def begin(self, user: str, client: str) -> float:
        """Count an attempt now: 0 if it may go ahead, else seconds to wait (not counted)."""
        now = self._clock()
        with self._lock:
            attempts = self._pairs.get((user, client))
            if attempts is None or now - attempts.last > FORGET_AFTER:
                self._trim(now)
                attempts = self._pairs[(user, client)] = _Attempts(0, now)
            wait = attempts.last + self.delay(attempts.count) - now
            if wait > 0:
                self.refused += 1
                return wait
            attempts.count += 1
            attempts.last = now
            return 0.0

    def failed(self, user: str, client: str) -> None:
        """The attempt was wrong: the next delay runs from now (its hash took a while)."""
        with self._lock:
            attempts = self._pairs.get((user, client))
            if attempts is not None:
                attempts.last = self._clock()

    def refund(self, user: str, client: str) -> None:
        """The attempt never reached the hash (the gate was busy): it does not count."""
        with self._lock:
            attempts = self._pairs.get((user, client))
            if attempts is not None and attempts.count > 0:
                attempts.count -= 1

    def succeeded(self, user: str, client: str) -> None:
        """The right password: this pair starts afresh."""
        with self._lock:
            self._pairs.pop((user, client), None)

    def _trim(self, now: float) -> None:
        if len(self._pairs) < MAX_KEYS:
            return
        for key in [k for k, a in self._pairs.items() if now - a.last > FORGET_AFTER]:
            del self._pairs[key]
        if len(self._pairs) >= MAX_KEYS:  # a spray of names: drop the longest quiet half
            for key in sorted(self._pairs, key=lambda k: self._pairs[k].last)[:MAX_KEYS // 2]:
                del self._pairs[key]


class BusyError(Exception):
    """No turn to hash a password came within the wait."""


class HashGate:
    """At most ``limit`` password hashes at once; callers wait up to ``wait`` s for a turn.

    Made when the app is built, after eventlet's monkey patching, so the semaphore is
    a green one in eventlet mode and a thread one in threading mode.
    """

    def __init__(self, limit: int = HASHES_AT_ONCE, wait: float = HASH_WAIT) -> None:
        self.limit, self.wait = limit, wait
        self._turns = threading.BoundedSemaphore(limit)
        self._lock = real_lock()
        self.running = 0
        self.peak = 0  # the most hashes that ever ran at once: the proof of the limit
        self.busy = 0  # logins told to come back

    def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (a password check) in a turn; BusyError if none came in time."""
        if not self._turns.acquire(timeout=self.wait):
            with self._lock:
                self.busy += 1
            raise BusyError(f"no turn within {self.wait:g} s")
        try:
            with self._lock:
                self.running += 1
                self.peak = max(self.peak, self.running)
            return fn()
        finally:
            with self._lock:
                self.running -= 1
            self._turns.release()
