"""Login throttling, the password-hash gate and the client address (issue 12 items 2, 8)."""

from __future__ import annotations

import ipaddress
import threading
import time

import pytest

from sensorhub.web.security import client_address
from sensorhub.web.throttle import FORGET_AFTER, MAX_KEYS, BusyError, HashGate, LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_attempts_count_before_they_finish() -> None:
    """A burst of simultaneous guesses gets the free attempts, then waits (item 2)."""
    throttle = LoginThrottle(Clock(), free=3, base=1.0, cap=300.0)
    verdicts = [throttle.begin("alice", "10.0.0.66") for _ in range(40)]  # none finished
    assert verdicts[:3] == [0.0, 0.0, 0.0]
    assert all(v == pytest.approx(1.0) for v in verdicts[3:])
    assert throttle.refused == 37


def test_delays_grow_up_to_the_cap_and_never_lock() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock, free=3, base=1.0, cap=300.0)
    waits = []
    for _ in range(14):
        wait = throttle.begin("alice", "10.0.0.66")
        if wait:
            waits.append(round(wait))
            clock.now += wait
            assert throttle.begin("alice", "10.0.0.66") == 0.0  # after the wait: allowed
        throttle.failed("alice", "10.0.0.66")
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    # the real user elsewhere and another name here are not slowed at all
    assert throttle.begin("alice", "10.0.0.7") == 0.0
    assert throttle.begin("bob", "10.0.0.66") == 0.0
    # a success or an hour of quiet starts the pair afresh
    clock.now += FORGET_AFTER + 1
    assert throttle.begin("alice", "10.0.0.66") == 0.0
    throttle.succeeded("alice", "10.0.0.66")
    assert [throttle.begin("alice", "10.0.0.66") for _ in range(3)] == [0.0] * 3


def test_a_turned_away_attempt_is_refunded() -> None:
    throttle = LoginThrottle(Clock(), free=1)
    assert throttle.begin("alice", "x") == 0.0
    throttle.refund("alice", "x")  # the gate was busy: the hash never ran
    assert throttle.begin("alice", "x") == 0.0
    assert throttle.begin("alice", "x") > 0


def test_memory_is_bounded_under_a_spray_of_names() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for i in range(MAX_KEYS * 2):
        throttle.begin(f"user{i}", "10.0.0.66")
    assert len(throttle._pairs) <= MAX_KEYS


def test_the_gate_runs_at_most_its_limit_at_once() -> None:
    gate = HashGate(limit=2, wait=10.0)
    running, peak, lock = [0], [0], threading.Lock()

    def hash_() -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    threads = [threading.Thread(target=gate.run, args=(hash_,)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak[0] == gate.peak == 2 and gate.running == 0 and gate.busy == 0


def test_the_gate_turns_away_who_waited_too_long() -> None:
    gate = HashGate(limit=1, wait=0.05)
    inside, release = threading.Event(), threading.Event()

    def slow() -> None:
        inside.set()
        release.wait(5)

    holder = threading.Thread(target=gate.run, args=(slow,))
    holder.start()
    assert inside.wait(5)
    with pytest.raises(BusyError):
        gate.run(lambda: None)
    release.set()
    holder.join(5)
    assert gate.busy == 1 and gate.run(lambda: 42) == 42


PROXY = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.9.0.0/16"))


@pytest.mark.parametrize(("peer", "forwarded", "trusted", "expected"), [
    ("10.0.0.5", None, PROXY, "10.0.0.5"),
    ("10.0.0.5", "1.2.3.4", (), "10.0.0.5"),  # no trusted proxy: the header is ignored
    ("10.0.0.5", "1.2.3.4", PROXY, "10.0.0.5"),  # from a peer that is not a proxy
    ("127.0.0.1", "192.168.1.20", PROXY, "192.168.1.20"),
    ("127.0.0.1", "6.6.6.6, 192.168.1.20", PROXY, "192.168.1.20"),  # left part: forged
    ("127.0.0.1", "192.168.1.20, 10.9.1.1", PROXY, "192.168.1.20"),  # two proxies
    ("127.0.0.1", "garbage", PROXY, "127.0.0.1"),
    ("127.0.0.1", "127.0.0.1", PROXY, "127.0.0.1"),
    ("127.0.0.1", " fe80::1 ", PROXY, "fe80::1"),
    (None, "1.2.3.4", PROXY, "?"),
])
def test_client_address_trusts_only_named_proxies(peer: str | None, forwarded: str | None,
                                                  trusted: tuple, expected: str) -> None:
    assert client_address(peer, forwarded, trusted) == expected
