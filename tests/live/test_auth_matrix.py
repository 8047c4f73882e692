"""Rights matrix over Socket.IO, and the secret key, on the real server.

Every kind of caller (``tests/callers.py``) connects a real python-socketio client to
a real ``sensorhub run`` in each async mode, because connect-time auth, room joins and
the fan-out run on the server's own greenlets or threads; each must get exactly what
``rights.py`` allows, and no password or token may reach the server's log. The HTTP
half of the matrix does not depend on the async mode and runs in-process in
``tests/web/test_auth_matrix.py``.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from tests.callers import SENSORS, Caller, make_callers, secrets_of
from tests.clients import Watcher, close_all
from tests.conftest import LiveServer, start_server
from tests.live.test_socket_live import until

REFUSED = {"error": "reserved event"}


def logout(server: LiveServer, headers: dict[str, str]) -> None:
    """Log the session in ``headers`` out through the real form, as its browser would."""
    page = requests.get(server.url + "/", headers=headers, timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "the dashboard has no logout form"
    updated = page.cookies.get("sensorhub_session")  # the page put its CSRF token in it
    assert updated
    answer = requests.post(server.url + "/logout", data={"csrf_token": token.group(1)},
                           headers={"Cookie": f"sensorhub_session={updated}"},
                           allow_redirects=False, timeout=10)
    assert answer.status_code == 302


@pytest.fixture(scope="module")
def callers(live_server: LiveServer) -> Iterator[list[Caller]]:
    server = live_server
    made = make_callers(server.users, lambda name: server.cookie_header(server.login(name)),
                        lambda headers: logout(server, headers))
    yield made
    log = server.log()
    assert not [s for s in secrets_of(made) if s in log], "a password or token reached the log"


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


def health(server: LiveServer, headers: dict[str, str] | None = None) -> dict[str, Any]:
    answer = requests.get(server.url + "/healthz", headers=headers or {}, timeout=10)
    assert answer.status_code == 200
    return answer.json()


def test_socket_matrix(live_server: LiveServer, callers: list[Caller]) -> None:
    watchers: list[tuple[Caller, Watcher]] = []
    admin = {"Authorization": f"Bearer {live_server.token('root')}"}
    refused_before = health(live_server, admin).get("security", {}).get(
        "lifecycle_events_refused", 0)
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
            # lifecycle names from the client change nothing: not its rooms (with the
            # admin's token as auth), not its place in the registry (issue 12 item 1)
            for event, data in (("connect", (None, {"token": admin["Authorization"][7:]})),
                                ("disconnect", None), ("connect_error", {"message": "x"})):
                assert watcher.client.call(event, data, timeout=10) == REFUSED, (
                    caller.name, event)
        assert health(live_server)["clients"] == len(watchers)
        assert health(live_server, admin)["security"]["lifecycle_events_refused"] == (
            refused_before + 3 * len(watchers))
        time.sleep(1.0)
        for caller, watcher in watchers:
            for event in ("reading", "sensor_state", "alert"):
                seen = {m["sensor"] for m in watcher.of(event)}
                assert seen <= caller.visible, (caller.name, event, seen)
            assert {m["sensor"] for m in watcher.of("reading")} == caller.visible
    finally:
        close_all([w for _c, w in watchers])


def test_a_client_disconnect_event_cannot_dodge_revocation(live_server: LiveServer) -> None:
    """Issue 12 item 1: it made the server forget the socket while it kept its rooms;
    the token's revocation then never reached it. Revoked from another process here
    (as ``sensorhub token revoke`` does), so only the server's re-check can cut it."""
    token_id, token = live_server.users.create_token("alice")
    rogue = Watcher(live_server, auth={"token": token})
    try:
        counted = health(live_server)["clients"]
        answer = rogue.client.call("disconnect", timeout=10)
        assert health(live_server)["clients"] == counted, "the server forgot the socket"
        live_server.users.revoke_token(token_id)
        revoked = time.monotonic()
        assert until(lambda: not rogue.client.connected, 10), "the rogue kept its socket"
        assert time.monotonic() - revoked < 5.5  # the re-check runs every 4 s
        assert answer == REFUSED
    finally:
        rogue.close()


def test_a_client_connect_event_gains_no_rooms(live_server: LiveServer) -> None:
    """Issue 12 item 1: with the admin's token it joined the admin's rooms."""
    rogue = Watcher(live_server, auth={"token": live_server.token("alice")})
    try:
        answer = rogue.client.call("connect", (None, {"token": live_server.token("root")}),
                                   timeout=10)
        seen = len(rogue.of("reading"))
        assert until(lambda: len(rogue.of("reading")) >= seen + 6, 10)
        assert {m["sensor"] for m in rogue.of("reading")[seen:]} == {"a1"}, "it joined b"
        assert len(rogue.of("snapshot")) == 1
        assert answer == REFUSED
    finally:
        rogue.close()


def test_secret_key_is_made_on_first_start_and_private(tmp_path: Path) -> None:
    keys = []
    for name in ("one", "two"):
        directory = tmp_path / name
        directory.mkdir()
        old_umask = os.umask(0o022)  # a shell's, not systemd's UMask=0027 (item 10)
        try:
            server = start_server(directory, "threading")
        finally:
            os.umask(old_umask)
        try:
            key_file = server.db_path.parent / "secret_key"
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in key_file.parent.iterdir()}
            assert {"secret_key", "test.db", "test.db-wal", "test.db-shm",
                    "initial-admin-password"} <= set(modes), modes
            assert set(modes.values()) == {0o600}, {n: oct(m) for n, m in modes.items()}
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
