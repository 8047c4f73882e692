"""config.yaml -> frozen dataclasses, with one clear message per problem.

Every problem names the file, the line and the field, and all of them are reported
at once, before anything starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from drivers.registry import DRIVER_SPECS, MOCK_PROFILES
from sensorhub.config.alerts import (
    AlertRule,
    MetricsConfig,
    WebhookConfig,
    parse_metrics,
    parse_rules,
    parse_webhook,
)
from sensorhub.config.checker import (
    Checker,
    ConfigError,
    Problem,
    describe,
    in_range,
    one_of,
    positive,
)
from sensorhub.config.mqtt import (
    HomeAssistantConfig,
    MqttConfig,
    NodeConfig,
    check_queue_url,
    parse_mqtt_sections,
)

__all__ = ["Config", "ConfigError", "Problem", "load_config", "parse_config"]

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
ASYNC_MODES = ("eventlet", "threading")
GPIO_BACKENDS = ("rpigpio", "mock")
BCM_PINS = range(0, 28)


@dataclass(frozen=True)
class ServerConfig:
    """Where and how the web server listens."""

    host: str = "127.0.0.1"
    port: int = 5000
    async_mode: str = "eventlet"
    secret_key_file: Path | None = None  # default: next to the database
    session_hours: float = 24.0 * 30
    message_queue: str | None = None  # redis://...: several web processes share rooms
    leader_ttl: float = 10.0  # seconds a dead poller holds the lock before a standby polls


@dataclass(frozen=True)
class StorageConfig:
    """Where readings live and for how long."""

    path: Path = Path("data/sensorhub.db")
    retention_days: float = 90.0
    flush_interval: float = 5.0  # seconds of readings at risk on power loss


@dataclass(frozen=True)
class RoomConfig:
    """A group of sensors that users are given rights to."""

    id: str
    name: str
    public: bool = False


@dataclass(frozen=True)
class SensorConfig:
    """One sensor and how to poll it."""

    id: str
    name: str
    room: str
    driver: str
    interval: float
    pin: int | None = None
    power_pin: int | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    temperature_offset: float = 0.0
    humidity_offset: float = 0.0
    timeout: float = 5.0
    offline_after: float = 60.0
    power_cycle_after: int = 5
    max_jump_temperature: float = 10.0
    max_jump_humidity: float = 25.0
    alerts: tuple[AlertRule, ...] = ()
    alert_offline: bool = True  # a sensor going offline is an alert of its own


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    source: Path
    server: ServerConfig
    storage: StorageConfig
    rooms: tuple[RoomConfig, ...]
    sensors: tuple[SensorConfig, ...]
    gpio_backend: str = "rpigpio"
    webhook: WebhookConfig | None = None
    metrics: MetricsConfig | None = None  # None: GET /metrics is off
    mqtt: MqttConfig | None = None  # the broker; None: no MQTT at all
    node: NodeConfig | None = None  # publish this Pi's sensors under this node name
    homeassistant: HomeAssistantConfig | None = None

    def room(self, room_id: str) -> RoomConfig:
        """Look a room up by id."""
        return next(r for r in self.rooms if r.id == room_id)

    @property
    def secret_key_path(self) -> Path:
        """Where the session-signing key is kept."""
        return self.server.secret_key_file or self.storage.path.parent / "secret_key"


def _ident(value: str) -> str | None:
    return None if ID_RE.match(value) else (
        f"{value!r} is not a valid id (lower-case letters, digits, '-' and '_', max 64)")


def _bcm_pin(value: int) -> str | None:
    return None if value in BCM_PINS else f"BCM GPIO number must be 0-27, got {value}"


NUM = (int, float)
TOP_KEYS = ("server", "storage", "rooms", "sensors", "gpio", "webhook", "metrics", "mqtt",
            "node", "homeassistant")
SERVER_KEYS = ("host", "port", "async_mode", "secret_key_file", "session_hours",
               "message_queue", "leader_ttl")
STORAGE_KEYS = ("path", "retention_days", "flush_interval")
ROOM_KEYS = ("id", "name", "public")
SENSOR_KEYS = ("id", "name", "room", "driver", "interval", "pin", "power_pin", "options",
               "offsets", "timeout", "offline_after", "power_cycle_after", "max_jump",
               "alerts", "alert_offline")
GPIO_KEYS = ("backend",)


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
    rooms = _rooms(c, top.get("rooms"), root)
    sensors = _sensors(c, top.get("sensors"), {r.id for r in rooms}, root)
    webhook = parse_webhook(c, top["webhook"]) if "webhook" in top else None
    metrics = parse_metrics(c, top["metrics"]) if "metrics" in top else None
    mqtt, node, homeassistant = parse_mqtt_sections(c, top, sensors, base)
    if c.problems:
        raise ConfigError(c.problems)
    return Config(source=path, server=server, storage=storage, rooms=tuple(rooms),
                  sensors=tuple(sensors), gpio_backend=gpio_backend, webhook=webhook,
                  metrics=metrics, mqtt=mqtt, node=node, homeassistant=homeassistant)


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
    )


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
        room_id = c.get(n, "id", path, (str,), None, _ident, required=True, parent=item)
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


def _sensors(c: Checker, node: yaml.Node | None, room_ids: set[str], root: yaml.Node
             ) -> list[SensorConfig]:
    if node is None:
        c.add(root, "sensors", "required: at least one sensor")
        return []
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        c.add(node, "sensors", f"expected a list of at least one sensor, got {describe(node)}")
        return []
    sensors: list[SensorConfig] = []
    ids: set[str] = set()
    pins: dict[int, str] = {}
    for i, item in enumerate(node.value):
        sensor = _sensor(c, item, f"sensors[{i}]", room_ids, ids, pins)
        if sensor is not None:
            sensors.append(sensor)
    return sensors


def _sensor(c: Checker, item: yaml.Node, path: str, room_ids: set[str], ids: set[str],
            pins: dict[int, str]) -> SensorConfig | None:
    n = c.mapping(item, path, SENSOR_KEYS)
    if n is None:
        return None
    before = len(c.problems)
    sid = c.get(n, "id", path, (str,), None, _ident, required=True, parent=item)
    if sid is not None and sid in ids:
        c.add(n["id"], f"{path}.id", f"duplicate sensor id {sid!r}")
    ids.add(sid)
    room = c.get(n, "room", path, (str,), None, required=True, parent=item)
    if room is not None and room not in room_ids:
        c.add(n["room"], f"{path}.room", f"unknown room {room!r} (rooms: "
              f"{', '.join(sorted(room_ids)) or 'none'})")
    driver = c.get(n, "driver", path, (str,), None, one_of(tuple(DRIVER_SPECS)),
                   required=True, parent=item)
    spec = DRIVER_SPECS.get(driver) if driver else None
    interval = c.get(n, "interval", path, NUM, None, positive, required=True, parent=item)
    if spec and interval is not None and interval < spec.min_interval:
        c.add(n["interval"], f"{path}.interval", f"{interval} s is below the {driver} minimum "
              f"of {spec.min_interval} s")
    pin = c.get(n, "pin", path, (int, type(None)), None, _bcm_pin)
    if spec and spec.needs_pin and pin is None:
        c.add(n.get("pin", item), f"{path}.pin", f"required for driver {driver}")
    power_pin = c.get(n, "power_pin", path, (int, type(None)), None, _bcm_pin)
    for key, p in (("pin", pin), ("power_pin", power_pin)):
        if p is None:
            continue
        if p in pins:
            c.add(n[key], f"{path}.{key}", f"GPIO {p} is already used by {pins[p]}")
        else:
            pins[p] = f"{sid or path}.{key}"
    options = _options(c, n.get("options"), f"{path}.options", spec)
    for key in spec.required_options if spec else ():
        if key not in options:
            c.add(n.get("options", item), f"{path}.options.{key}", f"required for driver {driver}")
    offsets = {"temperature": 0.0, "humidity": 0.0}
    if "offsets" in n:
        on = c.mapping(n["offsets"], f"{path}.offsets", ("temperature", "humidity")) or {}
        for q in offsets:
            offsets[q] = c.get(on, q, f"{path}.offsets", NUM, 0.0, in_range(-50, 50))
    jumps = {"temperature": 10.0, "humidity": 25.0}
    if "max_jump" in n:
        jn = c.mapping(n["max_jump"], f"{path}.max_jump", ("temperature", "humidity")) or {}
        for q in jumps:
            jumps[q] = c.get(jn, q, f"{path}.max_jump", NUM, jumps[q], positive)
    default_timeout = spec.default_timeout if spec else 5.0
    timeout = c.get(n, "timeout", path, NUM, default_timeout, in_range(0.05, 60))
    offline_default = max(60.0, 5 * (interval or 0))
    offline_after = c.get(n, "offline_after", path, NUM, offline_default, positive)
    if interval is not None and "offline_after" in n and offline_after < interval:
        c.add(n["offline_after"], f"{path}.offline_after", f"{offline_after} s is shorter than "
              f"the interval ({interval} s): one missed reading would mean offline")
    cycle_after = c.get(n, "power_cycle_after", path, (int,), 5, in_range(1, 1000))
    name = c.get(n, "name", path, (str,), sid)
    alerts = parse_rules(c, n["alerts"], f"{path}.alerts", pins, sid or path) \
        if "alerts" in n else ()
    alert_offline = c.get(n, "alert_offline", path, (bool,), True)
    if len(c.problems) > before or None in (sid, room, driver, interval):
        return None
    return SensorConfig(
        id=sid, name=name or sid, room=room, driver=driver, interval=float(interval), pin=pin,
        power_pin=power_pin, options=MappingProxyType(options),
        temperature_offset=float(offsets["temperature"]),
        humidity_offset=float(offsets["humidity"]), timeout=float(timeout),
        offline_after=float(offline_after), power_cycle_after=cycle_after,
        max_jump_temperature=float(jumps["temperature"]),
        max_jump_humidity=float(jumps["humidity"]), alerts=alerts, alert_offline=alert_offline,
    )


def _options(c: Checker, node: yaml.Node | None, path: str, spec: Any) -> dict[str, Any]:
    if node is None or spec is None:
        return {}
    n = c.mapping(node, path, tuple(spec.options)) or {}
    out: dict[str, Any] = {}
    for key, kinds in spec.options.items():
        if key not in n:
            continue
        check = None
        if key.endswith("_rate"):
            check = in_range(0.0, 1.0)
        elif key == "profile":
            check = one_of(MOCK_PROFILES)
        elif kinds != (bool,) and kinds != (str,) and key != "seed":
            check = positive
        value = c.get(n, key, path, kinds, None, check)
        if value is not None:
            out[key] = value
    rates = {k: v for k, v in out.items() if k in ("fault_rate", "hang_rate", "spike_rate")}
    if sum(rates.values()) > 1:
        c.add(node, path, f"{' + '.join(rates)} add up to {sum(rates.values()):g}, more than 1")
    return out
