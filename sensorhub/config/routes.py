"""The delivery settings of ``notify:``: routes, quiet hours, repeats, retries, the chart link.

A route sends the alerts it matches (by sensor, room, kind and lowest severity) to its
channels. Quiet hours hold a route's messages below ``critical`` until the quiet time
ends; ``repeat`` reminds of an alert that is still firing. Without routes every channel
gets every alert, as the single webhook always did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import yaml

from sensorhub.config.alerts import SEVERITIES, duration
from sensorhub.config.checker import Checker, describe, in_range, one_of

ROUTE_KEYS = ("channels", "sensors", "rooms", "kinds", "severity", "quiet_hours", "repeat")
QUIET_KEYS = ("from", "to")
CLOCK_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
KIND_RE = re.compile(r"^(offline|(temperature|humidity|pressure|co2)_(above|below))$")


@dataclass(frozen=True)
class Route:
    """Which alerts go to which channels, and when."""

    channels: tuple[str, ...]
    sensors: frozenset[str] | None = None  # None: every sensor
    rooms: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    severity: str = "info"  # the lowest severity this route passes
    quiet: tuple[int, int] | None = None  # minutes after local midnight: from, to
    repeat: float | None = None  # seconds between reminders while an alert fires

    def matches(self, sensor: str, room: str, kind: str, severity: str) -> bool:
        """Whether an alert of this sensor, room, kind and severity takes this route."""
        return ((self.sensors is None or sensor in self.sensors)
                and (self.rooms is None or room in self.rooms)
                and (self.kinds is None or kind in self.kinds)
                and SEVERITIES.index(severity) >= SEVERITIES.index(self.severity))


@dataclass(frozen=True)
class NotifyConfig:
    """How notifications are delivered (``notify:`` without its ``channels``)."""

    routes: tuple[Route, ...] = ()
    public_url: str | None = None  # the dashboard as people reach it: chart links
    max_age: float = 24 * 3600.0  # give a message up this long after it was queued
    retry_after: float = 5.0  # first retry after this many seconds, doubling
    retry_max: float = 600.0  # ... up to this many seconds between tries


def parse_notify_settings(c: Checker, n: dict[str, yaml.Node], channels: set[str],
                          sensors: dict[str, str], rooms: set[str]) -> NotifyConfig:
    """Read ``notify:``'s routes and delivery settings (channels are read elsewhere)."""
    d = NotifyConfig()
    public_url = c.get(n, "public_url", "notify", (str,), None, _base_url)
    max_age = _seconds(c, n, "max_age", d.max_age, 60, 30 * 86400)
    retry_after = _seconds(c, n, "retry_after", d.retry_after, 0.1, 3600)
    retry_max = _seconds(c, n, "retry_max", d.retry_max, 0.1, 86400)
    routes: list[Route] = []
    node = n.get("routes")
    if node is not None and not isinstance(node, yaml.SequenceNode):
        c.add(node, "notify.routes", f"expected a list of routes, got {describe(node)}")
    for i, item in enumerate(node.value if isinstance(node, yaml.SequenceNode) else []):
        route = _route(c, item, f"notify.routes[{i}]", channels, sensors, rooms)
        if route is not None:
            routes.append(route)
    return NotifyConfig(tuple(routes), public_url.rstrip("/") if public_url else None,
                        max_age, retry_after, max(retry_max, retry_after))


def _route(c: Checker, item: yaml.Node, where: str, channels: set[str],
           sensors: dict[str, str], rooms: set[str]) -> Route | None:
    n = c.mapping(item, where, ROUTE_KEYS)
    if n is None:
        return None
    before = len(c.problems)
    names = _names(c, n, "channels", where, channels, "channel")
    if "channels" not in n:
        c.add(item, f"{where}.channels", "required: the channels this route sends to")
    severity = c.get(n, "severity", where, (str,), "info", one_of(SEVERITIES))
    quiet = _quiet(c, n["quiet_hours"], f"{where}.quiet_hours") if "quiet_hours" in n else None
    repeat = None
    if "repeat" in n:
        repeat = duration(getattr(n["repeat"], "value", None))
        if repeat is None or repeat < 60 or not isinstance(n["repeat"], yaml.ScalarNode):
            c.add(n["repeat"], f"{where}.repeat", f"expected a duration of at least 1m like "
                  f"30m or 2h, got {describe(n['repeat'])}")
    route = Route(
        channels=tuple(names or ()),
        sensors=_names(c, n, "sensors", where, set(sensors), "sensor"),
        rooms=_names(c, n, "rooms", where, rooms, "room"),
        kinds=_names(c, n, "kinds", where, None, "kind"),
        severity=severity, quiet=quiet, repeat=repeat)
    return route if len(c.problems) == before else None


def _names(c: Checker, n: dict[str, yaml.Node], key: str, where: str,
           known: set[str] | None, what: str) -> frozenset[str] | None:
    """A list of names that must each be known (``kinds`` are checked by their form)."""
    if key not in n:
        return None
    node, path = n[key], f"{where}.{key}"
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        c.add(node, path, f"expected a list of {what} names, got {describe(node)}")
        return None
    out = set()
    for i, item in enumerate(node.value):
        name = c.scalar(item, f"{path}[{i}]", (str,))
        if name is None:
            continue
        if known is None and not KIND_RE.match(name):
            c.add(item, f"{path}[{i}]", f"unknown alert kind {name!r} (offline, or "
                  "<quantity>_above / <quantity>_below)")
        elif known is not None and name not in known:
            c.add(item, f"{path}[{i}]", f"unknown {what} {name!r}"
                  + (f" ({what}s: {', '.join(sorted(known))})" if known else ""))
        out.add(name)
    return frozenset(out)


def _quiet(c: Checker, node: yaml.Node, where: str) -> tuple[int, int] | None:
    n = c.mapping(node, where, QUIET_KEYS)
    if n is None:
        return None
    ends = []
    for key in QUIET_KEYS:
        text = c.get(n, key, where, (str,), None, _clock, required=True, parent=node)
        if text is None:
            return None
        hours, minutes = CLOCK_RE.match(text).groups()  # type: ignore[union-attr]
        ends.append(int(hours) * 60 + int(minutes))
    if ends[0] == ends[1]:
        c.add(node, where, "from and to are the same time")
        return None
    return ends[0], ends[1]


def _clock(value: str) -> str | None:
    return None if CLOCK_RE.match(value) else f"expected a time like '22:00', got {value!r}"


def _seconds(c: Checker, n: dict[str, yaml.Node], key: str, default: float, low: float,
             high: float) -> float:
    if key not in n:
        return default
    value = duration(getattr(n[key], "value", None))
    if value is None or not isinstance(n[key], yaml.ScalarNode):
        c.add(n[key], f"notify.{key}", f"expected a duration like 90, 90s, 5m or 1h, got "
              f"{describe(n[key])}")
        return default
    message = in_range(low, high)(value)
    if message:
        c.add(n[key], f"notify.{key}", f"{message} (seconds)")
        return default
    return value


def _base_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"expected the dashboard's address like http://greenhouse-pi.lan:5000, got " \
               f"{value!r}"
    if parts.query or parts.fragment:
        return "a base address only: no ?query or #fragment"
    return None
