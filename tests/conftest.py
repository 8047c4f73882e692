"""Shared fixtures: config files, and the real server started as a subprocess on loopback.

The server under test is the real ``python -m sensorhub run`` process, listening on
127.0.0.1 with a real SQLite file; clients are real python-socketio / HTTP clients.
Integration fixtures run once per async mode (eventlet, threading); set
SENSORHUB_TEST_ASYNC_MODES=threading to run one.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from sensorhub.storage.users import Users
from tests.fakes.fixtures import fake_hardware, fake_sysfs, no_hardware  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
FAKES = Path(__file__).resolve().parent / "fakes"
ASYNC_MODES = [m for m in os.environ.get("SENSORHUB_TEST_ASYNC_MODES",
                                         "eventlet,threading").split(",") if m]
PASSWORD = "correct horse battery"


def screenshot_folder() -> Path:
    """Where the browser tests save screenshots: $SENSORHUB_SCREENSHOTS, or a new folder
    in the temp dir, chosen once per run here (this conftest is loaded before
    pytest-xdist starts its workers, and they inherit the variable)."""
    os.environ.setdefault("SENSORHUB_SCREENSHOTS", str(
        Path(tempfile.gettempdir()) / "sensorhub-screenshots" / time.strftime("%Y%m%d-%H%M%S")))
    return Path(os.environ["SENSORHUB_SCREENSHOTS"])


def pytest_configure(config: pytest.Config) -> None:
    """Choose the screenshot folder before any worker starts."""
    screenshot_folder()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where the screenshots are (every worker's), so someone looks at them."""
    shots = screenshot_folder()
    taken = list(shots.glob("*.png")) if shots.is_dir() else []
    if taken:
        terminalreporter.write_sep("-", f"{len(taken)} screenshots of the dashboard in {shots}")

DEFAULT_ROOMS = [{"id": "a", "name": "Room A"}, {"id": "b", "name": "Room B"}]
DEFAULT_SENSORS = [
    {"id": "a1", "name": "A one", "room": "a", "driver": "mock", "interval": 0.2,
     "options": {"seed": 1}},
    {"id": "b1", "name": "B one", "room": "b", "driver": "mock", "interval": 0.2,
     "options": {"seed": 2}},
]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy (bounded); fail saying ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s: {what}")


def write_config(directory: Path, *, rooms: list[dict[str, Any]] | None = None,
                 sensors: list[dict[str, Any]] | None = None, async_mode: str = "threading",
                 port: int = 5000, storage: dict[str, Any] | None = None,
                 server: dict[str, Any] | None = None,
                 extra: dict[str, Any] | None = None) -> Path:
    """Write a config.yaml for a test and return its path (``server``: more server keys)."""
    data: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": port, "async_mode": async_mode,
                   **(server or {})},
        "storage": {"path": "data/test.db", "retention_days": 30, "flush_interval": 0.5,
                    **(storage or {})},
        "rooms": rooms if rooms is not None else DEFAULT_ROOMS,
        "sensors": sensors if sensors is not None else DEFAULT_SENSORS,
        **(extra or {}),
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class LiveServer:
    """A running ``sensorhub run`` process."""

    url: str
    port: int
    async_mode: str
    config_path: Path
    db_path: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    _users: Users | None = field(default=None, repr=False)

    @property
    def users(self) -> Users:
        """User management on the server's database (a separate connection)."""
        if self._users is None:
            def connect() -> sqlite3.Connection:
                conn = sqlite3.connect(self.db_path, timeout=5, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                return conn
            self._users = Users(connect)
        return self._users

    def add_user(self, name: str, *, rooms: tuple[str, ...] = (), admin: bool = False) -> str:
        """Create a user with the standard test password."""
        self.users.add(name, PASSWORD, admin=admin, rooms=frozenset(rooms))
        return name

    def token(self, name: str) -> str:
        """A new API token for a user."""
        return self.users.create_token(name)[1]

    def log(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(errors="replace")

    def login(self, name: str, password: str = PASSWORD) -> requests.Session:
        """An HTTP session logged in through the real form."""
        session = requests.Session()
        page = session.get(self.url + "/login", timeout=5)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, "login form has no CSRF token"
        answer = session.post(self.url + "/login", timeout=10, allow_redirects=False, data={
            "username": name, "password": password, "csrf_token": token.group(1)})
        assert answer.status_code == 302, answer.text
        return session

    def cookie_header(self, session: requests.Session) -> dict[str, str]:
        """The Cookie header a socket client needs to share an HTTP login."""
        return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in session.cookies)}

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Signal the process and wait for it; return its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def start_server(directory: Path, async_mode: str, *, fakes: bool = False,
                 env: dict[str, str] | None = None, **config: Any) -> LiveServer:
    """Start ``python -m sensorhub run`` on a free loopback port and wait until it answers."""
    port = free_port()
    config_path = write_config(directory, async_mode=async_mode, port=port, **config)
    return _launch(directory, async_mode, port, config_path, fakes=fakes, env=env)


def restart_server(server: LiveServer, *, fakes: bool = False) -> LiveServer:
    """Start a stopped server again: the same config, port and database."""
    assert server.proc.poll() is not None, "stop it first"
    directory = server.config_path.parent
    return _launch(directory, server.async_mode, server.port, server.config_path, fakes=fakes)


def _launch(directory: Path, async_mode: str, port: int, config_path: Path, *,
            fakes: bool = False, env: dict[str, str] | None = None) -> LiveServer:
    log_path = directory / f"server-{port}-{time.monotonic_ns()}.log"
    inherited = {k: v for k, v in os.environ.items()
                 if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    child_env = {**inherited, "PYTHONUNBUFFERED": "1", **(env or {})}
    path = [str(ROOT)] + ([str(FAKES)] if fakes else [])
    child_env["PYTHONPATH"] = os.pathsep.join([*path, child_env.get("PYTHONPATH", "")])
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "sensorhub", "run", "-c",
                                 str(config_path)], stdout=log, stderr=subprocess.STDOUT,
                                env=child_env, cwd=directory)
    url = f"http://127.0.0.1:{port}"
    server = LiveServer(url, port, async_mode, config_path, directory / "data" / "test.db",
                        log_path, proc)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{server.log()}")
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return server
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"server did not answer within 20 s:\n{server.log()}")


@pytest.fixture(params=ASYNC_MODES)
def async_mode(request: pytest.FixtureRequest) -> str:
    """Each integration test runs once per async mode."""
    return request.param


@pytest.fixture
def server_factory(tmp_path: Path, async_mode: str) -> Iterator[Callable[..., LiveServer]]:
    """Start servers (with custom config) that are stopped after the test."""
    started: list[LiveServer] = []

    def make(**config: Any) -> LiveServer:
        directory = tmp_path / f"srv{len(started)}"
        directory.mkdir()
        server = start_server(directory, async_mode, **config)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="module", params=ASYNC_MODES)
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[LiveServer]:
    """One shared server per module and async mode, default config (rooms a and b)."""
    server = start_server(tmp_path_factory.mktemp("live"), request.param)
    server.add_user("alice", rooms=("a",))
    server.add_user("bob", rooms=("b",))
    server.add_user("root", admin=True)
    yield server
    status = server.stop()
    assert status == 0, f"server exited with {status}:\n{server.log()}"
