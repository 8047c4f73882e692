"""The architecture recipes name real things: every `dotted.name` in them imports."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def recipe_names() -> list[str]:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    recipes = text[text.index("## Recipes"):text.index("## Tests")]
    names = re.findall(r"`((?:drivers|sensorhub)(?:\.[A-Za-z_][A-Za-z0-9_]*)+)`", recipes)
    return sorted(set(names))


def resolve(dotted: str) -> object:
    """Import the longest module prefix, then walk attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            target = getattr(target, attr)
        return target
    raise ModuleNotFoundError(dotted)


def test_the_recipes_name_enough_to_be_checked() -> None:
    assert len(recipe_names()) >= 15


@pytest.mark.parametrize("dotted", recipe_names())
def test_every_name_in_the_recipes_exists(dotted: str) -> None:
    assert resolve(dotted) is not None


def test_every_channel_kind_and_driver_is_importable() -> None:
    from drivers.registry import DRIVER_SPECS
    from sensorhub.alerts.channels import CHANNELS, spec

    for kind in CHANNELS:
        assert callable(spec(kind).factory), kind
    for name, driver in DRIVER_SPECS.items():
        if driver.factory:
            assert callable(resolve(driver.factory.replace(":", "."))), name
