"""Your own account: the /account page, your password, your sessions.

Any logged-in person (a session, not a token: a kiosk's token must not change its
user's password or see where they log in from). A password change needs the
current password, is throttled like a login (a stolen cookie must not become a way
to guess it), ends every other session of the user and keeps this one under a new
cookie. Changes need the session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from sensorhub.storage.users import AccountDisabledError, UserError, digest
from sensorhub.web.api import ApiError
from sensorhub.web.auth import client_address, page_principal
from sensorhub.web.guard import acting, audit, body, json_errors, text
from sensorhub.web.state import current
from sensorhub.web.throttle import BusyError

bp = Blueprint("account", __name__)
json_errors(bp)


@bp.get("/account")
def page() -> str | Response:
    """The account page; anyone not logged in goes to the login form first."""
    principal = page_principal()
    if principal is None:
        return redirect(url_for("auth.login_form", next="/account"))
    return render_template("account.html", user=principal)


def _sessions(name: str, mine: str | None) -> list[dict[str, Any]]:
    return [{"id": s.id, "created": s.created, "last_seen": s.last_seen,
             "address": s.address, "user_agent": s.user_agent, "current": s.id == mine}
            for s in current().hub.sessions.list(name)]


@bp.get("/api/me")
def me() -> Response:
    """Who you are, your rooms, and your live sessions (``current``: this one)."""
    principal = acting(admin=False, session_only=True)
    assert principal.name is not None
    return jsonify(user={"name": principal.name, "admin": principal.admin,
                         "rooms": sorted(principal.rooms)},
                   sessions=_sessions(principal.name, principal.credential))


@bp.delete("/api/me/sessions/<session_id>")
def end_session(session_id: str) -> Response:
    """End one of your own sessions (another browser, a lost phone)."""
    principal = acting(admin=False, session_only=True)
    assert principal.name is not None
    if session_id not in {s["id"] for s in _sessions(principal.name, None)}:
        raise ApiError(404, "unknown session")
    current().hub.sessions.end(session_id)
    audit(principal, "session.end", principal.name, "one of their own")
    return jsonify(ended=1)


@bp.delete("/api/me/sessions")
def end_other_sessions() -> Response:
    """End every session of yours but this one."""
    principal = acting(admin=False, session_only=True)
    assert principal.name is not None
    others = [s["id"] for s in _sessions(principal.name, principal.credential)
              if not s["current"]]
    for session_id in others:
        current().hub.sessions.end(session_id)
    audit(principal, "session.end", principal.name, f"{len(others)} other(s)")
    return jsonify(ended=len(others))


@bp.post("/api/me/password")
def change_password() -> Response:
    """Change your password (current + new); the other sessions end, this one goes on."""
    principal = acting(admin=False, session_only=True)
    data = body(("current", "new"))
    old, new = text(data, "current") or "", text(data, "new")
    if new is None:
        raise ApiError(400, "new password missing")
    web, name, client = current(), principal.name or "", client_address()
    wait = web.login_throttle.begin(name, client)
    if wait > 0:
        raise ApiError(429, f"too many attempts; try again in {int(wait) + 1} s")
    users, runtime = web.hub.users, web.hub.runtime
    try:
        user = web.hash_gate.run(lambda: runtime.run_blocking(lambda: users.verify(name, old)))
    except BusyError as error:
        web.login_throttle.refund(name, client)
        raise ApiError(429, "the server is busy checking passwords; try again") from error
    except AccountDisabledError as error:
        raise ApiError(403, "this account is disabled") from error
    if user is None or user.uid != principal.uid:
        web.login_throttle.failed(name, client)
        audit(principal, "password.change failed", name, "wrong current password")
        raise ApiError(400, "the current password is wrong")
    web.login_throttle.succeeded(name, client)
    try:
        users.set_password(name, new)  # ends every session of the user, this one too
    except UserError as error:
        raise ApiError(400, str(error)) from error
    fresh = users.get(name)
    assert fresh is not None
    secret = web.hub.sessions.open(fresh, address=client,
                                   user_agent=request.headers.get("User-Agent", ""))
    csrf = session.get("csrf")
    session.clear()
    session.permanent = True
    session["sid"], session["csrf"] = secret, csrf  # the page's CSRF token stays valid
    audit(principal, "password.change", name)
    return jsonify(ok=True, session=digest(secret))
