"""The ``metrics:`` section: who may read GET /metrics."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import yaml

from sensorhub.config.checker import Checker, describe


@dataclass(frozen=True)
class MetricsConfig:
    """Access to GET /metrics: a bearer token, an address allow-list, or both."""

    token: str | None = None
    allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


def parse_metrics(c: Checker, node: yaml.Node) -> MetricsConfig | None:
    """Validate the top-level ``metrics:`` section (absent: /metrics is off)."""
    n = c.mapping(node, "metrics", ("token", "allow"))
    if n is None:
        return None
    token = c.get(n, "token", "metrics", (str,), None,
                  lambda t: None if len(t) >= 16 else "must have at least 16 characters")
    networks = []
    if "allow" in n:
        allow = n["allow"]
        items = allow.value if isinstance(allow, yaml.SequenceNode) else None
        if items is None:
            c.add(allow, "metrics.allow", f"expected a list of addresses, got {describe(allow)}")
        elif not items:  # an empty list would admit nobody by address, or (before) anybody
            c.add(allow, "metrics.allow", "an empty list; list addresses, or leave allow: out "
                  "to admit any address that has the token")
        for i, item in enumerate(items or []):
            try:
                networks.append(ipaddress.ip_network(str(item.value), strict=False))
            except (ValueError, AttributeError):
                c.add(item, f"metrics.allow[{i}]", f"not an address or network: {describe(item)}")
    if token is None and not networks and "allow" not in n:
        c.add(node, "metrics", "set token:, allow: or both (an open /metrics is refused)")
        return None
    return MetricsConfig(token, tuple(networks))

