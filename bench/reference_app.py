"""The yardstick: a bare Flask-SocketIO app pushing readings to rooms, nothing else.

It does what the textbook app does: clients say which rooms they want in the connect
``auth`` (``{"room": "a"}`` or ``{"rooms": ["a", "b"]}``), and a background task emits
one ``reading`` per sensor per tick with ``socketio.emit("reading", data, to=room)``:
all of a tick's readings back to back, or with ``--spread`` one at a time, evenly
over the interval (8 sensors at 1 s: one emit every 125 ms, which spares the bare
app the bursts of sensors due at the same instant). No database, no authentication,
no polling: whatever sensorhub costs beyond this is its own overhead.

``GET /api/history`` answers with a history of sensorhub's shape and size (1000 points
of 7 numbers, about 50 KB) kept in memory, through Flask's own ``jsonify``: the floor
under sensorhub's history route (bench/history.py, bench/footprint.py).

    python bench/reference_app.py --port 5001 --async-mode eventlet --interval 0.1
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import socket
import sys
import time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--async-mode", choices=("eventlet", "threading"), default="eventlet")
    parser.add_argument("--rooms", default="a,b", help="comma-separated room names")
    parser.add_argument("--per-room", type=int, default=1, help="sensors per room")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between ticks")
    parser.add_argument("--spread", action="store_true",
                        help="emit a tick's readings one by one, evenly over the interval")
    return parser.parse_args(argv)


def reading(sensor: str, room: str, seq: int, now: float) -> dict[str, object]:
    """A reading shaped like sensorhub's ``reading`` event (same keys, same size)."""
    t = round(21.0 + math.sin(now / 600) + (seq % 7) / 10, 1)
    h = round(45.0 + 3 * math.cos(now / 900), 1)
    g = math.log(h / 100) + 17.62 * t / (243.12 + t)
    dew = round(243.12 * g / (17.62 - g), 2)
    absolute = round(216.7 * h / 100 * 6.112 * math.exp(17.62 * t / (243.12 + t))
                     / (273.15 + t), 2)
    return {"sensor": sensor, "room": room, "ts": now, "seq": seq, "temperature": t,
            "humidity": h, "dew_point": dew, "abs_humidity": absolute}


def main(argv: list[str] | None = None) -> int:
    """Serve until killed."""
    args = parse_args(argv)
    if args.async_mode == "eventlet":
        os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")
        import eventlet

        eventlet.monkey_patch()
    from flask import Flask, request
    from flask_socketio import SocketIO, join_room

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    rooms = [r for r in args.rooms.split(",") if r]
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode=args.async_mode, logger=False, engineio_logger=False)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    start = time.time() - 3600
    points = [[round(start + 3.604 * i, 3), *(round(20 + math.sin(i / 50) + k / 10, 2)
                                              for k in range(6))] for i in range(1000)]

    @app.get("/api/history")
    def history() -> dict[str, object]:
        return {"sensor": request.args.get("sensor"), "since": start, "until": start + 3600,
                "step": 3.604, "fields": ["ts", "temperature", "humidity", "temperature_min",
                                          "temperature_max", "humidity_min", "humidity_max"],
                "points": points}

    @socketio.on("connect")
    def on_connect(auth: object = None) -> bool:
        wanted = auth.get("rooms", [auth.get("room")]) if isinstance(auth, dict) else []
        if not wanted or not set(wanted) <= set(rooms):
            return False
        for room in wanted:
            join_room(room)
        return True

    def ticker() -> None:
        sensors = [(f"{room}{i + 1}", room) for room in rooms for i in range(args.per_room)]
        seqs = dict.fromkeys(sensors, 0)
        # one slot a tick, or one a reading when spread: 8 sensors at 1 s, every 125 ms
        per_slot = 1 if args.spread else len(sensors)
        step = args.interval * per_slot / len(sensors)
        start = time.monotonic()
        slot = 0
        while True:
            # the next slot on the schedule; slots missed while busy are skipped, as
            # sensorhub's poller does (no catch-up bursts)
            slots = int((time.monotonic() - start) // step) + 1
            socketio.sleep(max(0.0, start + slots * step - time.monotonic()))
            now = time.time()
            for i in range(per_slot):
                sensor = sensors[(slot * per_slot + i) % len(sensors)]
                seqs[sensor] += 1
                socketio.emit("reading", reading(*sensor, seqs[sensor], now), to=sensor[1])
            slot += 1

    socketio.start_background_task(ticker)
    # The server socketio.run would start, with TCP_NODELAY as sensorhub sets it
    # (sensorhub/service/serve.py): otherwise Nagle's algorithm and a delayed ACK add
    # 40 ms to every HTTP answer, and the comparison would be about that.
    if args.async_mode == "eventlet":
        import eventlet.wsgi

        listener = eventlet.listen((args.host, args.port))
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        print(f"reference listening on {args.host}:{args.port} ({args.async_mode})", flush=True)
        eventlet.wsgi.server(listener, app, log_output=False)
    else:
        from werkzeug.serving import make_server

        server = make_server(args.host, args.port, app, threaded=True)
        server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        print(f"reference listening on {args.host}:{args.port} ({args.async_mode})", flush=True)
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
