"""The ``metrics:`` section: who may read GET /metrics."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from sensorhub.config.checker import Checker, Network, networks


@dataclass(frozen=True)
class MetricsConfig:
    """Access to GET /metrics: a bearer token, an address allow-list, or both."""

    token: str | None = None
    allow: tuple[Network, ...] = ()


def parse_metrics(c: Checker, node: yaml.Node) -> MetricsConfig | None:
    """Validate the top-level ``metrics:`` section (absent: /metrics is off)."""
    n = c.mapping(node, "metrics", ("token", "allow"))
    if n is None:
        return None
    token = c.get(n, "token", "metrics", (str,), None,
                  lambda t: None if len(t) >= 16 else "must have at least 16 characters")
    allowed: tuple[Network, ...] = ()
    if "allow" in n:
        allowed = networks(c, n["allow"], "metrics.allow")
        if isinstance(n["allow"], yaml.SequenceNode) and not n["allow"].value:
            # read as "no restriction" it would open /metrics to everyone
            c.add(n["allow"], "metrics.allow", "an empty list admits nobody: list the "
                  "addresses allowed, or leave allow: out and set token:")
    if token is None and not allowed and "allow" not in n:
        c.add(node, "metrics", "set token:, allow: or both (an open /metrics is refused)")
        return None
    return MetricsConfig(token, allowed)
