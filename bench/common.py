"""Shared by the benchmarks: servers on loopback, users and tokens, /proc sampling, JSON.

Every benchmark compares sensorhub against ``bench/reference_app.py`` (a bare
Flask-SocketIO app) started by the same run on the same machine, so the figures that
matter are ratios, which survive a busy machine better than absolute numbers. Only
127.0.0.1 is ever used; every wait has a deadline.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PYTHON = sys.executable
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024
LISTENING = "sensorhub listening on"
#: Every simulated client of a benchmark connects from 127.0.0.1: lift the limits per
#: client address (and per user) that would otherwise cap one load generator. The
#: limits cost the same whatever their values (docs/configuration.md#limits).
LOAD_GENERATOR_LIMITS = {"max_connections": 2000, "max_connections_per_client": 2000,
                         "history_limit": 1_000_000, "history_limit_per_user": 1_000_000}

if str(ROOT) not in sys.path:  # `python bench/x.py` from anywhere
    sys.path.insert(0, str(ROOT))


# -- numbers ---------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: Sequence[float | None]) -> float | None:
    """The median of the values that are not None."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def spread(values: Sequence[float | None]) -> dict[str, float | None]:
    """Median, min and max: how noisy repeated measurements were."""
    present = [v for v in values if v is not None]
    if not present:
        return {"median": None, "min": None, "max": None}
    return {"median": rnd(statistics.median(present)), "min": rnd(min(present)),
            "max": rnd(max(present))}


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing or b is zero."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def rnd(value: Any, digits: int = 3) -> Any:
    """Round floats (recursively) for a readable summary."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rnd(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rnd(v, digits) for v in value]
    return value


# -- /proc -------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (threads included)."""
    with open(f"/proc/{pid}/stat") as handle:
        stat = handle.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def status_mib(pid: int, key: str = "VmRSS") -> float:
    """A memory figure of /proc/<pid>/status (VmRSS, VmHWM, ...) in MiB."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(key)


def rss_mib(pid: int) -> float:
    """Resident set size now, in MiB."""
    return status_mib(pid, "VmRSS")


class Sampler:
    """Samples a process's RSS in a thread; CPU is read at start and stop."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.pid = pid
        self.every = every
        self.rss: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.cpu0 = self.cpu1 = 0.0
        self.t0 = self.t1 = 0.0

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.rss.append(rss_mib(self.pid))
            except (OSError, KeyError):
                return

    def start(self) -> Sampler:
        """Begin the window."""
        self.t0, self.cpu0 = time.monotonic(), cpu_seconds(self.pid)
        self.rss.append(rss_mib(self.pid))
        self._thread.start()
        return self

    def stop(self) -> dict[str, float | None]:
        """End the window; CPU seconds, CPU % of one core, RSS median and max."""
        self.t1, self.cpu1 = time.monotonic(), cpu_seconds(self.pid)
        self.rss.append(rss_mib(self.pid))
        self._stop.set()
        self._thread.join(2)
        cpu = self.cpu1 - self.cpu0
        return {"cpu_s": cpu, "wall_s": self.t1 - self.t0,
                "cpu_pct": 100 * cpu / max(1e-9, self.t1 - self.t0),
                "rss_mib": median(self.rss), "rss_max_mib": max(self.rss)}


# -- servers ----------------------------------------------------------------------------
def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def mock_sensors(rooms: Sequence[str], per_room: int, interval: float) -> list[dict[str, Any]]:
    """Fault-free mock sensors, ``per_room`` in each room, all on the same schedule."""
    return [{"id": f"{room}{i + 1}", "name": f"{room} {i + 1}", "room": room, "driver": "mock",
             "interval": interval, "options": {"seed": n, "profile": "lab"}}
            for n, (room, i) in enumerate((r, i) for r in rooms for i in range(per_room))]


@dataclass
class Server:
    """A server process under test (sensorhub or the reference app)."""

    kind: str  # "sensorhub" | "reference"
    async_mode: str
    proc: subprocess.Popen[bytes]
    port: int
    directory: Path
    log_path: Path
    started: float  # time.monotonic() just before the process was started
    listening_s: float | None = None  # start -> "listening" in its log (sensorhub)
    answering_s: float | None = None  # start -> first HTTP answer from /healthz
    db_path: Path | None = None
    sensors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Base URL on loopback."""
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def log(self) -> str:
        """What the server printed."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def _wait_ready(server: Server, timeout: float, marker: str | None) -> Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.kind} exited with {server.proc.returncode}:\n"
                               f"{server.log()[-3000:]}")
        if marker and server.listening_s is None and marker in server.log():
            server.listening_s = time.monotonic() - server.started
        try:
            with urlopen(server.url + "/healthz", timeout=1) as answer:
                if answer.status == 200:
                    server.answering_s = time.monotonic() - server.started
                    if marker and server.listening_s is None and marker in server.log():
                        server.listening_s = server.answering_s
                    return server
        except (URLError, OSError):
            pass
        time.sleep(0.01)
    server.stop(1)
    raise RuntimeError(f"{server.kind} did not answer within {timeout} s:\n"
                       f"{server.log()[-3000:]}")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a server: the repo on the path, no systemd variables."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def start_sensorhub(directory: Path, async_mode: str, *, rooms: Sequence[str] = ("a", "b"),
                    sensors: list[dict[str, Any]] | None = None, flush_interval: float = 5.0,
                    public: bool = False, prepare: Any = None, timeout: float = 30.0,
                    log_level: str = "INFO", port: int | None = None,
                    storage: dict[str, Any] | None = None) -> Server:
    """Write a config and start ``python -m sensorhub run`` on a free loopback port.

    ``prepare(db_path)`` runs before the server starts (to add users or history);
    ``storage`` overrides keys of the storage section (retention, for one).
    Start-up is timed to the "listening" log line (INFO) and to the first answer.
    """
    import yaml

    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    sensors = sensors if sensors is not None else mock_sensors(rooms, 1, 2.0)
    config = {
        "server": {"host": HOST, "port": port, "async_mode": async_mode,
                   **LOAD_GENERATOR_LIMITS},
        "storage": {"path": "data/bench.db", "retention_days": 400,
                    "flush_interval": flush_interval, **(storage or {})},
        "rooms": [{"id": r, "name": f"Room {r}", **({"public": True} if public else {})}
                  for r in rooms],
        "sensors": sensors,
    }
    config_path = directory / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    db_path = directory / "data" / "bench.db"
    db_path.parent.mkdir(exist_ok=True)
    if prepare is not None:
        prepare(db_path)
    log_path = directory / f"sensorhub-{port}.log"
    with open(log_path, "wb") as log:
        started = time.monotonic()
        proc = subprocess.Popen(
            [PYTHON, "-m", "sensorhub", "run", "-c", str(config_path), "--log-level",
             log_level], stdout=log, stderr=subprocess.STDOUT, env=child_env(),
            cwd=directory)
    server = Server("sensorhub", async_mode, proc, port, directory, log_path, started,
                    db_path=db_path, sensors=sensors)
    return _wait_ready(server, timeout, LISTENING if log_level in ("INFO", "DEBUG") else None)


def start_reference(directory: Path, async_mode: str, *, rooms: Sequence[str] = ("a", "b"),
                    per_room: int = 1, interval: float = 0.1, spread: bool = False,
                    timeout: float = 30.0) -> Server:
    """Start ``bench/reference_app.py`` on a free loopback port (``spread``: see there)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = directory / f"reference-{port}.log"
    with open(log_path, "wb") as log:
        started = time.monotonic()
        proc = subprocess.Popen(
            [PYTHON, str(BENCH / "reference_app.py"), "--port", str(port), "--async-mode",
             async_mode, "--rooms", ",".join(rooms), "--per-room", str(per_room),
             "--interval", str(interval), *(["--spread"] if spread else [])],
            stdout=log, stderr=subprocess.STDOUT, env=child_env(), cwd=directory)
    server = Server("reference", async_mode, proc, port, directory, log_path, started,
                    sensors=mock_sensors(rooms, per_room, interval))
    return _wait_ready(server, timeout, "reference listening")


def _connect_db(db_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path, timeout=10, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def _users(db_path: Path) -> Any:
    """Users of a sensorhub database, made with the product's own schema if new."""
    from sensorhub.storage.store import Store
    from sensorhub.storage.users import Users

    Store(db_path).close()
    return Users(lambda: _connect_db(db_path))


def make_tokens(db_path: Path, rooms: Sequence[str], per_room: int, *,
                together: bool = False) -> dict[str, list[str]]:
    """One user per room and ``per_room`` API tokens for each: room -> tokens.

    ``together``: one user who may see every room instead, under the key
    ``",".join(rooms)``.
    """
    users = _users(db_path)
    tokens: dict[str, list[str]] = {}
    for group in [list(rooms)] if together else [[room] for room in rooms]:
        key = ",".join(group)
        name = "bench-" + key.replace(",", "-")
        if users.get(name) is None:
            users.add(name, "bench password " + key, rooms=frozenset(group))
        tokens[key] = [users.create_token(name, "bench")[1] for _ in range(per_room)]
    return tokens


def admin_token(db_path: Path) -> str:
    """An API token of an admin user (made if needed)."""
    users = _users(db_path)
    if users.get("bench-admin") is None:
        users.add("bench-admin", "bench admin password", admin=True)
    return users.create_token("bench-admin", "bench")[1]


@contextmanager
def workdir(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A scratch directory for servers and databases (removed unless ``keep``)."""
    path = Path(tempfile.mkdtemp(prefix=f"sensorhub-bench-{prefix}-"))
    try:
        yield path
    finally:
        if not keep:
            import shutil
            shutil.rmtree(path, ignore_errors=True)


# -- reporting --------------------------------------------------------------------------
def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith(("model name", "Model")):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as handle:
            mem = int(handle.readline().split()[1]) // 1024
    except OSError:
        mem = None
    return {
        "cpu": model, "cores": os.cpu_count(), "mem_mib": mem,
        "kernel": platform.release(), "arch": platform.machine(),
        "python": platform.python_version(),
        "load_avg_at_start": list(os.getloadavg()),
        "versions": {p: _version(p) for p in (
            "flask", "flask-socketio", "python-socketio", "python-engineio", "eventlet",
            "simple-websocket", "aiohttp")},
    }


def emit_summary(name: str, summary: dict[str, Any], *, save: bool = True) -> None:
    """Print the JSON summary (the last line of stdout) and keep a copy in bench/results/."""
    summary = {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "argv": sys.argv[1:], "machine": machine(), **rnd(summary)}
    text = json.dumps(summary, separators=(",", ":"))
    if save:
        try:
            RESULTS.mkdir(exist_ok=True)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            (RESULTS / f"{name}-{stamp}.json").write_text(json.dumps(summary, indent=1))
        except OSError:
            pass
    print(text, flush=True)


def progress(message: str) -> None:
    """A line for the human on stderr (stdout carries only the JSON)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
