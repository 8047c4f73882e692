"""Home Assistant discovery follows Home Assistant's own rules (topics, ids, device schema)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sensorhub.config import ConfigError, parse_config
from sensorhub.mqtt.homeassistant import discovery_messages

# homeassistant/components/mqtt/discovery.py, applied to the topic after the prefix
TOPIC_MATCHER = re.compile(r"(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)"
                           r"?(?P<object_id>[a-zA-Z0-9_-]+)/config")
ENTITY_ID = re.compile(r"^sensor\.[a-z0-9_]+$")  # what Home Assistant accepts as an entity id
NODE = """
node: {{name: {name}}}
mqtt: {{url: "mqtt://127.0.0.1:1883"}}
homeassistant: {{discovery: true}}
rooms: [{{id: here, name: Greenhouse}}]
sensors:
  - {{id: air, room: here, driver: mock, interval: 10}}
"""


def messages(tmp_path: Path, node: str) -> dict[str, dict]:
    config = parse_config(NODE.format(name=node), tmp_path / "node.yaml")
    return {topic: json.loads(payload) for topic, payload in discovery_messages(
        "homeassistant", node, config.sensors, config.rooms, "1.0")}


def test_the_same_sensor_id_on_two_nodes_is_two_devices_and_two_entities(
        tmp_path: Path) -> None:
    gh, cellar = messages(tmp_path, "pi-gh"), messages(tmp_path, "pi-cellar")
    for topic, config in {**gh, **cellar}.items():
        match = TOPIC_MATCHER.fullmatch(topic[len("homeassistant/"):])
        assert match is not None and match["component"] == "sensor", topic
        assert ENTITY_ID.match(config["default_entity_id"]), config["default_entity_id"]
        assert "object_id" not in config  # deprecated in 2025.10, gone in 2026.4
        assert "suggested_area" not in config["device"]  # deprecated device key
        assert set(config["device"]) <= {"identifiers", "name", "manufacturer", "model",
                                         "sw_version", "configuration_url", "hw_version",
                                         "serial_number", "via_device", "connections",
                                         "model_id"}
    one = gh["homeassistant/sensor/sensorhub_pi-gh/air_temperature/config"]
    two = cellar["homeassistant/sensor/sensorhub_pi-cellar/air_temperature/config"]
    assert one["device"]["name"] == "air (pi-gh)" and two["device"]["name"] == "air (pi-cellar)"
    assert one["default_entity_id"] == "sensor.sensorhub_pi_gh_air_temperature"
    assert two["default_entity_id"] == "sensor.sensorhub_pi_cellar_air_temperature"
    assert one["unique_id"] != two["unique_id"]


@pytest.mark.parametrize("name", ["pi.gh", "greenhouse.v2"])
def test_node_names_that_discovery_cannot_use_are_refused_at_check_config(
        tmp_path: Path, name: str) -> None:
    text = NODE.format(name=f"'{name}'")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, tmp_path / "node.yaml")
    assert any("node.name" in str(p) and "Home Assistant discovery topic" in str(p)
               for p in caught.value.problems), caught.value.problems
    # still a fine MQTT topic level when nothing is announced
    parse_config(text.replace("discovery: true", "discovery: false"),
                 tmp_path / "node.yaml")
