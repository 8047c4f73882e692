"""The service process: READY after listening, watchdog pings, clean SIGTERM."""

from __future__ import annotations

import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import socketio

from sensorhub.config import parse_config
from sensorhub.polling.loop import Poller
from sensorhub.runtime import ThreadingRuntime
from sensorhub.service.systemd import PollerWatchdog
from tests.clients import close_socket
from tests.conftest import start_server, wait_for


def test_sigterm_keeps_every_accepted_reading(tmp_path: Path, async_mode: str) -> None:
    server = start_server(tmp_path, async_mode, storage={"flush_interval": 30})
    server.add_user("alice", rooms=("a",))
    received: list[dict[str, Any]] = []
    client = socketio.Client(reconnection=False)
    client.on("reading", received.append)
    client.connect(server.url, auth={"token": server.token("alice")}, transports=["websocket"])
    # flush_interval 30: none of these is on disk before SIGTERM, all must be after
    wait_for(lambda: len(received) >= 6, 15, "readings pushed before SIGTERM")
    status = server.stop(signal.SIGTERM)
    close_socket(client)
    assert status == 0, server.log()
    assert "stopped;" in server.log()
    with sqlite3.connect(server.db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {round(ts / 1000, 3) for (ts,) in conn.execute(
            "SELECT ts FROM readings r JOIN sensor_ids s ON s.id = r.sensor "
            "WHERE s.name = 'a1'")}
    pushed = {round(r["ts"], 3) for r in received}
    assert len(pushed) >= 5
    assert pushed <= stored, f"{len(pushed - stored)} pushed readings missing after SIGTERM"


def test_ready_is_sent_only_once_listening(tmp_path: Path, async_mode: str) -> None:
    notify_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    sock.settimeout(20)
    messages: list[str] = []
    ready_port: list[bool] = []

    def listen() -> None:
        while True:
            try:
                text = sock.recv(4096).decode()
            except OSError:
                return
            messages.append(text)
            if text.startswith("READY=1"):
                port = int(text.split("listening on 127.0.0.1:")[1].split()[0])
                with socket.socket() as probe:
                    ready_port.append(probe.connect_ex(("127.0.0.1", port)) == 0)

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    # WATCHDOG_USEC 1 s: a ping every 1/3 s
    server = start_server(tmp_path, async_mode, env={"NOTIFY_SOCKET": str(notify_path),
                                                      "WATCHDOG_USEC": "1000000"})
    wait_for(lambda: sum(m == "WATCHDOG=1" for m in list(messages)) >= 2, 15,
             "two watchdog pings")
    status = server.stop()
    sock.close()
    assert status == 0
    assert ready_port == [True], messages
    assert sum(m == "WATCHDOG=1" for m in messages) >= 2, messages
    assert messages[-1] == "STOPPING=1"


def test_watchdog_stops_pinging_when_a_poller_loop_is_stuck() -> None:
    config = parse_config("""
rooms: [{id: a}]
sensors:
  - {id: s1, room: a, driver: mock, interval: 0.1}
  - {id: s2, room: a, driver: mock, interval: 0.1}
""", Path("/tmp/config.yaml"))
    pings: list[float] = []
    watchdog = PollerWatchdog([("s1", 0.5), ("s2", 0.5)], interval=0.3,
                              send=lambda _m: pings.append(time.monotonic()) or True)
    stuck, release = threading.Event(), threading.Event()

    class StuckSink:
        """Blocks s2's loop forever after its 5th reading (a wedged sink)."""

        count = 0

        def on_reading(self, reading: Any) -> None:
            if reading.sensor == "s2":
                self.count += 1
                if self.count == 5:
                    stuck.set()
                    release.wait(10)

        def on_state(self, state: Any) -> None:
            pass

    poller = Poller(config.sensors, ThreadingRuntime(), [StuckSink()],
                    on_cycle=watchdog.beat)
    poller.start()
    try:
        assert stuck.wait(10), "s2 never read 5 times"
        assert len(pings) >= 2  # pinged while both loops cycled
        time.sleep(0.5 + 0.2)  # s2's allowance runs out (0.5 s): no ping may come after
        last_ping = pings[-1]
        time.sleep(0.6)  # s1 still cycles every 0.1 s: six pings would have been due
        assert pings[-1] == last_ping, "watchdog kept pinging with a stuck loop"
    finally:
        release.set()
        poller.stop()
