"""The limits of issue 13 as single objects, on fake clocks and fake sockets.

The live tier (tests/live/test_limits.py, test_instance.py, test_disk.py) proves
each guarantee against a real server; these pin down the rules themselves.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from sensorhub.alerts.journal import Journal
from sensorhub.alerts.log import AlertLog
from sensorhub.config import ConfigError, parse_config
from sensorhub.config.limits import Limits
from sensorhub.readings import Reading
from sensorhub.rights import ANONYMOUS, Principal
from sensorhub.runtime import ThreadingRuntime
from sensorhub.service.guard import ConnectionGuard
from sensorhub.service.instance import InstanceLock, StartError
from sensorhub.storage.store import Store
from sensorhub.web.eventguard import EventGuard
from sensorhub.web.limits import LimitError, MinuteLog, WebLimits, client_address

ROOMS_AND_SENSORS = "rooms: [{id: a}]\nsensors: [{id: s, room: a, driver: mock, interval: 1}]\n"
ALICE = Principal(kind="token", name="alice", rooms=frozenset({"a"}))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeSocket:
    """What the guard uses of a connection: fileno, shutdown, settimeout."""

    def __init__(self) -> None:
        self.shut = False
        self.closed = False
        self.timeout: float | None = -1.0

    def fileno(self) -> int:
        return -1 if self.closed else 7

    def shutdown(self, _how: int) -> None:
        self.shut = True

    def settimeout(self, value: float | None) -> None:
        self.timeout = value


def request(guard: ConnectionGuard, address: tuple[str, int], *, websocket: bool = False
            ) -> Any:
    """Run one request through the guard's middleware; return its response iterable."""
    environ = {"REMOTE_ADDR": address[0], "REMOTE_PORT": str(address[1])}
    if websocket:
        environ["HTTP_UPGRADE"] = "websocket"
    return guard.wrap(lambda _environ, _start: [b"ok"])(environ, lambda *a: None)


# -- connections (item 1) -----------------------------------------------------------------
def test_idle_connections_make_room_and_busy_ones_are_kept() -> None:
    clock = Clock()
    guard = ConnectionGuard(Limits(max_connections=10, max_connections_per_client=3), clock)
    socks = [FakeSocket() for _ in range(4)]
    for port, sock in enumerate(socks[:3]):
        clock.now += 1
        assert guard.admit(sock, ("10.0.0.1", port))
    request(guard, ("10.0.0.1", 0), websocket=True)  # busy for its whole life
    assert guard.admit(socks[3], ("10.0.0.1", 3))  # the oldest idle one (port 1) goes
    assert [s.shut for s in socks] == [False, True, False, False]
    request(guard, ("10.0.0.1", 2), websocket=True)
    request(guard, ("10.0.0.1", 3), websocket=True)
    assert not guard.admit(FakeSocket(), ("10.0.0.1", 4)), "all busy: refused"
    assert guard.admit(FakeSocket(), ("10.0.0.2", 1)), "another client is not held back"
    socks[0].closed = True  # its server task ended
    assert guard.admit(FakeSocket(), ("10.0.0.1", 5)), "a closed one frees its place"


def test_the_total_cap_drops_the_oldest_idle_of_anyone(caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    clock = Clock()
    guard = ConnectionGuard(Limits(max_connections=10, max_connections_per_client=10), clock)
    socks = [FakeSocket() for _ in range(10)]
    for i, sock in enumerate(socks):
        clock.now += 1
        assert guard.admit(sock, (f"10.0.0.{i}", 1))
    with caplog.at_level(logging.WARNING):
        for i in range(5):
            assert guard.admit(FakeSocket(), ("10.0.1.1", i))
    assert [s.shut for s in socks] == [True] * 5 + [False] * 5
    assert caplog.text.count("connection limit reached") == 1  # once a minute


def test_a_request_must_come_within_the_request_timeout() -> None:
    clock = Clock()
    guard = ConnectionGuard(Limits(request_timeout=10, send_timeout=30), clock)
    idle, answered, talking = FakeSocket(), FakeSocket(), FakeSocket()
    for port, sock in enumerate((idle, answered, talking)):
        guard.admit(sock, ("10.0.0.1", port))
    body = request(guard, ("10.0.0.1", 1))
    assert answered.timeout == 30  # a response must keep moving
    body.close()  # answered: idle again, waiting for its next request
    request(guard, ("10.0.0.1", 2), websocket=True)
    assert talking.timeout is None
    clock.now += 9
    assert guard.reap() == 0
    clock.now += 2
    assert guard.reap() == 2
    assert (idle.shut, answered.shut, talking.shut) == (True, True, False)


def test_a_trusted_proxy_is_not_capped_per_client() -> None:
    limits = parse_config("server: {trusted_proxies: [127.0.0.1], max_connections_per_client:"
                          " 2}\n" + ROOMS_AND_SENSORS, Path("c.yaml")).server.limits
    guard = ConnectionGuard(limits, Clock())
    assert all(guard.admit(FakeSocket(), ("127.0.0.1", port)) for port in range(5))
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9, 10.0.0.7"}
    assert client_address(environ, limits) == "10.0.0.7"  # the address nginx added
    assert client_address({**environ, "REMOTE_ADDR": "10.0.0.3"}, limits) == "10.0.0.3"


# -- Socket.IO messages (items 2 and 3) -----------------------------------------------------
class FakeEngineIO:
    def __init__(self) -> None:
        self.handlers: dict[str, Any] = {}
        self.disconnected: list[str] = []
        self.passed: list[Any] = []
        self.on("connect", lambda sid, environ: True)
        self.on("message", lambda sid, data: self.passed.append(data))
        self.on("disconnect", lambda sid, reason: None)

    def on(self, event: str, handler: Any) -> None:
        self.handlers[event] = handler

    def disconnect(self, sid: str) -> None:
        self.disconnected.append(sid)
        self.handlers["disconnect"](sid, "server")


class FakeSocketIO:
    def __init__(self) -> None:
        self.server = type("Server", (), {"eio": FakeEngineIO()})()

    def sleep(self, _seconds: float) -> None:
        pass


def guarded(clock: Clock, **limits: Any) -> tuple[EventGuard, FakeEngineIO]:
    socketio = FakeSocketIO()
    guard = EventGuard(socketio, Limits(**limits), MinuteLog(logging.getLogger("t"), clock),
                       clock)
    eio = socketio.server.eio
    eio.handlers["connect"]("s1", {"REMOTE_ADDR": "10.0.0.1"})
    return guard, eio


def test_events_over_the_rate_are_dropped_then_the_client_is_disconnected(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    guard, eio = guarded(clock, event_rate=10, event_burst=20)
    with caplog.at_level(logging.WARNING):
        for _ in range(30):
            eio.handlers["message"]("s1", '2["x"]')
        assert len(eio.passed) == 20 and guard.dropped == 10 and not eio.disconnected
        clock.now += 1.0  # ten more tokens
        for _ in range(10):
            eio.handlers["message"]("s1", '2["x"]')
        assert len(eio.passed) == 30
        for _ in range(15):  # more than a burst dropped within a minute
            eio.handlers["message"]("s1", '2["x"]')
    assert eio.disconnected == ["s1"]
    assert caplog.text.count("dropping events from 10.0.0.1") == 1  # one line a minute
    assert "disconnected 10.0.0.1" in caplog.text


def test_big_messages_cost_more() -> None:
    guard, eio = guarded(Clock(), event_rate=10, event_burst=20)
    eio.handlers["message"]("s1", '2["x","' + "y" * 10_000 + '"]')  # 10 KiB: 10 tokens
    for _ in range(15):
        eio.handlers["message"]("s1", '2["x"]')
    assert len(eio.passed) == 1 + 10 and guard.dropped == 5


def test_attachments_are_capped_in_number_and_bytes() -> None:
    _guard, eio = guarded(Clock(), max_event_attachments=4, max_event_bytes=16 * 1024)
    eio.handlers["message"]("s1", '599999-["x",{"_placeholder":true,"num":0}]')
    assert eio.disconnected == ["s1"] and eio.passed == []
    eio.handlers["message"]("s1", b"\0" * 1000)  # what was still in flight goes nowhere
    assert eio.passed == []
    eio.handlers["connect"]("s2", {"REMOTE_ADDR": "10.0.0.2"})
    eio.handlers["message"]("s2", '52-["x",{"_placeholder":true,"num":0}]')
    eio.handlers["message"]("s2", b"\0" * 10_000)
    eio.handlers["message"]("s2", b"\0" * 10_000)  # 20,000 bytes in one event: over
    assert eio.disconnected == ["s1", "s2"] and len(eio.passed) == 2


def test_undecodable_messages_are_dropped_without_a_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    guard, eio = guarded(Clock())

    def broken(_sid: str, _data: Any) -> None:
        raise ValueError("Unknown packet type.")

    eio.handlers["message"] = guard.on_message
    guard._message = broken
    with caplog.at_level(logging.WARNING):
        for _ in range(50):
            eio.handlers["message"]("s1", "9garbage")
    assert caplog.text.count("malformed") == 1 and "Traceback" not in caplog.text


# -- history, export and the query gate (items 3 and 5) ------------------------------------
def test_history_is_limited_per_address_and_user_by_the_points_asked() -> None:
    clock = Clock()
    limits = WebLimits(Limits(history_limit=20, history_limit_per_user=30), ThreadingRuntime(),
                       clock)
    limits.history("10.0.0.1", ALICE, 10_000)  # a maximal answer costs 10
    limits.history("10.0.0.1", ALICE, 10_000)
    with pytest.raises(LimitError) as refused:
        limits.history("10.0.0.1", ANONYMOUS, 600)
    assert refused.value.status == 429 and 0 < refused.value.retry_after <= 10
    limits.history("10.0.0.2", ALICE, 5_000)
    limits.history("10.0.0.2", ALICE, 5_000)
    with pytest.raises(LimitError):  # alice's own 30 are spent, whatever her address
        limits.history("10.0.0.3", ALICE, 600)
    limits.history("10.0.0.3", ANONYMOUS, 600)  # someone else there is not
    clock.now += 10.0
    limits.history("10.0.0.1", ALICE, 10_000)


def test_exports_at_once_and_the_query_gate() -> None:
    limits = WebLimits(Limits(exports_at_once=1, web_queries=1), ThreadingRuntime(), Clock())
    with limits.exporting("10.0.0.1", ALICE):
        with pytest.raises(LimitError):
            limits.check_export("10.0.0.2", ALICE)  # alice, from another device
        limits.check_export("10.0.0.2", ANONYMOUS)
    limits.check_export("10.0.0.1", ALICE)
    assert limits.query(lambda: 42) == 42


def test_export_holds_no_snapshot_between_chunks(tmp_path: Path) -> None:
    """A consumer that stops between chunks leaves SQLite free to reset its WAL."""
    store = Store(tmp_path / "db.sqlite")
    for i in range(10):
        store.add(Reading("s1", "a", 1_700_000_000 + i, i, 20.0, 50.0))
    store.flush()
    rows = store.export_rows("s1", 0, 2_000_000_000, chunk=3)
    assert next(rows)[0] == 1_700_000_000  # stalled mid-export
    other = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    busy, _log, _done = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0, "a read transaction is still open"
    assert len(list(rows)) == 9
    other.close()
    store.close()


# -- the alert log (item 6) and the instance lock (item 7) ---------------------------------
def test_alert_writes_wait_in_order_and_are_retried(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    store = Store(tmp_path / "db.sqlite")
    journal = Journal(AlertLog(store.connect), ThreadingRuntime())
    refusing = [True]
    done: list[str] = []

    def write(name: str) -> Any:
        def run(_log: AlertLog) -> None:
            if refusing[0]:
                raise sqlite3.OperationalError("database or disk is full")
            done.append(name)
        return run

    with caplog.at_level(logging.WARNING):
        journal.record(write("fire"))
        journal.record(write("clear"))
        assert journal.waiting == 2 and journal.error
        refusing[0] = False
        journal.drain()
    assert done == ["fire", "clear"] and journal.waiting == 0 and journal.error is None
    assert caplog.text.count("cannot record alert transitions") == 1
    assert "resumed" in caplog.text
    store.close()


def test_one_instance_per_database(tmp_path: Path) -> None:
    database = tmp_path / "data" / "sensorhub.db"
    first = InstanceLock(database)
    first.acquire()
    with pytest.raises(StartError, match=r"already running .*\(PID \d+\)"):
        InstanceLock(database).acquire()
    with pytest.raises(StartError):
        InstanceLock(database).acquire(shared=True)
    first.release()
    shared = [InstanceLock(database), InstanceLock(database)]
    for lock in shared:
        lock.acquire(shared=True)  # web processes sharing a message queue
    with pytest.raises(StartError, match="message queue"):
        InstanceLock(database).acquire()
    for lock in shared:
        lock.release()


def test_limit_keys_are_checked_with_their_line() -> None:
    text = ("server:\n  max_connections: 5\n  event_rate: fast\n  trusted_proxies: [x]\n"
            + ROOMS_AND_SENSORS)
    with pytest.raises(ConfigError) as error:
        parse_config(text, Path("c.yaml"))
    assert [str(p) for p in error.value.problems] == [
        "c.yaml:2: server.max_connections: must be between 10 and 100000, got 5",
        "c.yaml:3: server.event_rate: expected number, got str 'fast'",
        "c.yaml:4: server.trusted_proxies[0]: not an address or network: str 'x'"]
