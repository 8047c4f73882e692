"""Login, logout and working out who is asking (session cookie or bearer token)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from sensorhub.rights import ANONYMOUS, Principal, anonymous_may_watch
from sensorhub.web.security import csrf_ok
from sensorhub.web.state import current

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


class AuthError(Exception):
    """Credentials were offered but are no good (revoked token, stale session)."""


def session_principal() -> Principal | None:
    """The logged-in user of this session, None if nobody; AuthError if stale."""
    name = session.get("user")
    if name is None:
        return None
    user = current().hub.users.get(name)
    if user is None or user.epoch != session.get("epoch"):
        session.clear()
        raise AuthError("session expired")
    return user.principal("session")


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


@bp.get("/login")
def login_form() -> str:
    """Show the login form."""
    return render_template("login.html", error=None,
                           public_rooms=anonymous_may_watch(current().config),
                           next=request.args.get("next", ""))


@bp.post("/login")
def login() -> Response | tuple[str, int, dict[str, str]] | tuple[str, int]:
    """Check credentials, with per-client and per-user rate limits."""
    web = current()
    name = str(request.form.get("username", ""))[:64]
    password = str(request.form.get("password", ""))[:1024]
    client = request.remote_addr or "?"

    def page(error: str, status: int) -> tuple[str, int]:
        return render_template("login.html", error=error,
                               public_rooms=anonymous_may_watch(web.config),
                               next=request.form.get("next", "")), status

    if not csrf_ok(request.form.get("csrf_token")):
        return page("Your form expired; please try again.", 400)
    wait = max(web.login_by_client.retry_after(client), web.login_by_user.retry_after(name))
    if wait > 0:
        log.warning("login rate limit hit for user %r from %s", name, client)
        body, status = page(f"Too many attempts; try again in {int(wait) + 1} s.", 429)
        return body, status, {"Retry-After": str(int(wait) + 1)}
    users = web.hub.users
    user = web.hub.runtime.run_blocking(lambda: users.verify(name, password))
    if user is None:
        web.login_by_client.hit(client)
        web.login_by_user.hit(name)
        log.warning("failed login for user %r from %s", name, client)
        return page("Wrong user name or password.", 401)
    web.login_by_user.reset(name)
    session.clear()
    session.permanent = True
    session["user"] = user.name
    session["epoch"] = user.epoch
    log.info("user %s logged in from %s", user.name, client)
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Response | tuple[str, int]:
    """End the session."""
    if not csrf_ok(request.form.get("csrf_token")):
        return "bad CSRF token", 400
    session.clear()
    return redirect(url_for("auth.login_form"))
