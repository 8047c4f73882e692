"""The limits under ``server:`` that keep one client from hurting the others.

Each default is sized for a Raspberry Pi (512 MiB-8 GiB of RAM, four slow cores);
docs/configuration.md#limits says why each value. The keys sit directly under
``server:`` next to ``host`` and ``port``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import yaml

from sensorhub.config.checker import Checker, Network, in_range, networks


@dataclass(frozen=True)
class Limits:
    """Connection, memory and CPU limits of the web server."""

    max_connections: int = 500  # open TCP connections in all (websockets included)
    max_connections_per_client: int = 32  # per client address
    request_timeout: float = 10.0  # s for a connection to send a complete request
    send_timeout: float = 30.0  # s a response may wait for a client that reads nothing
    max_event_bytes: int = 16 * 1024  # one Socket.IO message, or one event's attachments
    max_event_attachments: int = 4  # binary attachments announced by one event
    event_rate: float = 20.0  # Socket.IO messages (each KiB counts) a second per connection
    event_burst: int = 100  # ... and in a burst
    history_limit: int = 60  # history requests per 10 s per client address
    history_limit_per_user: int = 120  # ... and per user (all their devices)
    exports_at_once: int = 2  # CSV exports running at once per address and per user
    web_queries: int = 2  # history, export and alert queries running at once, in all
    trusted_proxies: tuple[Network, ...] = ()  # whose X-Forwarded-For names the client


#: key -> (kinds, lowest, highest)
RANGES: dict[str, tuple[tuple[type, ...], float, float]] = {
    "max_connections": ((int,), 10, 100_000),
    "max_connections_per_client": ((int,), 2, 100_000),
    "request_timeout": ((int, float), 1, 3600),
    "send_timeout": ((int, float), 1, 3600),
    "max_event_bytes": ((int,), 1024, 16 * 2**20),
    "max_event_attachments": ((int,), 0, 1000),
    "event_rate": ((int, float), 1, 100_000),
    "event_burst": ((int,), 1, 1_000_000),
    "history_limit": ((int,), 1, 1_000_000),
    "history_limit_per_user": ((int,), 1, 1_000_000),
    "exports_at_once": ((int,), 1, 1000),
    "web_queries": ((int,), 1, 64),
}
KEYS = (*RANGES, "trusted_proxies")
assert set(KEYS) == {f.name for f in fields(Limits)}


def parse_limits(c: Checker, nodes: dict[str, yaml.Node]) -> Limits:
    """Read the limit keys of the ``server:`` mapping (each optional)."""
    d = Limits()
    values = {key: c.get(nodes, key, "server", kinds, getattr(d, key), in_range(low, high))
              for key, (kinds, low, high) in RANGES.items()}
    proxies = nodes.get("trusted_proxies")
    return Limits(**values, trusted_proxies=() if proxies is None else networks(
        c, proxies, "server.trusted_proxies"))
