"""The dashboard page and its kiosk layout."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from sensorhub.rights import Principal, anonymous_may_watch
from sensorhub.web.assets import query_not_in_page
from sensorhub.web.auth import AuthError, session_principal
from sensorhub.web.state import current

bp = Blueprint("views", __name__)


def _viewer() -> tuple[Principal | None, bool]:
    """The logged-in user (or None), and whether the page may open without a login.

    A ``?token=`` page hands the token to the socket, which decides; anonymous viewers
    may watch when a room is public.
    """
    try:
        principal = session_principal()
    except AuthError:
        principal = None
    open_page = "token" in request.args or anonymous_may_watch(current().config)
    return principal, principal is not None or open_page


def _first_run(principal: Principal | None) -> dict[str, Any] | None:
    """For an admin while the first start's password file is still there: where it is
    and which config to edit (the dashboard's first-run hint)."""
    config = current().config
    if principal is None or not principal.admin or not config.initial_password_path.exists():
        return None
    rooms = ",".join(r.id for r in config.rooms[:2])
    return {"password_file": str(config.initial_password_path), "config": str(config.source),
            "rooms": rooms}


@bp.get("/")
@query_not_in_page  # the page reads its address itself (static/js/url.js)
def dashboard() -> str | Response:
    """The live dashboard; an older kiosk link (``/?token=``) gets the kiosk layout."""
    principal, allowed = _viewer()
    if not allowed:
        return redirect(url_for("auth.login_form", next=request.full_path.rstrip("?")))
    kiosk = "token" in request.args
    return render_template("dashboard.html", user=principal, kiosk=kiosk,
                           first_run=None if kiosk else _first_run(principal))


@bp.get("/kiosk")
@query_not_in_page
def kiosk() -> str:
    """A wall screen (no controls, cards sized to fill it, big numbers), for a kiosk link
    ``/kiosk#token=TOKEN``: browsers never send an address's #fragment, so the token
    reaches no request line and no log. The page hands it to the socket, which decides
    (a bad token shows the refusal, never data); a logged-in browser or a public room
    needs no token."""
    principal, _allowed = _viewer()
    return render_template("dashboard.html", user=principal, kiosk=True, first_run=None)
