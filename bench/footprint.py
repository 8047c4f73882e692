"""Footprint: start-up time, RSS and CPU of ``sensorhub run`` against the bare reference.

sensorhub runs 8 mock sensors at 2 s in two rooms; the reference app emits the same
readings (4 per room every 2 s). For each async mode, ``--repeats`` times and in
alternating order, each server is started, left to settle, and measured over a
window with no clients; then with ``--clients`` websocket clients connected, on a
database holding ``--history-days`` of those 8 sensors (made once by
bench/history.py's generator, about 45 s for 30 days), after every sensor's history
has been asked for over HTTP at 30 d, 7 d, 24 h and 1 h, as dashboards opening do
(the reference answers the same requests from memory). Also measured: the RSS of a
process that only imports eventlet, Flask and Flask-SocketIO (the floor under
both), and which modules a sensorhub process loads (hardware libraries must not be
among them on a machine without sensors configured).

    python bench/footprint.py                # both modes, 3 repeats, 50 clients, 30 days
    python bench/footprint.py --modes eventlet --clients 200 --history-days 0
    python bench/footprint.py --smoke        # ~10 s, for CI
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    ROOT,
    Sampler,
    admin_token,
    child_env,
    emit_summary,
    mock_sensors,
    progress,
    ratio,
    rnd,
    spread,
    start_reference,
    start_sensorhub,
    workdir,
)
from bench.fanout import ROOMS, connect_clients, start_server
from bench.history import SPANS, generate

PER_ROOM, INTERVAL = 4, 2.0  # 8 sensors at 2 s

IMPORTS_ONLY = """
import os, sys
mode = sys.argv[1]
if mode == "eventlet":
    os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")
    import eventlet
    eventlet.monkey_patch()
import flask, flask_socketio
for line in open("/proc/self/status"):
    if line.startswith("VmRSS:"):
        print(int(line.split()[1]) / 1024)
"""

# What a `sensorhub run` process has imported once it serves (create_app + serve's imports)
MODULES_PROBE = """
import os, sys, json, warnings
os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import eventlet
eventlet.monkey_patch()
from sensorhub.config import load_config
from sensorhub.app import create_app
import sensorhub.service.serve, sensorhub.service.systemd
app, socketio = create_app(load_config(sys.argv[1]), poll=False)
print(json.dumps(sorted(sys.modules)))
"""
HARDWARE = ("adafruit_dht", "board", "RPi", "adafruit_blinka", "digitalio", "busio",
            "microcontroller", "pulseio", "lgpio", "drivers.dht")
RARE = ("prometheus_client", "csv", "urllib.request", "hypothesis", "pytest")
CLIENT_LIBS = ("aiohttp", "requests", "websocket", "urllib3")


def imports_only_rss(mode: str) -> float:
    """RSS (MiB) of a process that imports eventlet (if used), Flask and Flask-SocketIO."""
    out = subprocess.run([PYTHON, "-W", "ignore", "-c", IMPORTS_ONLY, mode], check=True,
                         capture_output=True, text=True, timeout=60, env=child_env())
    return float(out.stdout.split()[-1])


def loaded_modules(config_path: Path) -> dict[str, Any]:
    """Which notable modules a sensorhub process imports at start."""
    out = subprocess.run([PYTHON, "-c", MODULES_PROBE, str(config_path)], check=True,
                         capture_output=True, text=True, timeout=60, env=child_env(),
                         cwd=config_path.parent)
    names = json.loads(out.stdout.strip().splitlines()[-1])

    def present(prefixes: tuple[str, ...]) -> list[str]:
        return sorted(p for p in prefixes if any(m == p or m.startswith(p + ".")
                                                 for m in names))

    return {"modules": len(names), "hardware_loaded": present(HARDWARE),
            "rarely_used_loaded": present(RARE), "client_libraries_loaded": present(CLIENT_LIBS)}


def idle_run(kind: str, mode: str, args: argparse.Namespace, directory: Path
             ) -> dict[str, Any]:
    """Start one server, let it settle, measure CPU and RSS with no clients.

    sensorhub starts on a database that already has a user, as at every boot after
    the first (``--first-start``: on a new one, where it makes the admin's password
    hash, scrypt, before it listens).
    """
    if kind == "sensorhub":
        server = start_sensorhub(directory, mode, rooms=ROOMS,
                                 sensors=mock_sensors(ROOMS, PER_ROOM, INTERVAL),
                                 prepare=None if args.first_start else admin_token)
    else:
        server = start_reference(directory, mode, rooms=ROOMS, per_room=PER_ROOM,
                                 interval=INTERVAL)
    try:
        time.sleep(args.settle)
        usage = Sampler(server.pid).start()
        time.sleep(args.window)
        figures = usage.stop()
    finally:
        server.stop()
    return {"kind": kind, "mode": mode, "listening_s": server.listening_s,
            "answering_s": server.answering_s, "cpu_pct": figures["cpu_pct"],
            "rss_mib": figures["rss_mib"], "rss_max_mib": figures["rss_max_mib"]}


def ask_history(url: str, token: str, sensors: list[str]) -> dict[str, Any]:
    """Every sensor's history at every span once, over HTTP, as dashboards opening do."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    points = failed = 0
    for sensor in sensors:
        for span in SPANS.values():
            now = time.time()
            answer = session.get(f"{url}/api/history", timeout=60, params={
                "sensor": sensor, "since": now - span, "until": now, "max_points": 1000})
            if answer.ok:
                points += len(answer.json()["points"])
            else:
                failed += 1
    session.close()
    return {"history_requests": len(sensors) * len(SPANS), "history_points": points,
            "history_failed": failed}


def clients_run(kind: str, mode: str, n: int, args: argparse.Namespace, directory: Path,
                history_db: Path | None) -> dict[str, Any]:
    """The same with n websocket clients connected (and receiving) during the window.

    sensorhub starts on a copy of ``history_db`` (if any); both servers are asked for
    every sensor's history before the window.
    """
    tokens: list[str] = []

    def prepare(db_path: Path) -> None:
        if history_db is not None:
            shutil.copy(history_db, db_path)
        tokens.append(admin_token(db_path))

    server, clients = start_server(kind, mode, n, directory, per_room=PER_ROOM,
                                   interval=INTERVAL, prepare=prepare)
    workers: list[Any] = []
    result: dict[str, Any] = {"kind": kind, "mode": mode, "clients": n}
    try:
        workers, ready = connect_clients(server, clients, drain=0.5, deflate=args.deflate)
        result["connected"] = ready["connected"]
        if history_db is not None:
            result.update(ask_history(server.url, tokens[0] if tokens else "",
                                      [s["id"] for s in server.sensors]))
        time.sleep(args.settle)
        t0 = time.time()
        for w in workers:
            w.send({"t0": t0, "t1": t0 + args.window})
        usage = Sampler(server.pid).start()
        time.sleep(args.window)
        figures = usage.stop()
        answers = [w.read(30 + n / 10) for w in workers]
        result["delivered"] = sum(sum(a.get("delivered", [])) for a in answers)
    finally:
        for w in workers:
            w.close()
        server.stop()
    result.update({"cpu_pct": figures["cpu_pct"], "rss_mib": figures["rss_mib"],
                   "rss_max_mib": figures["rss_max_mib"]})
    return result


def main(argv: list[str] | None = None) -> int:
    """Measure and print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="eventlet,threading")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--settle", type=float, default=4.0, help="seconds before measuring")
    parser.add_argument("--window", type=float, default=8.0, help="seconds measured")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--deflate", action="store_true",
                        help="clients offer permessage-deflate, as browsers do")
    parser.add_argument("--first-start", action="store_true",
                        help="idle runs start sensorhub on a new database (it makes a user)")
    parser.add_argument("--history-days", type=float, default=30.0,
                        help="days of history in sensorhub's database for the client runs")
    parser.add_argument("--client-repeats", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="one short run (CI)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.modes, args.repeats, args.client_repeats = "eventlet", 1, 1
        args.settle, args.window, args.clients, args.history_days = 0.3, 0.7, 2, 0.02
    modes = [m for m in args.modes.split(",") if m]
    started = time.monotonic()
    runs: list[dict[str, Any]] = []
    floor: dict[str, list[float]] = {}
    with workdir("footprint") as scratch:
        history_db = None
        if args.history_days > 0:
            history_db = scratch / "history.db"
            progress(f"footprint: generating {args.history_days:g} days of history")
            generate(history_db, [s["id"] for s in mock_sensors(ROOMS, PER_ROOM, INTERVAL)],
                     args.history_days, INTERVAL)
        for mode in modes:
            for rep in range(args.repeats):
                floor.setdefault(mode, []).append(imports_only_rss(mode))
                for kind in (("reference", "sensorhub") if rep % 2 == 0
                             else ("sensorhub", "reference")):
                    run = idle_run(kind, mode, args, scratch / f"idle-{mode}-{rep}-{kind}")
                    run["repeat"] = rep
                    runs.append(run)
                    progress(f"footprint idle {mode} #{rep} {kind}: {json.dumps(rnd(run, 2))}")
            for rep in range(args.client_repeats):
                for kind in ("sensorhub",) if args.smoke else ("reference", "sensorhub"):
                    run = clients_run(kind, mode, args.clients, args,
                                      scratch / f"clients-{mode}-{rep}-{kind}", history_db)
                    run["repeat"] = rep
                    runs.append(run)
                    progress(f"footprint {args.clients} clients {mode} #{rep} {kind}: "
                             f"{json.dumps(rnd(run, 2))}")
        config = scratch / "modules" / "config.yaml"
        start_probe = scratch / "modules"
        start_probe.mkdir()
        import yaml
        config.write_text(yaml.safe_dump({
            "storage": {"path": "data/probe.db"},
            "rooms": [{"id": r, "name": r} for r in ROOMS],
            "sensors": mock_sensors(ROOMS, PER_ROOM, INTERVAL)}))
        modules = loaded_modules(config)
    results = []
    for mode in modes:
        idle = [r for r in runs if r["mode"] == mode and "clients" not in r]
        loaded = [r for r in runs if r["mode"] == mode and "clients" in r]
        row: dict[str, Any] = {"mode": mode, "imports_only_rss_mib": spread(floor[mode])}
        for kind in ("sensorhub", "reference"):
            mine = [r for r in idle if r["kind"] == kind]
            row[kind] = {
                "idle_rss_mib": spread([r["rss_mib"] for r in mine]),
                "idle_cpu_pct": spread([r["cpu_pct"] for r in mine]),
                "start_to_listening_s": spread([r["listening_s"] for r in mine]),
                "start_to_first_answer_s": spread([r["answering_s"] for r in mine]),
                f"rss_with_{args.clients}_clients_mib": spread(
                    [r["rss_mib"] for r in loaded if r["kind"] == kind]),
                f"rss_max_with_{args.clients}_clients_mib": spread(
                    [r["rss_max_mib"] for r in loaded if r["kind"] == kind]),
                f"cpu_pct_with_{args.clients}_clients": spread(
                    [r["cpu_pct"] for r in loaded if r["kind"] == kind]),
            }
        pairs: dict[int, dict[str, Any]] = {}
        for r in idle:
            pairs.setdefault(r["repeat"], {})[r["kind"]] = r
        row["idle_rss_ratio_sensorhub_to_reference"] = spread(
            [ratio(p["sensorhub"]["rss_mib"], p["reference"]["rss_mib"])
             for p in pairs.values() if len(p) == 2])
        results.append(row)
    emit_summary("footprint", save=not args.smoke, summary={
        "scenario": {"sensors": 2 * PER_ROOM, "interval_s": INTERVAL, "settle_s": args.settle,
                     "window_s": args.window, "repeats": args.repeats,
                     "clients": args.clients, "history_days": args.history_days,
                     "deflate": args.deflate, "first_start": args.first_start,
                     "repo": str(ROOT)},
        "results": results, "sensorhub_modules": modules, "runs": runs,
        "elapsed_s": time.monotonic() - started,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
