"""The sensorhub command: read, user and token management."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, write_config


def cli(*args: str, stdin: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sensorhub", *args], input=stdin,
                          capture_output=True, text=True, cwd=cwd, check=False, timeout=60)


def test_read_takes_one_reading_per_sensor(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = cli("read", "-c", str(config))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["a1", "b1"]
    assert all("°C" in line and "%RH" in line for line in lines)


def test_read_reports_each_failure_clearly(tmp_path: Path) -> None:
    config = write_config(tmp_path, sensors=[
        {"id": "ok", "room": "a", "driver": "mock", "interval": 1},
        {"id": "porch", "room": "a", "driver": "dht22", "interval": 2, "pin": 4}])
    result = cli("read", "-c", str(config))
    assert result.returncode == 1
    assert result.stdout.startswith("ok: ")
    assert "porch: FAILED: " in result.stderr and "cannot open dht22 sensor:" in result.stderr
    # says how to fix it: no adafruit_dht here, or (with it) no such pin on this board
    assert "sensorhub[pi]" in result.stderr or "this board has no GPIO 4" in result.stderr
    assert result.stderr.count("porch") == 1, "one clear line per failure, no log noise"
    assert cli("read", "nope", "-c", str(config)).returncode == 2


def test_user_and_token_lifecycle(tmp_path: Path) -> None:
    config = str(write_config(tmp_path))
    assert cli("user", "add", "alice", "--rooms", "a", "--password-stdin", "-c", config,
               stdin="long-enough-pw\n").returncode == 0
    assert cli("user", "add", "root", "--admin", "--password-stdin", "-c", config,
               stdin="long-enough-pw\n").returncode == 0
    refused = cli("user", "add", "eve", "--rooms", "attic", "--password-stdin", "-c", config,
                  stdin="long-enough-pw\n")
    assert refused.returncode == 1 and "unknown room(s) attic" in refused.stderr
    assert cli("user", "list", "-c", config).stdout.splitlines() == ["alice\ta", "root\tadmin"]
    created = cli("token", "create", "alice", "--label", "kiosk", "-c", config)
    token = created.stdout.strip()
    assert created.returncode == 0 and token.startswith("shb_") and "shown once" in created.stderr
    listed = cli("token", "list", "-c", config).stdout
    assert "alice\tkiosk" in listed and token not in listed
    token_id = listed.split("\t")[0]
    assert cli("token", "revoke", token_id, "-c", config).returncode == 0
    assert cli("token", "list", "-c", config).stdout == ""
    assert cli("user", "passwd", "alice", "--password-stdin", "-c", config,
               stdin="another-long-pw\n").returncode == 0
    assert cli("user", "remove", "alice", "-c", config).returncode == 0
    gone = cli("user", "remove", "alice", "-c", config)
    assert gone.returncode == 1 and "no user 'alice'" in gone.stderr


def test_python_dash_m_is_the_same_command() -> None:
    result = cli("--help")
    assert result.returncode == 0
    for command in ("run", "check-config", "read", "user", "token"):
        assert command in result.stdout
