"""Per-client limits on history and export, and the bound on web queries running at once.

A history answer of 10,000 points or a CSV export costs real CPU and SQLite time on a
Pi. Limits are counted per client address and per user, never per socket: opening
more sockets (or tabs) gets a device nothing more. Every query runs off the event
loop through one gate of ``web_queries`` slots, so web work can never take every
worker thread (eventlet's tpool is shared with the sensor reads) nor every core:
the poller reads a sensor that is due on time, whatever the web side does.

A client behind a reverse proxy listed in ``server.trusted_proxies`` is known by the
last address the proxy added to X-Forwarded-For.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from sensorhub.config.limits import Limits
from sensorhub.rights import Principal
from sensorhub.runtime import Runtime, gate, real_lock
from sensorhub.web import security

log = logging.getLogger(__name__)

T = TypeVar("T")
WINDOW = 10.0  # seconds over which history requests are counted
POINTS_PER_REQUEST = 1000  # a history answer of more points counts as several requests
QUERY_WAIT = 10.0  # seconds a request waits for a free query slot before "busy"
LOG_EVERY = 60.0  # one log line per client and kind of trouble a minute


class LimitError(Exception):
    """Over a limit: the request is refused (HTTP 429 or 503, a socket error answer)."""

    def __init__(self, message: str, status: int = 429, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class Budget:
    """Units a key may spend in any ``window`` seconds (a sliding window)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._spent: dict[str, deque[tuple[float, int]]] = {}
        self._lock = real_lock()

    def wait(self, key: str, cost: int) -> float:
        """Seconds until ``key`` may spend ``cost`` units (0: it may now)."""
        now = self._clock()
        with self._lock:
            spent = self._spent.get(key)
            while spent and now - spent[0][0] >= self.window:
                spent.popleft()
            if not spent:
                self._spent.pop(key, None)
                return 0.0 if cost <= self.limit else self.window
            if sum(c for _t, c in spent) + cost <= self.limit:
                return 0.0
            return max(0.01, self.window - (now - spent[0][0]))

    def spend(self, key: str, cost: int) -> None:
        """Record ``cost`` units spent by ``key`` now."""
        now = self._clock()
        with self._lock:
            self._spent.setdefault(key, deque()).append((now, cost))
            if len(self._spent) > 10_000:  # a spray of addresses must not grow this forever
                for stale in [k for k, v in self._spent.items()
                              if not v or now - v[-1][0] >= self.window]:
                    del self._spent[stale]


class MinuteLog:
    """At most one log line per client and kind of trouble a minute, counting the rest."""

    def __init__(self, logger: logging.Logger, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self._log = logger
        self._clock = clock
        self._seen: dict[tuple[str, str], list[float]] = {}  # -> [logged at, since then]
        self._lock = real_lock()

    def note(self, client: str, kind: str, message: str, *args: Any) -> None:
        """Log ``message`` unless this client's ``kind`` was logged in the last minute."""
        now = self._clock()
        with self._lock:
            entry = self._seen.get((client, kind))
            if entry is not None and now - entry[0] < LOG_EVERY:
                entry[1] += 1
                return
            more = int(entry[1]) if entry is not None else 0
            self._seen[(client, kind)] = [now, 0]
            if len(self._seen) > 10_000:  # a spray of addresses must not grow this forever
                for key in [k for k, v in self._seen.items() if now - v[0] >= LOG_EVERY]:
                    del self._seen[key]
        suffix = f" (and {more} more like it in the minute before)" if more else ""
        self._log.warning(message + suffix, *args)


def client_address(environ: Mapping[str, Any], limits: Limits) -> str:
    """The address a request comes from, seen through a trusted reverse proxy."""
    return security.client_address(environ.get("REMOTE_ADDR"),
                                   environ.get("HTTP_X_FORWARDED_FOR"), limits.trusted_proxies)


class WebLimits:
    """History and export limits per client address and per user; the query gate."""

    def __init__(self, limits: Limits, runtime: Runtime,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._runtime = runtime
        self._history_by_client = Budget(limits.history_limit, WINDOW, clock)
        self._history_by_user = Budget(limits.history_limit_per_user, WINDOW, clock)
        self._gate = gate(limits.web_queries)
        self._exports: dict[str, int] = {}
        self._lock = real_lock()
        self.log = MinuteLog(log, clock)
        self.refused = 0

    def history(self, client: str, principal: Principal, points: int = 0) -> None:
        """Count a history request; raise LimitError if this client or user is over.

        An answer of more than 1,000 points counts once per 1,000 (a maximal answer
        costs ten times a dashboard's): the limit bounds the work, not the requests.
        """
        cost = max(1, math.ceil(points / POINTS_PER_REQUEST))
        user = None if principal.anonymous else f"user:{principal.name}"
        wait = max(self._history_by_client.wait(client, cost),
                   self._history_by_user.wait(user, cost) if user else 0.0)
        if wait == 0:
            self._history_by_client.spend(client, cost)
            if user:
                self._history_by_user.spend(user, cost)
            return
        self.refused += 1
        self.log.note(client, "history", "history requests from %s%s over the limit "
                      "(server.history_limit); refusing for %.0f s", client,
                      f" ({principal.name})" if user else "", wait)
        raise LimitError("too many requests", 429, wait)

    def query(self, fn: Callable[[], T]) -> T:
        """Run a blocking query off the event loop, at most ``web_queries`` at once."""
        if not self._gate.acquire(timeout=QUERY_WAIT):
            raise LimitError("server busy, try again", 503, QUERY_WAIT)
        try:
            return self._runtime.run_blocking(fn)
        finally:
            self._gate.release()

    def check_export(self, client: str, principal: Principal) -> None:
        """Raise LimitError if this client or user already runs ``exports_at_once``."""
        with self._lock:
            busy = any(self._exports.get(k, 0) >= self.limits.exports_at_once
                       for k in _keys(client, principal))
        if busy:
            self.refused += 1
            self.log.note(client, "export", "exports from %s over the limit "
                          "(server.exports_at_once); refusing", client)
            raise LimitError("too many exports at once", 429, 5.0)

    @contextlib.contextmanager
    def exporting(self, client: str, principal: Principal) -> Iterator[None]:
        """Count an export as running for as long as it streams."""
        keys = _keys(client, principal)
        with self._lock:
            for key in keys:
                self._exports[key] = self._exports.get(key, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                for key in keys:
                    left = self._exports.get(key, 1) - 1
                    if left > 0:
                        self._exports[key] = left
                    else:
                        self._exports.pop(key, None)


def _keys(client: str, principal: Principal) -> list[str]:
    """What an export counts against: the address, and the user if someone logged in."""
    return [client] + ([] if principal.anonymous else [f"user:{principal.name}"])
