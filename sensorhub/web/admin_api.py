"""The admin's JSON API for users and tokens (docs/protocol.md, "Administration").

Admins only (an admin's token, or an admin's session with its CSRF token), one
transaction per action: a PATCH with one bad field changes nothing. What changes a
user's rights reaches their open sockets at once in this process (``Users`` tells
``Clients.revalidate``), within 5 s in others. Every action is audited.
"""

from __future__ import annotations

import io
import secrets
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sensorhub.rights import rooms_for
from sensorhub.storage.users import LastAdminError, User, UserError
from sensorhub.web.api import ApiError
from sensorhub.web.guard import acting, audit, body, flag, json_errors, room_set, text
from sensorhub.web.state import current

bp = Blueprint("admin_api", __name__)
json_errors(bp)

USER_FIELDS = ("name", "admin", "rooms", "password")
PATCH_FIELDS = ("rooms", "admin", "disabled", "password")
TOKEN_FIELDS = ("user", "label", "rooms")


def _users_call(fn: Any) -> Any:
    """Run a Users operation; its refusals become 400 (409 for the last admin)."""
    try:
        return fn()
    except LastAdminError as error:
        raise ApiError(409, str(error)) from error
    except UserError as error:
        raise ApiError(400, str(error)) from error


def _user_or_404(name: str) -> User:
    user = current().hub.users.get(name)
    if user is None:
        raise ApiError(404, "unknown user")
    return user


def _entry(name: str) -> dict[str, Any]:
    return next(u for u in current().hub.users.overview() if u["name"] == name)


def _new_password(data: dict[str, Any]) -> tuple[str | None, bool]:
    """(password, generated): a given string, ``true`` for a generated one, or none."""
    value = data.get("password")
    if value is True:
        return secrets.token_urlsafe(12), True
    if value is None:
        return None, False
    if not isinstance(value, str):
        raise ApiError(400, "password must be a string, or true for a generated one")
    return value, False


@bp.get("/api/users")
def list_users() -> Response:
    """Every user: rights, disabled, last login, live sessions and tokens."""
    acting()
    return jsonify(users=current().hub.users.overview())


@bp.post("/api/users")
def add_user() -> tuple[Response, int]:
    """Create a user; a generated password (when none is given) is answered once."""
    principal = acting()
    data = body(USER_FIELDS)
    name = text(data, "name", limit=64) or ""
    admin, rooms = bool(flag(data, "admin")), room_set(data) or frozenset()
    given = data.get("password")
    password, generated = _new_password({"password": True if given is None else given})
    assert password is not None  # generated when not given
    _users_call(lambda: current().hub.users.add(name, password, admin=admin, rooms=rooms))
    audit(principal, "user.add", name, "admin" if admin else f"rooms {','.join(sorted(rooms))}")
    answer: dict[str, Any] = {"user": _entry(name)}
    if generated:
        answer["password"] = password  # shown once: only its hash is kept
    return jsonify(answer), 201


@bp.get("/api/users/<name>")
def show_user(name: str) -> Response:
    """One user with their live sessions and tokens."""
    acting()
    _user_or_404(name)
    hub = current().hub
    sessions = [_session(s) for s in hub.sessions.list(name)]
    return jsonify(user=_entry(name), sessions=sessions,
                   tokens=[t.as_dict() for t in hub.users.token_list(name)])


def _session(s: Any) -> dict[str, Any]:
    return {"id": s.id, "created": s.created, "last_seen": s.last_seen, "expires": s.expires,
            "address": s.address, "user_agent": s.user_agent}


@bp.patch("/api/users/<name>")
def change_user(name: str) -> Response:
    """Change rooms, admin, disabled and/or password: all of it or nothing."""
    principal = acting()
    data = body(PATCH_FIELDS)
    _user_or_404(name)
    rooms, admin, disabled = room_set(data), flag(data, "admin"), flag(data, "disabled")
    password, generated = _new_password(data)
    before = _entry(name)
    _users_call(lambda: current().hub.users.update(
        name, rooms=rooms, admin=admin, disabled=disabled, password=password))
    audit(principal, "user.change", name, _described(before, _entry(name), password is not None,
                                                     generated))
    answer: dict[str, Any] = {"user": _entry(name)}
    if generated:
        answer["password"] = password
    return jsonify(answer)


def _described(before: dict[str, Any], after: dict[str, Any], password: bool,
               generated: bool) -> str:
    """What a change did, for the audit log: only what differs (the page sends all)."""
    changes = []
    if before["rooms"] != after["rooms"]:
        changes.append(f"rooms {','.join(after['rooms']) or '-'}")
    if before["admin"] != after["admin"]:
        changes.append("made admin" if after["admin"] else "admin taken away")
    if before["disabled"] != after["disabled"]:
        changes.append("disabled" if after["disabled"] else "enabled")
    if password:
        changes.append("password reset" if generated else "password set")
    return "; ".join(changes) or "nothing changed"


@bp.delete("/api/users/<name>")
def remove_user(name: str) -> Response:
    """Remove a user, their tokens and sessions (never the last admin)."""
    principal = acting()
    _user_or_404(name)
    _users_call(lambda: current().hub.users.remove(name))
    audit(principal, "user.remove", name)
    return jsonify(removed=name)


# -- tokens ----------------------------------------------------------------------------
@bp.get("/api/tokens")
def list_tokens() -> Response:
    """Every token (``?user=`` one user's): label, owner, rooms, created, last used."""
    acting()
    wanted = request.args.get("user") or None
    return jsonify(tokens=[t.as_dict() for t in current().hub.users.token_list(wanted)])


@bp.post("/api/tokens")
def create_token() -> tuple[Response, int]:
    """Make a token (shown once) with its kiosk link as a URL and a QR code (SVG)."""
    principal = acting()
    data = body(TOKEN_FIELDS)
    owner = _user_or_404(text(data, "user", limit=64) or "")
    label, rooms = text(data, "label", limit=100) or "", room_set(data)
    if rooms is not None:
        if not rooms:
            raise ApiError(400, "a kiosk link needs at least one room")
        allowed = rooms_for(owner.principal("token", ""), current().config)
        beyond = sorted(rooms - allowed)
        if beyond:
            raise ApiError(400, f"{owner.name} may not watch room {beyond[0]!r}")
    users = current().hub.users
    token_id, secret = _users_call(lambda: users.create_token(owner.name, label, rooms))
    detail = f"id {token_id}" + (f", kiosk link for {','.join(sorted(rooms))}" if rooms else "")
    audit(principal, "token.create", owner.name, detail)
    token = next(t for t in users.token_list(owner.name) if t.id == token_id)
    url = f"{request.url_root}kiosk#token={secret}"
    return jsonify(token=token.as_dict(), secret=secret, kiosk_url=url,
                   qr_svg=qr_svg(url)), 201


@bp.delete("/api/tokens/<int:token_id>")
def revoke_token(token_id: int) -> Response:
    """Revoke a token: its sockets are cut at once here, within 5 s elsewhere."""
    principal = acting()
    try:
        owner = current().hub.users.revoke_token(token_id)
    except UserError as error:
        raise ApiError(404, "unknown token") from error
    audit(principal, "token.revoke", owner, f"id {token_id}")
    return jsonify(revoked=token_id)


def qr_svg(data: str) -> str:
    """``data`` as a QR code in SVG, made here (no service on the internet ever sees it).

    Black on white whatever the page's colours (scanners want dark modules on a light
    ground), 4 modules of quiet zone, medium error correction; the size comes from CSS.
    """
    import segno  # only the admin's token form needs it

    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="svg", xmldecl=False, svgns=True, border=4,
                                     omitsize=True, svgclass="qr", lineclass=None,
                                     dark="#000", light="#fff")
    return out.getvalue().decode()
