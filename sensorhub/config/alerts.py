"""A sensor's ``alerts:`` rules (validated like the rest), and durations like ``5m``."""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from sensorhub.config.checker import Checker, describe, in_range, one_of

NUM = (int, float)
RULE_KEYS = ("quantity", "above", "below", "for", "clear_hysteresis", "output_pin", "active",
             "severity", "silence_on_ack")
#: how urgent an alert is, lowest first: routes filter on it, channels map it to priorities
SEVERITIES = ("info", "warning", "critical")
#: the severity of a rule without ``severity:`` and of every offline alert
DEFAULT_SEVERITY = "warning"
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")
UNITS = {None: 1, "s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True)
class AlertRule:
    """Fire when a quantity stays above/below a threshold for ``hold`` seconds."""

    quantity: str  # temperature | humidity | pressure | co2
    op: str  # above | below
    threshold: float
    hold: float = 0.0
    hysteresis: float = 0.5
    output_pin: int | None = None
    active_high: bool = True
    severity: str = DEFAULT_SEVERITY
    silence_on_ack: bool = True  # acknowledging on the dashboard turns output_pin off

    @property
    def kind(self) -> str:
        """The alert's name in events and metrics, e.g. ``temperature_above``."""
        return f"{self.quantity}_{self.op}"


def duration(value: object) -> float | None:
    """Seconds from 60, 60.0, '60s', '5m' or '1h'; None if not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    match = DURATION_RE.match(str(value))
    return float(match.group(1)) * UNITS[match.group(2)] if match else None


def parse_rules(c: Checker, node: yaml.Node, path: str, pins: dict[int, str],
                owner: str, quantities: tuple[str, ...] = ("temperature", "humidity")
                ) -> tuple[AlertRule, ...]:
    """Validate a sensor's ``alerts:`` list (rules on the ``quantities`` it measures)."""
    if not isinstance(node, yaml.SequenceNode):
        c.add(node, path, f"expected a list of alert rules, got {describe(node)}")
        return ()
    rules = []
    for i, item in enumerate(node.value):
        where = f"{path}[{i}]"
        n = c.mapping(item, where, RULE_KEYS)
        if n is None:
            continue
        before = len(c.problems)
        quantity = c.get(n, "quantity", where, (str,), None, one_of(quantities),
                         required=True, parent=item)
        ops = [op for op in ("above", "below") if op in n]
        if len(ops) != 1:
            c.add(item, where, "needs exactly one of above: or below:")
            continue
        op = ops[0]
        threshold = c.get(n, op, where, NUM, None, required=True, parent=item)
        hold = 0.0
        if "for" in n:
            hold_value = duration(getattr(n["for"], "value", None))
            if hold_value is None or not isinstance(n["for"], yaml.ScalarNode):
                c.add(n["for"], f"{where}.for", f"expected a duration like 60, 60s, 5m or 1h, "
                      f"got {describe(n['for'])}")
            else:
                hold = hold_value
        hysteresis = c.get(n, "clear_hysteresis", where, NUM, 0.5,
                           in_range(0, 5000 if quantity == "co2" else 50))
        output_pin = c.get(n, "output_pin", where, (int,), None, in_range(0, 27))
        if output_pin is not None:
            user = pins.get(output_pin)
            if user is not None and not user.endswith(".output_pin"):
                c.add(n["output_pin"], f"{where}.output_pin",
                      f"GPIO {output_pin} is already used by {user}")
            pins.setdefault(output_pin, f"{owner}.output_pin")
        active = c.get(n, "active", where, (str,), "high", one_of(("high", "low")))
        severity = c.get(n, "severity", where, (str,), DEFAULT_SEVERITY, one_of(SEVERITIES))
        silence = c.get(n, "silence_on_ack", where, (bool,), True)
        if len(c.problems) == before and quantity and threshold is not None:
            rules.append(AlertRule(quantity, op, float(threshold), hold, float(hysteresis),
                                   output_pin, active == "high", severity, silence))
    return tuple(rules)
