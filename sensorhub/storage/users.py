"""Users and API tokens, kept in the state database (tables: storage.schema).

Passwords are hashed with werkzeug (scrypt). Tokens live in ``storage.tokens``, the
account row and its helpers in ``storage.account`` (re-exported here). An admin may
change a user's rooms, admin flag, password and disabled flag in one ``update``:
all of it or nothing, and never so that no enabled admin is left (the same guard
covers ``remove``, for the web and the command line alike).

Every change of an account or a credential (a password change, a removal, a revoked
token, an ended session, other rooms) calls the ``watch``-ers at once: the web
process uses that to cut the sockets concerned, or move them to their new rooms,
without waiting for its periodic re-check.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from sensorhub.rights import Principal
from sensorhub.runtime import real_lock
from sensorhub.storage.account import (
    USER_COLUMNS,
    LastAdminError,
    Touches,
    User,
    UserError,
    digest,
    transaction,
    user_from_row,
)
from sensorhub.storage.tokens import TOKEN_PREFIX, Token, TokenStore, split_rooms

__all__ = ["TOKEN_PREFIX", "USER_COLUMNS", "AccountDisabledError", "LastAdminError", "Token",
           "User", "UserError", "Users", "Validity", "check_password", "digest",
           "transaction", "user_from_row"]

log = logging.getLogger(__name__)

NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")
MIN_PASSWORD, MAX_PASSWORD = 8, 1024  # the login form reads at most MAX_PASSWORD characters
# Checked against when a user does not exist, so timing does not reveal which names
# do; the answer is thrown away, so its password need not be secret. Written out
# rather than made at import, where scrypt cost 0.15 s of every start (more on a Pi).
# Made with werkzeug's default method (tests/unit/test_users.py checks it still is).
_DUMMY_PASSWORD = "sensorhub: no such user"
_DUMMY_HASH = (
    "scrypt:32768:8:1$5X1GN5hSf5lGX2gD$d8f218c5c23d4af4460bebf7ccd9a5744fc692ba7af18718b743"
    "a4b9778bf2bf074819f7ddd5697b2e8d66121f936688876857f400844cd349700c74571ddbe2")
_ADMINS = "SELECT count(*) FROM users WHERE admin = 1 AND disabled = 0"


class AccountDisabledError(UserError):
    """The password is right but an admin disabled the account."""


def check_password(password: str) -> None:
    """The one strength rule, for the command line, the admin and the account page."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"password must have at most {MAX_PASSWORD} characters")


@dataclass(frozen=True)
class Validity:
    """Every enabled account and every live credential, read in one go (re-checks)."""

    users: dict[str, User]
    #: digest of each existing token and unexpired session -> a kiosk token's rooms
    credentials: dict[str, frozenset[str] | None]


class Users(TokenStore):
    """User and token operations over short-lived SQLite connections."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], *,
                 offload: Callable[[Callable[[], str]], str] = lambda fn: fn()) -> None:
        """Work on the database ``connect`` opens (its schema made by storage.schema).

        ``offload`` runs a password hash (scrypt: a quarter second of CPU) where it
        blocks nobody: the web passes its runtime's ``run_blocking``, so an admin
        adding a user does not stall the event loop's readings.
        """
        self._connect = connect
        self._offload = offload
        self._watchers: list[Callable[[], None]] = []
        self._token_touches = Touches(self._run, "UPDATE tokens SET last_used = ? WHERE id = ?")
        self._reader: sqlite3.Connection | None = None  # kept for per-request lookups
        self._reader_lock = real_lock()

    def watch(self, watcher: Callable[[], None]) -> None:
        """Call ``watcher`` after every change of an account or a credential."""
        self._watchers.append(watcher)

    def changed(self) -> None:
        """Tell the watchers that an account or a credential changed (already committed)."""
        for watcher in self._watchers:
            try:
                watcher()
            except Exception:  # the change is made; a failed cut is retried by the re-check
                log.exception("a credential watcher failed")

    def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        return transaction(self._connect, fn)

    def _hash(self, password: str) -> str:
        return self._offload(lambda: generate_password_hash(password))

    def lookup(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
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
        """Create a user; refuse a taken or malformed name and a weak password."""
        if not name or len(name) > 64 or not set(name) <= NAME_CHARS:
            raise UserError(f"invalid user name {name!r} (letters, digits, . _ - @; max 64)")
        check_password(password)
        hashed = self._hash(password)
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
        """Look a user up by name (disabled or not)."""
        rows = self.lookup(f"SELECT {USER_COLUMNS} FROM users WHERE name = ?", (name,))
        return user_from_row(rows[0]) if rows else None

    def list(self) -> list[User]:
        """Every user, by name."""
        rows = self._run(lambda c: c.execute(
            f"SELECT {USER_COLUMNS} FROM users ORDER BY name").fetchall())
        return [user_from_row(r) for r in rows]

    def overview(self) -> list[dict[str, Any]]:
        """Every user as the admin's list shows them: rights, last login, what they hold."""
        rows = self._run(lambda c: c.execute(
            "SELECT u.name, u.admin, u.rooms, u.disabled, u.created, u.last_login, "
            "(SELECT count(*) FROM sessions s WHERE s.user_uid = u.uid AND s.epoch = u.epoch "
            " AND s.expires > ?), (SELECT count(*) FROM tokens t WHERE t.user = u.name) "
            "FROM users u ORDER BY u.name", (time.time(),)).fetchall())
        return [{"name": r[0], "admin": bool(r[1]), "rooms": sorted(split_rooms(r[2]) or ()),
                 "disabled": bool(r[3]), "created": r[4], "last_login": r[5],
                 "sessions": r[6], "tokens": r[7]} for r in rows]

    def count(self) -> int:
        """How many users exist."""
        return self._run(lambda c: c.execute("SELECT count(*) FROM users").fetchone()[0])

    def verify(self, name: str, password: str) -> User | None:
        """The user if the password is right, else None (same cost either way).

        AccountDisabledError for the right password of a disabled account: only
        someone who knows the password learns that it is disabled.
        """
        row = self._run(lambda c: c.execute(
            f"SELECT {USER_COLUMNS}, password, disabled FROM users WHERE name = ?",
            (name,)).fetchone())
        if row is None:
            check_password_hash(_DUMMY_HASH, password)
            return None
        if not check_password_hash(row[5], password):
            return None
        if row[6]:
            raise AccountDisabledError(f"the account {name!r} is disabled")
        return user_from_row(row[:5])

    def set_password(self, name: str, password: str) -> None:
        """Change a password: a new credential generation, every session of the user ended."""
        self.update(name, password=password)

    def update(self, name: str, *, rooms: frozenset[str] | None = None,
               admin: bool | None = None, disabled: bool | None = None,
               password: str | None = None) -> User:
        """Change what is given (None: unchanged) in one transaction: all of it or nothing.

        A new password starts a new credential generation; it and disabling end every
        session of the user. LastAdminError if no enabled admin would be left.
        """
        sets: list[str] = []
        args: list[Any] = []
        if rooms is not None:
            sets.append("rooms = ?")
            args.append(",".join(sorted(rooms)))
        if admin is not None:
            sets.append("admin = ?")
            args.append(int(admin))
        if disabled is not None:
            sets.append("disabled = ?")
            args.append(int(disabled))
        if password is not None:
            check_password(password)
            sets.append("password = ?, epoch = epoch + 1")
            args.append(self._hash(password))  # before the write lock
        if not sets:
            raise UserError("nothing to change")
        ends_sessions = password is not None or bool(disabled)

        def go(c: sqlite3.Connection) -> Any:
            admins = c.execute(_ADMINS).fetchone()[0]
            if ends_sessions:
                c.execute("DELETE FROM sessions WHERE user_uid = "
                          "(SELECT uid FROM users WHERE name = ?)", (name,))
            if not c.execute(f"UPDATE users SET {', '.join(sets)} WHERE name = ?",
                             (*args, name)).rowcount:
                raise UserError(f"no user {name!r}")
            _keep_an_admin(c, admins, name)
            return c.execute(f"SELECT {USER_COLUMNS} FROM users WHERE name = ?",
                             (name,)).fetchone()
        user = user_from_row(self._run(go))
        self.changed()
        return user

    def remove(self, name: str) -> None:
        """Delete a user with their tokens and sessions (never the last enabled admin)."""
        def go(c: sqlite3.Connection) -> int:
            admins = c.execute(_ADMINS).fetchone()[0]
            c.execute("DELETE FROM tokens WHERE user = ?", (name,))
            c.execute("DELETE FROM sessions WHERE user_uid = "
                      "(SELECT uid FROM users WHERE name = ?)", (name,))
            removed = c.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount
            _keep_an_admin(c, admins, name)
            return removed
        if not self._run(go):
            raise UserError(f"no user {name!r}")
        self.changed()

    # -- re-checking what was granted -------------------------------------------------
    def validity(self) -> Validity:
        """Every enabled user and every live credential, read in one transaction."""
        def go(c: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
            return (c.execute(f"SELECT {USER_COLUMNS} FROM users WHERE disabled = 0")
                    .fetchall(),
                    c.execute("SELECT digest, rooms FROM tokens UNION ALL "
                              "SELECT id, NULL FROM sessions WHERE expires > ?",
                              (time.time(),)).fetchall())
        user_rows, credential_rows = self._run(go)
        return Validity({r[0]: user_from_row(r) for r in user_rows},
                        {r[0]: split_rooms(r[1]) for r in credential_rows})

    @staticmethod
    def current(principal: Principal, validity: Validity) -> Principal | None:
        """The principal as its account stands now, through the same credential.

        None if the account went (or is another one now, or is disabled), its
        password changed, or the very token or session it proved is no longer in force.
        """
        user = validity.users.get(principal.name or "")
        if user is None or user.uid != principal.uid or user.epoch != principal.epoch \
                or principal.credential not in validity.credentials:
            return None
        return user.principal(principal.kind, principal.credential, principal.token_id,
                              validity.credentials[principal.credential])

    @classmethod
    def holds(cls, principal: Principal, validity: Validity) -> bool:
        """Whether a principal made earlier still holds, with the same rights."""
        if principal.anonymous:
            return True
        now = cls.current(principal, validity)
        return now is not None and (now.admin, now.rooms) == (principal.admin, principal.rooms)

    def still_valid(self, principal: Principal) -> bool:
        """Whether one principal still holds (see ``holds``)."""
        return self.holds(principal, self.validity())


def _keep_an_admin(c: sqlite3.Connection, before: int, name: str) -> None:
    """Refuse (roll back) a change that leaves no enabled admin where there was one.

    Checked after the write, inside its transaction: the write lock is held, so two
    admins demoting each other at once cannot both pass.
    """
    if before and not c.execute(_ADMINS).fetchone()[0]:
        raise LastAdminError(f"{name} is the last admin: make another user an admin first")
