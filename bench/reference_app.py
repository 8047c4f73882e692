"""The yardstick: a bare Flask-SocketIO app pushing readings to rooms, nothing else.

It does what the textbook app does: clients say which room they want in the connect
``auth`` (``{"room": "a"}``), and a background task emits one ``reading`` per sensor
per tick with ``socketio.emit("reading", data, to=room)``. No database, no
authentication, no polling: whatever sensorhub costs beyond this is its own overhead.

    python bench/reference_app.py --port 5001 --async-mode eventlet --interval 0.1
"""

from __future__ import annotations

import argparse
import logging
import math
import os
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
    from flask import Flask
    from flask_socketio import SocketIO, join_room

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    rooms = [r for r in args.rooms.split(",") if r]
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode=args.async_mode, logger=False, engineio_logger=False)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @socketio.on("connect")
    def on_connect(auth: object = None) -> bool:
        room = auth.get("room") if isinstance(auth, dict) else None
        if room not in rooms:
            return False
        join_room(room)
        return True

    def ticker() -> None:
        sensors = [(f"{room}{i + 1}", room) for room in rooms for i in range(args.per_room)]
        seq = 0
        start = time.monotonic()
        while True:
            # the next slot on the schedule; slots missed while busy are skipped, as
            # sensorhub's poller does (no catch-up bursts)
            slots = int((time.monotonic() - start) // args.interval) + 1
            socketio.sleep(max(0.0, start + slots * args.interval - time.monotonic()))
            seq += 1
            now = time.time()
            for sensor, room in sensors:
                socketio.emit("reading", reading(sensor, room, seq, now), to=room)

    socketio.start_background_task(ticker)
    print(f"reference listening on {args.host}:{args.port} ({args.async_mode})", flush=True)
    socketio.run(app, host=args.host, port=args.port, log_output=False,
                 allow_unsafe_werkzeug=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
