"""Which drivers exist, what they accept, and how to open one.

The specs are plain data so that config validation can use them without importing
any hardware library.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from drivers.base import Driver


@dataclass(frozen=True)
class DriverSpec:
    """What config validation and the poller need to know about one driver."""

    name: str
    factory: str  # "module:callable", imported only when a sensor uses the driver
    min_interval: float  # seconds between real reads the sensor allows
    needs_pin: bool
    default_timeout: float  # seconds a read may take before it counts as hung
    options: Mapping[str, tuple[type, ...]] = field(default_factory=dict)
    #: plausible physical range of the sensor (datasheet), used by the poller's filter
    temperature_range: tuple[float, float] = (-40.0, 80.0)
    humidity_range: tuple[float, float] = (0.0, 100.0)
    #: readings are pushed (MQTT) rather than read: no driver to open, no read loop
    push: bool = False
    #: values already passed a sensorhub filter upstream (a node): skip the jump filter
    prefiltered: bool = False
    required_options: tuple[str, ...] = ()


_NUM = (int, float)
_MOCK_OPTIONS: dict[str, tuple[type, ...]] = {
    "seed": (int,),
    "profile": (str,),
    "fault_rate": _NUM,
    "hang_rate": _NUM,
    "hang_seconds": _NUM,
    "spike_rate": _NUM,
    "outage_after": _NUM,
    "outage_for": _NUM,
    "outage_every": _NUM,
}
_DHT_OPTIONS: dict[str, tuple[type, ...]] = {"use_pulseio": (bool,)}

DRIVER_SPECS: dict[str, DriverSpec] = {
    "mock": DriverSpec(
        "mock", "drivers.mock:MockDriver", min_interval=0.1, needs_pin=False,
        default_timeout=2.0, options=_MOCK_OPTIONS,
    ),
    "dht22": DriverSpec(
        "dht22", "drivers.dht:DHT22Driver", min_interval=2.0, needs_pin=True,
        default_timeout=5.0, options=_DHT_OPTIONS,
    ),
    "dht11": DriverSpec(
        "dht11", "drivers.dht:DHT11Driver", min_interval=2.0, needs_pin=True,
        default_timeout=5.0, options=_DHT_OPTIONS,
        temperature_range=(0.0, 50.0), humidity_range=(20.0, 90.0),
    ),
}
DRIVER_SPECS["am2302"] = DRIVER_SPECS["dht22"]  # the AM2302 is a DHT22 in a case
# Push sensors (sensorhub.mqtt.source): the range is wide because the device behind
# them is unknown (an SHT31 or BME280 reads -40..125 °C).
DRIVER_SPECS["mqtt"] = DriverSpec(
    "mqtt", "", min_interval=0.1, needs_pin=False, default_timeout=5.0,
    options={"node": (str,), "sensor": (str,)}, temperature_range=(-40.0, 125.0),
    push=True, prefiltered=True, required_options=("node", "sensor"),
)
DRIVER_SPECS["mqtt_json"] = DriverSpec(
    "mqtt_json", "", min_interval=0.1, needs_pin=False, default_timeout=5.0,
    options={"topic": (str,), "temperature_field": (str,), "humidity_field": (str,)},
    temperature_range=(-40.0, 125.0), push=True, required_options=("topic",),
)

MOCK_PROFILES = ("greenhouse", "cellar", "closet", "lab", "outdoor")


def open_driver(name: str, pin: int | None, options: Mapping[str, Any]) -> Driver:
    """Import the driver's module (lazily) and open one sensor."""
    spec = DRIVER_SPECS[name]
    module_name, _, attr = spec.factory.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory(pin=pin, **dict(options))
