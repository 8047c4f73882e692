"""Rights are pure functions: who may see which room and sensor."""

from __future__ import annotations

from pathlib import Path

from sensorhub.config import parse_config
from sensorhub.rights import ANONYMOUS, Principal, may_see, rooms_for, visible_sensors

CONFIG = parse_config("""
rooms: [{id: a}, {id: b}, {id: lobby, public: true}]
sensors:
  - {id: a1, room: a, driver: mock, interval: 1}
  - {id: b1, room: b, driver: mock, interval: 1}
  - {id: l1, room: lobby, driver: mock, interval: 1}
""", Path("/tmp/config.yaml"))
SENSORS = {s.id: s for s in CONFIG.sensors}


def user(*rooms: str, admin: bool = False) -> Principal:
    return Principal(kind="session", name="u", admin=admin, rooms=frozenset(rooms))


def test_anonymous_sees_public_rooms_only() -> None:
    assert rooms_for(ANONYMOUS, CONFIG) == {"lobby"}
    assert [s.id for s in visible_sensors(ANONYMOUS, CONFIG)] == ["l1"]


def test_user_sees_own_rooms_plus_public() -> None:
    assert rooms_for(user("a"), CONFIG) == {"a", "lobby"}
    assert may_see(user("a"), SENSORS["a1"], CONFIG)
    assert not may_see(user("a"), SENSORS["b1"], CONFIG)


def test_rooms_not_in_config_grant_nothing() -> None:
    assert rooms_for(user("attic"), CONFIG) == {"lobby"}


def test_admin_sees_everything() -> None:
    assert rooms_for(user(admin=True), CONFIG) == {"a", "b", "lobby"}
    assert all(may_see(user(admin=True), s, CONFIG) for s in CONFIG.sensors)
