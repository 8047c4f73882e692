"""Login sessions, kept server-side in the ``sessions`` table (schema 3).

The cookie carries a random secret; the table keeps only its SHA-256 (the session's
id), so a copied database opens no session. A session is bound to one account
incarnation (``users.uid``) and one credential generation (``users.epoch`` at login):
a password change, a removal (and a re-add under the same name) or a logout ends it,
whatever the cookie still says. Rows record when and from where, for the admin's list.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sensorhub.rights import Principal
from sensorhub.storage.account import (
    Touches,
    User,
    digest,
    transaction,
    user_from_row,
)
from sensorhub.storage.users import Users

MAX_PER_USER = 20  # a user's oldest sessions beyond this are ended at the next login


@dataclass(frozen=True)
class Session:
    """A row of the sessions table, as an admin's list shows it."""

    id: str  # the digest of the cookie's secret: a handle, not a credential
    user: str
    created: float
    last_seen: float
    expires: float
    address: str
    user_agent: str


class Sessions:
    """Open, resolve, list and end sessions over short-lived SQLite connections."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], users: Users, *,
                 lifetime: float, clock: Callable[[], float] = time.time) -> None:
        """Sessions last ``lifetime`` seconds; ``users`` is told when one ends."""
        self._connect = connect
        self._users = users
        self.lifetime = lifetime
        self._clock = clock
        self._touches = Touches(self._run, "UPDATE sessions SET last_seen = ? WHERE id = ?")

    def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        return transaction(self._connect, fn)

    def open(self, user: User, *, address: str = "", user_agent: str = "") -> str:
        """Start a session for ``user``; return the secret for the cookie (kept nowhere)."""
        secret = secrets.token_urlsafe(32)
        now = self._clock()

        def go(c: sqlite3.Connection) -> None:
            c.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            c.execute("INSERT INTO sessions (id, user_uid, epoch, created, last_seen, expires, "
                      "address, user_agent) VALUES (?,?,?,?,?,?,?,?)",
                      (digest(secret), user.uid, user.epoch, now, now, now + self.lifetime,
                       address[:64], user_agent[:200]))
            c.execute("UPDATE users SET last_login = ? WHERE uid = ?", (now, user.uid))
            c.execute("DELETE FROM sessions WHERE user_uid = ? AND id NOT IN (SELECT id FROM "
                      "sessions WHERE user_uid = ? ORDER BY last_seen DESC LIMIT ?)",
                      (user.uid, user.uid, MAX_PER_USER))
        self._run(go)
        return secret

    def principal(self, secret: object) -> Principal | None:
        """Who a cookie's secret stands for; None if unknown, ended, expired or stale."""
        if not isinstance(secret, str) or len(secret) > 100:
            return None
        key, now = digest(secret), self._clock()

        # every request with a cookie asks: the users' kept connection, not a new one
        rows = self._users.lookup(
            "SELECT u.name, u.admin, u.rooms, u.epoch, u.uid, s.last_seen FROM sessions s "
            "JOIN users u ON u.uid = s.user_uid AND u.epoch = s.epoch "
            "WHERE s.id = ? AND s.expires > ? AND u.disabled = 0", (key, now))
        if not rows:
            return None
        self._touches.touch(key, rows[0][5], now)
        return user_from_row(rows[0][:5]).principal("session", key)

    def list(self, name: str | None = None) -> list[Session]:
        """Unexpired sessions of every user, or of one, most recently seen first."""
        sql = ("SELECT s.id, u.name, s.created, s.last_seen, s.expires, s.address, "
               "s.user_agent FROM sessions s JOIN users u ON u.uid = s.user_uid "
               "AND u.epoch = s.epoch WHERE s.expires > ?")
        args: tuple[Any, ...] = (self._clock(),)
        if name is not None:
            sql += " AND u.name = ?"
            args += (name,)
        rows = self._run(lambda c: c.execute(sql + " ORDER BY s.last_seen DESC", args)
                         .fetchall())
        return [Session(*row) for row in rows]

    def end(self, session_id: str) -> bool:
        """End one session by its id (as ``list`` shows it); False if there was none."""
        return self._end("DELETE FROM sessions WHERE id = ?", (session_id,)) > 0

    def end_secret(self, secret: object) -> bool:
        """End the session a cookie's secret stands for (logout)."""
        return isinstance(secret, str) and self.end(digest(secret))

    def end_all(self, name: str) -> int:
        """End every session of a user; return how many there were."""
        return self._end("DELETE FROM sessions WHERE user_uid = "
                         "(SELECT uid FROM users WHERE name = ?)", (name,))

    def _end(self, sql: str, args: tuple[Any, ...]) -> int:
        ended = self._run(lambda c: c.execute(sql, args).rowcount)
        if ended:
            self._users.changed()
        return ended
