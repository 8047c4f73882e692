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
    kiosk = "token" in request.args  # the page hands the token to the socket, which decides
    if principal is None and not kiosk and not anonymous_may_watch(current().config):
        return redirect(url_for("auth.login_form", next=request.full_path.rstrip("?")))
    return render_template("dashboard.html", user=principal)
