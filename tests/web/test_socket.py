"""The Socket.IO contract (docs/protocol.md), in-process: the real app, Flask-SocketIO's
test client, readings taken by the real poller from the mock driver.

What needs a real server process (reasons of refusals as a real client reads them,
the server's own re-check loop, engine.io's size limit, batches sent by the
poller's tasks in both async modes) is in tests/live/test_socket_live.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask_socketio import SocketIOTestClient

from tests.web.conftest import Site, received

READING_FIELDS = {"sensor", "room", "ts", "seq", "temperature", "humidity", "pressure", "co2",
                  "dew_point", "abs_humidity"}
PEOPLE: dict[str, dict[str, Any]] = {
    "alice": {"rooms": ("a",)}, "bob": {"rooms": ("b",)}, "root": {"admin": True}}


def person(site: Site, name: str) -> str:
    """Make sure ``name`` exists: alice (room a), bob (room b), root (admin).

    Created on first use only: each password is an scrypt hash (~0.2 s).
    """
    if name not in {u.name for u in site.web.hub.users.list()}:
        site.add_user(name, **PEOPLE[name])
    return name


def inbox(sock: SocketIOTestClient) -> dict[str, list[Any]]:
    """Every event received (and not read) so far, payloads grouped by event name."""
    grouped: dict[str, list[Any]] = {}
    for message in sock.get_received():
        grouped.setdefault(message["name"], []).append(
            message["args"][0] if message["args"] else None)
    return grouped


def call(sock: SocketIOTestClient, event: str, *args: Any) -> Any:
    """Emit an event and return the server's acknowledgement."""
    return sock.emit(event, *args, callback=True)


def history(sock: SocketIOTestClient, payload: Any) -> dict[str, Any]:
    """A ``history`` request as a real client sends it (no argument for None)."""
    return call(sock, "history", *(() if payload is None else (payload,)))


def as_user(site: Site, name: str, **auth: Any) -> SocketIOTestClient:
    """A socket authenticated with a new token of ``name``; asserts it connected."""
    sock = site.socket(auth={"token": site.token(person(site, name)), **auth})
    assert sock.is_connected(), f"{name}'s socket was refused"
    return sock


def test_unauthenticated_and_bad_token_connects_are_refused(site: Site) -> None:
    """The reasons a real client reads are checked in tests/live/test_socket_live.py."""
    assert not site.socket().is_connected()
    assert not site.socket(auth={"token": "shb_not-a-real-token"}).is_connected()
    assert len(site.web.clients) == 0


def test_room_a_user_sees_only_room_a(site: Site) -> None:
    alice = as_user(site, "alice")
    snap = received(alice, "snapshot")[0]
    assert [r["id"] for r in snap["rooms"]] == ["a"]
    assert [s["id"] for s in snap["sensors"]] == ["a1"]
    assert snap["user"]["name"] == "alice"
    assert abs(snap["server_time"] - time.time()) < 5
    assert site.poll(times=4) == 8  # a1 and b1, four times each
    got = inbox(alice)
    readings = got["reading"]
    assert len(readings) == 4, "room A's readings did not arrive"
    assert {r["sensor"] for r in readings} == {"a1"}
    assert all(r["room"] == "a" for r in readings)
    seqs = [r["seq"] for r in readings]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert set(readings[0]) == READING_FIELDS
    sample = readings[0]
    assert sample["dew_point"] < sample["temperature"]
    assert got["sensor_state"] and all(s["sensor"] == "a1" for s in got["sensor_state"])


def test_admin_sees_every_room(site: Site) -> None:
    root = as_user(site, "root")
    assert {r["id"] for r in received(root, "snapshot")[0]["rooms"]} == {"a", "b"}
    site.poll(times=2)
    assert {r["sensor"] for r in received(root, "reading")} == {"a1", "b1"}


def test_history_is_rights_gated(site: Site) -> None:
    alice = as_user(site, "alice")
    site.poll(times=3)
    now = time.time()
    mine = history(alice, {"sensor": "a1", "since": now - 60})
    assert mine["sensor"] == "a1" and mine["points"], mine
    assert all(len(p) == 7 for p in mine["points"])
    theirs = history(alice, {"sensor": "b1", "since": now - 60})
    assert theirs == {"error": "unknown sensor"}
    missing = history(alice, {"sensor": "nope", "since": now - 60})
    assert missing == theirs  # no way to tell "exists but forbidden" from "does not exist"


def test_history_backfills_up_to_now(site: Site) -> None:
    """Readings pushed live are all in history at once, flushed to disk or not."""
    alice = as_user(site, "alice")
    for _ in range(5):  # apart by more than a history bucket (3 ms), so each keeps its ts
        site.poll("a1")
        time.sleep(0.01)
    readings = received(alice, "reading")
    assert len(readings) == 5
    pushed = {round(r["ts"], 3) for r in readings}

    def stored() -> set[float]:
        answer = history(alice, {"sensor": "a1", "since": time.time() - 30,
                                 "max_points": 10000})
        return {round(p[0], 3) for p in answer["points"]}

    assert site.web.hub.store.count() == 0, "nothing should be on disk yet"
    assert pushed <= stored()
    assert site.flush() == 5
    assert pushed <= stored()


MALFORMED = [
    None, "a1", ["a1"], 42, {"sensor": "a1"}, {"sensor": "a1", "since": "yesterday"},
    {"sensor": "a1", "since": 10, "until": 5}, {"sensor": ["a1"], "since": 0},
    {"sensor": "a1", "since": float("nan")}, {"sensor": "a1", "since": 0, "max_points": 1.5},
    {"sensor": "a1" * 100, "since": 0}, {"sensor": "a1", "since": True},
]


def test_malformed_history_is_refused(site: Site) -> None:
    alice = as_user(site, "alice")
    answers = [(payload, history(alice, payload)) for payload in MALFORMED]
    accepted = [(p, a) for p, a in answers if not a.get("error", "").startswith("bad request")]
    assert not accepted, accepted


def test_absurd_ranges_are_clamped(site: Site) -> None:
    alice = as_user(site, "alice")
    site.poll("a1", times=3)
    now = time.time()
    answer = history(alice, {"sensor": "a1", "since": now - 100 * 366 * 86400,
                             "max_points": 10**9})
    assert "error" not in answer
    assert answer["since"] >= now - 11 * 366 * 86400
    assert len(answer["points"]) <= 10_000


def test_unknown_events_are_refused_and_disturb_nobody(site: Site) -> None:
    """Clients cannot join rooms themselves; the oversized event is in the live tier."""
    bystander = as_user(site, "alice")
    rogue = as_user(site, "alice")
    assert call(rogue, "join", {"room": "b"}) == {"error": "unknown event"}
    assert call(rogue, "subscribe", "b") == {"error": "unknown event"}
    received(bystander, "reading")
    site.poll(times=4)
    assert {r["room"] for r in received(rogue, "reading")} == {"a"}
    assert len(received(bystander, "reading")) == 4, "bystander stopped receiving"
    assert bystander.is_connected() and rogue.is_connected()


def from_address(site: Site, name: str, address: str) -> SocketIOTestClient:
    """A socket of ``name`` (new token) connecting from another client address."""
    client = site.client()
    client.environ_base["REMOTE_ADDR"] = address
    sock = site.socket(auth={"token": site.token(person(site, name))}, client=client)
    assert sock.is_connected()
    return sock


def test_history_flood_is_limited(make_site: Callable[..., Site]) -> None:
    """Per client address and per user, never per socket: more sockets buy nothing."""
    site = make_site(server={"history_limit": 6, "history_limit_per_user": 10})
    ask = {"sensor": "a1", "since": time.time() - 5}
    first = from_address(site, "alice", "10.0.0.1")
    answers = [history(first, ask) for _ in range(8)]
    assert all("points" in a for a in answers[:6]), "the first 6 in 10 s are answered"
    assert all(a == {"error": "too many requests"} for a in answers[6:])
    second = from_address(site, "alice", "10.0.0.1")  # another socket, same device
    assert history(second, ask) == {"error": "too many requests"}
    # alice on another device: her own limit (10) has 4 left
    third = from_address(site, "alice", "10.0.0.2")
    assert [("points" in history(third, ask)) for _ in range(5)] == [True] * 4 + [False]
    # someone else on that second device is not held back by alice
    assert "points" in history(from_address(site, "bob", "10.0.0.2"),
                               {"sensor": "b1", "since": time.time() - 5})


def test_revoked_token_is_disconnected_and_refused(site: Site) -> None:
    """The server's periodic re-check runs ``revalidate``; the live tier waits for it."""
    token_id, token = site.web.hub.users.create_token(person(site, "alice"))
    kiosk = site.socket(auth={"token": token})
    bystander = as_user(site, "alice")
    assert kiosk.is_connected()
    site.web.hub.users.revoke_token(token_id)
    site.web.clients.revalidate()
    assert not kiosk.is_connected(), "revoked token's socket was not disconnected"
    assert bystander.is_connected() and len(site.web.clients) == 1
    assert not site.socket(auth={"token": token}).is_connected()


def test_session_cookie_login_connects(site: Site) -> None:
    session = site.login(person(site, "bob"))
    bob = site.socket(client=session)
    assert bob.is_connected()
    snap = received(bob, "snapshot")[0]
    assert [r["id"] for r in snap["rooms"]] == ["b"]
    assert snap["user"]["kind"] == "session"


def test_public_room_admits_anonymous_viewers(make_site: Callable[..., Site]) -> None:
    site = make_site(rooms=[{"id": "a", "name": "A"},
                            {"id": "lobby", "name": "Lobby", "public": True}],
                     sensors=[
        {"id": "a1", "room": "a", "driver": "mock", "interval": 0.2},
        {"id": "l1", "room": "lobby", "driver": "mock", "interval": 0.2}])
    viewer = site.socket()
    assert viewer.is_connected()
    snap = received(viewer, "snapshot")[0]
    assert snap["user"] is None
    assert [r["id"] for r in snap["rooms"]] == ["lobby"]
    site.poll(times=2)
    assert {r["sensor"] for r in received(viewer, "reading")} == {"l1"}
    assert history(viewer, {"sensor": "a1", "since": 0}) == {"error": "unknown sensor"}


def batched(sock: SocketIOTestClient, count: int, timeout: float = 5.0
            ) -> dict[str, list[Any]]:
    """Everything received (``inbox``) once ``count`` readings came in ``readings`` batches.

    A batch goes out when the poller's tick ends or, for reads outside the schedule
    (``site.poll``), from a background task after the broadcaster's ``max_wait``; the
    test client's queue is only read here until then, never emptied under it.
    """
    deadline = time.monotonic() + timeout
    while sum(len(m["args"][0]) for m in list(sock.queue) if m["name"] == "readings") < count:
        assert time.monotonic() < deadline, "the batch never came"
        time.sleep(0.01)
    return inbox(sock)


def test_batch_clients_get_readings_arrays_of_their_room_only(site: Site) -> None:
    batcher = as_user(site, "alice", batch=True)
    single = as_user(site, "alice")
    received(batcher, "snapshot")
    site.poll(times=4)
    got = batched(batcher, 4)
    batches = got["readings"]
    assert batches and "reading" not in got
    flat = [r for batch in batches for r in batch]
    assert len(flat) == 4 and {r["sensor"] for r in flat} == {"a1"}
    assert all(set(r) == READING_FIELDS for r in flat)
    seqs = [r["seq"] for r in flat]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert [r["seq"] for r in received(single, "reading")] == seqs  # the same readings


def test_a_batch_client_gets_one_message_a_tick_across_all_its_rooms(
        make_site: Callable[..., Site]) -> None:
    """The real poller's tick ends the batch: no window, one message however many rooms."""
    site = make_site(sensors=[
        {"id": "a1", "room": "a", "driver": "mock", "interval": 0.2},
        {"id": "a2", "room": "a", "driver": "mock", "interval": 0.2},
        {"id": "b1", "room": "b", "driver": "mock", "interval": 0.2}])
    site.web.broadcaster.max_wait = 60.0  # only the end of a tick can send a batch here
    root = as_user(site, "root", batch=True)
    alice = as_user(site, "alice", batch=True)
    received(root, "snapshot")
    received(alice, "snapshot")
    poller = site.web.hub.poller
    poller.start()
    try:
        got = batched(root, 9)
    finally:
        poller.stop(timeout=1.0)
    ticks = [sorted((r["sensor"], r["seq"]) for r in batch) for batch in got["readings"]]
    for n, tick in enumerate(ticks, start=1):  # every sensor due at the instant, once
        assert tick == [("a1", n), ("a2", n), ("b1", n)], ticks
    assert "reading" not in got
    mine = inbox(alice).get("readings", [])
    assert mine and all({r["room"] for r in batch} == {"a"} for batch in mine)


def test_alert_history_is_rights_gated_and_checks_its_limit(
        make_site: Callable[..., Site]) -> None:
    site = make_site(sensors=[
        {"id": "a1", "room": "a", "driver": "mock", "interval": 0.2,
         "alerts": [{"quantity": "temperature", "above": -50, "for": 0}]},
        {"id": "b1", "room": "b", "driver": "mock", "interval": 0.2}])
    alice, bob = as_user(site, "alice"), as_user(site, "bob")
    site.poll(times=2)
    assert [(a["sensor"], a["state"]) for a in received(alice, "alert")] == [
        ("a1", "firing")]  # once per episode
    assert received(bob, "alert") == []
    mine = call(alice, "alert_history", {"limit": 10})
    assert [(a["sensor"], a["kind"], a["cleared"]) for a in mine["alerts"]] == [
        ("a1", "temperature_above", None)]
    assert call(alice, "alert_history") == mine  # the limit is optional
    assert call(bob, "alert_history", {}) == {"alerts": []}
    for limit in (True, "10", 2.5):
        assert call(alice, "alert_history", {"limit": limit}) == {
            "error": "bad request: limit must be a whole number"}, limit
