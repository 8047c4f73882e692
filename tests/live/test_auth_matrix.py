"""Rights matrix: every route and socket event x every kind of caller.

Callers: anonymous, a user of room A (session cookie), a user of room B (API token),
an admin (session), a revoked token, an expired session (password changed since
login). Each must get exactly what ``rights.py`` allows, with the security headers
on every response and no password or token in the log.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from tests.conftest import PASSWORD, LiveServer, start_server
from tests.live.test_faults import Watcher, close_all

SENSORS = ("a1", "b1")
WRONG_PASSWORD = "not the password 9f3k"


@dataclass
class Caller:
    """One kind of caller: how it authenticates and what it may see (None: refused)."""

    name: str
    visible: frozenset[str] | None
    refusal: str = ""  # the reason a refused caller is given
    headers: dict[str, str] = field(default_factory=dict)  # Authorization or Cookie
    socket_auth: dict[str, str] | None = None

    @property
    def has_session(self) -> bool:
        return "Cookie" in self.headers

    def get(self, server: LiveServer, path: str) -> requests.Response:
        # the cookie goes as a header every time: a server that clears a stale session
        # must still see the stale cookie on the next request
        return requests.get(server.url + path, headers=self.headers, timeout=10,
                            allow_redirects=False)

    def post(self, server: LiveServer, path: str) -> requests.Response:
        return requests.post(server.url + path, headers=self.headers, timeout=10,
                             allow_redirects=False)


@pytest.fixture(scope="module")
def callers(live_server: LiveServer) -> Iterator[list[Caller]]:
    server = live_server
    server.add_user("carol", rooms=("a",))
    server.add_user("dave", rooms=("a", "b"))
    alice = server.cookie_header(server.login("alice"))
    root = server.cookie_header(server.login("root"))
    carol = server.cookie_header(server.login("carol"))
    server.users.set_password("carol", PASSWORD + " changed")  # her session is now stale
    revoked_id, revoked = server.users.create_token("dave")
    server.users.revoke_token(revoked_id)
    bob = server.token("bob")
    made = [
        Caller("anonymous", None, "authentication required"),
        Caller("room A user (session)", frozenset({"a1"}), headers=alice),
        Caller("room B user (token)", frozenset({"b1"}),
               headers={"Authorization": f"Bearer {bob}"}, socket_auth={"token": bob}),
        Caller("admin (session)", frozenset(SENSORS), headers=root),
        Caller("revoked token", None, "invalid or revoked token",
               headers={"Authorization": f"Bearer {revoked}"}, socket_auth={"token": revoked}),
        Caller("expired session", None, "session expired", headers=carol),
    ]
    yield made
    secrets = [bob, revoked, PASSWORD, WRONG_PASSWORD, PASSWORD + " changed"]
    log = server.log()
    assert not [s for s in secrets if s in log], "a password or token reached the log"


def check_headers(answer: requests.Response) -> None:
    headers = answer.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, answer.url
    assert headers.get("X-Content-Type-Options") == "nosniff", answer.url
    for cookie in answer.raw.headers.getlist("Set-Cookie"):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie


def expect_refused(caller: Caller, answer: requests.Response) -> None:
    assert answer.status_code == 401, (caller.name, answer.url, answer.status_code)
    assert answer.json() == {"error": caller.refusal}, (caller.name, answer.text)


def test_http_matrix(live_server: LiveServer, callers: list[Caller]) -> None:
    since = time.time() - 120
    for caller in callers:
        answer = caller.get(live_server, "/api/sensors")
        check_headers(answer)
        if caller.visible is None:
            expect_refused(caller, answer)
        else:
            assert answer.status_code == 200
            assert {s["id"] for s in answer.json()["sensors"]} == caller.visible, caller.name
        for sensor in SENSORS:
            for path in (f"/api/history?sensor={sensor}&since={since}",
                         f"/api/export.csv?sensor={sensor}&since={since}",
                         f"/api/alerts?sensor={sensor}"):
                answer = caller.get(live_server, path)
                check_headers(answer)
                if caller.visible is None:
                    expect_refused(caller, answer)
                elif sensor not in caller.visible:
                    assert answer.status_code == 404, (caller.name, path)
                    assert answer.json() == {"error": "unknown sensor"}
                else:
                    assert answer.status_code == 200, (caller.name, path, answer.text)
                    check_own_data(path, sensor, answer)
        answer = caller.get(live_server, "/api/alerts")
        check_headers(answer)
        if caller.visible is None:
            expect_refused(caller, answer)
        else:
            assert {a["sensor"] for a in answer.json()["alerts"]} <= caller.visible
        # open to all, but never sensor data
        answer = caller.get(live_server, "/healthz")
        check_headers(answer)
        assert answer.status_code == 200 and not [s for s in SENSORS if s in answer.text]
        for path in ("/login", "/static/nope.js", "/nope", "/metrics"):
            check_headers(caller.get(live_server, path))
        # the dashboard page: a session user gets it, everyone else the login page
        answer = caller.get(live_server, "/")
        check_headers(answer)
        if caller.has_session and caller.visible is not None:
            assert answer.status_code == 200, caller.name
        else:
            assert answer.status_code == 302 and "/login" in answer.headers["Location"]
        # a form without its CSRF token, a wrong method: refused alike for everyone
        answer = caller.post(live_server, "/logout")
        assert answer.status_code == 400
        check_headers(answer)
        answer = caller.post(live_server, "/api/history")
        assert answer.status_code == 405
        check_headers(answer)


def check_own_data(path: str, sensor: str, answer: requests.Response) -> None:
    if path.startswith("/api/history"):
        assert answer.json()["sensor"] == sensor
    elif path.startswith("/api/export.csv"):
        rows = list(csv.reader(io.StringIO(answer.text)))[1:]
        assert rows and {r[0] for r in rows} == {sensor}
    else:
        assert {a["sensor"] for a in answer.json()["alerts"]} <= {sensor}


def test_socketio_handshake_carries_the_headers(live_server: LiveServer) -> None:
    answer = requests.get(live_server.url + "/socket.io/?EIO=4&transport=polling", timeout=10)
    assert answer.status_code == 200
    check_headers(answer)


def refusal(server: LiveServer, caller: Caller) -> str:
    client = socketio.Client(reconnection=False)
    reasons: list[Any] = []
    client.on("connect_error", reasons.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server.url, auth=caller.socket_auth, transports=["websocket"],
                       headers=caller.headers, wait_timeout=10)
    assert reasons, caller.name
    reason = reasons[0]
    return reason.get("message", "") if isinstance(reason, dict) else str(reason)


def test_socket_matrix(live_server: LiveServer, callers: list[Caller]) -> None:
    watchers: list[tuple[Caller, Watcher]] = []
    try:
        for caller in callers:
            if caller.visible is None:
                assert refusal(live_server, caller) == caller.refusal, caller.name
                continue
            watcher = Watcher(live_server, auth=caller.socket_auth, headers=caller.headers)
            watchers.append((caller, watcher))
            snap = watcher.of("snapshot")[0]
            assert {s["id"] for s in snap["sensors"]} == caller.visible, caller.name
            rooms = {s[0] for s in caller.visible}
            assert {r["id"] for r in snap["rooms"]} == rooms
            for sensor in SENSORS:
                answer = watcher.client.call("history", {"sensor": sensor,
                                                         "since": time.time() - 60}, timeout=10)
                if sensor in caller.visible:
                    assert answer["sensor"] == sensor and answer["points"], caller.name
                else:
                    assert answer == {"error": "unknown sensor"}, caller.name
            answer = watcher.client.call("alert_history", {"limit": 500}, timeout=10)
            assert {a["sensor"] for a in answer["alerts"]} <= caller.visible
            assert watcher.client.call("join", {"room": "b"}, timeout=10) == {
                "error": "unknown event"}
        time.sleep(1.0)
        for caller, watcher in watchers:
            for event in ("reading", "sensor_state", "alert"):
                seen = {m["sensor"] for m in watcher.of(event)}
                assert seen <= caller.visible, (caller.name, event, seen)
            assert {m["sensor"] for m in watcher.of("reading")} == caller.visible
    finally:
        close_all([w for _c, w in watchers])


def test_secret_key_is_made_on_first_start_and_private(tmp_path: Path) -> None:
    keys = []
    for name in ("one", "two"):
        directory = tmp_path / name
        directory.mkdir()
        server = start_server(directory, "threading")
        try:
            key_file = server.db_path.parent / "secret_key"
            assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
            keys.append(key_file.read_bytes())
            session = server.login("admin", (server.db_path.parent /
                                             "initial-admin-password").read_text().strip())
            assert session.cookies.get("sensorhub_session")
        finally:
            server.stop()
        again = start_server(directory, "threading")  # a restart keeps the key
        again.stop()
        assert key_file.read_bytes() == keys[-1]
    assert keys[0] != keys[1] and all(len(k.strip()) >= 32 for k in keys)
    assert not os.environ.get("SENSORHUB_SECRET_KEY")


def test_repository_ships_no_secret() -> None:
    """What git tracks, not what a user's own ``./dev run`` left in the ignored data/."""
    tracked = subprocess.run(["git", "ls-files"], cwd=Path(__file__).resolve().parents[2],
                             capture_output=True, text=True, check=True).stdout.splitlines()
    assert "config.yaml" in tracked
    shipped = [p for p in tracked if not p.startswith("tests/fixtures/") and (
        Path(p).name.startswith("secret_key") or Path(p).name == "initial-admin-password"
        or p.endswith((".db", "-wal")))]
    assert not shipped, f"a secret or a database is shipped in the repository: {shipped}"
