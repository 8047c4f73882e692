"""``python -m sensorhub`` is the sensorhub command, in a real process.

Everything the command prints and returns is tested in-process in tests/unit/test_cli.py
(``sensorhub.service.cli.main``); this checks once that the module entry point reaches
it and exits with its status.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_python_dash_m_is_the_same_command() -> None:
    result = subprocess.run([sys.executable, "-m", "sensorhub", "--help"], capture_output=True,
                            text=True, cwd=ROOT, check=False, timeout=60)
    assert result.returncode == 0
    for command in ("run", "check-config", "read", "user", "token"):
        assert command in result.stdout
