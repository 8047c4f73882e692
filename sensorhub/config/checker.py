"""Validation machinery for YAML config files: every problem with its file and line.

A checker walks PyYAML's node tree (which keeps line numbers) rather than the
constructed data, so each message can name where the mistake is.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from drivers.options import in_range, one_of, positive

__all__ = ["Checker", "ConfigError", "Network", "Problem", "describe", "in_range", "networks",
           "one_of", "positive"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class ConfigError(ValueError):
    """The config file is unusable; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Checker:
    """Walks the YAML node tree, collecting problems with their line numbers."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, node: yaml.Node | None, path: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(Problem(self.file, line, path or "(top)", message))

    def mapping(self, node: yaml.Node, path: str, keys: Iterator[str] | tuple[str, ...]
                ) -> dict[str, yaml.Node] | None:
        """Return key -> value node, reporting unknown and duplicate keys."""
        if not isinstance(node, yaml.MappingNode):
            self.add(node, path, f"expected a mapping, got {describe(node)}")
            return None
        allowed = tuple(keys)
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            where = f"{path}.{key}" if path else str(key)
            if key not in allowed:
                hint = f"; known keys: {', '.join(allowed)}" if allowed else ""
                self.add(key_node, where, f"unknown key{hint}")
            elif key in out:
                self.add(key_node, where, "duplicate key")
            else:
                out[key] = value_node
        return out

    def scalar(self, node: yaml.Node, path: str, kinds: tuple[type, ...]) -> Any:
        """Construct a scalar of one of ``kinds``; report and return None otherwise."""
        value = construct(node)
        if isinstance(value, bool) and bool not in kinds:
            value = _Wrong
        ok = value is not _Wrong and isinstance(value, kinds)
        if not ok:
            shown = [k for k in kinds if not (k is int and float in kinds)]
            names = " or ".join("number" if k is float else k.__name__ for k in shown)
            self.add(node, path, f"expected {names}, got {describe(node)}")
            return None
        if float in kinds and isinstance(value, int):
            value = float(value)
        return value

    def get(self, nodes: dict[str, yaml.Node], key: str, path: str, kinds: tuple[type, ...],
            default: Any, check: Callable[[Any], str | None] | None = None,
            required: bool = False, parent: yaml.Node | None = None) -> Any:
        """Read one optional/required field, with an extra validity check."""
        where = f"{path}.{key}" if path else key
        if key not in nodes:
            if required:
                self.add(parent, where, "required")
            return default
        node = nodes[key]
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null") and not required \
                and type(None) in kinds:
            return None
        value = self.scalar(node, where, tuple(k for k in kinds if k is not type(None)))
        if value is None:
            return default
        if check is not None:
            message = check(value)
            if message:
                self.add(node, where, message)
                return default
        return value


def networks(c: Checker, node: yaml.Node, path: str) -> tuple[Network, ...]:
    """A list of addresses or networks (``10.0.0.0/8``, ``::1``), each bad one reported."""
    if not isinstance(node, yaml.SequenceNode):
        c.add(node, path, f"expected a list of addresses, got {describe(node)}")
        return ()
    found = []
    for i, item in enumerate(node.value):
        try:
            found.append(ipaddress.ip_network(str(item.value), strict=False))
        except ValueError:
            c.add(item, f"{path}[{i}]", f"not an address or network: {describe(item)}")
    return tuple(found)


class _WrongType:
    pass


_Wrong = _WrongType()


def construct(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return _Wrong
    try:
        return yaml.SafeLoader("").construct_object(node)  # scalar: no recursion
    except yaml.YAMLError:
        return _Wrong


def describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    value = construct(node)
    return f"{type(value).__name__} {node.value!r}" if value is not _Wrong else repr(node.value)
