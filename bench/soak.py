"""Soak test: the real server, 8 mock sensors and 50 Socket.IO clients for a long time.

Starts ``python -m sensorhub run`` on a free loopback port in a temporary directory,
connects the clients (each with an API token; some see every room, some one room),
lets readings flow for ``--minutes`` (default 30, at most 360), then stops the server
with SIGTERM and reports:

- the server's RSS (VmRSS), threads and open files over time, and the RSS slope in
  MiB per hour: a least-squares line through the samples of the second half (the
  first half is warm-up: caches and pools fill);
- readings stored vs produced: rows in the database up to each sensor's latest reading
  at the end against that reading's ``seq`` (``seq`` counts accepted readings one by
  one within a boot), checked after SIGTERM has flushed the last batch;
- messages delivered vs expected: for each client and sensor it may see, the distinct
  ``seq`` values received against the span of ``seq`` it was connected for.

Usage: ``python bench/soak.py --minutes 30 [--async-mode eventlet] [--json out.json]``.
Everything runs on 127.0.0.1; every loop is bounded in time, so it stops by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import LOAD_GENERATOR_LIMITS  # noqa: E402  (needs the path above)

MAX_MINUTES = 360.0
ROOMS = ("greenhouse", "cellar", "closet", "lab")
PROFILES = ("greenhouse", "cellar", "closet", "lab")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS (KiB), thread count and open file count of a process."""
    out = {"rss_kib": 0, "threads": 0, "fds": 0}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_kib"] = int(line.split()[1])
            elif line.startswith("Threads:"):
                out["threads"] = int(line.split()[1])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return out


def write_config(directory: Path, port: int, async_mode: str, sensors: int,
                 interval: float, flush_interval: float) -> Path:
    """A config with ``sensors`` mock sensors spread over four rooms."""
    import yaml

    config = {
        "server": {"host": "127.0.0.1", "port": port, "async_mode": async_mode,
                   **LOAD_GENERATOR_LIMITS},
        "storage": {"path": "data/soak.db", "flush_interval": flush_interval},
        "rooms": [{"id": r, "name": r.title()} for r in ROOMS],
        "sensors": [{
            "id": f"s{i}", "name": f"Sensor {i}", "room": ROOMS[i % len(ROOMS)],
            "driver": "mock", "interval": interval,
            # a realistic DHT22: a few failed reads and the odd spike
            "options": {"seed": i + 1, "profile": PROFILES[i % len(PROFILES)],
                        "fault_rate": 0.03, "spike_rate": 0.005},
        } for i in range(sensors)],
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class Client:
    """One dashboard: a socket client that records the ``seq`` of every reading."""

    def __init__(self, url: str, token: str, index: int) -> None:
        import socketio

        self.url, self.token, self.index = url, token, index
        self.client = socketio.Client(reconnection=False)
        self.seqs: dict[str, set[int]] = {}
        self.first: dict[str, int] = {}
        self.lock = threading.Lock()
        self.errors: list[str] = []
        self.boot: str | None = None
        self.snapshot = threading.Event()
        self.client.on("reading", self._reading)
        self.client.on("snapshot", self._snapshot)

    def _snapshot(self, data: dict[str, Any]) -> None:
        self.boot = data.get("boot")
        self.snapshot.set()

    def _reading(self, data: dict[str, Any]) -> None:
        with self.lock:
            sensor, seq = data["sensor"], data["seq"]
            self.seqs.setdefault(sensor, set()).add(seq)
            self.first.setdefault(sensor, seq)

    def connect(self) -> None:
        """Connect and wait for the snapshot."""
        self.client.connect(self.url, auth={"token": self.token}, transports=["websocket"],
                            wait_timeout=15)
        if not self.snapshot.wait(15):
            self.errors.append("no snapshot")

    def history(self, sensor: str) -> None:
        """Ask for the last 5 minutes, as a dashboard does now and then."""
        try:
            answer = self.client.call("history", {"sensor": sensor, "since": time.time() - 300,
                                                  "max_points": 500}, timeout=30)
        except Exception as error:
            self.errors.append(f"history: {error!r}")
            return
        if not isinstance(answer, dict) or "points" not in answer:
            self.errors.append(f"history answer: {answer!r}"[:200])


def slope_mib_per_hour(samples: list[dict[str, Any]]) -> float | None:
    """Least-squares slope of RSS over the second half of the samples, in MiB/h."""
    half = samples[len(samples) // 2:]
    if len(half) < 2:
        return None
    ts = [s["t"] / 3600 for s in half]
    rss = [s["rss_kib"] / 1024 for s in half]
    t_mean, r_mean = sum(ts) / len(ts), sum(rss) / len(rss)
    spread = sum((t - t_mean) ** 2 for t in ts)
    if spread == 0:
        return None
    return sum((t - t_mean) * (r - r_mean) for t, r in zip(ts, rss, strict=True)) / spread


def make_tokens(db: Path, clients: int) -> list[tuple[str, list[str]]]:
    """Users and tokens straight in the server's database; (token, rooms) per client."""
    from sensorhub.storage.users import Users

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(db, timeout=10, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    users = Users(connect)
    users.add("soak-admin", "soak password 1234", admin=True)
    for room in ROOMS:
        users.add(f"soak-{room}", "soak password 1234", rooms=frozenset({room}))
    out = []
    for i in range(clients):
        if i % 2 == 0:
            out.append((users.create_token("soak-admin")[1], list(ROOMS)))
        else:
            room = ROOMS[(i // 2) % len(ROOMS)]
            out.append((users.create_token(f"soak-{room}")[1], [room]))
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the soak; return the figures."""
    import requests

    minutes = min(max(args.minutes, 0.1), MAX_MINUTES)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="sensorhub-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = write_config(work, port, args.async_mode, args.sensors, args.interval,
                          args.flush_interval)
    log_path = work / "server.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for var in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        env.pop(var, None)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "sensorhub", "run", "-c", str(config)],
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work)
    url = f"http://127.0.0.1:{port}"
    sensor_rooms = {f"s{i}": ROOMS[i % len(ROOMS)] for i in range(args.sensors)}
    samples: list[dict[str, Any]] = []
    clients: list[Client] = []
    result: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        tokens = make_tokens(work / "data" / "soak.db", args.clients)
        idle = proc_status(proc.pid)
        for i, (token, _rooms) in enumerate(tokens):
            client = Client(url, token, i)
            client.connect()
            clients.append(client)
        rooms_of = {c.index: rooms for c, (_t, rooms) in zip(clients, tokens, strict=True)}
        start = time.monotonic()
        end = start + minutes * 60
        next_sample = start
        rng = random.Random(1)
        print(f"soak: {args.sensors} sensors, {len(clients)} clients, {minutes:g} min, "
              f"{args.async_mode} mode, pid {proc.pid}, dir {work}", flush=True)
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_sample:
                status = proc_status(proc.pid)
                health = {}
                with contextlib.suppress(requests.RequestException, ValueError):
                    # the storage figures are for a credential (tokens[0]: soak-admin)
                    health = requests.get(url + "/healthz", timeout=10, headers={
                        "Authorization": f"Bearer {tokens[0][0]}"}).json()
                sample = {"t": round(now - start), **status,
                          "clients": health.get("clients"),
                          "pending": health.get("storage", {}).get("pending"),
                          "write_error": health.get("storage", {}).get("write_error")}
                samples.append(sample)
                print(f"  t={sample['t']:>5} s  rss={status['rss_kib'] / 1024:6.1f} MiB  "
                      f"threads={status['threads']}  fds={status['fds']}  "
                      f"clients={sample['clients']}", flush=True)
                next_sample += args.sample_every
            if proc.poll() is not None:
                raise RuntimeError(f"server died: {log_path.read_text()[-2000:]}")
            # now and then a dashboard asks for history, as a browser does on load
            client = rng.choice(clients)
            client.history(rng.choice([s for s, r in sensor_rooms.items()
                                       if r in rooms_of[client.index]]))
            time.sleep(min(5.0, max(0.0, end - time.monotonic())))
        final = proc_status(proc.pid)
        # what the server says it accepted: each sensor's latest seq and its time
        admin_token = tokens[0][0]
        latest = {s["id"]: s["latest"] for s in requests.get(
            url + "/api/sensors", headers={"Authorization": f"Bearer {admin_token}"},
            timeout=30).json()["sensors"]}
        time.sleep(2.0)  # let the last pushes arrive
        boots = {c.boot for c in clients}
        connected = sum(c.client.connected for c in clients)
    finally:
        closers = [threading.Thread(target=c.client.disconnect) for c in clients]
        for t in closers:
            t.start()
        for t in closers:
            t.join(10)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    with contextlib.closing(sqlite3.connect(work / "data" / "soak.db")) as db:
        stored = {sensor: db.execute(
            "SELECT count(*) FROM readings r JOIN sensor_ids s ON s.id = r.sensor "
            "WHERE s.name = ? AND r.ts <= ?", (sensor, round(last["ts"] * 1000))).fetchone()[0]
            for sensor, last in latest.items() if last}
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    # seq counts accepted readings one by one, so the latest seq is how many were produced
    produced = {sensor: last["seq"] for sensor, last in latest.items() if last}
    delivered = expected = 0
    for client in clients:
        for sensor, seqs in client.seqs.items():
            delivered += len(seqs)
            expected += max(seqs) - client.first[sensor] + 1
    rss = [s["rss_kib"] for s in samples]
    result = {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "minutes": minutes, "async_mode": args.async_mode, "sensors": args.sensors,
        "clients": len(clients), "still_connected": connected, "boots_seen": len(boots),
        "exit_status": proc.returncode,
        "idle_before_clients": idle, "final": final,
        "rss_mib": {"first": rss[0] / 1024, "max": max(rss) / 1024, "last": rss[-1] / 1024,
                    "growth_second_half": (rss[-1] - rss[len(rss) // 2]) / 1024,
                    "slope_mib_per_hour_second_half": slope_mib_per_hour(samples)},
        "readings": {"produced": sum(produced.values()), "stored": sum(stored.values()),
                     "per_sensor": {s: [produced.get(s, 0), stored.get(s, 0)]
                                    for s in sorted(sensor_rooms)}},
        "messages": {"expected": expected, "delivered": delivered,
                     "missed": expected - delivered},
        "client_errors": sum(len(c.errors) for c in clients),
        "integrity_check": integrity,
        "samples": samples, "workdir": str(work),
        "server_errors": [line for line in log_path.read_text(errors="replace").splitlines()
                          if " ERROR " in line or "Traceback" in line][:20],
    }
    return result


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the summary; exit 1 if anything was lost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float,
                        default=float(os.environ.get("SENSORHUB_SOAK_MINUTES", 30)),
                        help=f"how long to run (default 30, at most {MAX_MINUTES:g})")
    parser.add_argument("--async-mode", choices=("eventlet", "threading"), default="eventlet")
    parser.add_argument("--sensors", type=int, default=8)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--interval", type=float, default=1.0, help="sensor interval, s")
    parser.add_argument("--flush-interval", type=float, default=5.0)
    parser.add_argument("--sample-every", type=float, default=60.0, help="RSS sample period, s")
    parser.add_argument("--workdir", help="keep the server's files here (default: a temp dir)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = run(args)
    summary = {k: v for k, v in result.items() if k not in ("samples",)}
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    lost = (result["readings"]["stored"] < result["readings"]["produced"]
            or result["messages"]["missed"] or result["client_errors"]
            or result["integrity_check"] != "ok" or result["exit_status"] != 0)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
