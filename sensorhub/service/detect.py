"""``sensorhub detect``: list the sensors this machine can read and print their config.

Everything printed on stdout is YAML: the finds (with a current reading of each) as
comments, then a ``sensors:`` block ready to paste into config.yaml, which
``check-config`` accepts. Problems and hints go to stderr.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

from drivers.base import QUANTITIES, UNITS
from drivers.detect import Found, read, scan_i2c, scan_sysfs
from drivers.errors import DriverError
from sensorhub.config import Config

INTERVAL = 10
_NOT_IN_ID = re.compile(r"[^a-z0-9_-]+")


def describe(value: Any) -> str:
    """A reading (every quantity with its unit) or the read's error."""
    if isinstance(value, DriverError):
        return f"FAILED: {value.kind}: {value}"
    units = {**UNITS, "humidity": "%RH"}
    return "  ".join(f"{v:g} {units[q]}" for q, v in zip(QUANTITIES, value, strict=True)
                     if v is not None)


def sensor_id(found: Found, taken: set[str]) -> str:
    """A valid, unused sensor id for a find (``bme280``, ``ds18b20-0316a2795bff``...)."""
    if found.driver == "ds18b20":
        base = f"ds18b20-{found.options['address'].partition('-')[2]}"
    elif found.pin is not None:
        base = f"dht-gpio{found.pin}"
    else:
        base = str(found.options.get("device", found.driver))
    base = _NOT_IN_ID.sub("-", base.lower()).strip("-")[:60] or found.driver
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def entry(found: Found, sensor: str, room: str) -> dict[str, Any]:
    """The config of one find."""
    item: dict[str, Any] = {"id": sensor, "name": found.label, "room": room,
                            "driver": found.driver, "interval": INTERVAL}
    if found.pin is not None:
        item["pin"] = found.pin
    if found.options:
        item["options"] = found.options
    return item


def detect(config: Config | None, sysfs: str, room: str | None) -> int:
    """Scan, read each find once, print the YAML; 1 if nothing was found."""
    found = scan_sysfs(sysfs)
    userspace, hints = scan_i2c(sysfs)
    found += userspace
    for hint in hints:
        print(f"hint: {hint}", file=sys.stderr)
    if not found:
        print(f"no sensors found under {sysfs} (IIO, hwmon, 1-Wire) or on its I2C buses; "
              "see docs/sensors.md for the overlay lines", file=sys.stderr)
        return 1
    taken = {s.id for s in config.sensors} if config else set()
    room = room or (config.rooms[0].id if config else "home")
    print(f"# sensorhub detect: {len(found)} sensor(s) under {sysfs}")
    entries = []
    for item in found:
        sensor = sensor_id(item, taken)
        print(f"# {sensor}: {item.label} ({item.where}): {describe(read(item, sysfs))}")
        if item.note:
            print(f"#   {item.note}")
        entries.append(entry(item, sensor, room))
    block = yaml.safe_dump(entries, sort_keys=False, default_flow_style=None,
                           allow_unicode=True)
    print("sensors:")
    print("\n".join(f"  {line}" for line in block.rstrip("\n").splitlines()))
    return 0


def default_sysfs(config: Config | None, override: str | None) -> str:
    """``--sysfs``, else ``hardware.sysfs`` of the config, else /sys."""
    if override:
        return str(Path(override))
    return str(config.hardware.sysfs) if config else "/sys"
