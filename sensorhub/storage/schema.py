"""The one SQLite schema: a version number (``PRAGMA user_version``) and ordered migrations.

Every table of the state database is created here and nowhere else: readings and
rollups, the statistics tiers, users, tokens and sessions, the audit log, alert
episodes, the notification outbox and its delivery log, the small ``meta`` table (batch
number, trusted clock, MQTT publish marks). A migration is a list of statements applied
in one transaction together with the new version number, so a power cut leaves the
file either before or after the step, never between. Version 1 is the schema of
sensorhub 0.1.0, which had no version: its ``IF NOT EXISTS`` statements adopt such a
file as it is, rows untouched.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

#: rollup levels: bucket width in ms -> table
ROLLUPS = {60_000: "rollup_1m", 900_000: "rollup_15m"}
#: the column letter of each quantity in readings and rollups, in drivers.base order
COLUMNS = ("t", "h", "p", "c")

_ROLLUP_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    sensor INTEGER NOT NULL, bucket INTEGER NOT NULL,
    t_sum INTEGER NOT NULL, t_n INTEGER NOT NULL, t_min INTEGER, t_max INTEGER,
    h_sum INTEGER NOT NULL, h_n INTEGER NOT NULL, h_min INTEGER, h_max INTEGER,
    PRIMARY KEY (sensor, bucket)) WITHOUT ROWID"""

#: statistics tiers (sensorhub.storage.statistics): bucket = epoch hour / local day
STATS = {"hour": "stats_hour", "day": "stats_day"}
_STATS_TABLE = ("CREATE TABLE IF NOT EXISTS {table} (sensor INTEGER NOT NULL, "
                "bucket INTEGER NOT NULL, {columns}, PRIMARY KEY (sensor, bucket)) WITHOUT ROWID")
_STATS_COLUMNS = ", ".join(
    f"{q}_sum INTEGER NOT NULL DEFAULT 0, {q}_n INTEGER NOT NULL DEFAULT 0, {q}_min INTEGER, "
    f"{q}_max INTEGER, {q}_w INTEGER NOT NULL DEFAULT 0, {q}_d INTEGER NOT NULL DEFAULT 0"
    for q in COLUMNS)
# local calendar day of a 1-minute bucket, as days since 1970-01-01 (statistics.local_day)
_LOCAL_DAY = "CAST(julianday(bucket * 60, 'unixepoch', 'localtime') - 2440587.5 AS INTEGER)"


def _stats_backfill(table: str, key: str) -> str:
    """Fill a statistics tier from the 1-minute rollups an older release kept.

    Each minute counts for 60 s at its mean: close to the time-weighted mean the writer
    keeps from now on, and the only history there is for the days before the upgrade.
    """
    parts = ", ".join(
        f"sum({q}_sum), sum({q}_n), min({q}_min), max({q}_max), "
        f"sum(CASE WHEN {q}_n > 0 THEN CAST(round(60000.0 * {q}_sum / {q}_n) AS INTEGER) "
        f"ELSE 0 END), sum(CASE WHEN {q}_n > 0 THEN 60000 ELSE 0 END)" for q in COLUMNS)
    columns = ", ".join(f"{q}_{p}" for q in COLUMNS for p in ("sum", "n", "min", "max", "w", "d"))
    return (f"INSERT OR IGNORE INTO {table} (sensor, bucket, {columns}) "
            f"SELECT sensor, {key} AS k, {parts} FROM rollup_1m GROUP BY sensor, k")


#: fill both statistics tiers from the 1-minute rollups (migration 3; generators)
STATS_FROM_ROLLUPS = (_stats_backfill(STATS["hour"], "bucket / 60"),
                      _stats_backfill(STATS["day"], _LOCAL_DAY))


@dataclass(frozen=True)
class Migration:
    """One step from ``version - 1`` to ``version``."""

    version: int
    why: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the tables of sensorhub 0.1.0 (adopts such a file unchanged)", (
        "CREATE TABLE IF NOT EXISTS sensor_ids (id INTEGER PRIMARY KEY, name TEXT NOT NULL "
        "UNIQUE)",
        "CREATE TABLE IF NOT EXISTS readings (sensor INTEGER NOT NULL, ts INTEGER NOT NULL, "
        "t INTEGER, h INTEGER, PRIMARY KEY (sensor, ts)) WITHOUT ROWID",
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        *(_ROLLUP_TABLE.format(table=table) for table in ROLLUPS.values()),
        "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, password TEXT NOT NULL, "
        "admin INTEGER NOT NULL DEFAULT 0, rooms TEXT NOT NULL DEFAULT '', "
        "epoch INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL)",
        "CREATE TABLE IF NOT EXISTS tokens (id INTEGER PRIMARY KEY, user TEXT NOT NULL "
        "REFERENCES users(name) ON DELETE CASCADE, label TEXT NOT NULL DEFAULT '', "
        "digest TEXT NOT NULL UNIQUE, created REAL NOT NULL)",
        "CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY, sensor TEXT NOT NULL, "
        "room TEXT NOT NULL, kind TEXT NOT NULL, since REAL NOT NULL, value REAL, "
        "threshold REAL, cleared REAL, cleared_value REAL)",
        "CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (since)",
    )),
    Migration(2, "pressure (p) and CO2 (c) beside temperature and humidity", (
        "ALTER TABLE readings ADD COLUMN p INTEGER",
        "ALTER TABLE readings ADD COLUMN c INTEGER",
        *(f"ALTER TABLE {table} ADD COLUMN {column}"
          for table in ROLLUPS.values()
          for q in ("p", "c")
          for column in (f"{q}_sum INTEGER NOT NULL DEFAULT 0",
                         f"{q}_n INTEGER NOT NULL DEFAULT 0", f"{q}_min INTEGER",
                         f"{q}_max INTEGER"))),
    ),
    Migration(3, "the notification outbox and its delivery log (sensorhub.alerts.outbox)", (
        "CREATE TABLE notifications (id INTEGER PRIMARY KEY, channel TEXT NOT NULL, "
        "key TEXT NOT NULL, body TEXT NOT NULL, created REAL NOT NULL, due REAL NOT NULL, "
        "attempts INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'pending', "
        "updated REAL NOT NULL, UNIQUE (channel, key))",
        "CREATE INDEX notifications_due ON notifications (channel, status, due)",
        "CREATE TABLE deliveries (id INTEGER PRIMARY KEY, notification INTEGER NOT NULL "
        "REFERENCES notifications(id) ON DELETE CASCADE, ts REAL NOT NULL, "
        "outcome TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '')",
        "CREATE INDEX deliveries_by_time ON deliveries (ts)",
        "CREATE INDEX deliveries_by_notification ON deliveries (notification)",
    )),
    Migration(4, "server-side sessions; accounts and tokens whose ids are never reused", (
        # an account incarnation: a user removed and added again under the same name is
        # another account, and nothing issued to the first one may work for the second
        "ALTER TABLE users ADD COLUMN uid TEXT NOT NULL DEFAULT ''",
        "UPDATE users SET uid = lower(hex(randomblob(16))) WHERE uid = ''",
        "CREATE UNIQUE INDEX users_by_uid ON users (uid)",
        # AUTOINCREMENT: a revoked token's id is never handed to a new token
        "CREATE TABLE tokens_v4 (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL "
        "REFERENCES users(name) ON DELETE CASCADE, label TEXT NOT NULL DEFAULT '', "
        "digest TEXT NOT NULL UNIQUE, created REAL NOT NULL)",
        "INSERT INTO tokens_v4 (id, user, label, digest, created) "
        "SELECT id, user, label, digest, created FROM tokens",
        "DROP TABLE tokens",
        "ALTER TABLE tokens_v4 RENAME TO tokens",
        # id: SHA-256 of the random secret in the cookie; bound to one account
        # incarnation and one credential generation (users.epoch at login)
        "CREATE TABLE sessions (id TEXT PRIMARY KEY, user_uid TEXT NOT NULL, "
        "epoch INTEGER NOT NULL, created REAL NOT NULL, last_seen REAL NOT NULL, "
        "expires REAL NOT NULL, address TEXT NOT NULL DEFAULT '', "
        "user_agent TEXT NOT NULL DEFAULT '')",
        "CREATE INDEX sessions_by_user ON sessions (user_uid)",
    )),
    Migration(5, "administering from the browser: disabled users, kiosk tokens, the audit log", (
        # a disabled account keeps its rows (tokens come back with it) but nothing it
        # holds is accepted; last_login and last_used are for the admin's lists
        "ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE users ADD COLUMN last_login REAL",
        # NULL: the user's own rights; else the comma-separated rooms a kiosk link shows
        "ALTER TABLE tokens ADD COLUMN rooms TEXT",
        "ALTER TABLE tokens ADD COLUMN last_used REAL",
        # AUTOINCREMENT: an exported row's id never names another row later
        "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, "
        "actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', "
        "detail TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '')",
        "CREATE INDEX audit_by_time ON audit (ts)",
    )),
    Migration(6, "long-term statistics (hour and day tiers) and acknowledged alerts", (
        *(_STATS_TABLE.format(table=table, columns=_STATS_COLUMNS) for table in STATS.values()),
        *STATS_FROM_ROLLUPS,
        "ALTER TABLE alerts ADD COLUMN acked REAL",
        "ALTER TABLE alerts ADD COLUMN acked_by TEXT",
    )),
)
VERSION = MIGRATIONS[-1].version


class SchemaError(RuntimeError):
    """The database cannot be brought to this release's schema."""


def version(conn: sqlite3.Connection) -> int:
    """The schema version a database file is at (0: new, or from sensorhub 0.1.0)."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Apply every migration the database lacks, each in its own transaction.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Returns the number
    of steps applied; a database from a newer release is refused, never downgraded.
    """
    current = version(conn)
    latest = migrations[-1].version
    if current > latest:
        raise SchemaError(f"the database is at schema {current}, newer than this release "
                          f"knows ({latest}): upgrade sensorhub or restore a backup")
    applied = 0
    for step in migrations:
        if step.version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in step.statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {int(step.version)}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied += 1
    return applied
