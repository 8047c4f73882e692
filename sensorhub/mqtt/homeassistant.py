"""Home Assistant MQTT discovery: one retained config message per sensor and quantity.

The schema is Home Assistant's MQTT sensor discovery (documented in
docs/multinode.md); the values come from the node's own topics, so Home Assistant
needs nothing from sensorhub but the broker.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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


def discovery_topic(prefix: str, node: str, sensor: str, quantity: str) -> str:
    """``<prefix>/sensor/sensorhub_<node>/<sensor>_<quantity>/config``."""
    return f"{prefix}/sensor/sensorhub_{node}/{sensor}_{quantity}/config"


def discovery_payload(node: str, sensor: SensorConfig, room: RoomConfig | None,
                      quantity: str, version: str) -> dict[str, Any]:
    """The discovery config of one quantity of one sensor."""
    device_class, unit, name = QUANTITIES[quantity]
    device: dict[str, Any] = {
        "identifiers": [f"sensorhub_{node}_{sensor.id}"],
        "name": sensor.name,
        "manufacturer": "sensorhub",
        "model": sensor.driver,
        "sw_version": version,
    }
    if room is not None:
        device["suggested_area"] = room.name
    return {
        "name": name,
        "unique_id": f"sensorhub_{node}_{sensor.id}_{quantity}",
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
