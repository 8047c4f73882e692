"""config.yaml -> frozen dataclasses, with one clear message per problem.

Every problem names the file, the line and the field, and all of them are reported
at once, before anything starts. Each section has its own module; this one reads the
file and the small top-level sections.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import yaml

from sensorhub.config.checker import (
    Checker,
    ConfigError,
    Problem,
    describe,
    in_range,
    one_of,
    positive,
)
from sensorhub.config.limits import KEYS as LIMIT_KEYS
from sensorhub.config.limits import parse_limits
from sensorhub.config.metrics import parse_metrics
from sensorhub.config.model import (
    Config,
    HardwareConfig,
    RoomConfig,
    ServerConfig,
    StorageConfig,
)
from sensorhub.config.mqtt import parse_mqtt_sections
from sensorhub.config.notify import parse_notify
from sensorhub.config.sensors import ident, parse_sensors

ASYNC_MODES = ("eventlet", "threading")
GPIO_BACKENDS = ("rpigpio", "gpiod", "mock")
NUM = (int, float)
TOP_KEYS = ("server", "storage", "rooms", "sensors", "gpio", "webhook", "notify", "metrics", "mqtt",
            "node", "homeassistant", "hardware")
SERVER_KEYS = ("host", "port", "async_mode", "secret_key_file", "session_hours",
               "message_queue", "leader_ttl", *LIMIT_KEYS)
STORAGE_KEYS = ("path", "retention_days", "flush_interval", "audit_retention_days",
                "statistics_retention_days")
ROOM_KEYS = ("id", "name", "public")
GPIO_KEYS = ("backend",)
HARDWARE_KEYS = ("sysfs",)


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([Problem(str(path), 0, "(file)", f"cannot read: {error.strerror}")]
                          ) from error
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    """Validate YAML text as if it came from ``path`` (relative paths resolve there)."""
    c = Checker(str(path))
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError([Problem(str(path), line, "(yaml)", f"unreadable YAML: {problem}")]
                          ) from error
    if root is None:
        raise ConfigError([Problem(str(path), 1, "(top)", "the file is empty")])
    top = c.mapping(root, "", TOP_KEYS) or {}
    base = path.resolve().parent

    server = _server(c, top.get("server"), base)
    storage = _storage(c, top.get("storage"), base)
    gpio_backend = "rpigpio"
    if "gpio" in top:
        gnodes = c.mapping(top["gpio"], "gpio", GPIO_KEYS) or {}
        gpio_backend = c.get(gnodes, "backend", "gpio", (str,), "rpigpio", one_of(GPIO_BACKENDS))
    hardware = _hardware(c, top.get("hardware"), base)
    rooms = _rooms(c, top.get("rooms"), root)
    sensors = parse_sensors(c, top.get("sensors"), {r.id for r in rooms}, root)
    metrics = parse_metrics(c, top["metrics"]) if "metrics" in top else None
    mqtt, node, homeassistant = parse_mqtt_sections(c, top, sensors, base)
    channels, notify = parse_notify(c, top, sensors, {r.id for r in rooms}, mqtt, base)
    if c.problems:
        raise ConfigError(c.problems)
    return Config(source=path, server=server, storage=storage, rooms=tuple(rooms),
                  sensors=tuple(sensors), gpio_backend=gpio_backend, channels=channels,
                  notify=notify, metrics=metrics, mqtt=mqtt, node=node,
                  homeassistant=homeassistant, hardware=hardware)


def _server(c: Checker, node: yaml.Node | None, base: Path) -> ServerConfig:
    if node is None:
        return ServerConfig()
    n = c.mapping(node, "server", SERVER_KEYS) or {}
    d = ServerConfig()
    key_file = c.get(n, "secret_key_file", "server", (str, type(None)), None)
    return ServerConfig(
        host=c.get(n, "host", "server", (str,), d.host),
        port=c.get(n, "port", "server", (int,), d.port, in_range(1, 65535)),
        async_mode=c.get(n, "async_mode", "server", (str,), d.async_mode, one_of(ASYNC_MODES)),
        secret_key_file=base / key_file if key_file else None,
        session_hours=c.get(n, "session_hours", "server", NUM, d.session_hours, positive),
        message_queue=c.get(n, "message_queue", "server", (str, type(None)), None,
                            check_queue_url),
        leader_ttl=c.get(n, "leader_ttl", "server", NUM, d.leader_ttl, in_range(1, 300)),
        limits=parse_limits(c, n),
    )


def _storage(c: Checker, node: yaml.Node | None, base: Path) -> StorageConfig:
    d = StorageConfig()
    if node is None:
        return StorageConfig(path=base / d.path)
    n = c.mapping(node, "storage", STORAGE_KEYS) or {}
    return StorageConfig(
        path=base / c.get(n, "path", "storage", (str,), str(d.path)),
        retention_days=c.get(n, "retention_days", "storage", NUM, d.retention_days, positive),
        flush_interval=c.get(n, "flush_interval", "storage", NUM, d.flush_interval,
                             in_range(0.05, 60)),
        audit_retention_days=c.get(n, "audit_retention_days", "storage", NUM,
                                   d.audit_retention_days, positive),
        statistics_retention_days=c.get(n, "statistics_retention_days", "storage",
                                        (*NUM, type(None)), None, positive),
    )


def _hardware(c: Checker, node: yaml.Node | None, base: Path) -> HardwareConfig:
    if node is None:
        return HardwareConfig()
    n = c.mapping(node, "hardware", HARDWARE_KEYS) or {}
    sysfs = c.get(n, "sysfs", "hardware", (str,), None)
    if sysfs is None:
        return HardwareConfig()
    path = base / sysfs
    if not path.is_dir():
        c.add(n["sysfs"], "hardware.sysfs", f"{path} is not a directory")
    return HardwareConfig(sysfs=path)


def _rooms(c: Checker, node: yaml.Node | None, root: yaml.Node) -> list[RoomConfig]:
    if node is None:
        c.add(root, "rooms", "required: at least one room")
        return []
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        c.add(node, "rooms", f"expected a list of at least one room, got {describe(node)}")
        return []
    rooms: list[RoomConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(node.value):
        path = f"rooms[{i}]"
        n = c.mapping(item, path, ROOM_KEYS)
        if n is None:
            continue
        room_id = c.get(n, "id", path, (str,), None, ident, required=True, parent=item)
        name = c.get(n, "name", path, (str,), room_id, required=False)
        public = c.get(n, "public", path, (bool,), False)
        if room_id is None:
            continue
        if room_id in seen:
            c.add(n["id"], f"{path}.id", f"duplicate room id {room_id!r}")
            continue
        seen.add(room_id)
        rooms.append(RoomConfig(room_id, name or room_id, public))
    return rooms




def check_queue_url(value: str) -> str | None:
    """Validate ``server.message_queue`` (a Redis URL)."""
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        return f"expected redis://host:port/db, got {value!r}"
    return None
