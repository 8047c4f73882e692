"""The validated configuration as frozen dataclasses (built by sensorhub.config.loader)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sensorhub.config.alerts import AlertRule
from sensorhub.config.limits import Limits, Network
from sensorhub.config.metrics import MetricsConfig
from sensorhub.config.mqtt import HomeAssistantConfig, MqttConfig, NodeConfig
from sensorhub.config.routes import NotifyConfig


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
    limits: Limits = field(default_factory=Limits)  # the limit keys, also under server:

    @property
    def trusted_proxies(self) -> tuple[Network, ...]:
        """Proxies whose X-Forwarded-For names the client (a limit key under server:)."""
        return self.limits.trusted_proxies


@dataclass(frozen=True)
class StorageConfig:
    """Where readings live and for how long."""

    path: Path = Path("data/sensorhub.db")
    retention_days: float = 90.0
    flush_interval: float = 5.0  # seconds of readings at risk on power loss
    statistics_retention_days: float | None = None  # hourly/daily statistics; None: forever
    audit_retention_days: float = 365.0  # who changed what: long enough to ask a year later


@dataclass(frozen=True)
class HardwareConfig:
    """Where the kernel's interfaces are (another tree for tests, containers, chroots)."""

    sysfs: Path = Path("/sys")  # every sysfs driver (iio, hwmon, ds18b20, DHT kernel) reads here


@dataclass(frozen=True)
class RoomConfig:
    """A group of sensors that users are given rights to."""

    id: str
    name: str
    public: bool = False


Calibration = tuple[tuple[float, float], tuple[float, float]]
MAX_JUMP = MappingProxyType({"temperature": 10.0, "humidity": 25.0, "pressure": 20.0})


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
    timeout: float = 5.0
    offline_after: float = 60.0
    power_cycle_after: int = 5
    alerts: tuple[AlertRule, ...] = ()
    alert_offline: bool = True  # a sensor going offline is an alert of its own
    quantities: tuple[str, ...] = ("temperature", "humidity")  # what it measures
    #: quantity -> added to every value (after calibration)
    offsets: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    #: quantity -> ((raw, true), (raw, true)): a line through two reference points
    calibrate: Mapping[str, Calibration] = field(default_factory=lambda: MappingProxyType({}))
    #: quantity -> the largest change between readings taken without confirmation
    max_jump: Mapping[str, float] = field(default_factory=lambda: MappingProxyType(MAX_JUMP))

    def corrected(self, quantity: str, raw: float) -> float:
        """A raw value through the sensor's two-point calibration and offset."""
        value = raw
        points = self.calibrate.get(quantity)
        if points is not None:
            (raw1, true1), (raw2, true2) = points
            value = true1 + (raw - raw1) * (true2 - true1) / (raw2 - raw1)
        return value + self.offsets.get(quantity, 0.0)


@dataclass(frozen=True)
class ChannelConfig:
    """One alert channel: its name, its kind (sensorhub.alerts.channels) and options."""

    name: str
    kind: str
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    source: Path
    server: ServerConfig
    storage: StorageConfig
    rooms: tuple[RoomConfig, ...]
    sensors: tuple[SensorConfig, ...]
    gpio_backend: str = "rpigpio"
    channels: tuple[ChannelConfig, ...] = ()  # where alert events go besides the dashboard
    notify: NotifyConfig = field(default_factory=NotifyConfig)  # routes, retries, chart links
    metrics: MetricsConfig | None = None  # None: GET /metrics is off
    mqtt: MqttConfig | None = None  # the broker; None: no MQTT at all
    node: NodeConfig | None = None  # publish this Pi's sensors under this node name
    homeassistant: HomeAssistantConfig | None = None
    hardware: HardwareConfig = field(default_factory=HardwareConfig)

    def room(self, room_id: str) -> RoomConfig:
        """Look a room up by id."""
        return next(r for r in self.rooms if r.id == room_id)

    @property
    def secret_key_path(self) -> Path:
        """Where the session-signing key is kept."""
        return self.server.secret_key_file or self.storage.path.parent / "secret_key"

    @property
    def initial_password_path(self) -> Path:
        """Where the first start leaves the admin's password (until someone deletes it)."""
        return self.storage.path.parent / "initial-admin-password"
