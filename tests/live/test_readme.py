"""The README's two commands, in order, in one fresh clone: run the dashboard, then test.

A new user runs ``./dev run``, looks at the dashboard, stops it with Ctrl-C, then runs
``./dev test`` in the same clone. Whatever the run left behind in ignored folders
(``data/``: the database, the secret key, the admin password) must not fail the tests.

The clone is of the working tree as git sees it (tracked and untracked-but-not-ignored
files), so the test checks the change at hand, not only the last commit. Its ``.venv``
borrows the installed packages of the venv running this test through a ``.pth`` file:
``./dev`` still creates the venv's own editable install and entry points, without a
minute of downloads. The nested test run is a small subset (a nested full suite would
double CI's time), chosen to include the checks that look at what the repository ships.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, free_port

NESTED_TESTS = ["tests/live/test_auth_matrix.py::test_repository_ships_no_secret",
                "tests/unit/test_config.py"]


def _readme_commands() -> tuple[list[str], list[str]]:
    """The README's first two commands (run, then test), as argument lists."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "README has no sh block at the top"
    commands = [line.split("#")[0].split() for line in block.group(1).splitlines()
                if line.strip()]
    assert len(commands) == 2, commands
    return commands[0], commands[1]


def _clone(dest: Path) -> None:
    """A clone of the repository with the working tree's files laid over it."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        target = dest / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif target.exists():  # deleted in the working tree, not yet committed
            target.unlink()


def _borrowing_venv(clone: Path) -> None:
    """``clone/.venv`` that sees this venv's packages (not its sensorhub)."""
    subprocess.run([sys.executable, "-m", "venv", str(clone / ".venv")], check=True)
    purelib = sysconfig.get_paths()["purelib"]
    inner = subprocess.run([str(clone / ".venv/bin/python"), "-c",
                            "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    Path(inner, "borrowed.pth").write_text(purelib + "\n")


@pytest.mark.slow
def test_readme_commands_run_in_order_in_one_clone(tmp_path: Path) -> None:
    run_cmd, test_cmd = _readme_commands()
    assert run_cmd == ["./dev", "run"] and test_cmd == ["./dev", "test"]
    clone = tmp_path / "clone"
    _clone(clone)
    _borrowing_venv(clone)
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "SENSORHUB_VENV", "PYTHONPATH", "NOTIFY_SOCKET",
                        "WATCHDOG_USEC", "WATCHDOG_PID", "PYTEST_CURRENT_TEST")}
    port = free_port()
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([*run_cmd, "--port", str(port)], cwd=clone, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            try:
                page = requests.get(f"http://127.0.0.1:{port}/login", timeout=2)
                if page.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        assert "sensorhub" in page.text
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        status = proc.wait(30)
    output = log_path.read_text(errors="replace")
    assert status == 0, output
    assert "setting up .venv" in output and ".venv ready" in output, output
    data = clone / "data"
    assert {"secret_key", "initial-admin-password", "sensorhub.db"} <= {
        p.name for p in data.iterdir()}, "the run left no state behind: nothing was tested"

    result = subprocess.run([*test_cmd, "-q", "-p", "no:cacheprovider", *NESTED_TESTS],
                            cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert re.search(r"\b\d+ passed\b", result.stdout), result.stdout[-2000:]
