"""Socket.IO handlers: authenticated connect, rooms joined by the server, history."""

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
    rooms_for,
    visible_sensor,
    visible_sensors,
)
from sensorhub.web.auth import AuthError, session_principal, token_principal
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
        # {"batch": true} in auth: one `readings` message a tick instead of `reading`s
        batch = isinstance(auth, dict) and auth.get("batch") is True
        for key in web.broadcaster.socket_rooms(rooms_for(principal, hub.config), batch):
            join_room(key)
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
        limit = data.get("limit", 50) if isinstance(data, dict) else 50
        if isinstance(limit, bool) or not isinstance(limit, int):
            return {"error": "bad request: limit must be a whole number"}
        visible = [s.id for s in visible_sensors(principal, hub.config)]
        if hub.alerts is None:
            return {"alerts": []}
        log_store = hub.alerts.log
        rows = hub.runtime.run_blocking(
            lambda: log_store.history(visible, 0.0, min(max(limit, 1), 500)))
        return {"alerts": rows}

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
