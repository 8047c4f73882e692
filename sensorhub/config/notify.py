"""Alert channels in config.yaml: ``notify:`` and the ``webhook:`` shorthand.

Each channel names its kind (``type:``); the options it takes, and their checks, are
declared by that kind's module (sensorhub.alerts.channels), so a new kind needs no
change here. A secret option (``password``, ``token``) may instead be read from a file
(``password_file:``, ``token_file:``), so config.yaml can stay readable. An ``mqtt``
channel without ``url`` uses the ``mqtt:`` broker. ``webhook: {url: ...}`` at the top
is the same as a channel named ``webhook`` of type webhook. Routes and delivery
settings are read by sensorhub.config.routes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from sensorhub.alerts.channels import CHANNELS, spec
from sensorhub.config.checker import Checker, describe, one_of
from sensorhub.config.model import ChannelConfig
from sensorhub.config.mqtt import MqttConfig
from sensorhub.config.routes import NotifyConfig, parse_notify_settings

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
NOTIFY_KEYS = ("channels", "routes", "public_url", "max_age", "retry_after", "retry_max")
MAX_SECRET = 4096


def parse_notify(c: Checker, top: dict[str, yaml.Node], sensors: Sequence[Any],
                 rooms: set[str], mqtt: MqttConfig | None, base: Path
                 ) -> tuple[tuple[ChannelConfig, ...], NotifyConfig]:
    """Every configured channel (the webhook shorthand first) and the delivery settings."""
    channels: list[ChannelConfig] = []
    if "webhook" in top:
        options = _options(c, top["webhook"], "webhook", "webhook", set(), base, mqtt)
        if options is not None:
            channels.append(ChannelConfig("webhook", "webhook", options))
    if "notify" not in top:
        return tuple(channels), NotifyConfig()
    n = c.mapping(top["notify"], "notify", NOTIFY_KEYS) or {}
    named = set(ch.name for ch in channels)
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
            if name in named:
                c.add(key_node, where, f"a channel named {name!r} exists already")
                continue
            named.add(name)  # known to routes even when its options are wrong
            kind_node = dict((k.value, v) for k, v in getattr(value, "value", [])
                             if isinstance(k, yaml.ScalarNode)).get("type")
            kind = c.get({"type": kind_node} if kind_node else {}, "type", where, (str,),
                         None, one_of(tuple(CHANNELS)), required=True, parent=value)
            if kind is None:
                continue
            options = _options(c, value, where, kind, {"type"}, base, mqtt)
            if options is not None:
                channels.append(ChannelConfig(name, kind, options))
    settings = parse_notify_settings(c, n, named, {s.id: s.room for s in sensors}, rooms)
    return tuple(channels), settings


def _options(c: Checker, node: yaml.Node, where: str, kind: str, extra: set[str],
             base: Path, mqtt: MqttConfig | None) -> Any:
    """A channel's options checked against its kind's declaration (None if wrong)."""
    declared = spec(kind)
    before = len(c.problems)
    files = {f"{key}_file": key for key in declared.secrets}
    n = c.mapping(node, where, (*sorted(extra), *declared.options, *files))
    if n is None:
        return None
    out: dict[str, Any] = {}
    for key, option in declared.options.items():
        if key not in n:
            continue
        if option.kinds == (list,):
            value = _text_list(c, n[key], f"{where}.{key}", option.check)
        else:
            value = c.get(n, key, where, option.kinds, None, option.check)
        if value is not None:
            out[key] = value
    for file_key, key in files.items():
        if file_key not in n:
            continue
        if key in n:
            c.add(n[file_key], f"{where}.{file_key}", f"give {key} or {file_key}, not both")
            continue
        path = c.get(n, file_key, where, (str,), None)
        if path is not None:
            secret = _read_secret(base / path)
            if secret.startswith("!"):
                c.add(n[file_key], f"{where}.{file_key}", secret[1:])
            else:
                out[key] = secret
    if kind == "mqtt" and "url" not in out:
        if mqtt is None:
            c.add(node, f"{where}.url", "required: no url and no mqtt: section to take it from")
        else:
            out.update({"url": mqtt.url, "username": mqtt.username, "password": mqtt.password,
                        "ca_file": str(mqtt.ca_file) if mqtt.ca_file else None})
    for key in declared.required:
        if key not in out and f"{key}_file" not in n and key not in n:
            c.add(node, f"{where}.{key}", f"required for a {kind} channel")
    return MappingProxyType(out) if len(c.problems) == before else None


def _text_list(c: Checker, node: yaml.Node, where: str, check: Any) -> tuple[str, ...] | None:
    """A list of strings (one string is a list of one)."""
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    values = [c.scalar(item, where, (str,)) for item in items]
    if any(v is None for v in values):
        return None
    message = check(values) if check else None
    if message:
        c.add(node, where, message)
        return None
    return tuple(values)


def _read_secret(path: Path) -> str:
    """The first line of a secret file; a message starting with '!' when unreadable."""
    try:
        with path.open(encoding="utf-8") as handle:
            text = handle.read(MAX_SECRET + 1)
    except OSError as error:
        return f"!cannot read {path}: {error.strerror}"
    secret = text.splitlines()[0].strip() if text.strip() else ""
    if not secret or len(text) > MAX_SECRET:
        return f"!{path} must hold the secret on its first line"
    return secret
