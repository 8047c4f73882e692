"""Socket.IO handlers: authenticated connect, rooms joined by the server, history,
alert history and acknowledgement."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError, SocketIO, join_room

from sensorhub.rights import (
    ANONYMOUS,
    Principal,
    anonymous_may_watch,
    may_acknowledge,
    rooms_for,
    visible_sensor,
    visible_sensors,
)
from sensorhub.web.auth import AuthError, session_principal, token_principal
from sensorhub.web.broadcaster import batch_room_key, room_key
from sensorhub.web.queries import BadRequestError, parse_history
from sensorhub.web.security import RateLimiter
from sensorhub.web.snapshot import snapshot
from sensorhub.web.state import Web

log = logging.getLogger(__name__)

HISTORY_LIMIT = 60  # history requests per client per 10 s (a dashboard asks one per sensor)


def _connect_principal(web: Web, auth: Any) -> Principal:
    if isinstance(auth, dict) and auth.get("token") is not None:
        return token_principal(auth["token"])
    principal = session_principal()
    if principal is not None:
        return principal
    if anonymous_may_watch(web.config):
        return ANONYMOUS
    raise AuthError("authentication required")


def init_socketio(socketio: SocketIO, web: Web) -> None:
    """Register every handler."""
    history_limit = RateLimiter(HISTORY_LIMIT, 10.0)
    hub, clients = web.hub, web.clients

    @socketio.on("connect")
    def on_connect(auth: Any = None) -> None:
        try:
            principal = _connect_principal(web, auth)
        except AuthError as error:
            log.info("refused socket from %s: %s", request.remote_addr, error)
            raise ConnectionRefusedError(str(error)) from None
        sid = request.sid  # type: ignore[attr-defined]
        clients.add(sid, principal)
        # {"batch": true} in auth: coalesced `readings` messages instead of `reading`
        key = batch_room_key if isinstance(auth, dict) and auth.get("batch") is True \
            else room_key
        for room_id in rooms_for(principal, hub.config):
            join_room(key(room_id))
        web.broadcaster.to_client(sid, "snapshot", snapshot(hub, web.boot, principal))

    @socketio.on("disconnect")
    def on_disconnect(reason: Any = None) -> None:
        clients.remove(request.sid)  # type: ignore[attr-defined]

    @socketio.on("history")
    def on_history(data: Any = None) -> dict[str, Any]:
        sid = request.sid  # type: ignore[attr-defined]
        principal = clients.get(sid)
        if principal is None:
            return {"error": "not connected"}
        if history_limit.retry_after(sid) > 0:
            return {"error": "too many requests"}
        history_limit.hit(sid)
        try:
            query = parse_history(data, time.time())
        except BadRequestError as error:
            log.info("bad history request from %s: %s", sid, error)
            return {"error": f"bad request: {error}"}
        sensor = visible_sensor(principal, query.sensor, hub.config)
        if sensor is None:
            log.info("history for %r refused to %s (%s)", query.sensor, sid, principal.name)
            return {"error": "unknown sensor"}
        store = hub.store
        return hub.runtime.run_blocking(lambda: store.history(
            query.sensor, query.since, query.until, query.max_points, sensor.quantities))

    @socketio.on("alert_history")
    def on_alert_history(data: Any = None) -> dict[str, Any]:
        principal = clients.get(request.sid)  # type: ignore[attr-defined]
        if principal is None:
            return {"error": "not connected"}
        data = data if isinstance(data, dict) else {}
        limit, since = data.get("limit", 50), data.get("since", 0)
        if isinstance(limit, bool) or not isinstance(limit, int):
            return {"error": "bad request: limit must be a whole number"}
        if isinstance(since, bool) or not isinstance(since, int | float) or since != since:
            return {"error": "bad request: since must be a number"}
        visible = [s.id for s in visible_sensors(principal, hub.config)]
        if data.get("sensor") is not None:  # one sensor's episodes (the chart's shading)
            if data["sensor"] not in visible:
                return {"error": "unknown sensor"}
            visible = [data["sensor"]]
        if hub.alerts is None:
            return {"alerts": []}
        log_store = hub.alerts.log
        rows = hub.runtime.run_blocking(
            lambda: log_store.history(visible, float(since), min(max(limit, 1), 500)))
        return {"alerts": rows}

    @socketio.on("acknowledge")
    def on_acknowledge(data: Any = None) -> dict[str, Any]:
        principal = clients.get(request.sid)  # type: ignore[attr-defined]
        if principal is None:
            return {"error": "not connected"}
        if not isinstance(data, dict) or not all(
                isinstance(data.get(k), str) for k in ("sensor", "kind")):
            return {"error": "bad request: expected {sensor, kind}"}
        sensor = visible_sensor(principal, data["sensor"], hub.config)
        if sensor is None:
            return {"error": "unknown sensor"}
        if not may_acknowledge(principal, sensor, hub.config) or principal.name is None:
            return {"error": "log in to acknowledge alerts"}
        alert = None if hub.alerts is None else hub.alerts.acknowledge(
            sensor.id, data["kind"], principal.name)
        if alert is None:
            return {"error": "that alert is not firing"}
        return {"alert": alert}

    @socketio.on("*")
    def on_unknown(event: str, *args: Any) -> dict[str, str]:
        log.info("refused unknown event %r from %s", str(event)[:64],
                 request.sid)  # type: ignore[attr-defined]
        return {"error": "unknown event"}

    @socketio.on_error_default
    def on_error(error: BaseException) -> dict[str, str]:
        log.error("socket handler failed for %s: %r", request.sid,  # type: ignore[attr-defined]
                  error)
        return {"error": "internal error"}
