"""What users, tokens and sessions share: the account row, digests, one transaction.

Each user has a random ``uid`` made when the account is made (a user removed and
added again under the same name is another account) and a credential ``epoch`` that
changes with the password. A principal carries both, plus the digest of the exact
token or session it proved, so ``Users.holds`` can tell whether it is still in force.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sensorhub.rights import Principal

USER_COLUMNS = "name, admin, rooms, epoch, uid"

log = logging.getLogger(__name__)


class UserError(ValueError):
    """A user or token operation that cannot be done (unknown name, bad input)."""


class LastAdminError(UserError):
    """The change would leave no enabled admin: nobody could administer any more."""


@dataclass(frozen=True)
class User:
    """A row of the users table."""

    name: str
    admin: bool
    rooms: frozenset[str]
    epoch: int
    uid: str = ""

    def principal(self, kind: str, credential: str, token_id: int | None = None,
                  limit: frozenset[str] | None = None) -> Principal:
        """The rights this user carries through one credential (a token or a session).

        ``limit``: a kiosk link's rooms. Such a token is never an admin's and shows
        only those of its rooms the user may watch (any of them, for an admin).
        """
        admin, rooms = self.admin, self.rooms
        if limit is not None:
            admin, rooms = False, limit if self.admin else self.rooms & limit
        return Principal(kind=kind, name=self.name, admin=admin, rooms=rooms,
                         token_id=token_id, epoch=self.epoch, uid=self.uid,
                         credential=credential)


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


TOUCH_EVERY = 300.0  # seconds; "last used" times are written at most this often (SD card)


class Touches:
    """Write a credential's "last used" time now and then, and never fail a lookup for it.

    A database that refuses writes (disk full, read-only, locked by a backup) is no
    reason to refuse a valid token or session: the time is then left as it was and
    tried again after ``TOUCH_EVERY``, not at every request (a locked database makes
    each write wait its busy timeout).
    """

    def __init__(self, run: Callable[[Callable[[sqlite3.Connection], Any]], Any],
                 sql: str) -> None:
        self._run = run
        self._sql = sql  # UPDATE ... SET <time> = ? WHERE <key> = ?
        self._tried: dict[Any, float] = {}

    def touch(self, key: Any, stored: float | None, now: float) -> None:
        """Record ``now`` for ``key`` unless ``stored`` (or our last try) is recent."""
        last = max(stored if stored is not None else float("-inf"),
                   self._tried.get(key, float("-inf")))
        if now - last <= TOUCH_EVERY:
            return
        if len(self._tried) > 10_000:  # bounded, whatever turns up
            self._tried.clear()
        self._tried[key] = now
        try:
            self._run(lambda c: c.execute(self._sql, (now, key)))
        except sqlite3.Error as error:
            log.debug("cannot note when %r was last used: %s", key, error)
