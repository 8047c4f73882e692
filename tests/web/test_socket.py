"""The Socket.IO contract against the real server on loopback (docs/protocol.md)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
import socketio

from tests.clients import Watcher as Recorder
from tests.clients import close_all
from tests.conftest import LiveServer


@pytest.fixture
def clients() -> Iterator[list[Recorder]]:
    """Recorders that are disconnected after the test."""
    made: list[Recorder] = []
    yield made
    close_all(made)  # in parallel: a threading-mode server takes ~3 s per websocket


def connect(server: LiveServer, made: list[Recorder], **kwargs: Any) -> Recorder:
    recorder = Recorder(server, **kwargs)
    made.append(recorder)
    return recorder


def refusal(server: LiveServer, **kwargs: Any) -> str:
    """Connect expecting a refusal; return the reason the server gave (connect_error)."""
    client = socketio.Client(reconnection=False)
    reasons: list[Any] = []
    client.on("connect_error", reasons.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server.url, transports=["websocket"], wait_timeout=5, **kwargs)
    assert reasons, "no connect_error reason"
    reason = reasons[0]
    return reason.get("message", "") if isinstance(reason, dict) else str(reason)


def test_unauthenticated_connect_is_refused_with_reason(live_server: LiveServer) -> None:
    assert refusal(live_server) == "authentication required"


def test_bad_token_is_refused(live_server: LiveServer) -> None:
    assert refusal(live_server, auth={"token": "shb_not-a-real-token"}) == (
        "invalid or revoked token")


def test_room_a_user_sees_only_room_a(live_server: LiveServer, clients: list[Recorder]) -> None:
    alice = connect(live_server, clients, auth={"token": live_server.token("alice")})
    snap = alice.of("snapshot")[0]
    assert [r["id"] for r in snap["rooms"]] == ["a"]
    assert [s["id"] for s in snap["sensors"]] == ["a1"]
    assert snap["user"]["name"] == "alice"
    assert abs(snap["server_time"] - time.time()) < 5
    time.sleep(1.5)
    readings = alice.of("reading")
    assert len(readings) >= 4, "room A's readings did not arrive"
    assert {r["sensor"] for r in readings} == {"a1"}
    assert all(r["room"] == "a" for r in readings)
    seqs = [r["seq"] for r in readings]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert set(readings[0]) == {"sensor", "room", "ts", "seq", "temperature", "humidity",
                                "pressure", "co2",
                                "dew_point", "abs_humidity"}
    sample = readings[0]
    assert sample["dew_point"] < sample["temperature"]
    assert all(s["sensor"] == "a1" for s in alice.of("sensor_state"))


def test_admin_sees_every_room(live_server: LiveServer, clients: list[Recorder]) -> None:
    root = connect(live_server, clients, auth={"token": live_server.token("root")})
    assert {r["id"] for r in root.of("snapshot")[0]["rooms"]} == {"a", "b"}
    time.sleep(1.0)
    assert {r["sensor"] for r in root.of("reading")} == {"a1", "b1"}


def test_history_is_rights_gated(live_server: LiveServer, clients: list[Recorder]) -> None:
    alice = connect(live_server, clients, auth={"token": live_server.token("alice")})
    now = time.time()
    mine = alice.client.call("history", {"sensor": "a1", "since": now - 60}, timeout=10)
    assert mine["sensor"] == "a1" and mine["points"], mine
    assert all(len(p) == 7 for p in mine["points"])
    theirs = alice.client.call("history", {"sensor": "b1", "since": now - 60}, timeout=10)
    assert theirs == {"error": "unknown sensor"}
    missing = alice.client.call("history", {"sensor": "nope", "since": now - 60}, timeout=10)
    assert missing == theirs  # no way to tell "exists but forbidden" from "does not exist"


def test_history_backfills_up_to_now(live_server: LiveServer, clients: list[Recorder]) -> None:
    """Readings pushed live are all in history at once, flushed to disk or not."""
    alice = connect(live_server, clients, auth={"token": live_server.token("alice")})
    time.sleep(1.0)
    pushed = {round(r["ts"], 3) for r in alice.of("reading")}
    answer = alice.client.call("history", {"sensor": "a1", "since": time.time() - 30,
                                           "max_points": 10000}, timeout=10)
    stored = {round(p[0], 3) for p in answer["points"]}
    assert pushed and pushed <= stored


@pytest.mark.parametrize("payload", [
    None, "a1", ["a1"], 42, {"sensor": "a1"}, {"sensor": "a1", "since": "yesterday"},
    {"sensor": "a1", "since": 10, "until": 5}, {"sensor": ["a1"], "since": 0},
    {"sensor": "a1", "since": float("nan")}, {"sensor": "a1", "since": 0, "max_points": 1.5},
    {"sensor": "a1" * 100, "since": 0}, {"sensor": "a1", "since": True},
])
def test_malformed_history_is_refused(live_server: LiveServer, clients: list[Recorder],
                                      payload: Any) -> None:
    alice = connect(live_server, clients, auth={"token": live_server.token("alice")})
    answer = alice.client.call("history", payload, timeout=10)
    assert answer["error"].startswith("bad request"), answer


def test_absurd_ranges_are_clamped(live_server: LiveServer, clients: list[Recorder]) -> None:
    alice = connect(live_server, clients, auth={"token": live_server.token("alice")})
    now = time.time()
    answer = alice.client.call("history", {"sensor": "a1", "since": now - 100 * 366 * 86400,
                                           "max_points": 10**9}, timeout=10)
    assert "error" not in answer
    assert answer["since"] >= now - 11 * 366 * 86400
    assert len(answer["points"]) <= 10_000


def test_bad_events_do_not_disturb_others(live_server: LiveServer,
                                          clients: list[Recorder]) -> None:
    bystander = connect(live_server, clients, auth={"token": live_server.token("alice")})
    rogue = connect(live_server, clients, auth={"token": live_server.token("alice")})
    assert rogue.client.call("join", {"room": "b"}, timeout=5) == {"error": "unknown event"}
    assert rogue.client.call("subscribe", "b", timeout=5) == {"error": "unknown event"}
    before = len(bystander.of("reading"))
    huge = {"sensor": "a1", "since": 0, "pad": "x" * 200_000}  # beyond the 64 KiB limit
    with contextlib.suppress(socketio.exceptions.SocketIOError):
        rogue.client.emit("history", huge)
    time.sleep(1.5)
    assert all(r["room"] == "a" for r in rogue.of("reading"))
    assert len(bystander.of("reading")) >= before + 4, "bystander stopped receiving"
    assert bystander.client.connected


def test_history_flood_is_limited(live_server: LiveServer, clients: list[Recorder]) -> None:
    alice = connect(live_server, clients, auth={"token": live_server.token("alice")})
    answers = [alice.client.call("history", {"sensor": "a1", "since": time.time() - 5},
                                 timeout=10) for _ in range(70)]
    assert any(a.get("error") == "too many requests" for a in answers)
    assert "points" in answers[0]


def test_revoked_token_stops_working(live_server: LiveServer, clients: list[Recorder]) -> None:
    token_id, token = live_server.users.create_token("alice")
    kiosk = connect(live_server, clients, auth={"token": token})
    live_server.users.revoke_token(token_id)
    deadline = time.monotonic() + 15
    while kiosk.client.connected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not kiosk.client.connected, "revoked token's socket was not disconnected"
    assert refusal(live_server, auth={"token": token}) == "invalid or revoked token"


def test_session_cookie_login_connects(live_server: LiveServer,
                                       clients: list[Recorder]) -> None:
    session = live_server.login("bob")
    bob = connect(live_server, clients, headers=live_server.cookie_header(session))
    assert [r["id"] for r in bob.of("snapshot")[0]["rooms"]] == ["b"]
    assert bob.of("snapshot")[0]["user"]["kind"] == "session"


def test_public_room_admits_anonymous_viewers(server_factory: Any,
                                              clients: list[Recorder]) -> None:
    server = server_factory(rooms=[{"id": "a", "name": "A"},
                                   {"id": "lobby", "name": "Lobby", "public": True}],
                            sensors=[
        {"id": "a1", "room": "a", "driver": "mock", "interval": 0.2},
        {"id": "l1", "room": "lobby", "driver": "mock", "interval": 0.2}])
    viewer = connect(server, clients)
    snap = viewer.of("snapshot")[0]
    assert snap["user"] is None
    assert [r["id"] for r in snap["rooms"]] == ["lobby"]
    time.sleep(1.0)
    assert {r["sensor"] for r in viewer.of("reading")} == {"l1"}
    assert viewer.client.call("history", {"sensor": "a1", "since": 0}, timeout=5) == {
        "error": "unknown sensor"}


def test_batch_clients_get_readings_arrays_of_their_room_only(
        live_server: LiveServer, clients: list[Recorder]) -> None:
    batcher = connect(live_server, clients, auth={"token": live_server.token("alice"),
                                                  "batch": True})
    time.sleep(1.5)
    batches = batcher.of("readings")
    assert batches and batcher.of("reading") == []
    flat = [r for batch in batches for r in batch]
    assert len(flat) >= 4 and {r["sensor"] for r in flat} == {"a1"}
    seqs = [r["seq"] for r in flat]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
