"""The notification outbox and its delivery log (tables made by sensorhub.storage.schema).

A notification is queued as a row (``notifications``) in the same transaction that
records the alert, so a message exists exactly when its alert does; a restart, a dead
receiver or a long queue loses nothing. ``(channel, key)`` is unique: queueing the
same message twice is a no-op, which is what makes each delivery at most once per
channel. Every try leaves a row in ``deliveries``: ``sent`` with the receiver's answer,
``failed`` with the reason, or ``gave_up``. Nothing here sends anything.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sensorhub.alerts.log import transaction
from sensorhub.alerts.message import Notification

PENDING, SENT, GAVE_UP, FAILED = "pending", "sent", "gave_up", "failed"
DETAIL_CHARS = 500


@dataclass(frozen=True)
class Queued:
    """One notification waiting for its channel."""

    id: int
    channel: str
    notification: Notification
    created: float
    attempts: int


class Outbox:
    """Queued notifications and the delivery log, in the state database."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect

    def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        return transaction(self._connect, fn)

    # -- queueing --------------------------------------------------------------------
    @staticmethod
    def add(conn: sqlite3.Connection, channel: str, notification: Notification,
            now: float, due: float) -> bool:
        """Queue inside the caller's transaction; False if this key was queued before."""
        cursor = conn.execute(
            "INSERT OR IGNORE INTO notifications (channel, key, body, created, due, updated) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (channel, notification.key, notification.to_json(), now, due, now))
        return cursor.rowcount == 1

    def enqueue(self, items: Iterable[tuple[str, Notification, float]], now: float) -> int:
        """Queue (channel, notification, due) items in one transaction; count the new ones."""
        listed = list(items)
        return self._run(lambda c: sum(self.add(c, ch, n, now, due) for ch, n, due in listed))

    # -- the couriers ----------------------------------------------------------------
    def due(self, channel: str, now: float, limit: int = 20) -> list[Queued]:
        """The channel's pending notifications whose time has come, oldest first."""
        rows = self._run(lambda c: c.execute(
            "SELECT id, body, created, attempts FROM notifications WHERE channel = ? "
            "AND status = 'pending' AND due <= ? ORDER BY id LIMIT ?",
            (channel, now, limit)).fetchall())
        return [Queued(row[0], channel, Notification.from_json(row[1]), row[2], row[3])
                for row in rows]

    def next_due(self, channel: str) -> float | None:
        """When the channel's next pending notification is due (None: nothing pending)."""
        return self._run(lambda c: c.execute(
            "SELECT MIN(due) FROM notifications WHERE channel = ? AND status = 'pending'",
            (channel,)).fetchone()[0])

    def sent(self, item: Queued, answer: str, now: float) -> None:
        """Record a delivery the receiver accepted."""
        self._finish(item.id, SENT, SENT, answer, now)

    def failed(self, item: Queued, reason: str, now: float) -> None:
        """Record a failed try; the notification stays queued."""
        self._finish(item.id, PENDING, FAILED, reason, now)

    def give_up(self, item_id: int, reason: str, now: float) -> None:
        """Stop trying a notification (too old, too many tries, channel gone)."""
        self._finish(item_id, GAVE_UP, GAVE_UP, reason, now, tried=False)

    def _finish(self, item_id: int, status: str, outcome: str, detail: str, now: float,
                tried: bool = True) -> None:
        def write(c: sqlite3.Connection) -> None:
            c.execute("UPDATE notifications SET status = ?, attempts = attempts + ?, "
                      "updated = ? WHERE id = ?", (status, int(tried), now, item_id))
            c.execute("INSERT INTO deliveries (notification, ts, outcome, detail) "
                      "VALUES (?, ?, ?, ?)", (item_id, now, outcome, detail[:DETAIL_CHARS]))
        self._run(write)

    def record(self, channel: str, notification: Notification, outcome: str, detail: str,
               now: float) -> None:
        """Log a message sent outside the queue (``sensorhub notify test``)."""
        def write(c: sqlite3.Connection) -> None:
            c.execute("INSERT OR IGNORE INTO notifications (channel, key, body, created, due, "
                      "attempts, status, updated) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
                      (channel, notification.key, notification.to_json(), now, now,
                       SENT if outcome == SENT else GAVE_UP, now))
            row = c.execute("SELECT id FROM notifications WHERE channel = ? AND key = ?",
                            (channel, notification.key)).fetchone()
            c.execute("INSERT INTO deliveries (notification, ts, outcome, detail) "
                      "VALUES (?, ?, ?, ?)", (row[0], now, outcome, detail[:DETAIL_CHARS]))
        self._run(write)

    # -- housekeeping and the admin's view -------------------------------------------
    def abandon_unknown(self, channels: Iterable[str], now: float) -> int:
        """Give up pending notifications of channels no longer in config.yaml."""
        known = list(channels)
        marks = ",".join("?" * len(known)) or "''"

        def write(c: sqlite3.Connection) -> int:
            ids = [r[0] for r in c.execute(
                f"SELECT id FROM notifications WHERE status = 'pending' "
                f"AND channel NOT IN ({marks})", known)]
            for item_id in ids:
                c.execute("UPDATE notifications SET status = 'gave_up', updated = ? "
                          "WHERE id = ?", (now, item_id))
                c.execute("INSERT INTO deliveries (notification, ts, outcome, detail) "
                          "VALUES (?, ?, 'gave_up', 'channel no longer configured')",
                          (item_id, now))
            return len(ids)
        return self._run(write)

    def purge(self, before: float) -> int:
        """Forget finished notifications (and their log) last touched before ``before``."""
        return self._run(lambda c: c.execute(
            "DELETE FROM notifications WHERE status != 'pending' AND updated < ?",
            (before,)).rowcount)

    def counts(self) -> dict[tuple[str, str], int]:
        """(channel, status) -> notifications, for metrics and the CLI."""
        rows = self._run(lambda c: c.execute(
            "SELECT channel, status, COUNT(*) FROM notifications GROUP BY channel, status"
        ).fetchall())
        return {(channel, status): n for channel, status, n in rows}

    def log(self, *, channel: str | None = None, since: float = 0.0, limit: int = 100
            ) -> list[dict[str, Any]]:
        """The delivery log, newest first: each try with its outcome and detail."""
        sql = ("SELECT d.ts, n.channel, n.key, n.body, d.outcome, d.detail, n.status, "
               "n.attempts, n.created FROM deliveries d JOIN notifications n "
               "ON n.id = d.notification WHERE d.ts >= ?")
        args: list[Any] = [since]
        if channel is not None:
            sql += " AND n.channel = ?"
            args.append(channel)
        sql += " ORDER BY d.id DESC LIMIT ?"
        args.append(limit)
        out = []
        for ts, ch, key, body, outcome, detail, status, attempts, created in self._run(
                lambda c: c.execute(sql, args).fetchall()):
            n = Notification.from_json(body)
            out.append({"ts": ts, "channel": ch, "key": key, "title": n.title,
                        "sensor": n.event.get("sensor"), "kind": n.event.get("kind"),
                        "state": n.state, "severity": n.severity, "outcome": outcome,
                        "detail": detail, "status": status, "attempts": attempts,
                        "queued": created})
        return out
