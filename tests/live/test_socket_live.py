"""The Socket.IO contract where it needs a real ``sensorhub run`` and a real client.

The rest of the contract runs in-process in tests/web/test_socket.py. These need the
process, and run once per async mode (eventlet, threading):

- the reason of a refused connection: Flask-SocketIO's test client only marks the
  socket disconnected, a real client reads the reason from ``connect_error``;
- the server's own re-check loop (a task of the async mode, every 4 s), which the
  in-process tier replaces by calling ``Clients.revalidate``, for credentials ended
  by another process (the command line);
- the limit on a packet (server.max_event_bytes, 16 KiB), enforced by the real
  engine.io transport (the test client hands packets to the server directly, past it);
- ``readings`` batches, sent from the poller's own tasks (the end of a tick) or a
  background task of the async mode (the broadcaster's ``max_wait``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import socketio

from tests.clients import Watcher, close_all
from tests.conftest import LiveServer


@pytest.fixture
def clients() -> Iterator[list[Watcher]]:
    """Watchers that are disconnected after the test."""
    made: list[Watcher] = []
    yield made
    close_all(made)  # in parallel: a threading-mode server takes ~3 s per websocket


def connect(server: LiveServer, made: list[Watcher], **kwargs: Any) -> Watcher:
    watcher = Watcher(server, **kwargs)
    made.append(watcher)
    return watcher


def until(condition: Callable[[], bool], timeout: float) -> bool:
    """Wait for ``condition``; return whether it came true within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


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


def test_refusals_carry_their_reason(live_server: LiveServer) -> None:
    token_id, revoked = live_server.users.create_token("alice")
    live_server.users.revoke_token(token_id)
    auths = [None, {"token": "shb_not-a-real-token"}, {"token": revoked}]
    # side by side: a refused websocket client waits ~3 s for a threading-mode server
    # to answer its close, long after the reason arrived
    with ThreadPoolExecutor(len(auths)) as pool:
        reasons = list(pool.map(lambda auth: refusal(live_server, auth=auth), auths))
    assert reasons == ["authentication required", "invalid or revoked token",
                       "invalid or revoked token"]


def test_the_server_disconnects_a_revoked_token_by_itself(
        live_server: LiveServer, clients: list[Watcher]) -> None:
    token_id, token = live_server.users.create_token("alice")
    kiosk = connect(live_server, clients, auth={"token": token})
    other = connect(live_server, clients, auth={"token": live_server.token("alice")})
    live_server.users.revoke_token(token_id)
    assert until(lambda: not kiosk.client.connected, 15), (
        "revoked token's socket was not disconnected")
    assert other.client.connected


def test_what_another_process_ends_is_cut_within_5_s_whatever_the_flush_interval(
        server_factory: Callable[..., LiveServer], clients: list[Watcher]) -> None:
    """Issue 12 item 5: the re-check keeps its own schedule, not the store's batches.

    ``sensorhub token revoke`` and ``sensorhub user remove`` run in another process:
    only the server's periodic re-check can notice.
    """
    server = server_factory(storage={"flush_interval": 30})
    server.add_user("alice", rooms=("a",))
    server.add_user("bob", rooms=("b",))
    token_id, token = server.users.create_token("alice")
    kiosk = connect(server, clients, auth={"token": token})
    browser = connect(server, clients, headers=server.cookie_header(server.login("bob")))
    bystander = connect(server, clients, auth={"token": server.token("alice")})
    time.sleep(1.3)  # somewhere inside a re-check period, not at its start
    server.users.revoke_token(token_id)
    revoked = time.monotonic()
    assert until(lambda: not kiosk.client.connected, 10), "the revoked token kept its socket"
    assert time.monotonic() - revoked < 5.0
    server.users.remove("bob")
    removed = time.monotonic()
    assert until(lambda: not browser.client.connected, 10), "the removed user kept a socket"
    assert time.monotonic() - removed < 5.0
    assert bystander.client.connected


def test_an_oversized_packet_closes_only_its_own_connection(
        live_server: LiveServer, clients: list[Watcher]) -> None:
    bystander = connect(live_server, clients, auth={"token": live_server.token("alice")})
    rogue = connect(live_server, clients, auth={"token": live_server.token("alice")})
    huge = {"sensor": "a1", "since": 0, "pad": "x" * 200_000}  # beyond the 16 KiB limit
    with contextlib.suppress(socketio.exceptions.SocketIOError):
        rogue.client.emit("history", huge)
    before = len(bystander.of("reading"))
    assert until(lambda: len(bystander.of("reading")) >= before + 4, 10), (
        "bystander stopped receiving")
    assert until(lambda: not rogue.client.connected, 10), "the rogue is still connected"
    assert all(r["room"] == "a" for r in rogue.of("reading"))
    assert bystander.client.connected


def test_batches_arrive_over_the_wire(live_server: LiveServer,
                                      clients: list[Watcher]) -> None:
    batcher = connect(live_server, clients, auth={"token": live_server.token("alice"),
                                                  "batch": True})

    def flat() -> list[dict[str, Any]]:
        return [r for batch in batcher.of("readings") for r in batch]

    assert until(lambda: len(flat()) >= 4, 10), "no readings batches"
    assert batcher.of("reading") == []
    assert {r["sensor"] for r in flat()} == {"a1"}
    seqs = [r["seq"] for r in flat()]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
