"""Several web processes behind one Redis: shared rooms and broadcasts, one poller.

Each test starts its own ``redis-server`` on a free 127.0.0.1 port (no persistence)
and real ``sensorhub run`` processes sharing one SQLite file, as on one Pi.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests import conftest
from tests.clients import Watcher as Recorder
from tests.conftest import LiveServer, free_port, start_server, wait_for

REDIS = "/usr/bin/redis-server"
pytestmark = pytest.mark.skipif(not os.access(REDIS, os.X_OK), reason="needs redis-server")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A private redis-server on loopback, stopped after the test."""
    port = free_port()
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def web(tmp_path: Path, async_mode: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
        ) -> Iterator[list[LiveServer]]:
    """Two web processes on one database and one Redis; the first one starts first."""
    db = tmp_path / "shared" / "test.db"
    servers: list[LiveServer] = []
    try:
        for i in range(2):
            directory = tmp_path / f"web{i}"
            directory.mkdir()
            port = free_port()  # the server section is ours, so we pick its port
            monkeypatch.setattr(conftest, "free_port", lambda port=port: port)
            servers.append(start_server(
                directory, async_mode, storage={"path": str(db)},
                sensors=[{"id": "a1", "room": "a", "driver": "mock", "interval": 0.2}],
                extra={"server": {"host": "127.0.0.1", "port": port, "async_mode": async_mode,
                                  "message_queue": redis_url, "leader_ttl": 2}}))
            servers[-1].db_path = db
            if i == 0:
                wait_for(lambda: "this process polls" in servers[0].log(), 10, "a leader")
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_reading_polled_by_one_process_reaches_a_client_of_another(
        web: list[LiveServer]) -> None:
    leader, standby = web
    leader.add_user("alice", rooms=("a",))
    alice = Recorder(standby, auth={"token": standby.token("alice")})
    try:
        wait_for(lambda: len(alice.of("reading")) >= 8, 10, "readings via redis")
        seqs = [r["seq"] for r in alice.of("reading")]
        # one poller: one unbroken sequence (two pollers would interleave two of them)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert "this process polls" not in standby.log()
        assert "polling only if elected leader" in standby.log()
        snap = alice.of("snapshot")[0]
        assert snap["sensors"][0]["state"]["state"] == "ok"  # mirrored from the leader

        leader.stop(signal.SIGKILL)  # no release: the standby waits for the TTL
        killed = time.monotonic()
        wait_for(lambda: "this process polls" in standby.log(), 10, "a takeover")
        assert time.monotonic() - killed < 6
        count = len(alice.of("reading"))
        wait_for(lambda: len(alice.of("reading")) >= count + 5, 10, "readings after takeover")
    finally:
        alice.close()


def test_logout_cuts_its_sockets_here_at_once_and_in_the_other_process_within_5_s(
        web: list[LiveServer]) -> None:
    """Issue 12 items 5 and 6: one login, a dashboard open on each process; logging out
    through the first ends the session server-side (main: the cookie stayed valid, so
    neither socket was ever cut)."""
    first, second = web
    first.add_user("alice", rooms=("a",))
    browser = first.login("alice")
    cookie = first.cookie_header(browser)
    here, there = Recorder(first, headers=cookie), Recorder(second, headers=cookie)
    try:
        page = browser.get(first.url + "/", timeout=10)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token and page.status_code == 200
        answer = browser.post(first.url + "/logout", data={"csrf_token": token.group(1)},
                              allow_redirects=False, timeout=10)
        assert answer.status_code == 302
        out = time.monotonic()
        wait_for(lambda: not here.client.connected, 10, "the logging-out process's socket cut")
        assert time.monotonic() - out < 1.0, "not at once in the process that logged out"
        wait_for(lambda: not there.client.connected, 10, "the other process's socket cut")
        assert time.monotonic() - out < 5.0
        assert requests.get(second.url + "/api/sensors", headers=cookie,
                            timeout=10).status_code == 401
    finally:
        here.close()
        there.close()
