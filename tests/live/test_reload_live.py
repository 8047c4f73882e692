"""Reload and live rights on a real ``sensorhub run`` process, in both async modes.

SIGHUP, as ``systemctl reload`` sends it, with real python-socketio clients watching:
a sensor added, one removed, then a broken file — while an untouched sensor's
readings go on with every seq and no gap over twice its interval, systemd hears
RELOADING=1 and READY=1 around each reload, and clients get a fresh snapshot each
time (none for the broken file). And a user whose rooms change in the database takes
the new rooms on open sockets within the 5-s re-check, without reconnecting.
"""

from __future__ import annotations

import itertools
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.clients import Watcher, close_all
from tests.conftest import LiveServer, wait_for

STEADY = {"id": "steady", "room": "a", "driver": "mock", "interval": 0.5,
          "options": {"seed": 1}}
ROOMS = [{"id": "a", "name": "Room A"}, {"id": "b", "name": "Room B"}]
SENSORS = [STEADY, {"id": "b1", "room": "b", "driver": "mock", "interval": 0.3}]


class NotifySocket:
    """A unix datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[str] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.5)
        self._open = True
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while self._open:
            try:
                self.messages.append(self._sock.recv(4096).decode())
            except TimeoutError:
                continue
            except OSError:
                return

    def since(self, start: int) -> list[str]:
        """Messages after the first ``start`` ones, WATCHDOG pings left out."""
        return [m for m in self.messages[start:] if m != "WATCHDOG=1"]

    def close(self) -> None:
        self._open = False
        self._thread.join(2)
        self._sock.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


def edit(server: LiveServer, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load(server.config_path.read_text())
    change(data)
    server.config_path.write_text(yaml.safe_dump(data, sort_keys=False))


def hup_and_wait(server: LiveServer, notify: NotifySocket) -> list[str]:
    """SIGHUP; return what systemd heard up to the reload's READY=1."""
    start = len(notify.messages)
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: any(m.startswith("READY=1") for m in notify.since(start)), 15,
             "READY=1 after the reload")
    return notify.since(start)


def snapshots(watcher: Watcher) -> list[dict[str, Any]]:
    return watcher.of("snapshot")


def test_sighup_adds_removes_and_refuses_a_broken_file(
        server_factory: Callable[..., LiveServer], notify_socket: NotifySocket) -> None:
    server = server_factory(rooms=ROOMS, sensors=SENSORS,
                            env={"NOTIFY_SOCKET": str(notify_socket.path)})
    server.add_user("root", admin=True)
    server.add_user("alice", rooms=("a", "c"))
    root = Watcher(server, auth={"token": server.token("root")})
    alice = Watcher(server, auth={"token": server.token("alice")})
    watchers = [root, alice]
    try:
        wait_for(lambda: len([r for r in root.of("reading") if r["sensor"] == "b1"]) >= 3,
                 10, "b1 readings before the reload")

        # 1. a sensor added (in a new room alice has rights to)
        edit(server, lambda d: (d["rooms"].append({"id": "c", "name": "Cellar"}),
                                d["sensors"].append({"id": "c1", "room": "c",
                                                     "driver": "mock", "interval": 0.3})))
        heard = hup_and_wait(server, notify_socket)
        assert heard[0].startswith("RELOADING=1\nMONOTONIC_USEC="), heard
        assert "ok: added c1; rooms changed" in heard[-1], heard
        for watcher, rooms in ((root, ["a", "b", "c"]), (alice, ["a", "c"])):
            wait_for(lambda w=watcher: len(snapshots(w)) == 2, 10, "a fresh snapshot")
            assert [r["id"] for r in snapshots(watcher)[1]["rooms"]] == rooms
            assert "c1" in [s["id"] for s in snapshots(watcher)[1]["sensors"]]
            wait_for(lambda w=watcher: any(r["sensor"] == "c1" for r in w.of("reading")),
                     10, "c1's readings on an open socket")

        # 2. a sensor removed
        edit(server, lambda d: d.update(sensors=[s for s in d["sensors"] if s["id"] != "b1"]))
        heard = hup_and_wait(server, notify_socket)
        assert "ok: removed b1" in heard[-1], heard
        wait_for(lambda: len(snapshots(root)) == 3, 10, "a fresh snapshot after removal")
        assert "b1" not in [s["id"] for s in snapshots(root)[2]["sensors"]]
        time.sleep(1.0)  # b1 read every 0.3 s: any reading of it would be here by now
        with root.lock:
            third = [i for i, (e, _) in enumerate(root.events) if e == "snapshot"][2]
            after = root.events[third:]
        assert not [d for e, d in after if e == "reading" and d["sensor"] == "b1"], \
            "the removed sensor's readings went on after its snapshot"

        # 3. a broken file: nothing changes, the log names file and line
        good = server.config_path.read_text()
        broken = good.replace("interval: 0.3", "interval: -3")
        server.config_path.write_text(broken)
        line = next(i for i, text in enumerate(broken.splitlines(), 1) if "-3" in text)
        heard = hup_and_wait(server, notify_socket)
        assert "FAILED" in heard[-1] and f"config.yaml:{line}:" in heard[-1], heard
        wait_for(lambda: f"{server.config_path}:{line}: sensors[1].interval" in server.log(),
                 5, "the problem logged with file:line")
        assert "nothing changed" in server.log()
        c1_before = len([r for r in root.of("reading") if r["sensor"] == "c1"])
        time.sleep(1.0)
        assert len(snapshots(root)) == 3, "a broken file sent a snapshot"
        assert len([r for r in root.of("reading") if r["sensor"] == "c1"]) > c1_before, \
            "a broken file stopped a sensor"

        # the untouched sensor, all along: every seq, no gap over twice its interval
        steady = [r for r in root.of("reading") if r["sensor"] == "steady"]
        seqs = [r["seq"] for r in steady]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a steady reading was lost"
        gaps = [b["ts"] - a["ts"] for a, b in itertools.pairwise(steady)]
        assert max(gaps) <= 2 * STEADY["interval"], f"steady waited {max(gaps):.2f} s"
        assert [r["seq"] for r in alice.of("reading") if r["sensor"] == "steady"] == seqs
        assert all(w.client.connected for w in watchers), "a reload cut a client"
    finally:
        close_all(watchers)
    assert server.stop() == 0, server.log()


def set_rooms(server: LiveServer, name: str, rooms: str) -> None:
    """Change a user's rooms in the server's database, as the admin API will."""
    with sqlite3.connect(server.db_path, timeout=5) as conn:
        conn.execute("UPDATE users SET rooms = ? WHERE name = ?", (rooms, name))


def test_changed_rooms_reach_open_sockets_within_5_s(
        server_factory: Callable[..., LiveServer]) -> None:
    server = server_factory(rooms=ROOMS, sensors=[
        {"id": "a1", "room": "a", "driver": "mock", "interval": 0.2},
        {"id": "b1", "room": "b", "driver": "mock", "interval": 0.2}])
    server.add_user("alice", rooms=("a",))
    session = server.login("alice")
    plain = Watcher(server, headers=server.cookie_header(session))
    batch = Watcher(server, auth={"token": server.token("alice"), "batch": True})
    watchers = [plain, batch]
    try:
        sids = [w.client.get_sid() for w in watchers]
        wait_for(lambda: plain.of("reading") and batch.of("readings"), 10, "room a readings")
        changed = time.monotonic()
        set_rooms(server, "alice", "b")
        for w in watchers:
            wait_for(lambda w=w: len(w.of("snapshot")) == 2, 8, "a fresh snapshot")
        took = time.monotonic() - changed
        assert took < 5.0 + 1.5, f"the change took {took:.1f} s to reach the sockets"
        for w in watchers:
            assert [r["id"] for r in w.of("snapshot")[1]["rooms"]] == ["b"]
        plain_cut, batch_cut = len(plain.events), len(batch.events)
        wait_for(lambda: any(d["sensor"] == "b1" for e, d in plain.events[plain_cut:]
                             if e == "reading"), 5, "room b's readings")
        wait_for(lambda: any(r["sensor"] == "b1" for e, d in batch.events[batch_cut:]
                             if e == "readings" for r in d), 5, "room b's batches")
        time.sleep(0.6)
        assert {d["sensor"] for e, d in plain.events[plain_cut:] if e == "reading"} == {"b1"}
        assert {r["sensor"] for e, d in batch.events[batch_cut:] if e == "readings"
                for r in d} == {"b1"}
        assert not [e for e, _ in batch.events[batch_cut:] if e == "reading"]
        assert [w.client.get_sid() for w in watchers] == sids, "a socket reconnected"
        assert all(w.client.connected for w in watchers)
    finally:
        close_all(watchers)
