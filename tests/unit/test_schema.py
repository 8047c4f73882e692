"""The one schema owner: versions, ordered migrations, and old databases upgraded intact."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from sensorhub.alerts.engine import AlertLog
from sensorhub.readings import Reading
from sensorhub.storage import schema
from sensorhub.storage.store import Store, StoreError
from sensorhub.storage.users import Users

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# written by sensorhub 0.1.0 (no schema version) with tests' /tmp/work/mkdb.py recipe:
# 400 gh-air readings every 30 s from 1700000000 and 134 cellar ones (humidity null),
# users admin and alice (password changed once), alice's kiosk token revoked, admin's
# "script" token below, one cleared and one open alert, an MQTT publish mark.
OLD_DB = FIXTURES / "sensorhub-0.1.0.db"
OLD_ADMIN_TOKEN = "shb_G-JsYVSVQe1HhHS_lpWCOiu8v587Ii9x3IAIqHjGDCw"
T0 = 1_700_000_000.0


def tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def test_a_new_database_is_made_at_the_current_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "new.db")
    store.close()
    conn = sqlite3.connect(tmp_path / "new.db")
    assert schema.version(conn) == schema.VERSION
    conn.close()
    assert {"readings", "sensor_ids", "meta", "users", "tokens", "sessions", "alerts",
            *schema.ROLLUPS.values()} <= tables(tmp_path / "new.db")


def test_a_database_from_0_1_0_upgrades_in_place_with_every_row(tmp_path: Path) -> None:
    path = tmp_path / "sensorhub.db"
    shutil.copy(OLD_DB, path)
    before = sqlite3.connect(path)
    assert schema.version(before) == 0
    counts = {t: before.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in sorted(tables(path))}
    before.close()
    assert counts["readings"] == 534

    store = Store(path, retention_days=36500)
    users = Users(store.connect)
    after = store.connect()
    assert schema.version(after) == schema.VERSION
    for table, count in counts.items():
        assert after.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == count, table
    # the rows still mean what they meant
    assert users.verify("alice", "alice-password-2") is not None
    assert users.verify("alice", "alice-password-1") is None
    alice = users.get("alice")
    assert alice is not None and alice.rooms == {"greenhouse"} and alice.epoch == 1
    principal = users.principal_for_token(OLD_ADMIN_TOKEN)
    assert principal is not None and principal.admin and principal.name == "admin"
    assert [(t[1], t[2]) for t in users.tokens()] == [("admin", "script")]
    # schema 3: each existing account got its own incarnation id; token ids kept and
    # never reused from now on (alice's revoked kiosk token had the highest one)
    uids = [u.uid for u in users.list()]
    assert len(uids) == 2 and all(len(u) == 32 for u in uids) and len(set(uids)) == 2
    kept = users.tokens()[0][0]
    users.revoke_token(kept)
    assert users.create_token("admin")[0] > kept
    alerts = AlertLog(store.connect).history()
    assert [(a["sensor"], a["cleared"] is None) for a in alerts] == [
        ("cellar", True), ("gh-air", False)]
    assert after.execute("SELECT value FROM meta WHERE key = 'mqtt_published:gh-air'"
                         ).fetchone() == ("1700005000000",)
    points = store.history("gh-air", T0, T0 + 400 * 30, 10_000)["points"]
    assert len(points) == 400 and points[0][1:3] == [20.0, 60.0]
    latest = store.latest("cellar")
    assert latest is not None
    assert (latest.ts, latest.temperature, latest.humidity) == (T0 + 399 * 30 + 1, 12.5, None)
    # and it keeps working: new readings go in next to the old ones
    store.add(Reading("gh-air", "greenhouse", T0 + 500 * 30, 1, 21.5, 55.0))
    assert store.flush() == 1
    latest = store.latest("gh-air")
    assert latest is not None
    assert (latest.ts, latest.temperature, latest.humidity) == (T0 + 500 * 30, 21.5, 55.0)
    after.close()
    store.close()
    again = Store(path)  # a second open applies nothing
    again.close()


def test_a_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this release"):
        Store(path)


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    steps = (schema.Migration(1, "a table", ("CREATE TABLE a (x)",)),
             schema.Migration(2, "breaks halfway", ("CREATE TABLE b (x)", "NOT SQL")))
    with pytest.raises(sqlite3.OperationalError):
        schema.migrate(conn, steps)
    assert schema.version(conn) == 1
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert names == {"a"}, "step 2 was half applied"
    assert schema.migrate(conn, steps[:1]) == 0
    conn.close()


def test_versions_are_numbered_in_order() -> None:
    assert [m.version for m in schema.MIGRATIONS] == list(range(1, schema.VERSION + 1))
