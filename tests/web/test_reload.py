"""Rights and config that change under open sockets, in-process: the real app, Flask-
SocketIO's test clients, readings from the real poller. A socket keeps its connection
and follows: new rooms joined, old ones left, a fresh snapshot.

The same through a real server process, SIGHUP and both async modes is in
tests/live/test_reload_live.py.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

import yaml
from flask_socketio import SocketIOTestClient

from sensorhub.storage.users import Users
from tests.conftest import DEFAULT_SENSORS
from tests.web.conftest import Site, received


def set_rooms(site: Site, name: str, rooms: str, admin: bool = False) -> None:
    """Change a user's rooms in the database, as the admin API of issue 16 will."""
    conn: sqlite3.Connection = site.web.hub.store.connect()
    try:
        conn.execute("UPDATE users SET rooms = ?, admin = ? WHERE name = ?",
                     (rooms, int(admin), name))
    finally:
        conn.close()


def token_socket(site: Site, name: str, **auth: Any) -> SocketIOTestClient:
    sock = site.socket(auth={"token": site.token(name), **auth})
    assert sock.is_connected()
    return sock


def rooms_of(snapshot: dict[str, Any]) -> list[str]:
    return [r["id"] for r in snapshot["rooms"]]


def rewrite(site: Site, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the site's config.yaml in place."""
    path = site.config.source
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


# -- rights that change under a socket ---------------------------------------------------
def test_changed_rooms_follow_live_without_a_reconnect(site: Site) -> None:
    site.add_user("alice", rooms=("a",))
    plain = token_socket(site, "alice")
    batch = token_socket(site, "alice", batch=True)
    session = site.socket(client=site.login("alice"))
    assert rooms_of(received(plain, "snapshot")[0]) == ["a"]
    received(batch, "snapshot"), received(session, "snapshot")
    set_rooms(site, "alice", "b")
    site.web.clients.revalidate()  # what the 5-s task runs
    for sock in (plain, batch, session):
        assert sock.is_connected(), "a rooms change cut the socket"
        snaps = received(sock, "snapshot")
        assert len(snaps) == 1 and rooms_of(snaps[0]) == ["b"]
        assert [s["id"] for s in snaps[0]["sensors"]] == ["b1"]
    site.poll(times=3)
    assert {r["sensor"] for r in received(plain, "reading")} == {"b1"}
    assert {r["sensor"] for r in received(session, "reading")} == {"b1"}
    deadline = time.monotonic() + 5
    while not any(m["name"] == "readings" for m in list(batch.queue)):
        assert time.monotonic() < deadline, "no batch of the new room"
        time.sleep(0.01)
    got = received(batch, "readings")
    assert {r["sensor"] for chunk in got for r in chunk} == {"b1"}
    assert received(batch, "reading") == [], "a batch socket joined the single-reading room"
    assert {p.rooms for _sid, p in site.web.clients.items()} == {frozenset({"b"})}


def test_made_admin_sees_every_room_and_revoked_credentials_still_cut(site: Site) -> None:
    site.add_user("alice", rooms=("a",))
    site.add_user("bob", rooms=("b",))
    alice = token_socket(site, "alice")
    bob = token_socket(site, "bob")
    received(alice, "snapshot"), received(bob, "snapshot")
    set_rooms(site, "alice", "", admin=True)
    # as another process (the command line) would: this process hears nothing of it
    Users(site.web.hub.store.connect).set_password("bob", "another good password")
    site.web.clients.revalidate(user="alice")  # only alice's sockets: bob's wait
    assert bob.is_connected()
    snap = received(alice, "snapshot")[0]
    assert rooms_of(snap) == ["a", "b"] and snap["user"]["admin"] is True
    site.web.clients.revalidate()
    assert not bob.is_connected(), "a changed password must still disconnect"
    assert alice.is_connected() and received(alice, "snapshot") == []  # nothing new


# -- reload ----------------------------------------------------------------------------
def test_reload_adds_removes_and_resyncs_open_sockets(site: Site) -> None:
    site.add_user("root", admin=True)
    site.add_user("alice", rooms=("a", "c"))
    root, alice = token_socket(site, "root"), token_socket(site, "alice")
    received(root, "snapshot"), received(alice, "snapshot")
    site.poll(times=2)

    def change(data: dict[str, Any]) -> None:
        data["rooms"] = [{"id": "a", "name": "Room A"}, {"id": "c", "name": "Cellar"}]
        data["sensors"] = [DEFAULT_SENSORS[0],
                           {"id": "c1", "room": "c", "driver": "mock", "interval": 0.2}]
    rewrite(site, change)
    result = site.web.reload()
    assert result.ok, result.message
    assert result.as_dict() == {
        "ok": True, "message": "added c1; removed b1; rooms changed", "errors": [],
        "added": ["c1"], "removed": ["b1"], "restarted": [], "updated": [], "other": [],
        "needs_restart": [], "rooms": True, "notify": False}
    assert result.message == "added c1; removed b1; rooms changed"
    assert [s.id for s in site.web.config.sensors] == ["a1", "c1"]
    assert site.web.hub.poller.ids() == ["a1", "c1"]
    snap = received(root, "snapshot")[0]
    assert rooms_of(snap) == ["a", "c"] and [s["id"] for s in snap["sensors"]] == ["a1", "c1"]
    assert snap["sensors"][0]["latest"]["seq"] == 2, "a1's readings did not go on"
    assert rooms_of(received(alice, "snapshot")[0]) == ["a", "c"]  # her c room exists now
    site.poll(times=2)
    assert {r["sensor"] for r in received(alice, "reading")} == {"a1", "c1"}
    assert [r["seq"] for r in received(root, "reading") if r["sensor"] == "a1"] == [3, 4]


def test_an_invalid_file_changes_nothing(site: Site) -> None:
    site.add_user("alice", rooms=("a",))
    alice = token_socket(site, "alice")
    received(alice, "snapshot")
    before = site.web.config
    path = site.config.source
    path.write_text(path.read_text().replace("interval: 0.2", "interval: -1", 1))
    result = site.web.reload()
    assert not result.ok
    assert len(result.errors) == 1
    assert result.errors[0].startswith(f"{path}:")
    line = int(result.errors[0].split(":")[1])
    assert "interval: -1" in path.read_text().splitlines()[line - 1]
    assert "nothing changed" in result.message
    assert site.web.config is before
    assert received(alice, "snapshot") == []


def test_public_rooms_follow_and_anonymous_viewers_go_with_the_last(
        make_site: Callable[..., Site]) -> None:
    site = make_site(rooms=[{"id": "a", "name": "A", "public": True}, {"id": "b"}])
    viewer = site.socket()
    assert rooms_of(received(viewer, "snapshot")[0]) == ["a"]
    rewrite(site, lambda d: d["rooms"][1].update(public=True))
    assert site.web.reload().ok
    assert rooms_of(received(viewer, "snapshot")[0]) == ["a", "b"]
    site.poll(times=1)
    assert {r["sensor"] for r in received(viewer, "reading")} == {"a1", "b1"}
    rewrite(site, lambda d: [r.update(public=False) for r in d["rooms"]])
    assert site.web.reload().ok
    assert not viewer.is_connected(), "an anonymous viewer stayed with no public room"


def test_one_reload_at_a_time_and_restart_only_settings(site: Site) -> None:
    nested: list[Any] = []
    site.web.reloader.listeners.append(lambda _config: nested.append(site.web.reload()))
    rewrite(site, lambda d: d["server"].update(port=d["server"]["port"] + 1) or
            d["storage"].update(retention_days=7))
    result = site.web.reload()
    assert result.ok
    assert result.change is not None and result.change.needs_restart == ("server.port",)
    assert site.web.config.server.port == site.config.server.port  # left as it runs
    assert site.web.hub.store.retention_days == 7
    assert [n.ok for n in nested] == [False]
    assert nested[0].message == "a reload is already running; nothing changed"
