"""Logins, sessions and what ends them, in-process (issue 12 items 4, 5, 6, 8, 9).

The real app on a temp database, through the real login form: throttling per (user,
client) with growing delays and no lockout, X-Forwarded-For honoured only from a
configured proxy, server-side sessions that logout, a password change and a removal
end (for every copy of the cookie, and for the sockets opened with it, at once),
and a log that never shows a password typed into the name field. The 150-guess burst
and the memory it costs need a real server: ``tests/live/test_login_flood.py``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from sensorhub.storage.users import Users
from tests.conftest import PASSWORD
from tests.web.conftest import Site

WRONG = "not the password"
ATTACKER, VICTIM = "10.0.0.66", "10.0.0.7"


def post_login(site: Site, client: FlaskClient, name: str, password: str,
               address: str = "127.0.0.1", forwarded: str | None = None) -> TestResponse:
    """The login form as a browser at ``address`` (or behind a proxy) submits it."""
    environ: dict[str, Any] = {"REMOTE_ADDR": address}
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login", environ_base=environ).get_data(as_text=True))
    assert token
    return client.post("/login", environ_base=environ, headers=headers, data={
        "username": name, "password": password, "csrf_token": token.group(1)})


def cookie_of(client: FlaskClient) -> dict[str, str]:
    jar = client.get_cookie("sensorhub_session")
    assert jar is not None
    return {"Cookie": f"sensorhub_session={jar.value}"}


def sees(site: Site, headers: dict[str, str]) -> Any:
    """What GET /api/sensors answers a request carrying just these headers."""
    answer = site.app.test_client(use_cookies=False).get("/api/sensors", headers=headers)
    return answer.status_code, answer.get_json()


@pytest.fixture
def proxied(make_site: Callable[..., Site]) -> Site:
    """A site behind nginx on the same Pi: ``server.trusted_proxies: [127.0.0.1]``."""
    site = make_site(extra={"server": {"host": "127.0.0.1", "port": 5000,
                                       "async_mode": "threading",
                                       "trusted_proxies": ["127.0.0.1"]}})
    site.add_user("alice", rooms=("a",))
    site.add_user("mallory", rooms=("b",))
    return site


# -- item 8: throttled per (user, client), growing delays, no lockout -------------------
def test_a_strangers_failures_do_not_lock_the_user_out(site: Site,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    site.add_user("alice", rooms=("a",))
    attacker = site.client()
    statuses = [post_login(site, attacker, "alice", f"{WRONG} {i}", ATTACKER).status_code
                for i in range(6)]
    assert statuses == [401, 401, 401, 429, 429, 429]
    refused = post_login(site, attacker, "alice", PASSWORD, ATTACKER)  # even the right one
    assert refused.status_code == 429
    assert "Too many attempts; try again in 1 s." in refused.get_data(as_text=True)
    assert refused.headers["Retry-After"] == "1"
    # the real alice, at her own address, is not slowed at all
    assert post_login(site, site.client(), "alice", PASSWORD, VICTIM).status_code == 302
    assert "too many login attempts for user 'alice' from 10.0.0.66" in caplog.text


def test_behind_a_trusted_proxy_each_client_counts_on_its_own(proxied: Site) -> None:
    """All clients reach the app from 127.0.0.1; X-Forwarded-For tells them apart."""
    attacker = proxied.client()
    for i in range(12):  # failures for every user, from one client behind the proxy
        post_login(proxied, attacker, ("alice", "mallory", "nobody")[i % 3], WRONG,
                   forwarded=ATTACKER)
    assert post_login(proxied, attacker, "alice", PASSWORD,
                      forwarded=ATTACKER).status_code == 429
    victim = proxied.client()
    assert post_login(proxied, victim, "alice", PASSWORD, forwarded=VICTIM).status_code == 302
    (session,) = proxied.web.hub.sessions.list("alice")
    assert session.address == VICTIM  # the session records the real client


def test_a_forged_forwarded_header_from_elsewhere_changes_nothing(proxied: Site) -> None:
    """Only the named proxy's header counts: a LAN client's own is ignored."""
    client = proxied.client()
    statuses = [post_login(proxied, client, "alice", WRONG, ATTACKER,
                           forwarded=f"10.1.1.{i}").status_code for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


def test_check_config_reads_trusted_proxies(make_site: Callable[..., Site]) -> None:
    from sensorhub.config import ConfigError

    with pytest.raises(ConfigError, match=r"config.yaml:\d+: server.trusted_proxies\[0\]: "
                                          "not an address or network"):
        make_site(extra={"server": {"trusted_proxies": ["nginx"]}})


# -- item 9: no password in the log ------------------------------------------------------
def test_a_password_typed_as_the_user_name_stays_out_of_the_log(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    site.add_user("alice", rooms=("a",))
    client = site.client()
    typed = "Tr0ub4dor&3-horse"  # the password, typed into the wrong field
    for _ in range(5):  # failures and then throttling both log
        post_login(site, client, typed, "alice")
    post_login(site, client, "alice", WRONG)
    assert typed not in caplog.text and WRONG not in caplog.text
    assert "failed login for an unknown user name (#" in caplog.text
    assert "too many login attempts for an unknown user name (#" in caplog.text
    assert "failed login for user 'alice'" in caplog.text  # real names still show


# -- items 4, 5, 6: sessions end, everywhere, at once -------------------------------------
def test_logout_ends_the_session_for_a_copied_cookie_and_its_sockets(site: Site) -> None:
    site.add_user("alice", rooms=("a",))
    browser = site.login("alice")
    copied = cookie_of(browser)
    sock = site.socket(client=browser)
    other = site.login("alice")  # alice's phone: another session, untouched
    other_sock = site.socket(client=other)
    assert sock.is_connected() and sees(site, copied)[0] == 200
    page = browser.get("/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf and browser.post("/logout", data={"csrf_token": csrf.group(1)}).status_code == 302
    assert sees(site, copied) == (401, {"error": "session expired"})
    assert not sock.is_connected(), "the logged-out session's socket is still connected"
    assert other_sock.is_connected() and sees(site, cookie_of(other))[0] == 200
    assert len(site.web.clients) == 1


def test_a_readded_user_never_gets_old_cookies_back(site: Site) -> None:
    """Remove alice (room a), add an admin alice: none of the old cookies work."""
    users = site.web.hub.users
    site.add_user("alice", rooms=("a",))
    stale = cookie_of(site.login("alice"))
    users.set_password("alice", PASSWORD + " new")  # ends the first session...
    assert sees(site, stale)[0] == 401
    users.set_password("alice", PASSWORD)
    live = site.login("alice")
    sock = site.socket(client=live)
    live_cookie = cookie_of(live)
    assert sees(site, live_cookie)[0] == 200 and sock.is_connected()
    users.remove("alice")
    site.add_user("alice", admin=True)  # ...and a new alice, epoch 0 again, an admin
    for cookie in (stale, live_cookie):
        assert sees(site, cookie) == (401, {"error": "session expired"})
    assert not site.socket(headers=live_cookie).is_connected()
    assert not sock.is_connected(), "the removed user's socket is still connected"


def test_a_token_revoked_in_this_process_is_cut_at_once(site: Site) -> None:
    """Item 5: no waiting for the periodic re-check when this process revokes."""
    users = site.web.hub.users
    site.add_user("kiosk", rooms=("a",))
    token_id, token = users.create_token("kiosk")
    sock = site.socket(auth={"token": token})
    bystander = site.socket(auth={"token": users.create_token("kiosk")[1]})
    assert sock.is_connected()
    users.revoke_token(token_id)
    assert not sock.is_connected(), "the revoked token's socket is still connected"
    assert bystander.is_connected()
    assert not site.socket(auth={"token": token}).is_connected()


def test_a_revoked_tokens_id_never_passes_to_a_new_token(site: Site) -> None:
    """Item 3: revoke and create from the command line (another process, no push)
    before the next re-check: the new token used to get the old id, and the revoked
    token's socket passed the re-check on it."""
    site.add_user("kiosk", rooms=("a",))
    cli = Users(site.web.hub.store.connect)  # what `sensorhub token ...` opens
    token_id, token = cli.create_token("kiosk")
    sock = site.socket(auth={"token": token})
    assert sock.is_connected()
    cli.revoke_token(token_id)
    new_id, _new = cli.create_token("kiosk")
    assert new_id != token_id
    site.web.clients.revalidate()  # the periodic re-check
    assert not sock.is_connected(), "the revoked token's socket survived the re-check"
