"""The admin area: the /admin page, the running config, check-config, reload, audit log.

``/admin`` is for an admin's session only: anyone else logged in gets 403, nobody
at all the login form. The JSON routes take an admin's token too (scripts).
``check-config`` reads config.yaml as a reload would and says what is wrong
(file:line) or what a reload would change, applying nothing; ``reload`` applies it
(``Web.reload``). The audit log is read as JSON or CSV, newest first.
"""

from __future__ import annotations

import csv
import io
import math
import time
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for

from sensorhub.config import ConfigError
from sensorhub.config.diff import compare
from sensorhub.rights import may_administer
from sensorhub.storage.audit import COLUMNS
from sensorhub.web.api import ApiError
from sensorhub.web.auth import page_principal
from sensorhub.web.guard import acting, audit, json_errors
from sensorhub.web.snapshot import snapshot
from sensorhub.web.state import current

bp = Blueprint("admin", __name__)
json_errors(bp)


@bp.get("/admin")
def page() -> str | Response | tuple[str, int]:
    """The admin page (users, tokens and kiosk links, config, audit log)."""
    principal = page_principal()
    if principal is None:
        return redirect(url_for("auth.login_form", next="/admin"))
    if not may_administer(principal):
        return render_template("forbidden.html", user=principal), 403
    days = current().config.storage.audit_retention_days
    return render_template("admin.html", user=principal, config_days=f"{days:g}")


@bp.get("/api/admin/config")
def running_config() -> Response:
    """Rooms and sensors as they run: each sensor's state and health; the last reload."""
    principal = acting()
    web = current()
    seen = snapshot(web.hub, web.boot, principal, health=True)
    drivers = {s.id: s.driver for s in web.config.sensors}
    for sensor in seen["sensors"]:
        sensor["driver"] = drivers.get(sensor["id"])
    last = web.reloader.last
    return jsonify(source=str(web.config.source), rooms=seen["rooms"],
                   sensors=seen["sensors"], last_reload=last.as_dict() if last else None)


@bp.post("/api/admin/check-config")
def check_config() -> Response:
    """Validate the file on disk as a reload would read it; apply nothing."""
    principal = acting()
    web = current()
    source = web.config.source
    try:
        config = web.reloader.load(source)
    except ConfigError as error:
        problems = [str(p) for p in error.problems]
        audit(principal, "config.check", str(source), f"{len(problems)} problem(s)")
        return jsonify(ok=False, message=f"{source} has {len(problems)} problem(s)",
                       errors=problems)
    change = compare(web.config, config)
    audit(principal, "config.check", str(source), "ok")
    return jsonify(ok=True, message=f"{source} is valid; a reload would apply: "
                   f"{change.summary()}", errors=[])


@bp.post("/api/admin/reload")
def reload() -> Response:
    """Re-read config.yaml and run it now; an invalid file changes nothing (``ok``: false)."""
    principal = acting()
    result = current().reload()
    audit(principal, "config.reload", str(current().config.source),
          ("ok: " if result.ok else "refused: ") + result.message)
    return jsonify(result.as_dict())


def _audit_rows() -> list[dict[str, Any]]:
    """The audit rows an admin's request asks for: since, until, limit, actor, action."""
    acting()
    args = request.args
    try:
        since = float(args.get("since", 0))
        until = float(args["until"]) if "until" in args else None
        limit = min(max(int(args.get("limit", 1000)), 1), 100_000)
    except ValueError as error:
        raise ApiError(400, "since and until must be numbers, limit a whole number") from error
    if not all(math.isfinite(v) for v in (since, until or 0.0)):
        raise ApiError(400, "since and until must be finite")
    hub = current().hub
    return hub.runtime.run_blocking(lambda: hub.audit.entries(
        since=since, until=until, limit=limit, actor=args.get("actor") or None,
        action=args.get("action") or None))


@bp.get("/api/audit")
def audit_log() -> Response:
    """Audit rows, newest first: ``?since=&until=&limit=&actor=&action=``."""
    return jsonify(entries=_audit_rows())


@bp.get("/api/audit.csv")
def audit_csv() -> Response:
    """The same rows as CSV, for a spreadsheet or an archive."""
    rows = _audit_rows()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*COLUMNS[:2], "time_utc", *COLUMNS[2:]])
    for row in rows:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row["ts"]))
        writer.writerow([row["id"], f"{row['ts']:.3f}", stamp,
                         *(_cell(row[c]) for c in COLUMNS[2:])])
    name = time.strftime("sensorhub-audit-%Y%m%d.csv")
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (a user name like ``=cmd|...``)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
