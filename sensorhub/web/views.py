"""The dashboard page."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from sensorhub.rights import anonymous_may_watch
from sensorhub.web.auth import AuthError, session_principal
from sensorhub.web.state import current

bp = Blueprint("views", __name__)


@bp.get("/")
def dashboard() -> str | Response:
    """The live dashboard; anonymous visitors see public rooms or go to the login page."""
    try:
        principal = session_principal()
    except AuthError:
        principal = None
    # an older kiosk link (/?token=...): the page hands the token to the socket, which
    # decides; /kiosk is better, the token in its #fragment reaches no server's log
    kiosk = "token" in request.args
    if principal is None and not kiosk and not anonymous_may_watch(current().config):
        return redirect(url_for("auth.login_form", next=request.full_path.rstrip("?")))
    return render_template("dashboard.html", user=principal)


@bp.get("/kiosk")
def kiosk() -> str:
    """The dashboard for a kiosk link: ``/kiosk#token=TOKEN``.

    Browsers never send an address's #fragment, so the token reaches no request line,
    no proxy's access log and no error log; the page takes it from there and hands
    it to the socket, which decides (a bad token shows the refusal, never a page).
    """
    return render_template("dashboard.html", user=None)
