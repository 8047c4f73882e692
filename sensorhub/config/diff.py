"""What a reload changes: the running config against the file's new one (pure).

``compare`` sorts every difference into what a running process can take on
(sensors added, removed, restarted or updated in place; rooms; alert rules;
notification routes and channels; retention) and what it cannot without a restart
(the listening socket, the async mode, the database file, the GPIO backend, the MQTT
link and its pushed sensors). The latter are left as they run: the ``config`` it
returns is the new file with those parts taken from the running config, so nothing
is half-applied and the running process stays consistent with itself.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace

from drivers.registry import DRIVER_SPECS
from sensorhub.config.model import Config, RoomConfig, SensorConfig

#: fields of a sensor that its poll loop does not use: changing them needs no restart
IN_PLACE = {"name": "", "alerts": (), "alert_offline": True}
#: top-level settings a running process takes on; every other one (server, gpio, the
#: MQTT sections, and any section added later until someone makes it live) waits for a
#: restart. storage is split: its path waits, the rest is live.
LIVE = ("source", "rooms", "sensors", "channels", "notify", "metrics", "storage")
NAMES = {"gpio_backend": "gpio.backend"}  # how config.yaml spells a field


@dataclass(frozen=True)
class ConfigChange:
    """The differences between two configs, and the config a reload runs."""

    config: Config  # the new file, minus what needs a restart
    added: tuple[str, ...] = ()  # sensor ids that start polling
    removed: tuple[str, ...] = ()  # sensor ids that stop
    restarted: tuple[str, ...] = ()  # how they are read changed: their loop restarts
    updated: tuple[str, ...] = ()  # only name or alert rules changed: the loop runs on
    rooms: bool = False  # a room was added, removed, renamed or made (non-)public
    notify: bool = False  # channels or notify settings changed
    other: tuple[str, ...] = ()  # other settings applied live (storage.retention_days ...)
    needs_restart: tuple[str, ...] = ()  # what the new file says but only a restart applies

    @property
    def anything(self) -> bool:
        """Whether the reload changes anything that runs."""
        return bool(self.added or self.removed or self.restarted or self.updated
                    or self.rooms or self.notify or self.other)

    def summary(self) -> str:
        """One line for the log, systemd's STATUS and the admin page."""
        parts = [f"{label} {', '.join(ids)}" for label, ids in (
            ("added", self.added), ("removed", self.removed),
            ("restarted", self.restarted), ("updated", self.updated)) if ids]
        if self.rooms:
            parts.append("rooms changed")
        if self.notify:
            parts.append("notifications changed")
        parts.extend(f"{key} changed" for key in self.other)
        text = "; ".join(parts) or "no changes"
        if self.needs_restart:
            text += f"; needs a restart: {', '.join(self.needs_restart)}"
        return text


def pushed(sensor: SensorConfig) -> bool:
    """Whether a sensor is fed by the MQTT link rather than read by a loop."""
    return DRIVER_SPECS[sensor.driver].push


def restart_needed(old: SensorConfig, new: SensorConfig) -> bool:
    """Whether a sensor's loop must restart (anything it reads by changed)."""
    return replace(old, **IN_PLACE) != replace(new, **IN_PLACE)


def compare(running: Config, new: Config) -> ConfigChange:
    """Sort what differs between the running config and a newly loaded one."""
    later: list[str] = []
    kept = {f.name: getattr(running, f.name) for f in fields(Config) if f.name not in LIVE}
    for key, was in kept.items():
        if was != getattr(new, key):
            later.extend(_fields(NAMES.get(key, key), was, getattr(new, key)))
    if running.storage.path != new.storage.path:
        later.append("storage.path")
    sensors, rooms, stuck = _keep_pushed(running, new)
    later.extend(f"sensors.{sid} (MQTT)" for sid in stuck)
    effective = replace(new, **kept, storage=replace(new.storage, path=running.storage.path),
                        sensors=sensors, rooms=rooms)
    before = {s.id: s for s in running.sensors}
    after = {s.id: s for s in effective.sensors}
    added = tuple(sid for sid in after if sid not in before)
    removed = tuple(sid for sid in before if sid not in after)
    differ = [sid for sid in after if sid in before and before[sid] != after[sid]]
    restarted = tuple(sid for sid in differ if restart_needed(before[sid], after[sid]))
    updated = tuple(sid for sid in differ if sid not in restarted)
    if running.node is not None and (added or removed or restarted):
        later.append("node (MQTT publishing of the sensors added or changed)")
    other = tuple(f"storage.{key}" for key in ("retention_days", "flush_interval",
                                               "audit_retention_days")
                  if getattr(running.storage, key) != getattr(new.storage, key))
    if running.metrics != new.metrics:
        other += ("metrics",)
    return ConfigChange(
        config=effective, added=added, removed=removed, restarted=restarted,
        updated=updated, rooms=running.rooms != effective.rooms,
        notify=(running.channels, running.notify) != (effective.channels, effective.notify),
        other=other, needs_restart=tuple(later))


def _fields(section: str, before: object, after: object) -> list[str]:
    """``server.port``-style names of what differs in one section."""
    if before is None or after is None or not is_dataclass(before):
        return [section]
    return [f"{section}.{f.name}" for f in fields(before)  # type: ignore[arg-type]
            if getattr(before, f.name) != getattr(after, f.name)]


def _keep_pushed(running: Config, new: Config
                 ) -> tuple[tuple[SensorConfig, ...], tuple[RoomConfig, ...], list[str]]:
    """The new sensors with the running MQTT-pushed ones kept as they are.

    The MQTT source subscribes to its sensors' topics once, at start: a pushed sensor
    added, removed or changed waits for a restart. The rooms those kept sensors need
    stay too. Returns (sensors, rooms, ids that differ and wait).
    """
    old = {s.id: s for s in running.sensors if pushed(s)}
    fresh = {s.id: s for s in new.sensors if pushed(s)}
    if old == fresh:
        return new.sensors, new.rooms, []
    stuck = sorted(sid for sid in old.keys() | fresh.keys() if old.get(sid) != fresh.get(sid))
    sensors = tuple(s for s in new.sensors if not pushed(s) and s.id not in old)
    sensors += tuple(old.values())
    have = {r.id for r in new.rooms}
    needed = {s.room for s in old.values()}
    rooms = new.rooms + tuple(r for r in running.rooms if r.id in needed and r.id not in have)
    return sensors, rooms, stuck
