"""Alert channels in config.yaml: ``notify.channels`` and the ``webhook:`` shorthand.

Each channel names its kind (``type:``); the options it takes, and their checks, are
declared by that kind's module (sensorhub.alerts.channels), so a new kind needs no
change here. ``webhook: {url: ...}`` at the top is the same as a channel named
``webhook`` of type webhook.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

import yaml

from sensorhub.alerts.channels import CHANNELS, spec
from sensorhub.config.checker import Checker, describe, one_of
from sensorhub.config.model import ChannelConfig

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
NOTIFY_KEYS = ("channels",)


def parse_channels(c: Checker, top: dict[str, yaml.Node]) -> tuple[ChannelConfig, ...]:
    """Every configured channel, in file order (the webhook shorthand first)."""
    channels: list[ChannelConfig] = []
    if "webhook" in top:
        options = _options(c, top["webhook"], "webhook", "webhook", set())
        if options is not None:
            channels.append(ChannelConfig("webhook", "webhook", options))
    if "notify" in top:
        n = c.mapping(top["notify"], "notify", NOTIFY_KEYS) or {}
        node = n.get("channels")
        if node is not None and not isinstance(node, yaml.MappingNode):
            c.add(node, "notify.channels", f"expected a mapping of name: channel, got "
                  f"{describe(node)}")
        elif node is not None:
            for key_node, value in node.value:
                name = str(key_node.value)
                where = f"notify.channels.{name}"
                if not NAME_RE.match(name):
                    c.add(key_node, where, "a channel name is lower-case letters, digits, "
                          "'-' and '_' (max 32)")
                    continue
                if any(ch.name == name for ch in channels):
                    c.add(key_node, where, f"a channel named {name!r} exists already")
                    continue
                kind_node = dict((k.value, v) for k, v in getattr(value, "value", [])
                                 if isinstance(k, yaml.ScalarNode)).get("type")
                kind = c.get({"type": kind_node} if kind_node else {}, "type", where, (str,),
                             None, one_of(tuple(CHANNELS)), required=True, parent=value)
                if kind is None:
                    continue
                options = _options(c, value, where, kind, {"type"})
                if options is not None:
                    channels.append(ChannelConfig(name, kind, options))
    return tuple(channels)


def _options(c: Checker, node: yaml.Node, where: str, kind: str, extra: set[str]
             ) -> Any:
    """A channel's options checked against its kind's declaration (None if wrong)."""
    declared = spec(kind)
    before = len(c.problems)
    n = c.mapping(node, where, (*sorted(extra), *declared.options))
    if n is None:
        return None
    out: dict[str, Any] = {}
    for key, option in declared.options.items():
        if key in n:
            value = c.get(n, key, where, option.kinds, None, option.check)
            if value is not None:
                out[key] = value
    for key in declared.required:
        if key not in n:
            c.add(node, f"{where}.{key}", f"required for a {kind} channel")
    return MappingProxyType(out) if len(c.problems) == before else None
