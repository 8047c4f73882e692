"""The house's rules, checked on the imports themselves (every import, lazy ones too).

- drivers/ is the hardware layer: it imports nothing of sensorhub;
- storage/ and polling/ know nothing of the web: neither Flask nor Socket.IO;
- the headless ``sensorhub node`` never loads Flask or Socket.IO;
- only the broadcaster emits to Socket.IO rooms;
- modules stay small.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("sensorhub", "drivers")
WEB_LIBRARIES = ("flask", "flask_socketio", "socketio", "engineio")
MAX_LINES = 350


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports(module: str) -> set[str]:
    """Every module a module imports, at the top or inside a function."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from sensorhub.web import api` imports the module sensorhub.web.api
            found.update(f"{node.module}.{a.name}" for a in node.names
                         if f"{node.module}.{a.name}" in MODULES)
    return found


def with_parents(name: str) -> Iterator[str]:
    """A module and the packages whose __init__ importing it runs."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        yield ".".join(parts[:i])


def reach(start: str) -> dict[str, str]:
    """Every module reachable from ``start`` -> the module that imports it first."""
    seen: dict[str, str] = {start: ""}
    todo = [start]
    while todo:
        current = todo.pop()
        for target in imports(current):
            for name in with_parents(target):
                if name not in seen:
                    seen[name] = current
                    if name in MODULES:
                        todo.append(name)
    return seen


def chain(seen: dict[str, str], name: str) -> str:
    path = [name]
    while seen.get(path[-1]):
        path.append(seen[path[-1]])
    return " <- ".join(path)


def third_party(seen: dict[str, str]) -> set[str]:
    return {name for name in seen if name.split(".")[0] in WEB_LIBRARIES}


def test_drivers_import_nothing_of_sensorhub() -> None:
    offenders = {m: sorted(i for i in imports(m) if i.split(".")[0] == "sensorhub")
                 for m in MODULES if m.split(".")[0] == "drivers"}
    assert not {m: i for m, i in offenders.items() if i}


@pytest.mark.parametrize("package", ["sensorhub.storage", "sensorhub.polling",
                                     "sensorhub.config", "sensorhub.alerts"])
def test_the_core_knows_nothing_of_the_web(package: str) -> None:
    for module in [m for m in MODULES if m == package or m.startswith(package + ".")]:
        seen = reach(module)
        bad = third_party(seen) | {m for m in seen if m.startswith("sensorhub.web")}
        assert not bad, "\n".join(chain(seen, b) for b in sorted(bad))


def test_the_node_runs_without_flask_or_socketio() -> None:
    seen = reach("sensorhub.service.node")
    bad = third_party(seen) | {m for m in seen if m.startswith("sensorhub.web")}
    assert not bad, "\n".join(chain(seen, b) for b in sorted(bad))
    assert "sensorhub.polling.loop" in seen and "sensorhub.storage.store" in seen


def test_only_the_broadcaster_emits() -> None:
    emit = re.compile(r"\.emit\(")
    emitters = sorted(m for m, p in MODULES.items() if emit.search(p.read_text(encoding="utf-8")))
    assert emitters == ["sensorhub.web.broadcaster"]


def test_modules_stay_small() -> None:
    big = {m: n for m, p in MODULES.items()
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not big, f"over {MAX_LINES} lines: {big}"


def test_the_rules_see_real_imports() -> None:
    """The walk itself works: the web app reaches Flask, the poller reaches drivers."""
    assert "flask" in reach("sensorhub.app")
    assert "drivers.registry" in reach("sensorhub.polling.loop")
    assert "sensorhub.web.broadcaster" in imports("sensorhub.app")
