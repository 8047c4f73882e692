"""The admin's API on the real server, with real python-socketio clients, in both async
modes (issue 16 item 3): what an admin changes over HTTP reaches the user's open
sockets within 5 s (at once: the web process made the change), without a reconnect
for other rooms, with a cut for what ends a credential. The same in-process, for
every kind of change, is tests/web/test_admin_api.py.
"""

from __future__ import annotations

import time

import requests

from tests.clients import Watcher, close_all
from tests.conftest import LiveServer
from tests.live.test_socket_live import until

LIVE_WITHIN = 5.0  # seconds: the bound (docs/reliability.md)


def admin_api(server: LiveServer) -> requests.Session:
    """An admin's script: a bearer token, no CSRF needed."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {server.token('root')}"
    return session


def test_admin_changes_reach_open_sockets(live_server: LiveServer) -> None:
    server, api = live_server, admin_api(live_server)
    made = api.post(server.url + "/api/users", json={"name": "liv", "rooms": ["a"]},
                    timeout=30)
    assert made.status_code == 201, made.text
    password = made.json()["password"]
    session = server.login("liv", password)
    token_id, token = server.users.create_token("liv")
    by_cookie = Watcher(server, headers=server.cookie_header(session))
    by_token = Watcher(server, auth={"token": token})
    watchers = [by_cookie, by_token]
    try:
        for w in watchers:
            assert [r["id"] for r in w.of("snapshot")[0]["rooms"]] == ["a"]
        changed_at = time.monotonic()
        answer = api.patch(server.url + "/api/users/liv", json={"rooms": ["b"]}, timeout=30)
        assert answer.status_code == 200, answer.text
        for w in watchers:
            assert until(lambda w=w: len(w.of("snapshot")) == 2, LIVE_WITHIN), "no new snapshot"
            assert [r["id"] for r in w.of("snapshot")[1]["rooms"]] == ["b"]
            assert w.client.connected, "a rooms change cut the socket"
        assert time.monotonic() - changed_at < LIVE_WITHIN
        seen = len(by_token.of("reading"))
        assert until(lambda: len(by_token.of("reading")) >= seen + 5, 10)
        assert {m["sensor"] for m in by_token.of("reading")[seen + 2:]} == {"b1"}

        # a reset password ends the sessions and cuts every socket of the old password's
        # generation; the token itself stays good for a new connection
        cut_at = time.monotonic()
        assert api.patch(server.url + "/api/users/liv", json={"password": True},
                         timeout=30).status_code == 200
        for w in watchers:
            assert until(lambda w=w: not w.client.connected, LIVE_WITHIN)
        assert time.monotonic() - cut_at < LIVE_WITHIN
        again = Watcher(server, auth={"token": token})
        watchers.append(again)
        assert [r["id"] for r in again.of("snapshot")[0]["rooms"]] == ["b"]
        cut_at = time.monotonic()
        assert api.delete(f"{server.url}/api/tokens/{token_id}", timeout=30).status_code == 200
        assert until(lambda: not again.client.connected, LIVE_WITHIN)
        assert time.monotonic() - cut_at < LIVE_WITHIN
    finally:
        close_all(watchers)
    log = server.log()
    assert password not in log and token not in log


def test_disabling_cuts_and_the_last_admin_stays(live_server: LiveServer) -> None:
    server, api = live_server, admin_api(live_server)
    server.add_user("dis", rooms=("a",))
    watcher = Watcher(server, auth={"token": server.token("dis")})
    try:
        answer = api.patch(server.url + "/api/users/dis", json={"disabled": True}, timeout=30)
        assert answer.status_code == 200 and answer.json()["user"]["disabled"] is True
        assert until(lambda: not watcher.client.connected, LIVE_WITHIN)
    finally:
        watcher.close()
    admins = [u["name"] for u in api.get(server.url + "/api/users", timeout=30).json()["users"]
              if u["admin"] and not u["disabled"]]
    for name in [a for a in admins if a != "root"]:  # the bootstrap admin goes
        assert api.delete(f"{server.url}/api/users/{name}", timeout=30).status_code == 200
    refused = api.delete(server.url + "/api/users/root", timeout=30)
    assert refused.status_code == 409 and "last admin" in refused.json()["error"]
