"""Fixtures that swap the hardware libraries for one test (import them from conftest.py).

``fake_hardware`` puts tests/fakes first on ``sys.path`` for one test, so the code under
test imports the fakes exactly as it would import the real modules, and yields the
fresh ``fakehw.world`` to script. ``no_hardware`` makes the libraries unimportable, as
on a development machine without the Pi extra (whatever this venv has installed).
Both undo themselves after the test; nothing is patched for the whole session.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from tests.fakes.sysfs_tree import FakeSysfs

if TYPE_CHECKING:
    from tests.fakes.fakehw import World

FAKES_DIR = Path(__file__).resolve().parent
HARDWARE_MODULES = ("adafruit_dht", "board", "RPi", "RPi.GPIO", "digitalio", "pulseio",
                    "sysv_ipc", "adafruit_blinka", "gpiod", "smbus2")
FAKE_MODULES = ("fakehw", "i2c_devices", *HARDWARE_MODULES)
#: set by drivers.blinka before importing Blinka; each test starts without it
BLINKA_ENV = "BLINKA_SKIP_DEPENDENCY_CHECK"


def _forget(names: tuple[str, ...]) -> dict[str, ModuleType]:
    """Remove modules (and their submodules) from sys.modules; return what was there."""
    removed = {}
    for name in list(sys.modules):
        if name in names or any(name.startswith(f"{n}.") for n in names):
            removed[name] = sys.modules.pop(name)
    return removed


@pytest.fixture
def fake_hardware(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Import adafruit_dht, board and RPi.GPIO from tests/fakes during one test."""
    saved = _forget(FAKE_MODULES)
    blinka_env = os.environ.pop(BLINKA_ENV, None)
    sys.path.insert(0, str(FAKES_DIR))
    importlib.invalidate_caches()
    try:
        fakehw = importlib.import_module("fakehw")
        assert Path(fakehw.__file__).resolve().parent == FAKES_DIR, fakehw.__file__
        for var in fakehw.ENV_VARS:  # a test sets these itself when it wants them
            monkeypatch.delenv(var, raising=False)
        fakehw.world.reset()
        yield fakehw.world
    finally:
        while str(FAKES_DIR) in sys.path:
            sys.path.remove(str(FAKES_DIR))
        _forget(FAKE_MODULES)
        sys.modules.update({k: v for k, v in saved.items() if v is not None})
        os.environ.pop(BLINKA_ENV, None)
        if blinka_env is not None:
            os.environ[BLINKA_ENV] = blinka_env
        importlib.invalidate_caches()


@pytest.fixture
def no_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the hardware libraries (adafruit_dht, board, RPi.GPIO, ...) fail to import."""
    for name in HARDWARE_MODULES:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture
def fake_sysfs(tmp_path: Path) -> FakeSysfs:
    """An empty fake /sys under the test's temp dir (``hardware.sysfs`` points here)."""
    return FakeSysfs(tmp_path / "sys")
