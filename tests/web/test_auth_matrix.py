"""Rights matrix over HTTP, in-process: every route x every kind of caller.

Each caller (``tests/callers.py``) must get exactly what ``rights.py`` allows, with
the security headers on every response and no password or token in the log. The
routes do not depend on the async mode, so this runs once; the socket matrix, which
does, stays live in ``tests/live/test_auth_matrix.py``.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.callers import SENSORS, WRONG_PASSWORD, Caller, make_callers, secrets_of
from tests.conftest import PASSWORD
from tests.web.conftest import Site


@pytest.fixture
def callers(site: Site) -> list[Caller]:
    for name, rooms in (("alice", ("a",)), ("bob", ("b",))):
        site.add_user(name, rooms=rooms)
    site.add_user("root", admin=True)
    site.poll(times=3)  # every sensor has history to export
    site.flush()

    def cookie(name: str) -> dict[str, str]:
        jar = site.login(name).get_cookie("sensorhub_session")
        assert jar is not None, f"no session cookie for {name}"
        return {"Cookie": f"sensorhub_session={jar.value}"}

    def logout(headers: dict[str, str]) -> None:
        browser = site.client()  # a browser holding that cookie (the page updates it)
        browser.set_cookie("sensorhub_session", headers["Cookie"].split("=", 1)[1])
        page = browser.get("/").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, "the dashboard has no logout form"
        assert browser.post("/logout", data={"csrf_token": token.group(1)}).status_code == 302

    return make_callers(site.web.hub.users, cookie, logout)


@pytest.fixture
def bare(site: Site) -> FlaskClient:
    """A client without a cookie jar: each caller's headers are all it sends."""
    return site.app.test_client(use_cookies=False)


def check_headers(answer: TestResponse, path: str) -> None:
    headers = answer.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    for cookie in headers.getlist("Set-Cookie"):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie


def expect_refused(caller: Caller, answer: TestResponse, path: str) -> None:
    assert answer.status_code == 401, (caller.name, path, answer.status_code)
    assert answer.get_json() == {"error": caller.refusal}, (caller.name, answer.get_data())


def check_own_data(path: str, sensor: str, answer: TestResponse) -> None:
    if path.startswith("/api/history"):
        assert answer.get_json()["sensor"] == sensor
    elif path.startswith("/api/export.csv"):
        rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))[1:]
        assert rows and {r[0] for r in rows} == {sensor}
    else:
        assert {a["sensor"] for a in answer.get_json()["alerts"]} <= {sensor}


def test_http_matrix(site: Site, callers: list[Caller], bare: FlaskClient,
                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    since = time.time() - 120

    def get(caller: Caller, path: str) -> TestResponse:
        answer = bare.get(path, headers=caller.headers)
        check_headers(answer, path)
        return answer

    for caller in callers:
        answer = get(caller, "/api/sensors")
        if caller.visible is None:
            expect_refused(caller, answer, "/api/sensors")
        else:
            assert answer.status_code == 200
            assert {s["id"] for s in answer.get_json()["sensors"]} == caller.visible, caller.name
        for sensor in SENSORS:
            for path in (f"/api/history?sensor={sensor}&since={since}",
                         f"/api/export.csv?sensor={sensor}&since={since}",
                         f"/api/alerts?sensor={sensor}"):
                answer = get(caller, path)
                if caller.visible is None:
                    expect_refused(caller, answer, path)
                elif sensor not in caller.visible:
                    assert answer.status_code == 404, (caller.name, path)
                    assert answer.get_json() == {"error": "unknown sensor"}
                else:
                    assert answer.status_code == 200, (caller.name, path, answer.get_data())
                    check_own_data(path, sensor, answer)
        answer = get(caller, "/api/alerts")
        if caller.visible is None:
            expect_refused(caller, answer, "/api/alerts")
        else:
            assert {a["sensor"] for a in answer.get_json()["alerts"]} <= caller.visible
        # open to all: counts of what the caller may see; ids and states only for a
        # valid credential, the security counters only for an admin (issue 12 item 11)
        answer = get(caller, "/healthz")
        body, text = answer.get_json(), answer.get_data(as_text=True)
        mine = caller.visible or frozenset()
        assert answer.status_code == 200 and sum(body["sensors"].values()) == len(mine)
        assert not [s for s in SENSORS if s in text and s not in mine], caller.name
        assert set(body.get("sensor_states", ())) == mine, caller.name
        assert ("storage" in body) == (caller.visible is not None), caller.name
        assert ("security" in body) == (mine == set(SENSORS)), caller.name
        for path in ("/login", "/static/nope.js", "/nope", "/metrics"):
            get(caller, path)
        # the dashboard page: a session user gets it, everyone else the login page
        answer = get(caller, "/")
        if caller.has_session and caller.visible is not None:
            assert answer.status_code == 200, caller.name
        else:
            assert answer.status_code == 302 and "/login" in answer.headers["Location"]
        # a form without its CSRF token, a wrong method: refused alike for everyone
        answer = bare.post("/logout", headers=caller.headers)
        assert answer.status_code == 400
        check_headers(answer, "/logout")
        answer = bare.post("/api/history", headers=caller.headers)
        assert answer.status_code == 405
        check_headers(answer, "/api/history")
    # a wrong password, so that the log has a failed login to (not) give away
    wrong = site.client()
    failed = wrong.post("/login", data={"username": "alice", "password": WRONG_PASSWORD,
                                        "csrf_token": site.csrf(wrong)})
    assert failed.status_code == 401
    assert "failed login for user 'alice'" in caplog.text  # the log is being captured
    leaked = [s for s in secrets_of(callers) if s in caplog.text]
    assert not leaked, "a password or token reached the log"


def test_socketio_handshake_carries_the_headers(client: FlaskClient) -> None:
    """Engine.IO answers /socket.io/ outside Flask; the WSGI wrapper adds the headers."""
    answer = client.get("/socket.io/?EIO=4&transport=polling")
    assert answer.status_code == 200 and answer.get_data(as_text=True).startswith("0{")
    check_headers(answer, "/socket.io/")


# -- the admin's tools and your own account (issue 16) -----------------------------------
def csrf_for(bare: FlaskClient, caller: Caller) -> dict[str, str]:
    """The caller's headers for a change: a session's updated cookie and its CSRF token.

    The token lives in the session cookie; a page that shows it (the account page,
    for anyone logged in) updates the cookie, as a browser's would be.
    """
    if not caller.has_session:
        return caller.headers
    page = bare.get("/account", headers=caller.headers)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))
    cookie = re.search(r"sensorhub_session=([^;]+)", page.headers.get("Set-Cookie", ""))
    if token is None or cookie is None:  # not logged in (any more): no token to send
        return caller.headers
    return {"Cookie": f"sensorhub_session={cookie.group(1)}", "X-CSRF-Token": token.group(1)}


def test_admin_matrix(site: Site, callers: list[Caller], bare: FlaskClient,
                      caplog: pytest.LogCaptureFixture) -> None:
    """Every admin and account route, for every caller: admins may, others get 403, and
    a credential that has ended 401; a session's change needs its CSRF token."""
    caplog.set_level(logging.DEBUG)
    users = site.web.hub.users
    shown: list[str] = []  # passwords and tokens the API showed once

    def expect(caller: Caller, answer: TestResponse, allowed: bool, path: str,
               ok: int = 200, refused: str = "admins only") -> None:
        check_headers(answer, path)
        if caller.visible is None:
            assert answer.status_code == 401, (caller.name, path, answer.status_code)
            assert answer.get_json() == {"error": caller.refusal}, (caller.name, path)
        elif not allowed:
            assert answer.status_code == 403, (caller.name, path, answer.status_code)
            assert answer.get_json() == {"error": refused}, (caller.name, path)
        else:
            assert answer.status_code == ok, (caller.name, path, answer.get_data())

    for number, caller in enumerate(callers):
        mark = f"t{number}"  # what this caller makes and changes, fresh each time
        users.add(f"{mark}-edit", PASSWORD, rooms=frozenset({"a"}))
        users.add(f"{mark}-gone", PASSWORD)
        token_id = users.create_token(f"{mark}-edit")[0]
        reads = ["/api/users", f"/api/users/{mark}-edit", "/api/tokens", "/api/admin/config",
                 "/api/audit", "/api/audit.csv"]
        for path in reads:
            expect(caller, bare.get(path, headers=caller.headers), caller.admin, path)
        headers = csrf_for(bare, caller)
        changes = [
            ("POST", "/api/users", {"name": f"{mark}-new", "rooms": ["a"]}, 201),
            ("PATCH", f"/api/users/{mark}-edit", {"rooms": ["b"], "password": True}, 200),
            ("DELETE", f"/api/users/{mark}-gone", None, 200),
            ("POST", "/api/tokens", {"user": f"{mark}-edit", "rooms": ["b"]}, 201),
            ("DELETE", f"/api/tokens/{token_id}", None, 200),
            ("POST", "/api/admin/check-config", None, 200),
            ("POST", "/api/admin/reload", None, 200),
        ]
        if caller.has_session and caller.admin:  # no CSRF token, a wrong one: refused
            for sent in ({"Cookie": headers["Cookie"]}, {**headers, "X-CSRF-Token": "forged"}):
                for method, path, data, _ok in changes:
                    answer = bare.open(path, method=method, json=data, headers=sent)
                    assert answer.status_code == 403, (method, path, answer.status_code)
                    assert answer.get_json() == {"error": "missing or wrong X-CSRF-Token header"}
            assert users.get(f"{mark}-new") is None and users.get(f"{mark}-gone") is not None
            assert users.get(f"{mark}-edit").rooms == {"a"}
        for method, path, data, ok in changes:
            answer = bare.open(path, method=method, json=data, headers=headers)
            expect(caller, answer, caller.admin, f"{method} {path}", ok)
            body = answer.get_json() or {}
            shown.extend(v for k, v in body.items() if k in ("password", "secret"))
        assert (users.get(f"{mark}-new") is not None) == caller.admin, caller.name
        assert (users.get(f"{mark}-gone") is None) == caller.admin, caller.name
        assert (users.get(f"{mark}-edit").rooms == {"b"}) == caller.admin, caller.name
        # your own account: a logged-in person, never a token
        person = caller.has_session
        token_refusal = "log in to do this (a token cannot)"
        expect(caller, bare.get("/api/me", headers=caller.headers), person, "/api/me",
               refused=token_refusal)
        answer = bare.post("/api/me/password", headers=headers,
                           json={"current": WRONG_PASSWORD, "new": "a new long password"})
        expect(caller, answer, person, "/api/me/password", 400, refused=token_refusal)
        if person and caller.visible is not None:
            assert answer.get_json() == {"error": "the current password is wrong"}
        # the pages: for a session only; anyone else is sent to log in
        for path, allowed in (("/admin", caller.admin), ("/account", True)):
            answer = bare.get(path, headers=caller.headers)
            check_headers(answer, path)
            if not (caller.has_session and caller.visible is not None):
                assert answer.status_code == 302 and "/login" in answer.headers["Location"]
            else:
                assert answer.status_code == (200 if allowed else 403), (caller.name, path)
        page = bare.get("/", headers=caller.headers).get_data(as_text=True)
        assert ('href="/admin"' in page) == (caller.admin and caller.has_session), caller.name
    # what was shown once is in no log and in no audit row; each admin action is there
    assert shown and not [s for s in shown + secrets_of(callers) if s in caplog.text]
    audit = site.web.hub.audit.entries()
    text = repr(audit)
    assert not [s for s in shown + secrets_of(callers) if s in text]
    actions = {(e["actor"], e["action"]) for e in audit}
    assert {("root", a) for a in ("user.add", "user.change", "user.remove", "token.create",
                                  "token.revoke", "config.check", "config.reload")} <= actions
    assert {e["actor"] for e in audit if e["action"].startswith(("user.", "token."))} == {"root"}
