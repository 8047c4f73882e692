"""Users and API tokens, kept in the state database (tables: storage.schema).

Passwords are hashed with werkzeug (scrypt); tokens are long random strings of which
only a SHA-256 is stored (they carry 256 bits of entropy, so a fast hash is enough
and lookups stay O(1)). Each user has a random ``uid`` made when the account is made
(a user removed and added again under the same name is another account) and a
credential ``epoch`` that changes with the password. A principal carries both, plus
the digest of the exact token or session it proved, so ``holds`` can tell whether
what it was given is still in force.

Every change that can end a credential (a password change, a removal, a revoked
token, an ended session) calls the ``watch``-ers at once: the web process uses that
to cut the sockets concerned without waiting for its periodic re-check.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from sensorhub.rights import Principal

log = logging.getLogger(__name__)

TOKEN_PREFIX = "shb_"
USER_COLUMNS = "name, admin, rooms, epoch, uid"
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")
# checked against when a user does not exist, so timing does not reveal which names do
_DUMMY_HASH = generate_password_hash("not-a-user-" + secrets.token_hex(8))


class UserError(ValueError):
    """A user or token operation that cannot be done (unknown name, bad input)."""


@dataclass(frozen=True)
class User:
    """A row of the users table."""

    name: str
    admin: bool
    rooms: frozenset[str]
    epoch: int
    uid: str = ""

    def principal(self, kind: str, credential: str, token_id: int | None = None
                  ) -> Principal:
        """The rights this user carries through one credential (a token or a session)."""
        return Principal(kind=kind, name=self.name, admin=self.admin, rooms=self.rooms,
                         token_id=token_id, epoch=self.epoch, uid=self.uid,
                         credential=credential)


@dataclass(frozen=True)
class Validity:
    """Every account and every live credential, read in one go (re-checking sockets)."""

    users: dict[str, User]
    credentials: frozenset[str]  # digests of existing tokens and unexpired sessions


def digest(secret: str) -> str:
    """The SHA-256 that stands for a token or session secret in the database."""
    return hashlib.sha256(secret.encode()).hexdigest()


def user_from_row(row: Any) -> User:
    """A User from the columns USER_COLUMNS names, in that order."""
    name, admin, rooms, epoch, uid = row
    return User(name, bool(admin), frozenset(r for r in rooms.split(",") if r), epoch, uid)


def transaction(connect: Callable[[], sqlite3.Connection],
                fn: Callable[[sqlite3.Connection], Any]) -> Any:
    """Run ``fn`` in one transaction on a connection of its own, closed after."""
    conn = connect()
    conn.isolation_level = "DEFERRED"  # 'with conn' = one transaction
    try:
        with conn:
            return fn(conn)
    finally:
        conn.close()


class Users:
    """User and token operations over short-lived SQLite connections."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        """Work on the database ``connect`` opens (its schema made by storage.schema)."""
        self._connect = connect
        self._watchers: list[Callable[[], None]] = []

    def watch(self, watcher: Callable[[], None]) -> None:
        """Call ``watcher`` after every change that may end a credential."""
        self._watchers.append(watcher)

    def changed(self) -> None:
        """Tell the watchers that a credential may have ended (already committed)."""
        for watcher in self._watchers:
            try:
                watcher()
            except Exception:  # the change is made; a failed cut is retried by the re-check
                log.exception("a credential watcher failed")

    def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        return transaction(self._connect, fn)

    # -- users -----------------------------------------------------------------------
    def add(self, name: str, password: str, *, admin: bool = False,
            rooms: frozenset[str] = frozenset()) -> User:
        """Create a user; refuse a taken or malformed name and an empty password."""
        if not name or len(name) > 64 or not set(name) <= NAME_CHARS:
            raise UserError(f"invalid user name {name!r} (letters, digits, . _ - @; max 64)")
        if len(password) < 8:
            raise UserError("password must have at least 8 characters")
        hashed = generate_password_hash(password)
        uid = secrets.token_hex(16)
        try:
            self._run(lambda c: c.execute(
                "INSERT INTO users (name, password, admin, rooms, created, uid) "
                "VALUES (?,?,?,?,?,?)",
                (name, hashed, int(admin), ",".join(sorted(rooms)), time.time(), uid)))
        except sqlite3.IntegrityError as error:
            raise UserError(f"user {name!r} already exists") from error
        return User(name, admin, rooms, 0, uid)

    def get(self, name: str) -> User | None:
        """Look a user up by name."""
        row = self._run(lambda c: c.execute(
            f"SELECT {USER_COLUMNS} FROM users WHERE name = ?", (name,)).fetchone())
        return user_from_row(row) if row else None

    def list(self) -> list[User]:
        """Every user, by name."""
        rows = self._run(lambda c: c.execute(
            f"SELECT {USER_COLUMNS} FROM users ORDER BY name").fetchall())
        return [user_from_row(r) for r in rows]

    def count(self) -> int:
        """How many users exist."""
        return self._run(lambda c: c.execute("SELECT count(*) FROM users").fetchone()[0])

    def verify(self, name: str, password: str) -> User | None:
        """The user if the password is right, else None (same cost either way)."""
        row = self._run(lambda c: c.execute(
            f"SELECT {USER_COLUMNS}, password FROM users WHERE name = ?", (name,)).fetchone())
        if row is None:
            check_password_hash(_DUMMY_HASH, password)
            return None
        return user_from_row(row[:5]) if check_password_hash(row[5], password) else None

    def set_password(self, name: str, password: str) -> None:
        """Change a password: a new credential generation, every session of the user ended."""
        if len(password) < 8:
            raise UserError("password must have at least 8 characters")
        hashed = generate_password_hash(password)

        def go(c: sqlite3.Connection) -> int:
            c.execute("DELETE FROM sessions WHERE user_uid = "
                      "(SELECT uid FROM users WHERE name = ?)", (name,))
            return c.execute("UPDATE users SET password = ?, epoch = epoch + 1 WHERE name = ?",
                             (hashed, name)).rowcount
        if not self._run(go):
            raise UserError(f"no user {name!r}")
        self.changed()

    def remove(self, name: str) -> None:
        """Delete a user with their tokens and sessions."""
        def go(c: sqlite3.Connection) -> int:
            c.execute("DELETE FROM tokens WHERE user = ?", (name,))
            c.execute("DELETE FROM sessions WHERE user_uid = "
                      "(SELECT uid FROM users WHERE name = ?)", (name,))
            return c.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount
        if not self._run(go):
            raise UserError(f"no user {name!r}")
        self.changed()

    # -- tokens ----------------------------------------------------------------------
    def create_token(self, name: str, label: str = "") -> tuple[int, str]:
        """Make a new API token for a user; return (id, token). Only its hash is kept."""
        if self.get(name) is None:
            raise UserError(f"no user {name!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = self._run(lambda c: c.execute(
            "INSERT INTO tokens (user, label, digest, created) VALUES (?,?,?,?)",
            (name, label, digest(token), time.time())).lastrowid)
        return token_id, token

    def revoke_token(self, token_id: int) -> None:
        """Delete a token by id (ids are never reused: schema 3's AUTOINCREMENT)."""
        if not self._run(lambda c: c.execute(
                "DELETE FROM tokens WHERE id = ?", (token_id,)).rowcount):
            raise UserError(f"no token with id {token_id}")
        self.changed()

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
        key = digest(token)
        row = self._run(lambda c: c.execute(
            "SELECT u.name, u.admin, u.rooms, u.epoch, u.uid, t.id FROM tokens t "
            "JOIN users u ON u.name = t.user WHERE t.digest = ?", (key,)).fetchone())
        if row is None:
            return None
        return user_from_row(row[:5]).principal("token", key, token_id=row[5])

    def validity(self) -> Validity:
        """Every user and every live credential, read in one transaction."""
        def go(c: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
            return (c.execute(f"SELECT {USER_COLUMNS} FROM users").fetchall(),
                    c.execute("SELECT digest FROM tokens UNION ALL "
                              "SELECT id FROM sessions WHERE expires > ?",
                              (time.time(),)).fetchall())
        user_rows, credential_rows = self._run(go)
        return Validity({r[0]: user_from_row(r) for r in user_rows},
                        frozenset(r[0] for r in credential_rows))

    @staticmethod
    def holds(principal: Principal, validity: Validity) -> bool:
        """Whether a principal made earlier still holds.

        The same account (not just the same name), the same credential generation, the
        very token or session it proved still in force, and the same rights.
        """
        if principal.anonymous:
            return True
        user = validity.users.get(principal.name or "")
        if user is None or user.uid != principal.uid or user.epoch != principal.epoch:
            return False
        if principal.credential not in validity.credentials:
            return False
        return user.admin == principal.admin and user.rooms == principal.rooms

    def still_valid(self, principal: Principal) -> bool:
        """Whether one principal still holds (see ``holds``)."""
        return self.holds(principal, self.validity())
