"""What a notification says: written for someone woken at 3 a.m.

Every message names the sensor and its room, the value with its unit, the threshold,
since when (the Pi's local time) and a link to the sensor's chart on the dashboard
(``notify.public_url``). Channels only choose how to carry it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from sensorhub.config import Config
from sensorhub.readings import UNITS

NAMES = {"temperature": "Temperature", "humidity": "Humidity", "pressure": "Pressure",
         "co2": "CO2"}


@dataclass(frozen=True)
class Notification:
    """One message for one channel; ``key`` makes it unique per channel (idempotency)."""

    key: str
    title: str
    text: str
    severity: str  # info | warning | critical (sensorhub.config.alerts.SEVERITIES)
    state: str  # firing | cleared | reminder | test
    link: str | None = None
    #: the Socket.IO ``alert`` payload plus ``id``, ``started`` and ``severity``
    event: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def to_json(self) -> str:
        """The stored form (the outbox keeps it as it was composed)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["event"] = dict(self.event)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Notification:
        """Back from the stored form."""
        data = json.loads(text)
        data["event"] = MappingProxyType(data.get("event") or {})
        return cls(**data)


def clock(ts: float) -> str:
    """A wall-clock time as the Pi's local time, with its zone."""
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(ts))


def span(seconds: float) -> str:
    """A duration in words a tired person reads at once: 45 s, 12 min, 3 h 5 min."""
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


def amount(quantity: str, value: float | None) -> str:
    """A value with its unit (°C, %, hPa, ppm)."""
    if value is None:
        return "no value"
    digits = 0 if quantity == "co2" else 1
    unit = UNITS[quantity]
    return f"{value:.{digits}f} {unit}" if unit != "%" else f"{value:.{digits}f} %RH"


def chart_link(config: Config, sensor: str) -> str | None:
    """The sensor's chart on the dashboard, when the dashboard's address is configured."""
    base = config.notify.public_url
    return f"{base}/#sensor={sensor}" if base else None


def compose(config: Config, event: Mapping[str, Any], *, reminder: int = 0,
            now: float | None = None) -> Notification:
    """The notification of one alert event (``reminder`` > 0: a still-firing reminder)."""
    sensor = next((s for s in config.sensors if s.id == event["sensor"]), None)
    name = sensor.name if sensor else event["sensor"]
    room = next((r.name for r in config.rooms if r.id == event["room"]), event["room"])
    where = f"{name} ({room})"
    kind, state = event["kind"], event["state"]
    started = float(event.get("started") or event["since"])
    severity = event.get("severity", "warning")
    threshold = event.get("threshold")
    now = time.time() if now is None else now
    if kind == "offline":
        what = "is offline"
        detail = f"{where} has sent no good reading for {span(threshold or 0)}."
        back = f"{where} is reading again."
    else:
        quantity, op = kind.rsplit("_", 1)
        word = {"above": "above", "below": "below"}[op]
        limit = amount(quantity, threshold)
        what = f"{NAMES[quantity].lower()} {amount(quantity, event.get('value'))}, {word} {limit}"
        detail = (f"{NAMES[quantity]} on {where} is {amount(quantity, event.get('value'))}, "
                  f"{word} the threshold of {limit}.")
        back = (f"{NAMES[quantity]} on {where} is back to "
                f"{amount(quantity, event.get('value'))} (threshold {limit}).")
    if state == "cleared":
        title = f"Cleared: {where} " + ("is back online" if kind == "offline"
                                         else f"{kind.replace('_', ' ')} {threshold:g}")
        lines = [back, f"It fired at {clock(started)} and cleared at "
                 f"{clock(float(event['since']))} ({span(float(event['since']) - started)})."]
        state_word = "cleared"
    else:
        still = "Still firing: " if reminder else ""
        title = f"{still}{where} {what}"
        lines = [detail, f"Firing since {clock(started)} ({span(now - started)} ago)."]
        state_word = "reminder" if reminder else "firing"
    lines.append(f"Severity: {severity}.")
    link = chart_link(config, event["sensor"])
    if link:
        lines.append(f"Chart: {link}")
    key = f"alert-{event.get('id', 0)}-{state_word}" + (f"-{reminder}" if reminder else "")
    return Notification(key=key, title=title, text="\n".join(lines), severity=severity,
                        state=state_word, link=link, event=MappingProxyType(dict(event)))


def probe_message(channel: str, config: Config, now: float | None = None) -> Notification:
    """What ``sensorhub notify test`` sends: says where it came from, marked as a test."""
    now = time.time() if now is None else now
    link = config.notify.public_url
    text = (f"A test from sensorhub to the channel '{channel}', sent at {clock(now)}. "
            "If you read this, alerts will reach you here.")
    if link:
        text += f"\nDashboard: {link}/"
    return Notification(key=f"test-{now:.6f}", title=f"sensorhub test ({channel})", text=text,
                        severity="info", state="test", link=f"{link}/" if link else None,
                        event=MappingProxyType({"test": True, "channel": channel,
                                                "since": now}))
