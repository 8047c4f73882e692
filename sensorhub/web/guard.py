"""Who may call the admin and account API, and what every such call shares.

``acting`` answers 401 for nobody or a credential that has ended, 403 for a caller
without the right; a change (POST, PATCH, DELETE) made with a session cookie must
also carry the session's CSRF token in ``X-CSRF-Token`` (a bearer token needs none:
no browser sends one by itself). Every answer is JSON, errors one line
(``{"error": "..."}``), never a traceback. ``audit`` writes the audit log row of
an action with the caller and their address.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sensorhub.rights import Principal, may_administer
from sensorhub.web.api import ApiError
from sensorhub.web.auth import AuthError, client_address, request_principal
from sensorhub.web.security import csrf_ok
from sensorhub.web.state import current

log = logging.getLogger(__name__)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_HEADER = "X-CSRF-Token"


def json_errors(bp: Blueprint) -> None:
    """Answer ApiError as ``{"error": ...}`` with its status on ``bp``'s routes."""
    @bp.errorhandler(ApiError)
    def _api_error(error: ApiError) -> tuple[Response, int]:
        return jsonify(error=str(error)), error.status


def acting(*, admin: bool = True, session_only: bool = False) -> Principal:
    """The caller of this request, if allowed: else ApiError 401, 403.

    ``admin``: admins only (``rights.may_administer``). ``session_only``: a logged-in
    person, not a token (a kiosk's token must not change its user's password).
    """
    try:
        principal = request_principal()
    except AuthError as error:
        raise ApiError(401, str(error)) from error
    if principal.anonymous:
        raise ApiError(401, "authentication required")
    if admin and not may_administer(principal):
        raise ApiError(403, "admins only")
    if session_only and principal.kind != "session":
        raise ApiError(403, "log in to do this (a token cannot)")
    if (principal.kind == "session" and request.method not in SAFE_METHODS
            and not csrf_ok(request.headers.get(CSRF_HEADER))):
        raise ApiError(403, f"missing or wrong {CSRF_HEADER} header")
    return principal


def body(allowed: tuple[str, ...]) -> dict[str, Any]:
    """The request's JSON object, with no field outside ``allowed`` (else 400)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "expected a JSON object (Content-Type: application/json)")
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]!r} (allowed: {', '.join(allowed)})")
    return data


def flag(data: dict[str, Any], key: str) -> bool | None:
    """A true/false field (None when absent); 400 for anything else."""
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise ApiError(400, f"{key} must be true or false")
    return value


def room_set(data: dict[str, Any], key: str = "rooms") -> frozenset[str] | None:
    """A list of room ids of the running config (None when absent); 400 otherwise."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise ApiError(400, f"{key} must be a list of room ids")
    known = {r.id for r in current().config.rooms}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ApiError(400, f"unknown room {unknown[0]!r} (rooms: {', '.join(sorted(known))})")
    return frozenset(value)


def text(data: dict[str, Any], key: str, *, limit: int = 1024) -> str | None:
    """A string field (None when absent); 400 for another type or one too long."""
    value = data.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise ApiError(400, f"{key} must be a string of at most {limit} characters")
    return value


def audit(principal: Principal, action: str, target: str = "", detail: str = "") -> None:
    """Record an action of ``principal`` in the audit log (never a secret in ``detail``)."""
    via = f" (token {principal.token_id})" if principal.kind == "token" else ""
    current().hub.audit.record(principal.name or "anonymous", action, target,
                               (detail + via).strip(), client_address())
