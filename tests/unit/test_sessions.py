"""Server-side login sessions in a real SQLite file (storage/sessions.py)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from sensorhub.storage.account import TOUCH_EVERY
from sensorhub.storage.sessions import MAX_PER_USER, Sessions
from sensorhub.storage.store import Store
from sensorhub.storage.users import Users

PASSWORD = "long-enough-password"


class Clock:
    """A wall clock the test moves (from now: ``Users.validity`` reads the real one)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "db.sqlite")


@pytest.fixture
def users(store: Store) -> Users:
    return Users(store.connect)


@pytest.fixture
def sessions(store: Store, users: Users, clock: Clock) -> Sessions:
    return Sessions(store.connect, users, lifetime=3600.0, clock=clock)


def login(users: Users, sessions: Sessions, name: str, **kwargs: object) -> str:
    user = users.verify(name, PASSWORD)
    assert user is not None
    return sessions.open(user, **kwargs)  # type: ignore[arg-type]


def test_only_a_digest_of_the_secret_is_stored(users: Users, sessions: Sessions,
                                               tmp_path: Path) -> None:
    users.add("alice", PASSWORD, rooms=frozenset({"a"}))
    secret = login(users, sessions, "alice", address="10.0.0.7", user_agent="Firefox")
    principal = sessions.principal(secret)
    assert principal is not None and principal.kind == "session" and principal.rooms == {"a"}
    assert users.still_valid(principal)
    rows = sqlite3.connect(tmp_path / "db.sqlite").execute("SELECT * FROM sessions").fetchall()
    assert len(rows) == 1 and secret not in str(rows)
    (listed,) = sessions.list("alice")
    assert (listed.user, listed.address, listed.user_agent) == ("alice", "10.0.0.7", "Firefox")
    assert listed.id == principal.credential  # the handle an admin ends it by
    for garbage in (None, "", "x" * 500, 5, secret + "x"):
        assert sessions.principal(garbage) is None


def test_ending_a_session_ends_it_for_every_copy(users: Users, sessions: Sessions) -> None:
    """Issue 12 item 6: logout is server-side; a copied cookie is worth nothing after."""
    users.add("alice", PASSWORD)
    secret = login(users, sessions, "alice")
    other = login(users, sessions, "alice")  # another browser
    held = sessions.principal(secret)
    assert sessions.end_secret(secret)
    assert sessions.principal(secret) is None
    assert held is not None and not users.still_valid(held)
    assert sessions.principal(other) is not None
    assert not sessions.end_secret(secret) and not sessions.end_secret(None)


def test_password_change_and_removal_end_every_session(users: Users,
                                                       sessions: Sessions) -> None:
    """Issue 12 item 4: nor does an old cookie come back when the name is reused."""
    users.add("bob", PASSWORD)
    before_change = login(users, sessions, "bob")
    users.set_password("bob", PASSWORD + "2")
    assert sessions.principal(before_change) is None
    users.set_password("bob", PASSWORD)
    after_change = login(users, sessions, "bob")
    users.remove("bob")
    users.add("bob", PASSWORD, admin=True)  # same name, epoch 0 again, now an admin
    assert sessions.principal(before_change) is None
    assert sessions.principal(after_change) is None
    assert sessions.list("bob") == []


def test_sessions_expire_and_last_seen_is_written_sparingly(users: Users, sessions: Sessions,
                                                            clock: Clock) -> None:
    users.add("carol", PASSWORD)
    secret = login(users, sessions, "carol")
    created = sessions.list()[0]
    clock.now += TOUCH_EVERY / 2
    assert sessions.principal(secret) is not None
    assert sessions.list()[0].last_seen == created.last_seen  # not a write per request
    clock.now += TOUCH_EVERY
    assert sessions.principal(secret) is not None
    assert sessions.list()[0].last_seen == clock.now
    clock.now = created.expires + 1
    assert sessions.principal(secret) is None and sessions.list() == []


def test_one_user_keeps_a_bounded_number_of_sessions(users: Users, sessions: Sessions,
                                                     clock: Clock) -> None:
    users.add("dave", PASSWORD)
    users.add("erin", PASSWORD)
    erins = login(users, sessions, "erin")
    first = login(users, sessions, "dave")
    for _ in range(MAX_PER_USER):
        clock.now += 1
        login(users, sessions, "dave")
    assert len(sessions.list("dave")) == MAX_PER_USER
    assert sessions.principal(first) is None  # the least recently seen went
    assert sessions.principal(erins) is not None


def test_end_one_or_all_and_watchers_hear_it(users: Users, sessions: Sessions) -> None:
    heard: list[int] = []
    users.watch(lambda: heard.append(1))
    users.add("fay", PASSWORD)
    one, two = login(users, sessions, "fay"), login(users, sessions, "fay")
    target = sessions.principal(one)
    assert target is not None and target.credential is not None
    assert sessions.end(target.credential) and heard == [1]
    assert sessions.principal(one) is None and sessions.principal(two) is not None
    assert sessions.end_all("fay") == 1 and heard == [1, 1]
    assert sessions.end_all("fay") == 0 and heard == [1, 1]  # nothing ended: nothing said


def test_a_database_that_refuses_writes_never_refuses_a_valid_credential(tmp_path: Path) -> None:
    """Disk full, read-only or locked: the session still holds; its last_seen waits."""
    store = Store(tmp_path / "db.sqlite")
    users = Users(store.connect)
    users.add("alice", "long enough password", rooms=frozenset({"a"}))
    _, token = users.create_token("alice")
    clock = Clock()
    sessions = Sessions(store.connect, users, lifetime=3600, clock=clock)
    secret = sessions.open(users.get("alice"))
    clock.now += TOUCH_EVERY + 1  # both are due a "last used" write
    locker = sqlite3.connect(tmp_path / "db.sqlite", timeout=0)
    locker.execute("BEGIN IMMEDIATE")  # a backup holds the write lock
    try:
        assert sessions.principal(secret) is not None
        assert users.principal_for_token(token) is not None
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    store.close()
