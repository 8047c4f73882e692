"""HTTP API: sensors, history, statistics, exports, alerts and a health check, under the
same rights."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, jsonify, request, stream_with_context

from sensorhub.config import SensorConfig
from sensorhub.rights import (
    ANONYMOUS,
    Principal,
    anonymous_may_watch,
    visible_sensor,
    visible_sensors,
)
from sensorhub.web import exports
from sensorhub.web.auth import AuthError, request_principal
from sensorhub.web.encoding import Preencoded
from sensorhub.web.limits import LimitError, client_address
from sensorhub.web.queries import (
    BadRequestError,
    HistoryQuery,
    parse_export,
    parse_history,
    parse_statistics,
)
from sensorhub.web.snapshot import snapshot
from sensorhub.web.state import current

bp = Blueprint("api", __name__)


class ApiError(Exception):
    """An error answered as JSON with a status code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> tuple[Response, int]:
    return jsonify(error=str(error)), error.status


@bp.errorhandler(LimitError)
def _limit_error(error: LimitError) -> tuple[Response, int, dict[str, str]]:
    return (jsonify(error=str(error)), error.status,
            {"Retry-After": str(max(1, round(error.retry_after)))})


def _client() -> str:
    return client_address(request.environ, current().limits.limits)


def _principal() -> Principal:
    try:
        principal = request_principal()
    except AuthError as error:
        raise ApiError(401, str(error)) from error
    if principal.anonymous and not anonymous_may_watch(current().config):
        raise ApiError(401, "authentication required")
    return principal


def _query(principal: Principal, defaults: dict[str, Any] | None = None
           ) -> tuple[HistoryQuery, SensorConfig]:
    args = {**(defaults or {}), **request.args.to_dict()}
    try:
        query = parse_history(args, time.time())
    except BadRequestError as error:
        raise ApiError(400, str(error)) from error
    sensor = visible_sensor(principal, query.sensor, current().config)
    if sensor is None:
        raise ApiError(404, "unknown sensor")
    return query, sensor


@bp.get("/api/sensors")
def sensors() -> Response:
    """Rooms and sensors the caller may see, with state, latest reading and health."""
    web = current()
    seen = snapshot(web.hub, web.boot, _principal(), health=True)
    return jsonify({k: seen[k] for k in ("server_time", "rooms", "sensors")})


@bp.get("/api/history")
def history() -> Response:
    """Downsampled history of one sensor (docs/protocol.md)."""
    principal = _principal()
    web = current()
    try:
        query, sensor = _query(principal)
    except ApiError:
        web.limits.history(_client(), principal)  # a bad request counts once
        raise
    # per client address and per user, never per connection; big answers cost more
    web.limits.history(_client(), principal, query.max_points)
    store = web.hub.store
    answer = web.limits.query(lambda: Preencoded.of(store.history(  # encoded off the loop
        query.sensor, query.since, query.until, query.max_points, sensor.quantities)))
    return Response(answer.text, mimetype="application/json")


def _export(ext: str, stream: Any, mimetype: str) -> Response:
    """An export of every reading of the sensors named (``sensor`` repeated) in a range.

    Each chunk is read in its own short transaction, through the query gate, so a
    client that reads slowly holds neither a database snapshot nor a query slot; at
    most ``exports_at_once`` run per address and per user.
    """
    principal = _principal()
    try:
        query = parse_export(request.args.getlist("sensor"), request.args.to_dict(), time.time())
    except BadRequestError as error:
        raise ApiError(400, str(error)) from error
    web = current()
    sensors = [visible_sensor(principal, sensor_id, web.config) for sensor_id in query.sensors]
    if None in sensors:
        raise ApiError(404, "unknown sensor")
    shown = [s for s in sensors if s is not None]
    limits, client = web.limits, _client()
    limits.check_export(client, principal)
    name = exports.filename(shown, query.since, query.until, ext)
    body = stream(web.hub.store, shown, query.since, query.until, query.unit, limits.query)

    def streamed() -> Iterator[str]:
        with limits.exporting(client, principal):  # running for as long as it streams
            yield from body

    return Response(stream_with_context(streamed()), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/api/export.csv")
def export_csv() -> Response:
    """Every stored reading of some sensors in a range, streamed as CSV."""
    return _export("csv", exports.csv_stream, "text/csv")


@bp.get("/api/export.json")
def export_json() -> Response:
    """The same as JSON: one object per sensor with its readings."""
    return _export("json", exports.json_stream, "application/json")


@bp.get("/api/statistics")
def statistics() -> Response:
    """Hourly, daily or monthly mean/min/max/count of one sensor (rights as for history)."""
    principal = _principal()
    try:
        query = parse_statistics(request.args.to_dict(), time.time())
    except BadRequestError as error:
        raise ApiError(400, str(error)) from error
    sensor = visible_sensor(principal, query.sensor, current().config)
    if sensor is None:
        raise ApiError(404, "unknown sensor")
    web = current()
    web.limits.history(_client(), principal)  # a statistics request counts as a history one
    store = web.hub.store
    answer = web.limits.query(lambda: Preencoded.of(store.statistics(  # encoded off the loop
        query.sensor, query.period, query.since, query.until, sensor.quantities)))
    return Response(answer.text, mimetype="application/json")


@bp.get("/api/alerts")
def alerts() -> Response:
    """Alert episodes of the sensors the caller may see, newest first."""
    principal = _principal()
    h = current().hub
    visible = [s.id for s in visible_sensors(principal, h.config)]
    wanted = request.args.get("sensor")
    if wanted is not None:
        if wanted not in visible:
            raise ApiError(404, "unknown sensor")
        visible = [wanted]
    try:
        since = float(request.args.get("since", 0))
        limit = min(max(int(request.args.get("limit", 200)), 1), 1000)
    except ValueError as error:
        raise ApiError(400, "since must be a number and limit a whole number") from error
    if since != since or since in (float("inf"), float("-inf")):
        raise ApiError(400, "since must be finite")
    log_store = h.alerts.log if h.alerts is not None else None
    rows = [] if log_store is None else current().limits.query(
        lambda: log_store.history(visible, since, limit))
    return jsonify({"alerts": rows})


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness for monitoring: up/down and counts for anyone, details for the signed in.

    Anyone (monitoring needs no login) gets the status and counts: sensors per state
    among those the caller may see, so an anonymous caller learns nothing of private
    rooms, and connected clients. A signed-in user or token also gets the state of
    each of its sensors and the storage figures; an admin gets every sensor and the
    security counters. A bad credential gets what anybody gets, never an error.
    """
    web = current()
    h = web.hub
    try:
        principal = request_principal()
    except AuthError:
        principal = ANONYMOUS
    counts = {"ok": 0, "failing": 0, "offline": 0}
    details = {}
    for s in visible_sensors(principal, h.config):
        state = h.poller.state(s.id)
        counts[state.state] += 1
        details[s.id] = state.state
    store = h.store
    degraded = store.write_error is not None
    body: dict[str, Any] = {"status": "degraded" if degraded else "ok", "sensors": counts,
                            "clients": len(web.clients)}
    if not principal.anonymous:
        body["sensor_states"] = details
        body["storage"] = {"pending": store.pending, "write_error": store.write_error,
                           "batches": store.flushes}
    if principal.admin:
        body["security"] = web.security_counters()
    return jsonify(body), 200

