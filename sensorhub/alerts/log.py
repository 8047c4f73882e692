"""Alert episodes in the state database (table ``alerts``, made by storage.schema)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

#: work done inside the transaction that records an alert: (connection, alert id)
Then = Callable[[sqlite3.Connection, int], Any]


def transaction(connect: Callable[[], sqlite3.Connection],
                fn: Callable[[sqlite3.Connection], Any]) -> Any:
    """Run ``fn`` in one write transaction on a fresh connection; return what it returns."""
    conn = connect()
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result
    finally:
        conn.close()


class AlertLog:
    """Alert episodes in the state database."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self.connect = connect

    def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        return transaction(self.connect, fn)

    def open(self, sensor: str, room: str, kind: str, since: float, value: float | None,
             threshold: float | None, then: Then | None = None) -> int:
        """Record a firing alert; return its id.

        ``then(conn, alert_id)`` runs in the same transaction (it queues notifications).
        """
        def write(c: sqlite3.Connection) -> int:
            alert_id = c.execute(
                "INSERT INTO alerts (sensor, room, kind, since, value, threshold) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (sensor, room, kind, since, value, threshold)).lastrowid
            assert alert_id is not None
            if then is not None:
                then(c, alert_id)
            return alert_id
        return self._run(write)

    def close(self, alert_id: int, cleared: float, value: float | None,
              then: Then | None = None) -> None:
        """Record that an alert cleared (``then`` as for ``open``)."""
        def write(c: sqlite3.Connection) -> None:
            c.execute("UPDATE alerts SET cleared = ?, cleared_value = ? WHERE id = ?",
                      (cleared, value, alert_id))
            if then is not None:
                then(c, alert_id)
        self._run(write)

    def acknowledge(self, alert_id: int, when: float, who: str) -> None:
        """Record who acknowledged a firing alert, and when (the first time only)."""
        self._run(lambda c: c.execute("UPDATE alerts SET acked = ?, acked_by = ? "
                                      "WHERE id = ? AND acked IS NULL", (when, who, alert_id)))

    def active(self) -> list[dict[str, Any]]:
        """Alerts still firing."""
        return self.history(active_only=True)

    def history(self, sensors: Iterable[str] | None = None, since: float = 0.0,
                limit: int = 200, active_only: bool = False) -> list[dict[str, Any]]:
        """Alert episodes, newest first."""
        sql = "SELECT id, sensor, room, kind, since, value, threshold, cleared, cleared_value, " \
              "acked, acked_by FROM alerts WHERE (since >= ? OR cleared IS NULL " \
              "OR cleared >= ?)"
        args: list[Any] = [since, since]  # every episode that overlaps [since, now]
        if active_only:
            sql += " AND cleared IS NULL"
        if sensors is not None:
            wanted = list(sensors)
            sql += f" AND sensor IN ({','.join('?' * len(wanted))})"
            args += wanted
        sql += " ORDER BY since DESC LIMIT ?"
        args.append(limit)
        rows = self._run(lambda c: c.execute(sql, args).fetchall())
        keys = ("id", "sensor", "room", "kind", "since", "value", "threshold", "cleared",
                "cleared_value", "acked", "acked_by")
        return [dict(zip(keys, row, strict=True)) for row in rows]
