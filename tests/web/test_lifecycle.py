"""Client events named like lifecycle events change nothing (issue 12 item 1), in-process.

python-socketio 5.18 dispatches a client's ``disconnect`` or ``connect`` EVENT packet
to the app's lifecycle handlers (see ``sensorhub/web/lifecycle.py``). Flask-SocketIO's
test client sends exactly such packets through the real server object; the live tier
(``tests/live/test_auth_matrix.py``) repeats this with real clients in both async modes.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask_socketio import SocketIOTestClient

from sensorhub.storage.users import Users
from tests.web.conftest import Site, received

REFUSED = {"error": "reserved event"}


@pytest.fixture
def people(site: Site) -> Site:
    site.add_user("alice", rooms=("a",))
    site.add_user("root", admin=True)
    return site


def sid_of(site: Site, sock: SocketIOTestClient) -> str:
    return site.socketio.server.manager.sid_from_eio_sid(sock.eio_sid, "/")


def call(sock: SocketIOTestClient, event: str, *args: Any) -> Any:
    return sock.emit(event, *args, callback=True)


def counters(site: Site) -> dict[str, int]:
    return site.web.security_counters()


def test_a_client_disconnect_event_leaves_the_socket_under_revalidation(people: Site) -> None:
    """It used to drop the socket from the registry: no longer counted, never re-checked,
    still in its rooms after its token was revoked."""
    site = people
    cli = Users(site.web.hub.store.connect)  # the command line: no push, only the re-check
    token_id, token = cli.create_token("alice")
    rogue = site.socket(auth={"token": token})
    sid = sid_of(site, rogue)
    answers = [call(rogue, "disconnect"), call(rogue, "disconnect", "client disconnect")]
    assert site.web.clients.get(sid) is not None, "the registry forgot the socket"
    assert site.client().get("/healthz").get_json()["clients"] == 1
    cli.revoke_token(token_id)
    site.web.clients.revalidate()
    assert not rogue.is_connected(), "a revoked token kept its socket"
    assert site.socketio.server.manager.get_rooms(sid, "/") == []  # in no room either
    assert answers == [REFUSED, REFUSED]
    assert counters(site)["lifecycle_events_refused"] == 2


def test_a_client_connect_event_gains_no_rooms(people: Site) -> None:
    """It used to re-run connect: with the admin's token, alice's socket joined room b."""
    site = people
    admin_token = site.token("root")
    rogue = site.socket(auth={"token": site.token("alice")})
    received(rogue, "snapshot")
    # Flask-SocketIO hands a connect handler its second argument as ``auth``
    answers = [call(rogue, "connect", None, {"token": admin_token})]
    site.poll(times=3)
    assert {r["room"] for r in received(rogue, "reading")} == {"a"}, "it joined room b"
    answers += [call(rogue, "connect", {"token": admin_token}), call(rogue, "connect")]
    principal = site.web.clients.get(sid_of(site, rogue))
    assert principal is not None and principal.name == "alice" and not principal.admin
    assert received(rogue, "snapshot") == []  # no second snapshot either
    assert len(site.web.clients) == 1
    assert answers == [REFUSED] * 3
    assert counters(site)["lifecycle_events_refused"] == 3


@pytest.mark.parametrize("event", ["connect_error", "disconnecting"])
def test_the_client_sides_lifecycle_names_are_refused_and_counted(people: Site,
                                                                  event: str) -> None:
    site = people
    sock = site.socket(auth={"token": site.token("alice")})
    assert call(sock, event, {"message": "x"}) == REFUSED
    assert counters(site)["lifecycle_events_refused"] == 1
    assert sock.is_connected() and len(site.web.clients) == 1


def test_refusals_are_visible_to_admins_only(make_site: Any) -> None:
    site = make_site(extra={"metrics": {"token": "a-long-scrape-token"}})
    site.add_user("alice", rooms=("a",))
    site.add_user("root", admin=True)
    sock = site.socket(auth={"token": site.token("alice")})
    call(sock, "disconnect")
    scraped = site.client().get("/metrics", headers={
        "Authorization": "Bearer a-long-scrape-token"}).get_data(as_text=True)
    assert "sensorhub_lifecycle_events_refused_total 1.0" in scraped
    assert "sensorhub_connected_clients 1.0" in scraped
    admin = site.client().get("/healthz", headers=site.bearer("root")).get_json()
    assert admin["security"]["lifecycle_events_refused"] == 1 and admin["clients"] == 1
    user = site.client().get("/healthz", headers=site.bearer("alice")).get_json()
    assert "security" not in user


def test_a_socket_unknown_to_the_registry_is_cut_by_the_re_check(people: Site) -> None:
    """Defence in depth: whatever drops a socket from the registry, it keeps no rooms."""
    site = people
    sock = site.socket(auth={"token": site.token("alice")})
    site.web.clients.remove(sid_of(site, sock))  # as the disconnect trick used to
    site.web.clients.revalidate()
    assert not sock.is_connected()
