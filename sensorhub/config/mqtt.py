"""Config sections for MQTT: the broker, this Pi's node name, Home Assistant discovery."""

from __future__ import annotations

import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from drivers.options import exact_topic, topic_part
from drivers.registry import DRIVER_SPECS
from sensorhub.config.checker import Checker, in_range

MQTT_KEYS = ("url", "username", "password", "client_id", "ca_file", "keepalive")
NODE_KEYS = ("name",)
HA_KEYS = ("discovery", "prefix")
#: Home Assistant's discovery topic: node_id and object_id are [a-zA-Z0-9_-]+
DISCOVERY_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


def discovery_id(value: str) -> str | None:
    """Usable in a Home Assistant discovery topic (``sensorhub_<node>`` is its node_id)."""
    if DISCOVERY_ID.match(value):
        return None
    return (f"{value!r} cannot be part of a Home Assistant discovery topic (letters, digits, "
            "'_' and '-' only; Home Assistant silently ignores the topic otherwise)")


@dataclass(frozen=True)
class MqttConfig:
    """How to reach the MQTT broker."""

    url: str
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    client_id: str = ""  # fixed, so the broker keeps our session across reconnects
    ca_file: Path | None = None  # None with mqtts://: the system's CA store
    keepalive: int = 30


@dataclass(frozen=True)
class NodeConfig:
    """This Pi's name on the broker: topics are ``sensorhub/<name>/<sensor>/...``."""

    name: str


@dataclass(frozen=True)
class HomeAssistantConfig:
    """Publish MQTT discovery messages so Home Assistant lists every sensor."""

    discovery: bool = True
    prefix: str = "homeassistant"


def parse_mqtt_sections(c: Checker, top: dict[str, yaml.Node], sensors: Sequence[Any],
                        base: Path) -> tuple[MqttConfig | None, NodeConfig | None,
                                             HomeAssistantConfig | None]:
    """Read ``mqtt:``, ``node:`` and ``homeassistant:``; check they fit the sensors."""
    node = _node(c, top["node"]) if "node" in top else None
    mqtt = _mqtt(c, top["mqtt"], base, node) if "mqtt" in top else None
    ha = None
    if "homeassistant" in top:
        n = c.mapping(top["homeassistant"], "homeassistant", HA_KEYS) or {}
        ha = HomeAssistantConfig(
            discovery=c.get(n, "discovery", "homeassistant", (bool,), True),
            prefix=c.get(n, "prefix", "homeassistant", (str,), "homeassistant", exact_topic))
        if ha.discovery and node is None:
            c.add(top["homeassistant"], "homeassistant.discovery",
                  "needs a node: section (discovery describes this node's topics)")
        elif ha.discovery and node is not None:
            message = discovery_id(node.name)
            if message:
                c.add(top["node"], "node.name", message)
    pushed = [s for s in sensors if DRIVER_SPECS[s.driver].push]
    if (pushed or node is not None) and mqtt is None and "mqtt" not in top:
        what = f"sensor {pushed[0].id!r} (driver {pushed[0].driver})" if pushed \
            else "the node: section"
        c.add(top.get("sensors") if pushed else top["node"], "mqtt",
              f"required: {what} needs a broker")
    return mqtt, node, ha


def _node(c: Checker, node: yaml.Node) -> NodeConfig | None:
    n = c.mapping(node, "node", NODE_KEYS) or {}
    name = c.get(n, "name", "node", (str,), None, topic_part, required=True, parent=node)
    return NodeConfig(name) if name else None


def _mqtt(c: Checker, node: yaml.Node, base: Path, this: NodeConfig | None
          ) -> MqttConfig | None:
    n = c.mapping(node, "mqtt", MQTT_KEYS)
    if n is None:
        return None
    url = c.get(n, "url", "mqtt", (str,), None, broker_url, required=True, parent=node)
    default_id = f"sensorhub-{this.name if this else 'hub'}-{socket.gethostname()}"[:64]
    client_id = c.get(n, "client_id", "mqtt", (str,), default_id)
    ca_file = c.get(n, "ca_file", "mqtt", (str, type(None)), None)
    keepalive = c.get(n, "keepalive", "mqtt", (int,), 30, in_range(5, 3600))
    username = c.get(n, "username", "mqtt", (str, type(None)), None)
    password = c.get(n, "password", "mqtt", (str, type(None)), None)
    if url is None:
        return None
    parts = urlsplit(url)
    tls = parts.scheme == "mqtts"
    if ca_file is not None and not tls:
        c.add(n["ca_file"], "mqtt.ca_file", "only used with an mqtts:// url")
    return MqttConfig(
        url=url, host=parts.hostname or "", port=parts.port or (8883 if tls else 1883),
        tls=tls, username=username or (unquote(parts.username) if parts.username else None),
        password=password or (unquote(parts.password) if parts.password else None),
        client_id=client_id, ca_file=base / ca_file if ca_file else None,
        keepalive=keepalive)


def broker_url(value: str) -> str | None:
    """mqtt://host:port or mqtts://host:port."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as error:
        return f"bad url {value!r}: {error}"
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        return f"expected mqtt://host:port or mqtts://host:port, got {value!r}"
    return None
