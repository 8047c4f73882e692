"""The mqtt:, node:, homeassistant: sections, push drivers and server.message_queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensorhub.config import ConfigError, parse_config

HUB = """\
server:
  message_queue: redis://127.0.0.1:6379/0
mqtt:
  url: mqtts://hub:s3cret@broker.lan
  ca_file: certs/ca.pem
node: {name: pi-hub}
homeassistant: {discovery: true}
rooms:
  - {id: a}
sensors:
  - {id: gh, room: a, driver: mqtt, interval: 10, options: {node: pi-gh, sensor: air}}
  - id: tas
    room: a
    driver: mqtt_json
    interval: 60
    options: {topic: tele/tasmota_1/SENSOR, temperature_field: SI7021.Temperature}
"""


def problems(text: str, tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as error:
        parse_config(text, Path("config.yaml"))
    return [str(p) for p in error.value.problems]


def test_a_full_hub_config(tmp_path: Path) -> None:
    config = parse_config(HUB, tmp_path / "config.yaml")
    mqtt = config.mqtt
    assert mqtt is not None
    assert (mqtt.host, mqtt.port, mqtt.tls) == ("broker.lan", 8883, True)
    assert (mqtt.username, mqtt.password) == ("hub", "s3cret")
    assert mqtt.ca_file == tmp_path / "certs" / "ca.pem"
    assert mqtt.client_id.startswith("sensorhub-pi-hub-")
    assert config.node is not None and config.node.name == "pi-hub"
    assert config.homeassistant is not None and config.homeassistant.prefix == "homeassistant"
    assert config.server.message_queue == "redis://127.0.0.1:6379/0"
    assert config.server.leader_ttl == 10.0
    assert dict(config.sensors[0].options) == {"node": "pi-gh", "sensor": "air"}
    assert config.sensors[1].offline_after == 300.0


def test_plain_mqtt_url_defaults(tmp_path: Path) -> None:
    text = HUB.replace("mqtts://hub:s3cret@broker.lan", "mqtt://10.0.0.2").replace(
        "  ca_file: certs/ca.pem\n", "")
    mqtt = parse_config(text, tmp_path / "config.yaml").mqtt
    assert mqtt is not None and (mqtt.port, mqtt.tls, mqtt.username) == (1883, False, None)


@pytest.mark.parametrize(("change", "expected"), [
    (("mqtt:\n  url: mqtts://hub:s3cret@broker.lan\n  ca_file: certs/ca.pem\n", ""),
     "config.yaml:8: mqtt: required: sensor 'gh' (driver mqtt) needs a broker"),
    (("mqtts://hub:s3cret@broker.lan", "http://broker"),
     "config.yaml:4: mqtt.url: expected mqtt://host:port or mqtts://host:port, "
     "got 'http://broker'"),
    (("redis://127.0.0.1:6379/0", "127.0.0.1:6379"),
     "config.yaml:2: server.message_queue: expected redis://host:port/db, got '127.0.0.1:6379'"),
    (("node: {name: pi-hub}\n", ""),
     "config.yaml:6: homeassistant.discovery: needs a node: section (discovery describes "
     "this node's topics)"),
    (("{node: pi-gh, sensor: air}", "{node: pi-gh}"),
     "config.yaml:11: sensors[0].options.sensor: required for driver mqtt"),
    (("node: pi-gh,", "node: pi/gh,"),
     "config.yaml:11: sensors[0].options.node: 'pi/gh' cannot be part of an MQTT topic "
     "(letters, digits, '_', '-', '.')"),
    (("tele/tasmota_1/SENSOR", "tele/+/SENSOR"),
     "config.yaml:16: sensors[1].options.topic: 'tele/+/SENSOR' is not a topic one can "
     "subscribe to exactly (no '+', '#')"),
    ((", temperature_field: SI7021.Temperature", ""),
     "config.yaml:16: sensors[1].options: name at least one of temperature_field, "
     "humidity_field, pressure_field, co2_field"),
    (("  ca_file: certs/ca.pem\n", "  ca_file: certs/ca.pem\n  qos: 2\n"),
     "config.yaml:6: mqtt.qos: unknown key; known keys: url, username, password, client_id, "
     "ca_file, keepalive"),
])
def test_mistakes_are_named_with_their_line(tmp_path: Path, change: tuple[str, str],
                                            expected: str) -> None:
    assert problems(HUB.replace(*change), tmp_path) == [expected]
