"""API tokens: scripts, kiosks and kiosk links limited to chosen rooms.

A token is a long random string of which only a SHA-256 is stored (256 bits of
entropy: a fast hash is enough and lookups stay O(1)). It carries its user's rights,
or, for a kiosk link, only the rooms it was made for (``rooms``: never an admin's
rights, and never more than the user has). Ids are never reused (schema 4's
AUTOINCREMENT), so a revoked token's id never names a new one.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sensorhub.rights import Principal
from sensorhub.storage.account import USER_COLUMNS, Touches, UserError, digest, user_from_row

TOKEN_PREFIX = "shb_"


def join_rooms(rooms: frozenset[str] | None) -> str | None:
    """Rooms as the database keeps them (None stays None: no limit)."""
    return None if rooms is None else ",".join(sorted(rooms))


def split_rooms(text: str | None) -> frozenset[str] | None:
    """The inverse of ``join_rooms``."""
    return None if text is None else frozenset(r for r in text.split(",") if r)


@dataclass(frozen=True)
class Token:
    """A row of the tokens table, as the admin's list shows it (never the secret)."""

    id: int
    user: str
    label: str
    created: float
    last_used: float | None
    rooms: frozenset[str] | None  # None: the user's own rights; else a kiosk link's rooms

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the admin API."""
        return {"id": self.id, "user": self.user, "label": self.label,
                "created": self.created, "last_used": self.last_used,
                "rooms": None if self.rooms is None else sorted(self.rooms)}


class TokenStore:
    """The token half of ``Users`` (it supplies ``_run``, ``lookup``, ``get``, ``changed``)."""

    _run: Callable[[Callable[[sqlite3.Connection], Any]], Any]
    lookup: Callable[[str, tuple[Any, ...]], list[Any]]  # one read on the kept connection
    _token_touches: Touches  # last_used, at most every TOUCH_EVERY
    get: Callable[[str], Any]
    changed: Callable[[], None]

    def create_token(self, name: str, label: str = "",
                     rooms: frozenset[str] | None = None) -> tuple[int, str]:
        """Make a new API token for a user; return (id, token). Only its hash is kept.

        ``rooms``: a kiosk link's token, limited to those rooms (of the ones the user
        may watch); None: the user's own rights.
        """
        if self.get(name) is None:
            raise UserError(f"no user {name!r}")
        if len(label) > 100:
            raise UserError("a token label has at most 100 characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = self._run(lambda c: c.execute(
            "INSERT INTO tokens (user, label, digest, created, rooms) VALUES (?,?,?,?,?)",
            (name, label, digest(token), time.time(), join_rooms(rooms))).lastrowid)
        return token_id, token

    def revoke_token(self, token_id: int) -> str:
        """Delete a token by id; return whose it was."""
        def go(c: sqlite3.Connection) -> str | None:
            row = c.execute("SELECT user FROM tokens WHERE id = ?", (token_id,)).fetchone()
            if row is not None:
                c.execute("DELETE FROM tokens WHERE id = ?", (token_id,))
            return None if row is None else row[0]
        owner = self._run(go)
        if owner is None:
            raise UserError(f"no token with id {token_id}")
        self.changed()
        return owner

    def tokens(self, name: str | None = None) -> list[tuple[int, str, str, float]]:
        """(id, user, label, created) of every token, or of one user's."""
        return [(t.id, t.user, t.label, t.created) for t in self.token_list(name)]

    def token_list(self, name: str | None = None) -> list[Token]:
        """Every token (or one user's), by id, with its rooms and when it was last used."""
        sql = "SELECT id, user, label, created, last_used, rooms FROM tokens"
        args: tuple[str, ...] = ()
        if name is not None:
            sql += " WHERE user = ?"
            args = (name,)
        rows = self._run(lambda c: c.execute(sql + " ORDER BY id", args).fetchall())
        return [Token(*row[:5], split_rooms(row[5])) for row in rows]

    def principal_for_token(self, token: str) -> Principal | None:
        """The principal a token stands for; None if unknown, revoked or its user disabled."""
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        key, now = digest(token), time.time()
        columns = ", ".join(f"u.{c.strip()}" for c in USER_COLUMNS.split(","))
        # every API request asks: the kept connection, not a new one and its PRAGMAs
        rows = self.lookup(
            f"SELECT {columns}, t.id, t.rooms, t.last_used FROM tokens t "
            "JOIN users u ON u.name = t.user WHERE t.digest = ? AND u.disabled = 0", (key,))
        if not rows:
            return None
        row = rows[0]
        self._token_touches.touch(row[5], row[7], now)
        return user_from_row(row[:5]).principal("token", key, token_id=row[5],
                                               limit=split_rooms(row[6]))
