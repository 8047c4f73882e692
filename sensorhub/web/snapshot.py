"""What a principal may see right now: the ``snapshot`` event and GET /api/sensors."""

from __future__ import annotations

import time
from typing import Any

from sensorhub.hub import Hub
from sensorhub.readings import Reading
from sensorhub.rights import Principal, rooms_for, visible_sensors


def latest_message(hub: Hub, sensor_id: str) -> dict[str, Any] | None:
    """The newest reading of a sensor as a payload: live if any, else the stored one."""
    reading: Reading | None = hub.poller.latest(sensor_id) or hub.store.latest(sensor_id)
    if reading is None:
        return None
    message = reading.to_message()
    del message["sensor"], message["room"]
    if message["seq"] == 0:
        message["seq"] = None  # from the database, not this boot's sequence
    return message


def snapshot(hub: Hub, boot: str, principal: Principal, *, health: bool = False
             ) -> dict[str, Any]:
    """Rooms, sensors (state, latest reading, rules) and alerts the principal may see."""
    config = hub.config
    rooms = rooms_for(principal, config)
    sensors = []
    for s in visible_sensors(principal, config):
        entry: dict[str, Any] = {
            "id": s.id, "name": s.name, "room": s.room, "interval": s.interval,
            "quantities": list(s.quantities),
            "state": hub.poller.state(s.id).to_message(),
            "latest": latest_message(hub, s.id),
            "alert_rules": [{"kind": r.kind, "threshold": r.threshold, "for": r.hold}
                            for r in s.alerts],
        }
        if health:
            entry["health"] = hub.poller.health(s.id)
            entry["corrections"] = {  # what turns raw values into readings
                "calibrate": {q: [list(a), list(b)] for q, (a, b) in s.calibrate.items()},
                "offsets": dict(s.offsets)}
        sensors.append(entry)
    user = None if principal.anonymous else {
        "name": principal.name, "admin": principal.admin, "kind": principal.kind}
    alerts = hub.alerts.active(s["id"] for s in sensors) if hub.alerts is not None else []
    return {
        "server_time": time.time(), "boot": boot, "user": user, "alerts": alerts,
        "rooms": [{"id": r.id, "name": r.name, "public": r.public}
                  for r in config.rooms if r.id in rooms],
        "sensors": sensors,
    }
