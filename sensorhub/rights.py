"""Who may see what: pure functions, used by every route and socket handler."""

from __future__ import annotations

from dataclasses import dataclass

from sensorhub.config import Config, SensorConfig


@dataclass(frozen=True)
class Principal:
    """Whoever is asking: a logged-in user, a token holder, or an anonymous viewer."""

    kind: str  # "session" | "token" | "anonymous"
    name: str | None = None
    admin: bool = False
    rooms: frozenset[str] = frozenset()
    token_id: int | None = None
    epoch: int = 0  # the user's credential generation when this principal was made
    uid: str | None = None  # the account incarnation (a user re-added is another account)
    credential: str | None = None  # digest of the exact token or session it proved

    @property
    def anonymous(self) -> bool:
        """Whether nobody is logged in."""
        return self.kind == "anonymous"


ANONYMOUS = Principal(kind="anonymous")


def anonymous_may_watch(config: Config) -> bool:
    """The public-room rule: anonymous viewers may connect when any room is public."""
    return any(r.public for r in config.rooms)


def may_administer(principal: Principal) -> bool:
    """Whether a principal may see and run the admin's tools (the delivery log, tests)."""
    return principal.admin and not principal.anonymous


def rooms_for(principal: Principal, config: Config) -> frozenset[str]:
    """Ids of the rooms a principal may watch."""
    if principal.admin:
        return frozenset(r.id for r in config.rooms)
    public = frozenset(r.id for r in config.rooms if r.public)
    if principal.anonymous:
        return public
    known = frozenset(r.id for r in config.rooms)
    return (principal.rooms & known) | public


def may_see(principal: Principal, sensor: SensorConfig, config: Config) -> bool:
    """Whether a principal may see a sensor's readings, state and history."""
    return sensor.room in rooms_for(principal, config)


def may_acknowledge(principal: Principal, sensor: SensorConfig, config: Config) -> bool:
    """Whether a principal may acknowledge a sensor's alerts: someone with a name who
    may see the sensor (an anonymous viewer of a public room may not)."""
    return not principal.anonymous and may_see(principal, sensor, config)


def visible_sensors(principal: Principal, config: Config) -> list[SensorConfig]:
    """The sensors a principal may see, in config order."""
    rooms = rooms_for(principal, config)
    return [s for s in config.sensors if s.room in rooms]


def visible_sensor(principal: Principal, sensor_id: object, config: Config
                   ) -> SensorConfig | None:
    """The sensor with this id if it exists and the principal may see it, else None.

    Unknown and forbidden sensors look the same to the caller: ids are not revealed.
    """
    for sensor in config.sensors:
        if sensor.id == sensor_id:
            return sensor if may_see(principal, sensor, config) else None
    return None
