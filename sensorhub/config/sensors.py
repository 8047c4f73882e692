"""The ``sensors:`` list: ids, rooms, drivers and their options, pins, filters, alerts."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

import yaml

from drivers.base import QUANTITIES
from drivers.registry import DRIVER_SPECS
from sensorhub.config.alerts import parse_rules
from sensorhub.config.checker import Checker, describe, in_range, one_of, positive
from sensorhub.config.model import MAX_JUMP, Calibration, SensorConfig

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
BCM_PINS = range(0, 28)
NUM = (int, float)
SENSOR_KEYS = ("id", "name", "room", "driver", "interval", "pin", "power_pin", "options",
               "offsets", "calibrate", "timeout", "offline_after", "power_cycle_after",
               "max_jump", "alerts", "alert_offline")
OFFSET_LIMITS = {"temperature": 50.0, "humidity": 50.0, "pressure": 50.0, "co2": 2000.0}


def ident(value: str) -> str | None:
    """A message if ``value`` is not a valid room or sensor id."""
    return None if ID_RE.match(value) else (
        f"{value!r} is not a valid id (lower-case letters, digits, '-' and '_', max 64)")


def _bcm_pin(value: int) -> str | None:
    return None if value in BCM_PINS else f"BCM GPIO number must be 0-27, got {value}"


def parse_sensors(c: Checker, node: yaml.Node | None, room_ids: set[str], root: yaml.Node
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
    sid = c.get(n, "id", path, (str,), None, ident, required=True, parent=item)
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
    given = _keys(n.get("options"))
    for key in spec.required_options if spec else ():
        if key not in given:
            c.add(n.get("options", item), f"{path}.options.{key}", f"required for driver {driver}")
    quantities = spec.measures(options) if spec else QUANTITIES
    offsets = _per_quantity(c, n.get("offsets"), f"{path}.offsets", quantities, driver,
                            lambda q: in_range(-OFFSET_LIMITS[q], OFFSET_LIMITS[q]))
    jumps = dict(MAX_JUMP)
    jumps.update(_per_quantity(c, n.get("max_jump"), f"{path}.max_jump", quantities, driver,
                               lambda q: positive))
    calibrate = _calibrations(c, n.get("calibrate"), f"{path}.calibrate", quantities, driver)
    default_timeout = spec.default_timeout if spec else 5.0
    timeout = c.get(n, "timeout", path, NUM, default_timeout, in_range(0.05, 60))
    offline_default = max(60.0, 5 * (interval or 0))
    offline_after = c.get(n, "offline_after", path, NUM, offline_default, positive)
    if interval is not None and "offline_after" in n and offline_after < interval:
        c.add(n["offline_after"], f"{path}.offline_after", f"{offline_after} s is shorter than "
              f"the interval ({interval} s): one missed reading would mean offline")
    cycle_after = c.get(n, "power_cycle_after", path, (int,), 5, in_range(1, 1000))
    name = c.get(n, "name", path, (str,), sid)
    alerts = parse_rules(c, n["alerts"], f"{path}.alerts", pins, sid or path, quantities) \
        if "alerts" in n else ()
    alert_offline = c.get(n, "alert_offline", path, (bool,), True)
    if len(c.problems) > before or None in (sid, room, driver, interval):
        return None
    return SensorConfig(
        id=sid, name=name or sid, room=room, driver=driver, interval=float(interval), pin=pin,
        power_pin=power_pin, options=MappingProxyType(options), timeout=float(timeout),
        offline_after=float(offline_after), power_cycle_after=cycle_after, alerts=alerts,
        alert_offline=alert_offline, quantities=quantities, offsets=MappingProxyType(offsets),
        calibrate=MappingProxyType(calibrate), max_jump=MappingProxyType(jumps),
    )


def _options(c: Checker, node: yaml.Node | None, path: str, spec: Any) -> dict[str, Any]:
    """A sensor's ``options:``, checked against what its driver declares."""
    if node is None or spec is None:
        return {}
    n = c.mapping(node, path, tuple(spec.options)) or {}
    out: dict[str, Any] = {}
    for key, option in spec.options.items():
        if key in n:
            value = c.get(n, key, path, option.kinds, None, option.check)
            if value is not None:
                out[key] = value
    if spec.check_options is not None and len(out) == len(n):
        message = spec.check_options(out)
        if message:
            c.add(node, path, message)
    return out


def _keys(node: yaml.Node | None) -> set[str]:
    """The keys written in a mapping node (whatever their values)."""
    if not isinstance(node, yaml.MappingNode):
        return set()
    return {k.value for k, _v in node.value if isinstance(k, yaml.ScalarNode)}


def _per_quantity(c: Checker, node: yaml.Node | None, path: str, quantities: tuple[str, ...],
                  driver: str | None, check: Any) -> dict[str, float]:
    """A ``{quantity: number}`` mapping; only quantities this sensor measures."""
    if node is None:
        return {}
    n = c.mapping(node, path, QUANTITIES) or {}
    out: dict[str, float] = {}
    for quantity in n:
        if quantity not in quantities:
            c.add(n[quantity], f"{path}.{quantity}", f"a {driver} sensor here measures "
                  f"{', '.join(quantities)}, not {quantity}")
            continue
        value = c.get(n, quantity, path, NUM, None, check(quantity))
        if value is not None:
            out[quantity] = float(value)
    return out


def _calibrations(c: Checker, node: yaml.Node | None, path: str,
                  quantities: tuple[str, ...], driver: str | None) -> dict[str, Calibration]:
    """``{quantity: [[raw1, true1], [raw2, true2]]}``: two reference points each."""
    if node is None:
        return {}
    n = c.mapping(node, path, QUANTITIES) or {}
    out: dict[str, Calibration] = {}
    for quantity, value in n.items():
        where = f"{path}.{quantity}"
        if quantity not in quantities:
            c.add(value, where, f"a {driver} sensor here measures {', '.join(quantities)}, "
                  f"not {quantity}")
            continue
        pairs = value.value if isinstance(value, yaml.SequenceNode) else None
        points = []
        for pair in pairs or []:
            items = pair.value if isinstance(pair, yaml.SequenceNode) else []
            numbers = [c.scalar(item, where, NUM) for item in items] if len(items) == 2 else []
            if len(numbers) == 2 and None not in numbers:
                points.append((float(numbers[0]), float(numbers[1])))
        if pairs is None or len(pairs) != 2 or len(points) != 2:
            c.add(value, where, "expected two [raw, true] pairs, like [[0.4, 0.0], [99.2, 100.0]], "
                  f"got {describe(value)}")
        elif points[0][0] == points[1][0]:
            c.add(value, where, "the two raw values must differ")
        else:
            out[quantity] = (points[0], points[1])
    return out
