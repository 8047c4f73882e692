"""The admin's view of notifications: the delivery log and each channel's queue, as JSON."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from sensorhub.rights import may_administer
from sensorhub.web.auth import AuthError, request_principal
from sensorhub.web.state import current

bp = Blueprint("notify", __name__)


def _refused() -> tuple[Response, int] | None:
    """401 for nobody or a bad credential, 403 for a non-admin; None for an admin."""
    try:
        principal = request_principal()
    except AuthError as error:
        return jsonify(error=str(error)), 401
    if principal.anonymous:
        return jsonify(error="authentication required"), 401
    if not may_administer(principal):
        return jsonify(error="admins only"), 403
    return None


@bp.get("/api/notify/log")
def delivery_log() -> Any:
    """Recent delivery tries, newest first, and what waits in each channel's queue."""
    refused = _refused()
    if refused is not None:
        return refused
    try:
        limit = min(max(int(request.args.get("limit", 100)), 1), 1000)
        since = float(request.args.get("since", 0))
    except ValueError:
        return jsonify(error="limit must be a whole number and since a number"), 400
    if since != since or since in (float("inf"), float("-inf")):
        return jsonify(error="since must be finite"), 400
    channel = request.args.get("channel") or None
    hub = current().hub
    notifier = hub.alerts.notifier if hub.alerts is not None else None
    if notifier is None:
        return jsonify(channels=[], deliveries=[])
    outbox = notifier.outbox
    rows, counts = hub.runtime.run_blocking(
        lambda: (outbox.log(channel=channel, since=since, limit=limit), outbox.counts()))
    channels = [{"name": ch.name, "type": ch.kind,
                 **{status: counts.get((ch.name, status), 0)
                    for status in ("pending", "sent", "gave_up")}}
                for ch in hub.config.channels]
    return jsonify(channels=channels, deliveries=rows)
