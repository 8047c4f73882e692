"""One instance per database, one server per port, each refusal in one clear line.

Two pollers on one database store every reading twice (and on a Pi fight over the
same GPIO line); two servers on one port (SO_REUSEPORT) split the clients between
them without a word. A refused start must say why in one line and exit non-zero.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import ROOT, free_port, start_server, write_config


def refused(config: Path, *args: str, wait: float = 20.0) -> list[str]:
    """Start ``sensorhub run`` that must give up; return its non-empty output lines."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sensorhub", "run", "-c", str(config),
                             *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, cwd=config.parent)
    try:
        out, _ = proc.communicate(timeout=wait)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
        raise AssertionError("the second server started:\n" + out.decode(errors="replace")
                             ) from None
    lines = [line for line in out.decode(errors="replace").splitlines() if line.strip()]
    assert proc.returncode != 0, lines
    assert "Traceback" not in "\n".join(lines), "\n".join(lines)
    return lines


def test_second_instance_on_one_database_refuses(tmp_path: Path, async_mode: str) -> None:
    first = start_server(tmp_path, async_mode)
    try:
        lines = refused(first.config_path, "--port", str(free_port()))
        assert len(lines) == 1 and f"PID {first.proc.pid}" in lines[0], lines
        assert requests.get(first.url + "/healthz", timeout=10).status_code == 200
    finally:
        assert first.stop() == 0, first.log()
    # the lock goes with the process: a new start on that database works
    again = start_server(tmp_path, async_mode)
    assert again.stop() == 0, again.log()


def test_port_taken_by_another_program(tmp_path: Path, async_mode: str) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        lines = refused(write_config(tmp_path, async_mode=async_mode, port=port))
    assert len(lines) == 1 and "--port" in lines[0] and str(port) in lines[0], lines


def test_two_servers_never_share_a_port(tmp_path: Path, async_mode: str) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = start_server(tmp_path / "one", async_mode)
    try:
        config = write_config(tmp_path / "two", async_mode=async_mode, port=first.port)
        started = time.monotonic()
        lines = refused(config)
        assert len(lines) == 1 and "--port" in lines[0], lines
        assert time.monotonic() - started < 15
        assert requests.get(first.url + "/healthz", timeout=10).status_code == 200
    finally:
        assert first.stop() == 0, first.log()
