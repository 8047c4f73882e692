"""The audit log: every admin action and every login, who, what, when, from where.

Rows live in the state database (schema 5's ``audit`` table) for
``storage.audit_retention_days`` (default 365), and never more than ``MAX_ROWS`` of
them, so a stream of failed logins cannot fill the SD card: the hash gate lets at
most a few through per second, and the oldest rows go first. Callers never pass a
password or a token: ``detail`` says what changed (``rooms a,b``, ``password reset``),
not to what secret.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from sensorhub.storage.account import transaction

log = logging.getLogger(__name__)

MAX_ROWS = 200_000  # about 40 MiB at worst; a year of a busy household is a few thousand
COLUMNS = ("id", "ts", "actor", "action", "target", "detail", "address")


class Audit:
    """Append and read audit rows over short-lived SQLite connections."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], *,
                 retention_days: float = 365.0, clock: Callable[[], float] = time.time) -> None:
        """Rows older than ``retention_days`` go at each ``apply_retention``."""
        self._connect = connect
        self.retention_days = retention_days
        self._clock = clock

    def record(self, actor: str, action: str, target: str = "", detail: str = "",
               address: str = "") -> None:
        """Append one row. A failure is logged, never raised: the action itself is done."""
        row = (self._clock(), actor[:64], action[:64], target[:128], detail[:500], address[:64])
        try:
            transaction(self._connect, lambda c: c.execute(
                "INSERT INTO audit (ts, actor, action, target, detail, address) "
                "VALUES (?,?,?,?,?,?)", row))
        except sqlite3.Error:
            log.exception("could not write the audit row %s %s %s", actor, action, target)

    def entries(self, *, since: float = 0.0, until: float | None = None, limit: int = 1000,
                actor: str | None = None, action: str | None = None) -> list[dict[str, Any]]:
        """Rows from ``since`` to ``until``, newest first, at most ``limit``."""
        sql = f"SELECT {', '.join(COLUMNS)} FROM audit WHERE ts >= ? AND ts <= ?"
        args: list[Any] = [since, until if until is not None else float("inf")]
        for column, value in (("actor", actor), ("action", action)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        rows = transaction(self._connect, lambda c: c.execute(sql, args).fetchall())
        return [dict(zip(COLUMNS, row, strict=True)) for row in rows]

    def apply_retention(self, now: float | None = None) -> int:
        """Drop rows past their retention, and the oldest beyond MAX_ROWS; return how many.

        ``now``: the hub passes the earlier of the store's retention clock and the
        wall clock, so a Pi whose clock jumps ahead at boot keeps its audit log.
        A database that refuses the write (read-only, full, locked) is logged, never
        raised, like ``Store.apply_retention``: the rows simply wait for the next pass.
        """
        cutoff = (self._clock() if now is None else now) - self.retention_days * 86400

        def go(c: sqlite3.Connection) -> int:
            old = c.execute("DELETE FROM audit WHERE ts < ?", (cutoff,)).rowcount
            return old + c.execute(
                "DELETE FROM audit WHERE id <= (SELECT id FROM audit ORDER BY id DESC "
                "LIMIT 1 OFFSET ?)", (MAX_ROWS,)).rowcount
        try:
            return transaction(self._connect, go)
        except sqlite3.Error as error:
            log.error("audit retention pass failed: %s", error)
            return 0
