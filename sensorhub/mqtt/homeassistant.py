"""Home Assistant MQTT discovery: one retained config message per sensor and quantity.

The schema is Home Assistant's MQTT sensor discovery (documented in
docs/multinode.md); the values come from the node's own topics, so Home Assistant
needs nothing from sensorhub but the broker. Names and entity ids include the node,
so ``air`` on two nodes are two distinct devices and entities. The node remembers the
topics it announced (``meta``), and clears a removed sensor's entity with an empty
retained config, as Home Assistant's discovery protocol says.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from sensorhub.config import RoomConfig, SensorConfig
from sensorhub.mqtt.link import OFFLINE, ONLINE, reading_topic, state_topic, status_topic

QUANTITIES = {  # quantity -> (device_class, unit, entity name)
    "temperature": ("temperature", "°C", "Temperature"),
    "humidity": ("humidity", "%", "Humidity"),
    "pressure": ("atmospheric_pressure", "hPa", "Pressure"),
    "co2": ("carbon_dioxide", "ppm", "CO2"),
}
AVAILABLE_TEMPLATE = "{{ 'online' if value_json.state == 'ok' else 'offline' }}"
ANNOUNCED_KEY = "ha_announced"


def entity_slug(text: str) -> str:
    """Text as Home Assistant writes it in an entity id: [a-z0-9_]."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def discovery_topic(prefix: str, node: str, sensor: str, quantity: str) -> str:
    """``<prefix>/sensor/sensorhub_<node>/<sensor>_<quantity>/config``."""
    return f"{prefix}/sensor/sensorhub_{node}/{sensor}_{quantity}/config"


def discovery_payload(node: str, sensor: SensorConfig, room: RoomConfig | None,
                      quantity: str, version: str) -> dict[str, Any]:
    """The discovery config of one quantity of one sensor."""
    device_class, unit, name = QUANTITIES[quantity]
    device: dict[str, Any] = {
        "identifiers": [f"sensorhub_{node}_{sensor.id}"],
        "name": f"{sensor.name} ({node})",  # 'air' on two nodes: two devices
        "manufacturer": "sensorhub",
        "model": sensor.driver,  # no suggested_area: deprecated by Home Assistant
        "sw_version": version,
    }
    return {
        "name": name,
        "unique_id": f"sensorhub_{node}_{sensor.id}_{quantity}",
        # object_id was replaced by default_entity_id (the whole entity id) in 2025.10
        "default_entity_id": f"sensor.sensorhub_{entity_slug(node)}_{entity_slug(sensor.id)}"
                             f"_{quantity}",
        "state_topic": reading_topic(node, sensor.id),
        "value_template": f"{{{{ value_json.{quantity} }}}}",
        "device_class": device_class,
        "state_class": "measurement",
        "unit_of_measurement": unit,
        "suggested_display_precision": 0 if quantity == "co2" else 1,
        # a stale value is shown as unavailable, never as a fresh number
        "expire_after": max(1, round(sensor.offline_after)),
        "availability_mode": "all",
        "availability": [
            {"topic": status_topic(node), "payload_available": ONLINE,
             "payload_not_available": OFFLINE},
            {"topic": state_topic(node, sensor.id), "value_template": AVAILABLE_TEMPLATE},
        ],
        "device": device,
        "origin": {"name": "sensorhub", "sw_version": version},
    }


def discovery_messages(prefix: str, node: str, sensors: Sequence[SensorConfig],
                       rooms: Sequence[RoomConfig], version: str) -> list[tuple[str, str]]:
    """Every (topic, JSON payload) to publish, retained, for this node's sensors."""
    by_id = {r.id: r for r in rooms}
    return [(discovery_topic(prefix, node, s.id, q),
             json.dumps(discovery_payload(node, s, by_id.get(s.room), q, version)))
            for s in sensors for q in s.quantities]


def announced(conn: sqlite3.Connection) -> set[str]:
    """The discovery topics this node announced before (from the ``meta`` table)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (ANNOUNCED_KEY,)).fetchone()
    return set(json.loads(row[0])) if row else set()


def remember(conn: sqlite3.Connection, topics: Iterable[str]) -> None:
    """Record the discovery topics announced now (after the removals were acknowledged)."""
    conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                 (ANNOUNCED_KEY, json.dumps(sorted(topics))))
