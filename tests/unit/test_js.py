"""The dashboard's pure JavaScript modules, unit-tested by Node's own test runner.

``node --test`` runs tests/js/*.test.mjs (series merging, trimming and gaps, formatting,
trend, ticks, and that no module connects or touches the page when imported). No
browser and no npm package: Debian's ``nodejs`` is all it takes (./dev test installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

TESTS = sorted((ROOT / "tests" / "js").glob("*.test.mjs"))
MIN_PASSED = 49  # the tests there now: fewer passing means some stopped running


def node() -> str:
    """Node's path, or a skip (a failure on CI, which installs it)."""
    found = shutil.which("node") or ("/usr/bin/node" if Path("/usr/bin/node").exists() else None)
    if found is None:
        message = "node is missing: apt-get install nodejs (./dev test does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_node_unit_tests_pass() -> None:
    # files, not the folder: how a folder argument is read differs between Node versions
    result = subprocess.run([node(), "--test", "--test-reporter=tap", *map(str, TESTS)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    counts = dict(re.findall(r"^# (pass|fail) (\d+)$", result.stdout, re.MULTILINE))
    assert counts.get("fail") == "0", output
    assert int(counts.get("pass", 0)) >= MIN_PASSED, output
