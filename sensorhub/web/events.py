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
from sensorhub.web.auth import AuthError, client_address, session_principal, token_principal
from sensorhub.web.encoding import Preencoded
from sensorhub.web.lifecycle import LIFECYCLE_EVENTS
from sensorhub.web.limits import LimitError
from sensorhub.web.queries import BadRequestError, HistoryQuery, parse_history
from sensorhub.web.snapshot import snapshot
from sensorhub.web.state import Web

log = logging.getLogger(__name__)


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
    hub, clients, lifecycle, limits = web.hub, web.clients, web.lifecycle, web.limits
    client = client_address  # this request's address, through a trusted proxy

    @socketio.on("connect")
    def on_connect(auth: Any = None) -> dict[str, str] | None:
        sid = request.sid  # type: ignore[attr-defined]
        # a client's event named "connect" lands here too: it must change nothing
        if not lifecycle.is_connect(sid, request.event["args"]):  # type: ignore[attr-defined]
            return lifecycle.refuse("connect", sid)
        try:
            principal = _connect_principal(web, auth)
        except AuthError as error:
            log.info("refused socket from %s: %s", client_address(), error)
            raise ConnectionRefusedError(str(error)) from None
        # {"batch": true} in auth: one `readings` message a tick instead of `reading`s
        batch = isinstance(auth, dict) and auth.get("batch") is True
        clients.add(sid, principal, batch=batch)  # a resync joins rooms of the same kind
        for key in web.broadcaster.socket_rooms(rooms_for(principal, hub.config), batch):
            join_room(key)
        web.broadcaster.to_client(sid, "snapshot", snapshot(hub, web.boot, principal))
        return None

    @socketio.on("disconnect")
    def on_disconnect(*_reason: Any) -> dict[str, str] | None:
        sid = request.sid  # type: ignore[attr-defined]
        if not lifecycle.is_disconnect(sid):  # a client's event named "disconnect"
            return lifecycle.refuse("disconnect", sid)
        clients.remove(sid)
        return None

    @socketio.on("history")
    def on_history(data: Any = None) -> dict[str, Any] | Preencoded:
        sid = request.sid  # type: ignore[attr-defined]
        principal = clients.get(sid)
        if principal is None:
            return {"error": "not connected"}
        try:
            query: HistoryQuery | None = parse_history(data, time.time())
        except BadRequestError as error:
            query, problem = None, error
        try:  # per client address and per user, never per socket; big answers cost more
            limits.history(client(), principal, query.max_points if query else 0)
        except LimitError as error:
            return {"error": str(error)}
        if query is None:
            limits.log.note(client(), "bad request", "bad history request from %s (%s): %s",
                            client(), sid, problem)
            return {"error": f"bad request: {problem}"}
        sensor = visible_sensor(principal, query.sensor, hub.config)
        if sensor is None:
            log.info("history for %r refused to %s (%s)", query.sensor, sid, principal.name)
            return {"error": "unknown sensor"}
        store = hub.store
        try:  # encoded in the worker thread too: a big answer never holds the event loop
            return limits.query(lambda: Preencoded.of(store.history(
                query.sensor, query.since, query.until, query.max_points, sensor.quantities)))
        except LimitError as error:
            return {"error": str(error)}

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
        try:
            rows = limits.query(lambda: log_store.history(
                visible, float(since), min(max(limit, 1), 500)))
        except LimitError as error:
            return {"error": str(error)}
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
        if event in LIFECYCLE_EVENTS:  # the client side's lifecycle names
            return lifecycle.refuse(event, request.sid)  # type: ignore[attr-defined]
        limits.log.note(client(), "unknown event", "refused unknown event %r from %s (%s)",
                        str(event)[:64], client(), request.sid)  # type: ignore[attr-defined]
        return {"error": "unknown event"}

    @socketio.on_error_default
    def on_error(error: BaseException) -> dict[str, str]:
        log.error("socket handler failed for %s: %r", request.sid,  # type: ignore[attr-defined]
                  error)
        return {"error": "internal error"}
