"""How a driver declares its ``options:``: the types each key takes and its check.

Checks are plain functions that return an error message or None, so config
validation (sensorhub.config) can report them with file and line without this
package knowing anything of YAML or of sensorhub.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Check = Callable[[Any], "str | None"]
NUM = (int, float)
TOPIC_PART_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")
SYSFS_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@,-]{0,63}$")
W1_ADDRESS_RE = re.compile(r"^[0-9a-fA-F]{2}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Option:
    """One key of a driver's options: the accepted types and a check of the value."""

    kinds: tuple[type, ...]
    check: Check | None = None


def positive(value: float) -> str | None:
    """Greater than zero."""
    return None if value > 0 else f"must be greater than 0, got {value}"


def in_range(low: float, high: float) -> Check:
    """Between ``low`` and ``high`` inclusive."""
    def check(value: float) -> str | None:
        return None if low <= value <= high else f"must be between {low} and {high}, got {value}"
    return check


def one_of(choices: tuple[str, ...]) -> Check:
    """One of a few names."""
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}, got {value!r}"
    return check


def topic_part(value: str) -> str | None:
    """Usable as one level of an MQTT topic."""
    if TOPIC_PART_RE.match(value):
        return None
    return f"{value!r} cannot be part of an MQTT topic (letters, digits, '_', '-', '.')"


def sysfs_name(value: str) -> str | None:
    """A kernel device's name (``bme280``, ``dht11@4``, ``iio:device0``): no paths."""
    if SYSFS_NAME_RE.match(value):
        return None
    return f"{value!r} is not a kernel device name (like bme280, sht3x or iio:device0)"


def w1_address(value: str) -> str | None:
    """A 1-Wire device address as the kernel lists it (``28-0316a2795bff``)."""
    if W1_ADDRESS_RE.match(value):
        return None
    return f"{value!r} is not a 1-Wire address like 28-0316a2795bff (see sensorhub detect)"


def exact_topic(value: str) -> str | None:
    """A topic one can subscribe to exactly (no wildcards)."""
    if not value or any(ch in value for ch in "+#\0"):
        return f"{value!r} is not a topic one can subscribe to exactly (no '+', '#')"
    return None


def at_most_one_in_total(keys: tuple[str, ...]) -> Callable[[Mapping[str, Any]], str | None]:
    """A check of a whole options mapping: the given rates add up to at most 1."""
    def check(options: Mapping[str, Any]) -> str | None:
        rates = {k: v for k, v in options.items() if k in keys}
        total = sum(rates.values())
        return f"{' + '.join(rates)} add up to {total:g}, more than 1" if total > 1 else None
    return check


def any_of(keys: tuple[str, ...]) -> Callable[[Mapping[str, Any]], str | None]:
    """A check of a whole options mapping: at least one of the keys is given."""
    def check(options: Mapping[str, Any]) -> str | None:
        if any(k in options for k in keys):
            return None
        return f"name {' or '.join(keys)} (or both)" if len(keys) == 2 else \
            f"name at least one of {', '.join(keys)}"
    return check
