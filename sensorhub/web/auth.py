"""Login, logout and working out who is asking (session cookie or bearer token).

A login opens a server-side session (``storage/sessions.py``); the cookie holds its
random secret and nothing else that counts. Logout ends that session for every copy
of the cookie. Before a password is checked, the attempt is counted per (user name,
client address) and waits for a turn at the password hash (``throttle.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from sensorhub.rights import ANONYMOUS, Principal, anonymous_may_watch
from sensorhub.storage.users import AccountDisabledError
from sensorhub.web import security
from sensorhub.web.security import csrf_ok
from sensorhub.web.state import current
from sensorhub.web.throttle import BusyError

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


class AuthError(Exception):
    """Credentials were offered but are no good (revoked token, ended session)."""


def client_address() -> str:
    """This request's client address (X-Forwarded-For only from a trusted proxy)."""
    return security.client_address(request.remote_addr, request.headers.get("X-Forwarded-For"),
                                   current().config.server.trusted_proxies)


def session_principal() -> Principal | None:
    """The logged-in user of this session, None if nobody; AuthError if it has ended."""
    secret = session.get("sid")
    if secret is None:
        if "user" in session:  # a cookie from before server-side sessions
            session.clear()
            raise AuthError("session expired")
        return None
    principal = current().hub.sessions.principal(secret)
    if principal is None:  # logged out, expired, password changed, user removed
        session.clear()
        raise AuthError("session expired")
    return principal


def page_principal() -> Principal | None:
    """Who is logged in for a page: None when nobody is, or the session has ended."""
    try:
        return session_principal()
    except AuthError:
        return None


def token_principal(token: str) -> Principal:
    """The principal of an API token; AuthError if unknown or revoked."""
    principal = current().hub.users.principal_for_token(token)
    if principal is None:
        raise AuthError("invalid or revoked token")
    return principal


def request_principal() -> Principal:
    """Who is making this HTTP request (anonymous if nobody)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return token_principal(header[7:].strip())
    return session_principal() or ANONYMOUS


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a login to another host."""
    if not target:
        return url_for("views.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("views.dashboard")
    return target


def _typed(name: str) -> str | None:
    """A typed user name as logs may show it: a real user's, else a keyed digest ``#…``.

    Only names of real users are written out: people type passwords into the name
    field. Any other name becomes a keyed digest, enough to see repeats. None for a
    real user's name (the caller says it as it is).
    """
    if current().hub.users.get(name) is not None:
        return None
    key = current_app.secret_key
    return "#" + hmac.new(key if isinstance(key, bytes) else str(key).encode(), name.encode(),
                          hashlib.sha256).hexdigest()[:8]


def _who(name: str) -> str:
    """A typed user name as the log may show it (see ``_typed``)."""
    tag = _typed(name)
    return f"user {name!r}" if tag is None else f"an unknown user name ({tag})"


def _audit(actor: str, action: str, address: str, detail: str = "") -> None:
    """A login's row in the audit log (the name as ``_typed`` allows, never a password)."""
    current().hub.audit.record(_typed(actor) or actor, action, "", detail, address)


@bp.get("/login")
def login_form() -> str:
    """Show the login form."""
    return render_template("login.html", error=None,
                           public_rooms=anonymous_may_watch(current().config),
                           next=request.args.get("next", ""))


@bp.post("/login")
def login() -> Response | tuple[str, int, dict[str, str]] | tuple[str, int]:
    """Check credentials: throttled per (user, client), one password hash at a time."""
    web = current()
    name = str(request.form.get("username", ""))[:64]
    password = str(request.form.get("password", ""))[:1024]
    client = client_address()

    def page(error: str, status: int, retry: float = 0.0) -> tuple[str, int, dict[str, str]]:
        body = render_template("login.html", error=error,
                               public_rooms=anonymous_may_watch(web.config),
                               next=request.form.get("next", ""))
        return body, status, {"Retry-After": str(int(retry) + 1)} if retry else {}

    if not csrf_ok(request.form.get("csrf_token")):
        return page("Your form expired; please try again.", 400)
    wait = web.login_throttle.begin(name, client)  # counted now, before any hash runs
    if wait > 0:
        log.warning("too many login attempts for %s from %s", _who(name), client)
        return page(f"Too many attempts; try again in {int(wait) + 1} s.", 429, wait)
    users, runtime = web.hub.users, web.hub.runtime
    try:
        user = web.hash_gate.run(lambda: runtime.run_blocking(
            lambda: users.verify(name, password)))
    except BusyError:
        web.login_throttle.refund(name, client)
        log.warning("login from %s turned away: the server is busy checking passwords", client)
        return page("The server is busy with other logins; try again in a few seconds.",
                    429, 2.0)
    except AccountDisabledError:
        web.login_throttle.failed(name, client)
        log.warning("login refused for %s from %s: the account is disabled", _who(name), client)
        _audit(name, "login refused", client, "account disabled")
        return page("This account is disabled; ask an admin.", 403)
    if user is None:
        web.login_throttle.failed(name, client)
        log.warning("failed login for %s from %s", _who(name), client)
        _audit(name, "login failed", client)
        return page("Wrong user name or password.", 401)
    web.login_throttle.succeeded(name, client)
    replaced = session.get("sid")
    secret = web.hub.sessions.open(user, address=client,
                                   user_agent=request.headers.get("User-Agent", ""))
    session.clear()
    session.permanent = True
    session["sid"] = secret
    if replaced:
        web.hub.sessions.end_secret(replaced)
    log.info("user %s logged in from %s", user.name, client)
    _audit(user.name, "login", client)
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Response | tuple[str, int]:
    """End the session for every copy of the cookie, and its sockets at once."""
    if not csrf_ok(request.form.get("csrf_token")):
        return "bad CSRF token", 400
    secret = session.get("sid")
    session.clear()
    if secret is not None:
        principal = current().hub.sessions.principal(secret)
        current().hub.sessions.end_secret(secret)
        if principal is not None and principal.name:
            _audit(principal.name, "logout", client_address())
    return redirect(url_for("auth.login_form"))
