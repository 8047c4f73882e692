"""HTTP API: sensors, history, statistics, exports, alerts and a health check, under the
same rights."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request, stream_with_context

from sensorhub.config import SensorConfig
from sensorhub.rights import Principal, anonymous_may_watch, visible_sensor, visible_sensors
from sensorhub.web import exports
from sensorhub.web.auth import AuthError, request_principal
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
    query, sensor = _query(_principal())
    h = current().hub
    result = h.runtime.run_blocking(lambda: h.store.history(
        query.sensor, query.since, query.until, query.max_points, sensor.quantities))
    return jsonify(result)


def _export(ext: str, stream: Any, mimetype: str) -> Response:
    """An export of every reading of the sensors named (``sensor`` repeated) in a range."""
    principal = _principal()
    try:
        query = parse_export(request.args.getlist("sensor"), request.args.to_dict(), time.time())
    except BadRequestError as error:
        raise ApiError(400, str(error)) from error
    config = current().config
    sensors = [visible_sensor(principal, sensor_id, config) for sensor_id in query.sensors]
    if None in sensors:
        raise ApiError(404, "unknown sensor")
    shown = [s for s in sensors if s is not None]
    name = exports.filename(shown, query.since, query.until, ext)
    body = stream(current().hub.store, shown, query.since, query.until, query.unit)
    return Response(stream_with_context(body), mimetype=mimetype,
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
    h = current().hub
    result = h.runtime.run_blocking(lambda: h.store.statistics(
        query.sensor, query.period, query.since, query.until, sensor.quantities))
    return jsonify(result)


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
    rows = [] if log_store is None else h.runtime.run_blocking(
        lambda: log_store.history(visible, since, limit))
    return jsonify({"alerts": rows})


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness for monitoring: counts only, no sensor data, no auth."""
    web = current()
    h = web.hub
    counts = {"ok": 0, "failing": 0, "offline": 0}
    for state in h.poller.states():
        counts[state.state] += 1
    store = h.store
    degraded = store.write_error is not None
    body = {"status": "degraded" if degraded else "ok", "sensors": counts,
            "storage": {"pending": store.pending, "write_error": store.write_error,
                        "batches": store.flushes},
            "clients": len(web.clients)}
    return jsonify(body), 200
