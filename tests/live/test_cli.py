"""The sensorhub command in a real process: the module entry point, and a terminal.

Everything the command prints and returns is tested in-process in tests/unit/test_cli.py
(``sensorhub.service.cli.main``); this checks once that ``python -m sensorhub`` reaches
it, and that ``sensorhub read`` from a real pseudo-terminal on a (fake) Pi never waits
for an answer to Blinka's install prompt.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT, write_config


def test_python_dash_m_is_the_same_command() -> None:
    result = subprocess.run([sys.executable, "-m", "sensorhub", "--help"], capture_output=True,
                            text=True, cwd=ROOT, check=False, timeout=60)
    assert result.returncode == 0
    for command in ("run", "check-config", "read", "user", "token"):
        assert command in result.stdout


def run_in_terminal(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 20.0
                    ) -> tuple[int | None, str, float]:
    """Run a command with a pseudo-terminal as stdin/stdout/stderr (as a person at a shell).

    Returns (exit status or None if it was still running at ``timeout``, output, seconds).
    A command that asks a question waits for an answer that never comes: status None.
    """
    master, slave = os.openpty()
    started = time.monotonic()
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd)
    os.close(slave)
    output = b""
    try:
        while time.monotonic() - started < timeout:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk and proc.poll() is not None:
                    break
                output += chunk
            elif proc.poll() is not None:
                break
    finally:
        status = proc.poll()
        if status is None:
            proc.kill()
        proc.wait(5)
        os.close(master)
    return status, output.decode(errors="replace"), time.monotonic() - started


def pi_env(tmp_path: Path, **world: object) -> dict[str, str]:
    """The environment of a process that sees the fake Blinka stack on a fake Pi 4B."""
    script = tmp_path / "hw.json"
    script.write_text(json.dumps(world))
    env = {k: v for k, v in os.environ.items() if k != "BLINKA_SKIP_DEPENDENCY_CHECK"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests" / "fakes"), str(ROOT)])
    env["FAKEHW_SCRIPT"] = str(script)
    return env


DHT_ON_4 = [{"id": "porch", "room": "a", "driver": "dht22", "interval": 2, "pin": 4}]


def test_the_terminal_harness_sees_blinka_asking(tmp_path: Path) -> None:
    # the fake Blinka asks from a terminal exactly as the real one does: a command that
    # let it ask would hang here, so the tests below can tell
    status, output, _ = run_in_terminal([sys.executable, "-c", "import board"],
                                        pi_env(tmp_path, board="RASPBERRY_PI_4B"), tmp_path,
                                        timeout=3.0)
    assert status is None
    assert "Install them into the current Python environment? [Y/n]" in output


def test_read_on_a_pi_without_a_gpio_chip_answers_at_once_naming_the_cause(
        tmp_path: Path) -> None:
    config = write_config(tmp_path, sensors=DHT_ON_4)
    env = pi_env(tmp_path, board="RASPBERRY_PI_4B", chips={})
    status, output, seconds = run_in_terminal(
        [sys.executable, "-m", "sensorhub", "read", "-c", str(config)], env, tmp_path)
    assert status == 1, output
    assert seconds < 10
    assert "Install them" not in output and "[Y/n]" not in output
    assert "porch: FAILED: unavailable: cannot open dht22 sensor: no usable GPIO chip: " \
           "No Raspberry Pi header GPIO controller exposes GPIO 4" in output
    assert "Traceback" not in output


def test_read_on_a_pi_without_the_gpiod_module_says_so(tmp_path: Path) -> None:
    config = write_config(tmp_path, sensors=DHT_ON_4)
    env = pi_env(tmp_path, board="RASPBERRY_PI_5", installed=["sysv_ipc"])
    status, output, seconds = run_in_terminal(
        [sys.executable, "-m", "sensorhub", "read", "-c", str(config)], env, tmp_path)
    assert status == 1 and seconds < 10, output
    assert "[Y/n]" not in output
    assert "needs the gpiod Python module" in output and "gpiod>=2.2.2,<3" in output
    assert "not a supported board" not in output
