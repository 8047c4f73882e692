"""Fan-out: N websocket clients in two rooms, sensorhub against a bare Flask-SocketIO app.

For each async mode and client count N, the same scenario runs against sensorhub
(mock sensors, authenticated clients, one API token each) and against
``bench/reference_app.py`` (which emits the same readings the textbook way), in
alternating order, ``--repeats`` times. The clients are python-socketio AsyncClients
spread over two load-generator processes. Readings whose ``ts`` falls in a measurement
window count; for each run we report

- delivered / expected readings (expected: every reading of the room's sensors in the
  window, by ``seq``, times the room's clients),
- latency = client receive time - reading ``ts`` (p50, p99; same clock, loopback),
- server CPU (user + system, from /proc) per delivered reading, and server RSS,

and for each N the median over the repeats of every figure and of the ratios
sensorhub / reference. ``--take`` says how sensorhub's clients take readings: one
``reading`` event each, ``readings`` batches (one message a tick, docs/protocol.md),
or ``both`` (two sensorhub runs beside each reference run). ``--client-rooms all``
gives every client both rooms; ``--spread`` makes the reference emit a tick's
readings one at a time, evenly over the interval. ``--scenario dashboard`` is the
configuration of the performance issue: 8 sensors at 1 s in two rooms, every client
sees both (8 readings a second each), both kinds of sensorhub client, the reference
spread (one emit every 125 ms).

    python bench/fanout.py                       # N = 1, 50, 200, 500; both modes
    python bench/fanout.py --clients 200 --modes eventlet --repeats 5
    python bench/fanout.py --scenario dashboard --clients 200,500 --repeats 3
    python bench/fanout.py --smoke               # ~10 s, for CI
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    Sampler,
    cpu_seconds,
    emit_summary,
    make_tokens,
    mock_sensors,
    percentile,
    progress,
    ratio,
    rnd,
    spread,
    start_reference,
    start_sensorhub,
    workdir,
)

ROOMS = ("a", "b")
WORKERS = 2
KINDS = ("reference", "sensorhub", "sensorhub_batch")  # sensorhub_batch: `readings` clients
SCENARIOS = {  # presets; explicit options still win
    "dashboard": {"per_room": 4, "interval": 1.0, "client_rooms": "all", "spread": True,
                  "take": "both"},
}


# -- the load generator (a child process) -----------------------------------------------
async def _worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Connect the clients of ``spec``, then record readings inside the window."""
    import socketio

    window: list[float] = []  # [t0, t1] once the parent says go
    latencies: list[float] = []
    seqs: dict[str, list[int]] = {}  # sensor -> [min, max] seq seen in the window
    delivered = [0] * len(spec["clients"])
    messages = [0]
    late = [0]  # readings that arrived after the drain deadline

    def record(index: int, data: dict[str, Any], now: float) -> None:
        ts = data["ts"]
        if not window or not window[0] <= ts < window[1]:
            return
        if now > window[1] + spec["drain"]:
            late[0] += 1
            return
        delivered[index] += 1
        latencies.append(now - ts)
        span = seqs.get(data["sensor"])
        if span is None:
            seqs[data["sensor"]] = [data["seq"], data["seq"]]
        else:
            span[0] = min(span[0], data["seq"])
            span[1] = max(span[1], data["seq"])

    def in_window(data: dict[str, Any]) -> bool:
        return bool(window) and window[0] <= data["ts"] < window[1]

    def handlers(index: int) -> tuple[Any, Any]:
        def one(data: dict[str, Any]) -> None:
            messages[0] += in_window(data)
            record(index, data, time.time())

        def many(batch: list[dict[str, Any]]) -> None:
            messages[0] += any(in_window(data) for data in batch)
            now = time.time()
            for data in batch:
                record(index, data, now)

        return one, many

    clients: list[Any] = []
    limit = asyncio.Semaphore(20)
    failures: list[str] = []

    # a browser offers permessage-deflate and the server then compresses every frame
    # for each client (CPU, and a zlib state per connection): --deflate does the same
    extra = {"compress": 15} if spec.get("deflate") else {}

    async def connect(index: int, client_spec: dict[str, Any]) -> None:
        client = socketio.AsyncClient(reconnection=False, websocket_extra_options=extra)
        one, many = handlers(index)
        client.on("reading", one)
        client.on("readings", many)
        async with limit:
            try:
                await client.connect(spec["url"], auth=client_spec["auth"],
                                     transports=["websocket"], wait_timeout=20)
                clients.append(client)
            except Exception as error:  # counted and reported, never fatal
                failures.append(f"{type(error).__name__}: {error}")

    await asyncio.wait_for(asyncio.gather(*(
        connect(i, c) for i, c in enumerate(spec["clients"]))), spec["connect_timeout"])
    print(json.dumps({"ready": len(clients), "failed": failures[:3],
                      "n_failed": len(failures)}), flush=True)
    loop = asyncio.get_running_loop()
    line = await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline),
                                  spec["connect_timeout"] + 120)
    go = json.loads(line)
    window[:] = [go["t0"], go["t1"]]
    await asyncio.sleep(max(0.0, go["t1"] + spec["drain"] - time.time()))
    result = {"connected": len(clients), "n_failed": len(failures), "delivered": delivered,
              "messages": messages[0], "late": late[0], "seqs": seqs,
              "latencies": [round(x, 6) for x in latencies],
              "still_connected": sum(1 for c in clients if c.connected)}
    print(json.dumps(result), flush=True)
    await asyncio.wait_for(asyncio.gather(*(c.disconnect() for c in clients),
                                          return_exceptions=True), 10)
    return result


def worker_main() -> int:
    """``fanout.py --worker``: the spec comes as one JSON line on stdin."""
    spec = json.loads(sys.stdin.readline())
    try:
        asyncio.run(_worker(spec))
    except TimeoutError:
        print(json.dumps({"error": "timeout"}), flush=True)
        return 1
    return 0


class Worker:
    """A load-generator process, spoken to in JSON lines."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.proc = subprocess.Popen([PYTHON, __file__, "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.flush()

    def read(self, timeout: float) -> dict[str, Any]:
        """The next JSON line, or an error after ``timeout`` seconds."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return {"error": f"no answer within {timeout:.0f} s"}
        line = self.proc.stdout.readline()
        return json.loads(line) if line else {"error": "worker exited"}

    def send(self, message: dict[str, Any]) -> None:
        """One JSON line to the worker."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        """Stop the process (its results are in: no need for polite disconnects)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def rooms_of(n: int, see_all: bool = False) -> list[tuple[str, ...]]:
    """The rooms of each of n clients: all of them, or alternately a and b."""
    return [ROOMS if see_all else (ROOMS[i % len(ROOMS)],) for i in range(n)]


def start_server(kind: str, mode: str, n: int, directory: Path, *, per_room: int,
                 interval: float, see_all: bool = False, spread: bool = False,
                 prepare: Any = None) -> tuple[Any, list[dict[str, Any]]]:
    """Start sensorhub (with a token per client) or the reference; the clients' specs.

    ``kind`` is one of KINDS; ``spread`` applies to the reference only, ``prepare``
    (called with the database path before the tokens are made) to sensorhub only.
    """
    rooms = rooms_of(n, see_all)
    if kind.startswith("sensorhub"):
        tokens: dict[str, list[str]] = {}

        def prepare_db(db_path: Path) -> None:
            if prepare is not None:
                prepare(db_path)
            tokens.update(make_tokens(db_path, ROOMS, n if see_all else (n + 1) // 2,
                                      together=see_all))

        server = start_sensorhub(directory, mode, rooms=ROOMS, sensors=mock_sensors(
            ROOMS, per_room, interval), flush_interval=5.0, prepare=prepare_db)
        batch = {"batch": True} if kind == "sensorhub_batch" else {}
        auths = [{"token": tokens[",".join(r)][i if see_all else i // 2], **batch}
                 for i, r in enumerate(rooms)]
    else:
        server = start_reference(directory, mode, rooms=ROOMS, per_room=per_room,
                                 interval=interval, spread=spread)
        auths = [{"rooms": list(r)} for r in rooms]
    return server, [{"auth": a, "rooms": r} for a, r in zip(auths, rooms, strict=True)]


def connect_clients(server: Any, clients: list[dict[str, Any]], drain: float,
                    deflate: bool = False) -> tuple[list[Worker], dict[str, Any]]:
    """Start the load generators and wait until their clients are connected."""
    n = len(clients)
    share = [clients[i::WORKERS] for i in range(WORKERS)]
    workers = [Worker({"url": server.url, "clients": part, "drain": drain,
                       "deflate": deflate, "connect_timeout": 60 + n / 5})
               for part in share if part]
    ready = [w.read(90 + n / 5) for w in workers]
    return workers, {"connected": sum(r.get("ready", 0) for r in ready),
                     "connect_failures": [f for r in ready for f in r.get("failed", [])]}


# -- one run ----------------------------------------------------------------------------
def run_once(kind: str, mode: str, n: int, args: argparse.Namespace, directory: Path
             ) -> dict[str, Any]:
    """Start a server, connect n clients, measure one window, stop everything."""
    see_all = args.client_rooms == "all"
    server, clients = start_server(kind, mode, n, directory, per_room=args.per_room,
                                   interval=args.interval, see_all=see_all,
                                   spread=args.spread)
    workers: list[Worker] = []
    result: dict[str, Any] = {"kind": kind, "mode": mode, "clients": n,
                              "answering_s": server.answering_s}
    try:
        workers, ready = connect_clients(server, clients, args.drain, args.deflate)
        result.update(ready)
        if ready["connected"] == 0:
            result["error"] = f"no client connected: {ready}"
            return result
        time.sleep(args.warmup)
        t0 = time.time() + 0.2
        t1 = t0 + args.window
        for w in workers:
            w.send({"t0": t0, "t1": t1})
        time.sleep(max(0.0, t0 - time.time()))
        sampler = Sampler(server.pid).start()
        load0 = [cpu_seconds(w.proc.pid) for w in workers]
        time.sleep(max(0.0, t1 - time.time()))
        usage = sampler.stop()
        load = [cpu_seconds(w.proc.pid) - c for w, c in zip(workers, load0, strict=True)]
        result["load_cpu_pct"] = [100 * c / usage["wall_s"] for c in load]
        answers = [w.read(args.drain + 30 + n / 10) for w in workers]
    finally:
        for w in workers:
            w.close()
        server.stop()
    errors = [a["error"] for a in answers if "error" in a]
    if errors:
        result["error"] = errors
        return result
    latencies = [x for a in answers for x in a["latencies"]]
    seqs: dict[str, list[int]] = {}
    for a in answers:
        for sensor, (lo, hi) in a["seqs"].items():
            span = seqs.setdefault(sensor, [lo, hi])
            span[0], span[1] = min(span[0], lo), max(span[1], hi)
    per_room = {room: sum(room in r for r in rooms_of(n, see_all)) for room in ROOMS}
    sensor_room = {s["id"]: s["room"] for s in server.sensors}
    expected = sum((hi - lo + 1) * per_room[sensor_room[sensor]]
                   for sensor, (lo, hi) in seqs.items())
    # a sensor that no client heard from in the window still owes its readings
    silent = [s for s in sensor_room if s not in seqs]
    expected += sum(round(args.window / args.interval) * per_room[sensor_room[s]]
                    for s in silent)
    delivered = sum(sum(a["delivered"]) for a in answers)
    messages = sum(a["messages"] for a in answers)
    result.update({
        "expected": expected, "delivered": delivered,
        "delivered_pct": 100 * delivered / expected if expected else None,
        "late": sum(a["late"] for a in answers),
        "messages": messages,  # that carried a reading of the window
        "readings_per_message": delivered / messages if messages else None,
        "latency_ms": {"p50": _ms(percentile(latencies, 50)),
                       "p99": _ms(percentile(latencies, 99)),
                       "max": _ms(max(latencies) if latencies else None)},
        "server_cpu_pct": usage["cpu_pct"],
        "cpu_us_per_reading": 1e6 * usage["cpu_s"] / delivered if delivered else None,
        "rss_mib": usage["rss_mib"], "rss_max_mib": usage["rss_max_mib"],
        "still_connected": sum(a["still_connected"] for a in answers),
    })
    return result


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else 1000 * seconds


FIGURES = {
    "delivered_pct": lambda r: r.get("delivered_pct"),
    "p50_ms": lambda r: (r.get("latency_ms") or {}).get("p50"),
    "p99_ms": lambda r: (r.get("latency_ms") or {}).get("p99"),
    "cpu_us_per_reading": lambda r: r.get("cpu_us_per_reading"),
    "server_cpu_pct": lambda r: r.get("server_cpu_pct"),
    "readings_per_message": lambda r: r.get("readings_per_message"),
    "rss_mib": lambda r: r.get("rss_mib"),
}


def summarize(runs: list[dict[str, Any]], modes: list[str], counts: list[int]
              ) -> list[dict[str, Any]]:
    """Per mode and N: medians over the repeats, and median ratios sensorhub / reference.

    Each ratio pairs a sensorhub run with the reference run of the same repeat.
    """
    table = []
    for mode in modes:
        for n in counts:
            row: dict[str, Any] = {"mode": mode, "clients": n}
            group = [r for r in runs if r["mode"] == mode and r["clients"] == n]
            by_rep: dict[int, dict[str, dict[str, Any]]] = {}
            for r in group:
                by_rep.setdefault(r["repeat"], {})[r["kind"]] = r
            for kind in [k for k in KINDS if any(r["kind"] == k for r in group)]:
                mine = [r for r in group if r["kind"] == kind]
                row[kind] = {name: spread([get(r) for r in mine]) for name, get in
                             FIGURES.items()}
                row[kind]["errors"] = [r["error"] for r in mine if "error" in r]
                if kind == "reference":
                    continue
                row[f"ratio_{kind}_to_reference"] = {name: spread([
                    ratio(FIGURES[name](p[kind]), FIGURES[name](p["reference"]))
                    for p in by_rep.values() if kind in p and "reference" in p])
                    for name in ("p50_ms", "p99_ms", "cpu_us_per_reading", "rss_mib")}
            table.append(row)
    return table


def main(argv: list[str] | None = None) -> int:
    """Run the matrix and print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,50,200,500", help="comma-separated N")
    parser.add_argument("--modes", default="eventlet,threading")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--window", type=float, default=4.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--drain", type=float, default=1.5,
                        help="seconds after the window for late readings to arrive")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS),
                        help="a preset of the options below (explicit ones win)")
    parser.add_argument("--per-room", type=int, help="sensors per room (default 1)")
    parser.add_argument("--interval", type=float, help="sensor interval, s (default 0.1)")
    parser.add_argument("--client-rooms", choices=("one", "all"),
                        help="each client sees one room (default) or all")
    parser.add_argument("--spread", action="store_true", default=None,
                        help="the reference emits a tick's readings evenly over the interval")
    parser.add_argument("--take", choices=("reading", "readings", "both"),
                        help="how sensorhub's clients take readings (default reading)")
    parser.add_argument("--batched", action="store_true", help="the same as --take readings")
    parser.add_argument("--deflate", action="store_true",
                        help="clients offer permessage-deflate, as browsers do")
    parser.add_argument("--only", choices=("sensorhub", "reference"))
    parser.add_argument("--smoke", action="store_true", help="one short run per server (CI)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main()
    if args.smoke:  # every path: both kinds of client, two rooms each, a spread reference
        args.clients, args.modes, args.repeats, args.take = "4", "eventlet", 1, "both"
        args.per_room, args.interval, args.client_rooms, args.spread = 2, 0.2, "all", True
        args.window, args.warmup, args.drain = 1.0, 0.3, 0.5
    preset = SCENARIOS.get(args.scenario or "", {})
    defaults = {"per_room": 1, "interval": 0.1, "client_rooms": "one", "spread": False,
                "take": "readings" if args.batched else "reading"}
    for name, default in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, preset.get(name, default))
    counts = [int(c) for c in args.clients.split(",") if c]
    modes = [m for m in args.modes.split(",") if m]
    mine = {"reading": ["sensorhub"], "readings": ["sensorhub_batch"],
            "both": ["sensorhub", "sensorhub_batch"]}[args.take]
    kinds = (["reference"] if args.only != "sensorhub" else []) + (
        mine if args.only != "reference" else [])
    runs: list[dict[str, Any]] = []
    started = time.monotonic()
    with workdir("fanout") as scratch:
        for mode in modes:
            for n in counts:
                for rep in range(args.repeats):
                    order = kinds if rep % 2 == 0 else kinds[::-1]
                    for kind in order:
                        directory = scratch / f"{mode}-{n}-{rep}-{kind}"
                        try:
                            run = run_once(kind, mode, n, args, directory)
                        except RuntimeError as error:
                            run = {"kind": kind, "mode": mode, "clients": n,
                                   "error": str(error)[:2000]}
                        run["repeat"] = rep
                        runs.append(run)
                        progress(f"fanout {mode} N={n} #{rep} {kind}: " + json.dumps(rnd({
                            k: run.get(k) for k in ("delivered_pct", "latency_ms",
                                                    "cpu_us_per_reading", "rss_mib",
                                                    "error")}, 2)))
    emit_summary("fanout", save=not args.smoke, summary={
        "scenario": {"preset": args.scenario, "rooms": list(ROOMS),
                     "sensors_per_room": args.per_room, "interval_s": args.interval,
                     "client_rooms": args.client_rooms, "reference_spread": args.spread,
                     "take": args.take, "deflate": args.deflate, "window_s": args.window,
                     "repeats": args.repeats, "load_processes": WORKERS,
                     "readings_per_s_per_client": args.per_room / args.interval * (
                         len(ROOMS) if args.client_rooms == "all" else 1)},
        "results": summarize(runs, modes, counts),
        "runs": [{k: v for k, v in r.items() if k != "connect_failures"} for r in runs],
        "elapsed_s": time.monotonic() - started,
    })
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
