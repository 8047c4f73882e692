"""Administering accounts in a real SQLite file: one-transaction updates, the last-admin
guard, disabled accounts, kiosk tokens limited to rooms, and the audit log (issue 16)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from sensorhub.storage import audit as audit_module
from sensorhub.storage.audit import Audit
from sensorhub.storage.sessions import Sessions
from sensorhub.storage.store import Store
from sensorhub.storage.users import AccountDisabledError, LastAdminError, UserError, Users

PASSWORD = "long-enough-password"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "db.sqlite")


@pytest.fixture
def users(store: Store) -> Users:
    return Users(store.connect)


@pytest.fixture
def sessions(store: Store, users: Users) -> Sessions:
    return Sessions(store.connect, users, lifetime=3600)


def row(store: Store, name: str) -> tuple[object, ...]:
    conn = store.connect()
    try:
        return conn.execute("SELECT admin, rooms, disabled, epoch, password FROM users "
                            "WHERE name = ?", (name,)).fetchone()
    finally:
        conn.close()


# -- the last admin -------------------------------------------------------------------
def test_the_last_admin_cannot_be_removed_demoted_or_disabled(users: Users) -> None:
    users.add("root", PASSWORD, admin=True)
    users.add("alice", PASSWORD, rooms=frozenset({"a"}))
    for change in (lambda: users.remove("root"),
                   lambda: users.update("root", admin=False),
                   lambda: users.update("root", disabled=True)):
        with pytest.raises(LastAdminError, match="root is the last admin"):
            change()
    assert users.get("root").admin and not users.overview()[1]["disabled"]
    users.update("alice", admin=True)  # a second admin: now root may go
    users.update("root", disabled=True)
    with pytest.raises(LastAdminError):  # alice is the only enabled admin left
        users.update("alice", admin=False)
    users.update("root", disabled=False)
    users.remove("root")
    assert [u.name for u in users.list()] == ["alice"]


def test_a_site_without_admins_may_still_change_its_users(users: Users) -> None:
    """The guard keeps an admin where there is one; it does not demand one (tests, CLI)."""
    users.add("alice", PASSWORD, rooms=frozenset({"a"}))
    users.update("alice", rooms=frozenset({"b"}))
    users.remove("alice")


def test_two_admins_demoting_each_other_at_once_leave_one(users: Users) -> None:
    """The count is taken after the write, under its lock: both cannot pass."""
    users.add("one", PASSWORD, admin=True)
    users.add("two", PASSWORD, admin=True)
    errors: list[Exception] = []
    start = threading.Barrier(2)

    def demote(name: str) -> None:
        start.wait()
        try:
            users.update(name, admin=False)
        except (LastAdminError, sqlite3.OperationalError) as error:
            errors.append(error)

    threads = [threading.Thread(target=demote, args=(n,)) for n in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(errors) == 1 and isinstance(errors[0], LastAdminError), errors
    assert sum(u.admin for u in users.list()) == 1


# -- one transaction ------------------------------------------------------------------
def test_an_update_with_one_bad_field_changes_nothing(users: Users, store: Store) -> None:
    users.add("alice", PASSWORD, rooms=frozenset({"a"}))
    before = row(store, "alice")
    with pytest.raises(UserError, match="at least 8"):
        users.update("alice", rooms=frozenset({"b"}), admin=True, password="short")
    with pytest.raises(UserError, match="nothing to change"):
        users.update("alice")
    with pytest.raises(UserError, match="no user"):
        users.update("nobody", rooms=frozenset({"b"}))
    assert row(store, "alice") == before
    after = users.update("alice", rooms=frozenset({"b", "c"}), admin=False)
    assert after.rooms == {"b", "c"} and after.epoch == 0  # rooms keep the credentials


def test_a_password_reset_ends_sessions_and_starts_a_new_generation(
        users: Users, sessions: Sessions) -> None:
    user = users.add("alice", PASSWORD)
    secret = sessions.open(user)
    users.update("alice", password="a brand new password")
    assert sessions.principal(secret) is None
    assert users.get("alice").epoch == 1
    assert users.verify("alice", "a brand new password") is not None


def test_password_rule_is_one_for_everyone(users: Users) -> None:
    with pytest.raises(UserError, match="at least 8"):
        users.add("bob", "seven77")
    with pytest.raises(UserError, match="at most 1024"):
        users.add("bob", "x" * 1025)  # the login form would never send it whole


# -- disabled accounts ------------------------------------------------------------------
def test_a_disabled_account_holds_nothing_until_enabled(users: Users,
                                                       sessions: Sessions) -> None:
    user = users.add("alice", PASSWORD, rooms=frozenset({"a"}))
    token = users.create_token("alice")[1]
    secret = sessions.open(user)
    held = users.principal_for_token(token)
    heard: list[int] = []
    users.watch(lambda: heard.append(1))
    users.update("alice", disabled=True)
    assert heard == [1]  # the web cuts the sockets at once
    assert not users.still_valid(held)
    assert users.principal_for_token(token) is None
    assert sessions.principal(secret) is None
    with pytest.raises(AccountDisabledError):
        users.verify("alice", PASSWORD)
    assert users.verify("alice", "wrong password") is None  # no word without the password
    users.update("alice", disabled=False)
    assert users.principal_for_token(token) is not None  # tokens come back with it
    assert sessions.principal(secret) is None  # sessions do not: disabling ended them


def test_overview_has_what_the_admin_list_shows(users: Users, sessions: Sessions) -> None:
    root = users.add("root", PASSWORD, admin=True)
    users.add("alice", PASSWORD, rooms=frozenset({"b", "a"}))
    sessions.open(root)
    sessions.open(root)
    users.create_token("alice")
    entries = {u["name"]: u for u in users.overview()}
    assert entries["alice"]["rooms"] == ["a", "b"] and entries["alice"]["tokens"] == 1
    assert entries["alice"]["last_login"] is None and entries["alice"]["sessions"] == 0
    assert entries["root"]["sessions"] == 2
    assert entries["root"]["last_login"] == pytest.approx(time.time(), abs=30)


# -- kiosk tokens ------------------------------------------------------------------------
def test_a_kiosk_token_sees_only_its_rooms_and_never_administers(users: Users) -> None:
    users.add("root", PASSWORD, admin=True)
    users.add("alice", PASSWORD, rooms=frozenset({"a", "b"}))
    wall = users.principal_for_token(users.create_token("root", "hall", frozenset({"b"}))[1])
    assert wall is not None and not wall.admin and wall.rooms == {"b"}
    mine = users.principal_for_token(users.create_token("alice", "", frozenset({"b", "c"}))[1])
    assert mine is not None and mine.rooms == {"b"}  # never more than alice may watch
    assert users.still_valid(wall) and users.still_valid(mine)
    users.update("alice", rooms=frozenset({"a"}))  # alice loses b: so does her kiosk
    now = users.current(mine, users.validity())
    assert now is not None and now.rooms == frozenset()
    assert not users.still_valid(mine)
    listed = users.token_list("root")[0]
    assert listed.rooms == {"b"} and listed.label == "hall"
    assert listed.last_used == pytest.approx(time.time(), abs=30)


# -- the audit log -----------------------------------------------------------------------
def test_audit_rows_are_kept_read_and_trimmed(store: Store, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    now = [1_800_000_000.0]
    log = Audit(store.connect, retention_days=10, clock=lambda: now[0])
    log.record("root", "user.add", "alice", "rooms a", "192.0.2.7")
    now[0] += 86400
    log.record("alice", "login", "", "", "192.0.2.8")
    log.record("root", "user.change", "alice", "rooms b", "192.0.2.7")
    rows = log.entries()
    assert [r["action"] for r in rows] == ["user.change", "login", "user.add"]
    assert rows[2] == {"id": 1, "ts": 1_800_000_000.0, "actor": "root", "action": "user.add",
                       "target": "alice", "detail": "rooms a", "address": "192.0.2.7"}
    assert [r["action"] for r in log.entries(actor="alice")] == ["login"]
    assert len(log.entries(since=now[0])) == 2 and len(log.entries(limit=1)) == 1
    assert log.apply_retention(now[0] + 9.5 * 86400) == 1  # the first is 10.5 days old
    monkeypatch.setattr(audit_module, "MAX_ROWS", 1)
    assert log.apply_retention() == 1  # beyond MAX_ROWS: the oldest goes
    assert [r["action"] for r in log.entries()] == ["user.change"]


def test_an_audit_row_that_cannot_be_written_never_fails_the_action(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> sqlite3.Connection:
        return sqlite3.connect(tmp_path / "no-such-table.sqlite")
    Audit(broken).record("root", "user.add", "alice")
    assert "could not write the audit row" in caplog.text
