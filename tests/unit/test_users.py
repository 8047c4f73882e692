"""Users and tokens in a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sensorhub.storage.store import Store
from sensorhub.storage.users import UserError, Users


@pytest.fixture
def users(tmp_path: Path) -> Users:
    return Users(Store(tmp_path / "db.sqlite").connect)


def test_password_is_hashed_and_verified(users: Users, tmp_path: Path) -> None:
    users.add("alice", "s3cret-password", rooms=frozenset({"a"}))
    row = sqlite3.connect(tmp_path / "db.sqlite").execute(
        "SELECT password FROM users").fetchone()[0]
    assert "s3cret-password" not in row and row.startswith(("scrypt:", "pbkdf2:"))
    assert users.verify("alice", "s3cret-password").rooms == {"a"}
    assert users.verify("alice", "wrong-password") is None
    assert users.verify("nobody", "s3cret-password") is None


@pytest.mark.parametrize("name", ["", "a b", "x" * 65, "ümlaut", "semi;colon"])
def test_bad_names_are_refused(users: Users, name: str) -> None:
    with pytest.raises(UserError):
        users.add(name, "long-enough-password")


def test_short_password_and_duplicates_are_refused(users: Users) -> None:
    with pytest.raises(UserError, match="at least 8"):
        users.add("bob", "short")
    users.add("bob", "long-enough-password")
    with pytest.raises(UserError, match="already exists"):
        users.add("bob", "long-enough-password")


def test_password_change_invalidates_principal(users: Users) -> None:
    users.add("bob", "long-enough-password")
    before = users.principal_for_token(users.create_token("bob")[1])
    assert before is not None and users.still_valid(before)
    users.set_password("bob", "another-long-password")
    assert not users.still_valid(before)
    assert users.verify("bob", "long-enough-password") is None


def test_revoked_token_ids_are_never_reused(users: Users) -> None:
    """Issue 12 item 3: revoke the newest token, make another: it used to get the old id."""
    users.add("kiosk", "long-enough-password")
    first_id, first = users.create_token("kiosk")
    held = users.principal_for_token(first)
    assert held is not None
    users.revoke_token(first_id)
    second_id, second = users.create_token("kiosk")
    assert second_id != first_id
    assert not users.still_valid(held), "the revoked token's principal holds again"
    assert users.principal_for_token(second) is not None


def test_a_readded_user_is_another_account(users: Users) -> None:
    """Issue 12 item 4: nothing issued to a removed user works for one added under its name."""
    users.add("eve", "long-enough-password")
    old = users.principal_for_token(users.create_token("eve")[1])
    users.remove("eve")
    users.add("eve", "long-enough-password", admin=True)
    again = users.principal_for_token(users.create_token("eve")[1])
    assert old is not None and again is not None and old.uid != again.uid
    assert old.epoch == again.epoch == 0  # the generation alone cannot tell them apart
    assert not users.still_valid(old)
    assert users.still_valid(again)


def test_credential_changes_are_announced(users: Users) -> None:
    """Whoever watches (the web's client registry) hears of every ending at once."""
    heard: list[int] = []
    users.watch(lambda: heard.append(1))
    users.add("ann", "long-enough-password")
    token_id, _token = users.create_token("ann")
    assert heard == []  # making things ends nothing
    users.revoke_token(token_id)
    users.set_password("ann", "another-long-password")
    users.remove("ann")
    assert len(heard) == 3


def test_tokens_are_stored_hashed_and_revocable(users: Users, tmp_path: Path) -> None:
    users.add("kiosk", "long-enough-password", rooms=frozenset({"lobby"}))
    token_id, token = users.create_token("kiosk", "hall screen")
    assert len(token) > 40
    stored = sqlite3.connect(tmp_path / "db.sqlite").execute(
        "SELECT digest FROM tokens").fetchone()[0]
    assert token not in stored
    principal = users.principal_for_token(token)
    assert principal.kind == "token" and principal.rooms == {"lobby"}
    assert users.tokens() == [(token_id, "kiosk", "hall screen", pytest.approx(
        users.tokens()[0][3]))]
    users.revoke_token(token_id)
    assert users.principal_for_token(token) is None
    assert not users.still_valid(principal)
    with pytest.raises(UserError):
        users.revoke_token(token_id)


def test_removing_a_user_removes_their_tokens(users: Users) -> None:
    users.add("temp", "long-enough-password")
    _, token = users.create_token("temp")
    users.remove("temp")
    assert users.principal_for_token(token) is None
    assert users.get("temp") is None


@pytest.mark.parametrize("token", ["", "shb_", "x" * 300, "shb_' OR 1=1 --", None, 5])
def test_garbage_tokens_are_rejected(users: Users, token: object) -> None:
    assert users.principal_for_token(token) is None  # type: ignore[arg-type]


def test_the_dummy_hash_costs_what_a_real_users_hash_costs() -> None:
    """Unknown names are checked against it: same method and work factor, or timing tells."""
    from werkzeug.security import check_password_hash, generate_password_hash

    from sensorhub.storage import users as module

    method = module._DUMMY_HASH.split("$")[0]
    assert method == generate_password_hash("anything").split("$")[0]
    assert check_password_hash(module._DUMMY_HASH, module._DUMMY_PASSWORD)


def test_lookups_on_the_kept_connection_see_other_processes_changes(tmp_path: Path) -> None:
    """Token and session checks reuse one connection; a revocation elsewhere still counts."""
    store = Store(tmp_path / "db.sqlite")
    server, cli = Users(store.connect), Users(store.connect)  # as `sensorhub token` would
    cli.add("kiosk", "long-enough-password", rooms=frozenset({"a"}))
    token_id, token = cli.create_token("kiosk")
    assert server.principal_for_token(token) is not None
    assert server.get("kiosk").epoch == 0
    cli.set_password("kiosk", "another-long-password")
    assert server.get("kiosk").epoch == 1
    cli.revoke_token(token_id)
    assert server.principal_for_token(token) is None
    server.close()
    assert server.get("kiosk") is not None  # reopened on demand
    server.close()
    store.close()
