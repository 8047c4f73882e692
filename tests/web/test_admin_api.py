"""The admin's API and your own account, in-process (issue 16): bad input changes
nothing, the last admin stays, rights changes reach open sockets at once, what ends a
credential cuts its sockets at once, and the audit log says who did what from where.

Who may call which route (every kind of caller) is the matrix in
tests/web/test_auth_matrix.py; the same effects through a real server and a real
python-socketio client are in tests/live/test_admin_live.py.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import PASSWORD
from tests.web.conftest import Site, received


class Admin:
    """An admin's browser: a logged-in client that sends its CSRF token on changes."""

    def __init__(self, site: Site, name: str = "root") -> None:
        self.client = site.login(name)
        page = self.client.get("/admin").get_data(as_text=True)
        found = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert found, "the admin page carries no CSRF token"
        self.csrf = found.group(1)

    def __call__(self, method: str, path: str, data: Any = None) -> TestResponse:
        return self.client.open(path, method=method, json=data,
                                headers={"X-CSRF-Token": self.csrf})


@pytest.fixture
def admin(site: Site) -> Admin:
    site.add_user("root", admin=True)
    site.web.hub.users.remove("admin")  # the bootstrap admin: root is the only one
    site.add_user("alice", rooms=("a",))
    return Admin(site)


def state(site: Site, name: str) -> tuple[Any, ...]:
    """Everything an update may touch of a user, straight from the database."""
    conn = site.web.hub.store.connect()
    try:
        return conn.execute("SELECT admin, rooms, disabled, epoch, password FROM users "
                            "WHERE name = ?", (name,)).fetchone()
    finally:
        conn.close()


# -- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize(("data", "reason"), [
    ({"rooms": ["b"], "admin": "yes"}, "admin must be true or false"),
    ({"rooms": ["b"], "disabled": 1}, "disabled must be true or false"),
    ({"rooms": ["b", "nowhere"], "admin": True}, "unknown room 'nowhere' (rooms: a, b)"),
    ({"rooms": "b"}, "rooms must be a list of room ids"),
    ({"rooms": ["b"], "password": "short"}, "password must have at least 8 characters"),
    ({"rooms": ["b"], "password": 12345678}, "password must be a string, or true for a "
                                             "generated one"),
    ({"rooms": ["b"], "colour": "red"}, "unknown field 'colour' (allowed: rooms, admin, "
                                        "disabled, password)"),
    ({}, "nothing to change"),
    (["rooms"], "expected a JSON object (Content-Type: application/json)"),
])
def test_a_patch_with_one_bad_field_changes_nothing(site: Site, admin: Admin, data: Any,
                                                    reason: str) -> None:
    before = state(site, "alice")
    answer = admin("PATCH", "/api/users/alice", data)
    assert answer.status_code == 400 and answer.get_json() == {"error": reason}
    assert state(site, "alice") == before


def test_bad_requests_get_one_line_and_no_traceback(site: Site, admin: Admin) -> None:
    cases = [
        ("POST", "/api/users", {"name": "bad name!"}, 400, "invalid user name"),
        ("POST", "/api/users", {"name": "alice"}, 400, "user 'alice' already exists"),
        ("POST", "/api/users", {"name": "x", "rooms": [7]}, 400, "rooms must be a list"),
        ("PATCH", "/api/users/nobody", {"admin": True}, 404, "unknown user"),
        ("DELETE", "/api/users/nobody", None, 404, "unknown user"),
        ("POST", "/api/tokens", {"user": "nobody"}, 404, "unknown user"),
        ("POST", "/api/tokens", {"user": "alice", "rooms": []}, 400, "at least one room"),
        ("POST", "/api/tokens", {"user": "alice", "rooms": ["b"]}, 400,
         "alice may not watch room 'b'"),
        ("POST", "/api/tokens", {"user": "alice", "label": "x" * 101}, 400, "label must"),
        ("DELETE", "/api/tokens/999", None, 404, "unknown token"),
        ("GET", "/api/audit?since=soon", None, 400, "since and until must be numbers"),
        ("GET", "/api/audit?until=inf", None, 400, "must be finite"),
    ]
    for method, path, data, status, reason in cases:
        answer = admin(method, path, data)
        assert answer.status_code == status, (method, path, answer.get_data())
        error = answer.get_json()["error"]
        assert reason in error and "\n" not in error and "Traceback" not in error
    assert admin("POST", "/api/users", None).status_code == 400  # no body at all


# -- the last admin ----------------------------------------------------------------------
def test_the_last_admin_stays(site: Site, admin: Admin) -> None:
    reason = "root is the last admin: make another user an admin first"
    for method, data in (("DELETE", None), ("PATCH", {"admin": False}),
                         ("PATCH", {"disabled": True}),
                         ("PATCH", {"admin": False, "rooms": ["a"]})):
        answer = admin(method, "/api/users/root", data)
        assert answer.status_code == 409 and answer.get_json() == {"error": reason}
    assert state(site, "root")[:3] == (1, "", 0)
    assert admin("PATCH", "/api/users/alice", {"admin": True}).status_code == 200
    assert admin("PATCH", "/api/users/root", {"admin": False}).status_code == 200
    # root is no admin now: its session is moved to its new rights at once
    assert admin("GET", "/api/users").status_code == 403


# -- live effects on open sockets (item 3) -------------------------------------------------
def test_rights_changes_reach_open_sockets_at_once(site: Site, admin: Admin) -> None:
    session = site.socket(client=site.login("alice"))
    token = site.socket(auth={"token": site.token("alice")})
    for sock in (session, token):
        assert [r["id"] for r in received(sock, "snapshot")[0]["rooms"]] == ["a"]
    assert admin("PATCH", "/api/users/alice", {"rooms": ["b"]}).status_code == 200
    for sock in (session, token):  # no 5-s wait: this process made the change
        assert sock.is_connected()
        snaps = received(sock, "snapshot")
        assert len(snaps) == 1 and [r["id"] for r in snaps[0]["rooms"]] == ["b"]
    site.poll(times=2)
    assert {r["sensor"] for r in received(session, "reading")} == {"b1"}
    assert admin("PATCH", "/api/users/alice", {"admin": True}).status_code == 200
    snap = received(token, "snapshot")[0]
    assert snap["user"]["admin"] and [r["id"] for r in snap["rooms"]] == ["a", "b"]


@pytest.mark.parametrize("cut", ["disable", "reset password", "revoke token", "remove"])
def test_what_ends_a_credential_cuts_its_sockets_at_once(site: Site, admin: Admin,
                                                         cut: str) -> None:
    token_id, token = site.web.hub.users.create_token("alice")
    session = site.socket(client=site.login("alice"))
    by_token = site.socket(auth={"token": token})
    other = site.socket(auth={"token": site.token("root")})
    assert session.is_connected() and by_token.is_connected()
    answer = {
        "disable": lambda: admin("PATCH", "/api/users/alice", {"disabled": True}),
        "reset password": lambda: admin("PATCH", "/api/users/alice", {"password": True}),
        "revoke token": lambda: admin("DELETE", f"/api/tokens/{token_id}"),
        "remove": lambda: admin("DELETE", "/api/users/alice"),
    }[cut]()
    assert answer.status_code == 200, answer.get_data()
    assert not by_token.is_connected() or cut == "reset password"  # a token outlives it
    assert not session.is_connected() or cut == "revoke token"
    assert other.is_connected()


def test_a_disabled_user_is_told_so_at_login_and_comes_back_when_enabled(
        site: Site, admin: Admin) -> None:
    token = site.token("alice")
    admin("PATCH", "/api/users/alice", {"disabled": True})
    browser = site.client()
    answer = browser.post("/login", data={"username": "alice", "password": PASSWORD,
                                          "csrf_token": site.csrf(browser)})
    assert answer.status_code == 403 and "This account is disabled" in answer.get_data(
        as_text=True)
    wrong = browser.post("/login", data={"username": "alice", "password": "not it at all",
                                         "csrf_token": site.csrf(browser)})
    assert "disabled" not in wrong.get_data(as_text=True)  # only the password tells
    assert site.client().get("/api/sensors", headers={
        "Authorization": f"Bearer {token}"}).status_code == 401
    admin("PATCH", "/api/users/alice", {"disabled": False})
    assert site.client().get("/api/sensors", headers={
        "Authorization": f"Bearer {token}"}).status_code == 200
    site.login("alice")


# -- passwords and tokens shown once -----------------------------------------------------
def test_a_reset_password_is_shown_once_and_works(site: Site, admin: Admin) -> None:
    old = site.login("alice")
    answer = admin("PATCH", "/api/users/alice", {"password": True})
    new = answer.get_json()["password"]
    assert len(new) >= 16 and old.get("/api/sensors").status_code == 401
    site.login("alice", new)
    assert new not in admin("GET", "/api/users/alice").get_data(as_text=True)
    made = admin("POST", "/api/users", {"name": "carol", "password": "chosen by admin"})
    assert made.status_code == 201 and "password" not in made.get_json()
    site.login("carol", "chosen by admin")


def test_a_kiosk_link_shows_only_its_rooms(site: Site, admin: Admin) -> None:
    answer = admin("POST", "/api/tokens", {"user": "root", "label": "hall", "rooms": ["b"]})
    body = answer.get_json()
    assert answer.status_code == 201 and body["token"]["rooms"] == ["b"]
    assert body["kiosk_url"] == f"http://localhost/kiosk#token={body['secret']}"
    assert body["qr_svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert "<script" not in body["qr_svg"] and "style=" not in body["qr_svg"]
    sock = site.socket(auth={"token": body["secret"]})
    snap = received(sock, "snapshot")[0]
    assert [r["id"] for r in snap["rooms"]] == ["b"] and snap["user"]["admin"] is False
    listed = admin("GET", "/api/tokens").get_json()["tokens"]
    assert body["secret"] not in repr(listed)
    assert [t["label"] for t in listed] == ["hall"] and listed[0]["last_used"] is not None


# -- config ---------------------------------------------------------------------------------
def test_check_config_applies_nothing_and_reload_applies(site: Site, admin: Admin) -> None:
    path = site.config.source
    good = path.read_text()
    path.write_text(good.replace("rooms:", "rooms: [oops\n", 1))
    checked = admin("POST", "/api/admin/check-config").get_json()
    assert checked["ok"] is False and re.match(rf"{re.escape(str(path))}:\d+: ",
                                               checked["errors"][0])
    refused = admin("POST", "/api/admin/reload").get_json()
    assert refused["ok"] is False and refused["errors"] == checked["errors"]
    data = yaml.safe_load(good)
    data["sensors"].append({"id": "a2", "room": "a", "driver": "mock", "interval": 0.2})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    checked = admin("POST", "/api/admin/check-config").get_json()
    assert checked["ok"] is True and "added a2" in checked["message"]
    assert "a2" not in site.web.hub.poller.ids()  # checked, not applied
    reloaded = admin("POST", "/api/admin/reload").get_json()
    assert reloaded["ok"] is True and reloaded["added"] == ["a2"]
    shown = admin("GET", "/api/admin/config").get_json()
    assert [s["id"] for s in shown["sensors"]] == ["a1", "b1", "a2"]  # config order
    assert shown["last_reload"]["added"] == ["a2"] and shown["sensors"][0]["driver"] == "mock"
    assert "health" in shown["sensors"][0]


# -- the audit log ----------------------------------------------------------------------------
def test_the_audit_log_says_who_did_what_from_where(site: Site, admin: Admin) -> None:
    browser = site.client()
    browser.post("/login", data={"username": "correct horse typed as a name",
                                 "password": "whatever", "csrf_token": site.csrf(browser)},
                 environ_base={"REMOTE_ADDR": "192.0.2.9"})
    admin("PATCH", "/api/users/alice", {"rooms": ["a", "b"]})
    admin("POST", "/api/tokens", {"user": "alice", "label": "=HYPERLINK(1)"})
    entries = admin("GET", "/api/audit").get_json()["entries"]
    latest = entries[0]
    assert (latest["actor"], latest["action"], latest["target"]) == ("root", "token.create",
                                                                     "alice")
    change = entries[1]
    assert change["detail"] == "rooms a,b" and change["address"] == "127.0.0.1"
    failed = next(e for e in entries if e["action"] == "login failed")
    assert failed["address"] == "192.0.2.9" and re.fullmatch(r"#[0-9a-f]{8}", failed["actor"])
    assert "correct horse" not in repr(entries)  # a name that is no user may be a password
    assert any(e["action"] == "login" and e["actor"] == "root" for e in entries)
    rows = list(csv.reader(io.StringIO(admin("GET", "/api/audit.csv").get_data(as_text=True))))
    assert rows[0] == ["id", "ts", "time_utc", "actor", "action", "target", "detail", "address"]
    assert len(rows) == len(entries) + 1
    assert admin("GET", "/api/audit?action=login%20failed&limit=5").get_json()["entries"] == [
        failed]


# -- your own account -------------------------------------------------------------------------
def own(site: Site, name: str) -> tuple[FlaskClient, dict[str, str]]:
    client = site.login(name)
    page = client.get("/account").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token
    return client, {"X-CSRF-Token": token.group(1)}


def test_change_your_own_password(site: Site, admin: Admin) -> None:
    elsewhere = site.login("alice")
    phone = site.socket(client=elsewhere)
    me, csrf = own(site, "alice")
    answer = me.post("/api/me/password", json={"current": PASSWORD, "new": "short"},
                     headers=csrf)
    assert answer.status_code == 400 and "at least 8" in answer.get_json()["error"]
    answer = me.post("/api/me/password", json={"current": PASSWORD, "new": "my own secret"},
                     headers=csrf)
    assert answer.status_code == 200, answer.get_data()
    assert me.get("/api/me").status_code == 200, "this browser stays logged in"
    assert elsewhere.get("/api/me").status_code == 401 and not phone.is_connected()
    site.login("alice", "my own secret")
    sessions = me.get("/api/me").get_json()["sessions"]
    assert [s["current"] for s in sessions].count(True) == 1 and len(sessions) == 2
    assert "my own secret" not in repr(site.web.hub.audit.entries())


def test_guessing_the_current_password_is_throttled(site: Site, admin: Admin) -> None:
    me, csrf = own(site, "alice")
    statuses = [me.post("/api/me/password", headers=csrf,
                        json={"current": f"guess number {i}", "new": "whatever123"}).status_code
                for i in range(5)]
    assert statuses[:3] == [400, 400, 400] and statuses[3:] == [429, 429]
    # the same count as the login form's: guessing here does not buy fresh tries there
    browser = site.client()
    answer = browser.post("/login", data={"username": "alice", "password": PASSWORD,
                                          "csrf_token": site.csrf(browser)})
    assert answer.status_code == 429
    elsewhere = site.client()  # never a lockout of the user from another address
    assert elsewhere.post("/login", data={"username": "alice", "password": PASSWORD,
                                          "csrf_token": site.csrf(elsewhere)},
                          environ_base={"REMOTE_ADDR": "192.0.2.20"}).status_code == 302


def test_see_and_end_your_other_sessions(site: Site, admin: Admin) -> None:
    other = site.login("alice")
    me, csrf = own(site, "alice")
    mine = me.get("/api/me").get_json()
    assert mine["user"] == {"name": "alice", "admin": False, "rooms": ["a"]}
    theirs = next(s for s in mine["sessions"] if not s["current"])
    roots = site.web.hub.sessions.list("root")[0].id
    assert me.delete(f"/api/me/sessions/{roots}", headers=csrf).status_code == 404
    assert me.delete(f"/api/me/sessions/{theirs['id']}", headers=csrf).get_json() == {
        "ended": 1}
    assert other.get("/api/me").status_code == 401
    site.login("alice")
    assert me.delete("/api/me/sessions", headers=csrf).get_json() == {"ended": 1}
    assert me.get("/api/me").status_code == 200
