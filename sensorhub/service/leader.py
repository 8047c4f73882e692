"""Exactly one poller among several web processes that share a Redis.

Each process tries ``SET sensorhub:leader <token> NX PX <ttl>``; the winner polls and
renews the key every third of the TTL, the others stand by, serving pages and
sockets, and take over once the key expires. A leader that cannot renew exits
(status 1, systemd restarts it as a standby) rather than risk two pollers.
Standbys show the states the leader mirrors into Redis.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
from collections.abc import Callable
from typing import Any

from sensorhub.readings import Reading, SensorState

log = logging.getLogger(__name__)

KEY = "sensorhub:leader"
STATES = "sensorhub:states"
# compare-and-renew / compare-and-delete: only the holder may touch the lock
RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
         "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end")
RELEASE = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
           "return redis.call('del', KEYS[1]) else return 0 end")


class Leader:
    """A Redis lock with a TTL that elects the one process that polls."""

    def __init__(self, url: str, *, ttl: float = 10.0) -> None:
        import redis  # lazily: only server.message_queue needs it

        self.redis = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self.ttl = ttl
        self.token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.is_leader = False

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it."""
        return bool(self.redis.set(KEY, self.token, nx=True, px=round(self.ttl * 1000)))

    def renew(self) -> bool:
        """Extend our lock; False if it expired or someone else holds it."""
        return bool(self.redis.eval(RENEW, 1, KEY, self.token, round(self.ttl * 1000)))

    def release(self) -> None:
        """Give the lock up at once so a standby takes over without waiting for the TTL."""
        if self.is_leader:
            try:
                self.redis.eval(RELEASE, 1, KEY, self.token)
            except self.errors as error:
                log.warning("leader: cannot release the lock: %s", error)
        self.is_leader = False

    def run(self, stop: Any, on_elected: Callable[[], None], on_lost: Callable[[], None],
            standby_tick: Callable[[], None]) -> None:
        """Campaign, then renew, until ``stop`` is set (a runtime task)."""
        period = self.ttl / 3
        first = True
        while first or not stop.wait(period):
            first = False
            try:
                if self.is_leader:
                    if not self.renew():
                        log.error("leader: lost the lock; exiting so only one process polls")
                        self.is_leader = False
                        on_lost()
                        return
                elif self.try_acquire():
                    self.is_leader = True
                    log.info("leader: this process polls the sensors (%s)", self.token)
                    on_elected()
                else:
                    standby_tick()
            except self.errors as error:
                log.error("leader: redis: %s", error)
                if self.is_leader:  # cannot prove we still hold it: step down
                    self.is_leader = False
                    on_lost()
                    return

    # -- states for standbys ---------------------------------------------------------
    def on_reading(self, reading: Reading) -> None:
        """Readings reach standbys' clients through the message queue already."""

    def on_state(self, state: SensorState) -> None:
        """Mirror a state change for the standbys' snapshots (a poller sink)."""
        try:
            self.redis.hset(STATES, state.sensor, json.dumps(state.to_message()))
        except self.errors as error:
            log.warning("leader: cannot mirror state of %s: %s", state.sensor, error)

    def load_states(self, poller: Any) -> None:
        """On a standby: show the leader's states of every sensor."""
        for _sensor, raw in self.redis.hgetall(STATES).items():
            poller.show_state(SensorState(**json.loads(raw)))
