"""Users and API tokens, kept in the state database (tables: storage.schema).

Passwords are hashed with werkzeug (scrypt); tokens are long random strings of which
only a SHA-256 is stored (they carry 256 bits of entropy, so a fast hash is enough
and lookups stay O(1)). Each user has a credential ``epoch`` that changes with the
password, so existing sessions of a user whose password changed stop working.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from sensorhub.rights import Principal
from sensorhub.runtime import real_lock

TOKEN_PREFIX = "shb_"
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")
# Checked against when a user does not exist, so timing does not reveal which names
# do; the answer is thrown away, so its password need not be secret. Written out
# rather than made at import, where scrypt cost 0.15 s of every start (more on a Pi).
# Made with werkzeug's default method (tests/unit/test_users.py checks it still is).
_DUMMY_PASSWORD = "sensorhub: no such user"
_DUMMY_HASH = (
    "scrypt:32768:8:1$5X1GN5hSf5lGX2gD$d8f218c5c23d4af4460bebf7ccd9a5744fc692ba7af18718b743"
    "a4b9778bf2bf074819f7ddd5697b2e8d66121f936688876857f400844cd349700c74571ddbe2")


class UserError(ValueError):
    """A user or token operation that cannot be done (unknown name, bad input)."""


@dataclass(frozen=True)
class User:
    """A row of the users table."""

    name: str
    admin: bool
    rooms: frozenset[str]
    epoch: int

    def principal(self, kind: str = "session", token_id: int | None = None) -> Principal:
        """The rights this user carries."""
        return Principal(kind=kind, name=self.name, admin=self.admin, rooms=self.rooms,
                         token_id=token_id, epoch=self.epoch)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: Any) -> User:
    name, admin, rooms, epoch = row
    return User(name, bool(admin), frozenset(r for r in rooms.split(",") if r), epoch)


class Users:
    """User and token operations over short-lived SQLite connections."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        """Work on the database ``connect`` opens (its schema made by storage.schema)."""
        self._connect = connect
        self._reader: sqlite3.Connection | None = None  # kept for per-request lookups
        self._reader_lock = real_lock()

    def _conn(self) -> sqlite3.Connection:
        conn = self._connect()
        conn.isolation_level = "DEFERRED"  # 'with conn' = one transaction
        return conn

    def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        conn = self._conn()
        try:
            with conn:
                return fn(conn)
        finally:
            conn.close()

    def _lookup(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        """One read on a connection kept open: the token or session check of a request.

        Opening a connection (and its PRAGMAs) cost more than the query, on every
        request. Autocommit and a statement stepped to its end (``fetchall``) leave no
        read transaction open, so each lookup sees the latest commit of any process.
        """
        with self._reader_lock:  # one statement at a time: the lock is never held long
            if self._reader is None:
                self._reader = self._connect()
                self._reader.isolation_level = None  # autocommit, whatever connect set
            try:
                return self._reader.execute(sql, args).fetchall()
            except sqlite3.Error:
                self._reader.close()  # open a fresh one next time
                self._reader = None
                raise

    def close(self) -> None:
        """Close the kept connection (a later lookup opens it again)."""
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    # -- users -----------------------------------------------------------------------
    def add(self, name: str, password: str, *, admin: bool = False,
            rooms: frozenset[str] = frozenset()) -> User:
        """Create a user; refuse a taken or malformed name and an empty password."""
        if not name or len(name) > 64 or not set(name) <= NAME_CHARS:
            raise UserError(f"invalid user name {name!r} (letters, digits, . _ - @; max 64)")
        if len(password) < 8:
            raise UserError("password must have at least 8 characters")
        hashed = generate_password_hash(password)
        try:
            self._run(lambda c: c.execute(
                "INSERT INTO users (name, password, admin, rooms, created) VALUES (?,?,?,?,?)",
                (name, hashed, int(admin), ",".join(sorted(rooms)), time.time())))
        except sqlite3.IntegrityError as error:
            raise UserError(f"user {name!r} already exists") from error
        return User(name, admin, rooms, 0)

    def get(self, name: str) -> User | None:
        """Look a user up by name."""
        rows = self._lookup("SELECT name, admin, rooms, epoch FROM users WHERE name = ?",
                            (name,))
        return _user(rows[0]) if rows else None

    def list(self) -> list[User]:
        """Every user, by name."""
        rows = self._run(lambda c: c.execute(
            "SELECT name, admin, rooms, epoch FROM users ORDER BY name").fetchall())
        return [_user(r) for r in rows]

    def count(self) -> int:
        """How many users exist."""
        return self._run(lambda c: c.execute("SELECT count(*) FROM users").fetchone()[0])

    def verify(self, name: str, password: str) -> User | None:
        """The user if the password is right, else None (same cost either way)."""
        row = self._run(lambda c: c.execute(
            "SELECT name, admin, rooms, epoch, password FROM users WHERE name = ?",
            (name,)).fetchone())
        if row is None:
            check_password_hash(_DUMMY_HASH, password)
            return None
        return _user(row[:4]) if check_password_hash(row[4], password) else None

    def set_password(self, name: str, password: str) -> None:
        """Change a password; the user's existing sessions stop working."""
        if len(password) < 8:
            raise UserError("password must have at least 8 characters")
        hashed = generate_password_hash(password)
        changed = self._run(lambda c: c.execute(
            "UPDATE users SET password = ?, epoch = epoch + 1 WHERE name = ?",
            (hashed, name)).rowcount)
        if not changed:
            raise UserError(f"no user {name!r}")

    def remove(self, name: str) -> None:
        """Delete a user and their tokens."""
        def go(c: sqlite3.Connection) -> int:
            c.execute("DELETE FROM tokens WHERE user = ?", (name,))
            return c.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount
        if not self._run(go):
            raise UserError(f"no user {name!r}")

    # -- tokens ----------------------------------------------------------------------
    def create_token(self, name: str, label: str = "") -> tuple[int, str]:
        """Make a new API token for a user; return (id, token). Only its hash is kept."""
        if self.get(name) is None:
            raise UserError(f"no user {name!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = self._run(lambda c: c.execute(
            "INSERT INTO tokens (user, label, digest, created) VALUES (?,?,?,?)",
            (name, label, _digest(token), time.time())).lastrowid)
        return token_id, token

    def revoke_token(self, token_id: int) -> None:
        """Delete a token by id."""
        if not self._run(lambda c: c.execute(
                "DELETE FROM tokens WHERE id = ?", (token_id,)).rowcount):
            raise UserError(f"no token with id {token_id}")

    def tokens(self, name: str | None = None) -> list[tuple[int, str, str, float]]:
        """(id, user, label, created) of every token, or of one user's."""
        sql = "SELECT id, user, label, created FROM tokens"
        args: tuple[str, ...] = ()
        if name is not None:
            sql += " WHERE user = ?"
            args = (name,)
        return self._run(lambda c: c.execute(sql + " ORDER BY id", args).fetchall())

    def principal_for_token(self, token: str) -> Principal | None:
        """The principal a token stands for, or None if unknown or revoked."""
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        rows = self._lookup(
            "SELECT u.name, u.admin, u.rooms, u.epoch, t.id FROM tokens t "
            "JOIN users u ON u.name = t.user WHERE t.digest = ?", (_digest(token),))
        if not rows:
            return None
        return _user(rows[0][:4]).principal(kind="token", token_id=rows[0][4])

    def validity(self) -> tuple[dict[str, User], set[int]]:
        """Every user and every token id, read in one go (for re-checking clients)."""
        def go(c: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
            return (c.execute("SELECT name, admin, rooms, epoch FROM users").fetchall(),
                    c.execute("SELECT id FROM tokens").fetchall())
        user_rows, token_rows = self._run(go)
        return {r[0]: _user(r) for r in user_rows}, {r[0] for r in token_rows}

    @staticmethod
    def holds(principal: Principal, users: dict[str, User], token_ids: set[int]) -> bool:
        """Whether a principal made earlier still holds (token kept, user unchanged)."""
        if principal.anonymous:
            return True
        user = users.get(principal.name or "")
        if user is None or user.epoch != principal.epoch:
            return False
        if principal.token_id is not None and principal.token_id not in token_ids:
            return False
        return user.admin == principal.admin and user.rooms == principal.rooms

    def still_valid(self, principal: Principal) -> bool:
        """Whether one principal still holds (see ``holds``)."""
        return self.holds(principal, *self.validity())
