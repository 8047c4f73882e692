"""Which drivers exist, what they accept, and how to open one.

The specs are plain data so that config validation can use them without importing
any hardware library.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from drivers import hwmon, iio
from drivers.base import QUANTITIES, Driver
from drivers.options import (
    NUM,
    Option,
    any_of,
    at_most_one_in_total,
    exact_topic,
    in_range,
    one_of,
    positive,
    sysfs_name,
    topic_part,
    w1_address,
)
from drivers.sysfs import SYSFS


@dataclass(frozen=True)
class DriverSpec:
    """What config validation and the poller need to know about one driver."""

    name: str
    factory: str  # "module:callable", imported only when a sensor uses the driver
    min_interval: float  # seconds between real reads the sensor allows
    needs_pin: bool
    default_timeout: float  # seconds a read may take before it counts as hung
    options: Mapping[str, Option] = field(default_factory=dict)
    #: a check of the options as a whole (keys that go together); returns a message
    check_options: Callable[[Mapping[str, Any]], str | None] | None = None
    #: what the sensor measures (``measures`` refines it from the options)
    quantities: tuple[str, ...] = ("temperature", "humidity")
    #: plausible physical range of each quantity (datasheet), used by the poller's filter
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    #: readings are pushed (MQTT) rather than read: no driver to open, no read loop
    push: bool = False
    #: values already passed a sensorhub filter upstream (a node): skip the jump filter
    prefiltered: bool = False
    required_options: tuple[str, ...] = ()
    #: quantities switched on by a boolean option of the same name, or by "<q>_field"
    optional_quantities: tuple[str, ...] = ()
    #: the driver reads sysfs: open_driver passes it the root (``hardware.sysfs``)
    uses_sysfs: bool = False
    #: what a sensor measures, decided from its options (a sysfs device's name or flags)
    measure: Callable[[Mapping[str, Any]], tuple[str, ...] | None] | None = None

    def measures(self, options: Mapping[str, Any]) -> tuple[str, ...]:
        """The quantities one sensor of this driver measures, given its options."""
        if self.measure is not None:
            return self.measure(options) or self.quantities
        extra = {q for q in self.optional_quantities
                 if options.get(q) is True or options.get(f"{q}_field")}
        chosen = set(self.quantities) | extra
        if self.optional_quantities and any(f"{q}_field" in options for q in QUANTITIES):
            chosen = extra  # a JSON topic carries exactly the fields it names
        return tuple(q for q in QUANTITIES if q in chosen)

    def range(self, quantity: str) -> tuple[float, float]:
        """The plausible range of one quantity for this sensor."""
        return self.ranges.get(quantity, RANGES[quantity])


RANGES: dict[str, tuple[float, float]] = {
    "temperature": (-40.0, 80.0), "humidity": (0.0, 100.0),
    "pressure": (300.0, 1100.0), "co2": (0.0, 40_000.0),
}
MOCK_PROFILES = ("greenhouse", "cellar", "closet", "lab", "outdoor")
_RATES = ("fault_rate", "hang_rate", "spike_rate")
_MOCK_OPTIONS: dict[str, Option] = {
    "seed": Option((int,)),
    "profile": Option((str,), one_of(MOCK_PROFILES)),
    **{rate: Option(NUM, in_range(0.0, 1.0)) for rate in _RATES},
    "hang_seconds": Option(NUM, positive),
    "outage_after": Option(NUM, positive),
    "outage_for": Option(NUM, positive),
    "outage_every": Option(NUM, positive),
    "pressure": Option((bool,)),
    "co2": Option((bool,)),
}
DHT_BACKENDS = ("auto", "kernel", "adafruit")
_DHT_OPTIONS: dict[str, Option] = {"use_pulseio": Option((bool,)),
                                   "backend": Option((str,), one_of(DHT_BACKENDS))}
# Kernel devices: which one (its name, and which of several alike), and, for a device
# sensorhub does not know, what it measures.
_SYSFS_OPTIONS: dict[str, Option] = {"device": Option((str,), sysfs_name),
                                     "index": Option((int,), in_range(0, 99))}
_I2C_OPTIONS: dict[str, Option] = {"bus": Option((int,), in_range(0, 255)),
                                   "address": Option((int,), in_range(0x03, 0x77))}
# the kernel reads these over a whole datasheet range (SHT3x, BME280: -40..125 °C)
_WIDE = {"temperature": (-40.0, 125.0)}


def _kernel_quantities(kind: str) -> Callable[[Mapping[str, Any]], tuple[str, ...] | None]:
    """What a kernel device measures: its flags, else what its driver is known to read."""
    def measure(options: Mapping[str, Any]) -> tuple[str, ...] | None:
        return iio.declared(options, iio.KNOWN if kind == "iio" else hwmon.KNOWN)
    return measure


def _say_what_it_measures(kind: str) -> Callable[[Mapping[str, Any]], str | None]:
    """A check of a kernel sensor's options: a device we do not know names its quantities."""
    measure = _kernel_quantities(kind)

    def check(options: Mapping[str, Any]) -> str | None:
        if "device" not in options or measure(options):
            return None
        return (f"{kind} device {options['device']!r} is not one sensorhub knows; say what it "
                "measures, e.g. {temperature: true, humidity: true}")
    return check

DRIVER_SPECS: dict[str, DriverSpec] = {
    "mock": DriverSpec(
        "mock", "drivers.mock:MockDriver", min_interval=0.1, needs_pin=False,
        default_timeout=2.0, options=_MOCK_OPTIONS, check_options=at_most_one_in_total(_RATES),
        optional_quantities=("pressure", "co2"),
    ),
    "dht22": DriverSpec(
        "dht22", "drivers.dht:DHT22Driver", min_interval=2.0, needs_pin=True,
        default_timeout=5.0, options=_DHT_OPTIONS,
    ),
    "dht11": DriverSpec(
        "dht11", "drivers.dht:DHT11Driver", min_interval=2.0, needs_pin=True,
        default_timeout=5.0, options=_DHT_OPTIONS,
        ranges={"temperature": (0.0, 50.0), "humidity": (20.0, 90.0)},
    ),
}
for _dht in ("dht22", "dht11"):  # backend: kernel reads the dht11 IIO device
    DRIVER_SPECS[_dht] = replace(DRIVER_SPECS[_dht], uses_sysfs=True)
DRIVER_SPECS["am2302"] = DRIVER_SPECS["dht22"]  # the AM2302 is a DHT22 in a case
DRIVER_SPECS.update({
    "iio": DriverSpec(
        "iio", "drivers.iio:IioDriver", min_interval=1.0, needs_pin=False, default_timeout=5.0,
        options={**_SYSFS_OPTIONS, **{q: Option((bool,)) for q in QUANTITIES}},
        check_options=_say_what_it_measures("iio"), required_options=("device",),
        ranges=_WIDE, uses_sysfs=True, measure=_kernel_quantities("iio"),
    ),
    "hwmon": DriverSpec(
        "hwmon", "drivers.hwmon:HwmonDriver", min_interval=1.0, needs_pin=False,
        default_timeout=5.0,
        options={**_SYSFS_OPTIONS, "temperature": Option((bool,)), "humidity": Option((bool,))},
        check_options=_say_what_it_measures("hwmon"), required_options=("device",),
        ranges=_WIDE, uses_sysfs=True, measure=_kernel_quantities("hwmon"),
    ),
    "ds18b20": DriverSpec(
        "ds18b20", "drivers.w1:Ds18b20Driver", min_interval=1.0, needs_pin=False,
        default_timeout=5.0, options={"address": Option((str,), w1_address)},
        quantities=("temperature",), ranges={"temperature": (-55.0, 125.0)}, uses_sysfs=True,
    ),
    # Userspace I2C (drivers.i2c, smbus2): sensors the kernel has no overlay for
    "scd4x": DriverSpec(
        "scd4x", "drivers.scd4x:Scd4xDriver", min_interval=5.0, needs_pin=False,
        default_timeout=10.0, options=_I2C_OPTIONS,
        quantities=("temperature", "humidity", "co2"),
        ranges={"temperature": (-10.0, 60.0)},
    ),
    "aht20": DriverSpec(
        "aht20", "drivers.aht20:Aht20Driver", min_interval=1.0, needs_pin=False,
        default_timeout=5.0, options=_I2C_OPTIONS, ranges={"temperature": (-40.0, 85.0)},
    ),
})
# Push sensors (sensorhub.mqtt.source): the range is wide because the device behind
# them is unknown (an SHT31 or BME280 reads -40..125 °C).
DRIVER_SPECS["mqtt"] = DriverSpec(
    "mqtt", "", min_interval=0.1, needs_pin=False, default_timeout=5.0,
    options={"node": Option((str,), topic_part), "sensor": Option((str,), topic_part),
             "pressure": Option((bool,)), "co2": Option((bool,))},
    ranges={"temperature": (-40.0, 125.0)}, optional_quantities=("pressure", "co2"),
    push=True, prefiltered=True, required_options=("node", "sensor"),
)
DRIVER_SPECS["mqtt_json"] = DriverSpec(
    "mqtt_json", "", min_interval=0.1, needs_pin=False, default_timeout=5.0,
    options={"topic": Option((str,), exact_topic),
             **{f"{q}_field": Option((str,)) for q in QUANTITIES}},
    check_options=any_of(tuple(f"{q}_field" for q in QUANTITIES)),
    ranges={"temperature": (-40.0, 125.0)}, optional_quantities=QUANTITIES,
    push=True, required_options=("topic",),
)


def open_driver(name: str, pin: int | None, options: Mapping[str, Any], *,
                sysfs: str = SYSFS) -> Driver:
    """Import the driver's module (lazily) and open one sensor (sysfs drivers under ``sysfs``)."""
    spec = DRIVER_SPECS[name]
    module_name, _, attr = spec.factory.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    extra = {"sysfs": sysfs} if spec.uses_sysfs else {}
    return factory(pin=pin, **dict(options), **extra)
