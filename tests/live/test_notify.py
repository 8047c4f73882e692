"""Alerts of a real ``sensorhub run`` reach real receivers on loopback, even across outages.

The receivers follow the APIs' request shapes (tests/receivers.py): an SMTP server,
ntfy-, Gotify- and Matrix-style HTTP servers, and a private Mosquitto. The second test
keeps every receiver down while the alerts fire, restarts sensorhub meanwhile, and
checks that each message arrives exactly once when the receivers come back. The time
they stay down is ``SENSORHUB_TEST_RECEIVER_DOWN`` seconds (60 in CI, 15 otherwise);
retries are configured to come every 0.5-2 s, so that is many failed tries.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from tests.conftest import LiveServer, start_server, wait_for
from tests.live.test_mqtt import MOSQUITTO, Broker
from tests.receivers import GotifyServer, MatrixServer, NtfyServer, SmtpServer

HOLD = 1.0
ROOM = "!lab:matrix.lan"
DOWN = float(os.environ.get("SENSORHUB_TEST_RECEIVER_DOWN",
                            "60" if os.environ.get("CI") else "15"))
SENSORS = [{"id": "a1", "name": "Incubator", "room": "a", "driver": "mock", "interval": 0.2,
            "alerts": [{"quantity": "temperature", "above": -50, "for": HOLD,
                        "severity": "critical"},
                       {"quantity": "humidity", "above": -1, "for": HOLD}]}]




class Receivers:
    """Every kind of receiver, each recording when each message arrived."""

    def __init__(self) -> None:
        self.smtp = SmtpServer()
        self.ntfy = NtfyServer(token="tk_live_test_token_000000001")
        self.gotify = GotifyServer(token="AgotifyApp.token")
        self.matrix = MatrixServer(token="syt_live_token", rooms=(ROOM,))

    def start(self) -> None:
        for receiver in (self.smtp, self.ntfy, self.gotify, self.matrix):
            receiver.start()

    def stop(self) -> None:
        for receiver in (self.smtp, self.ntfy, self.gotify, self.matrix):
            receiver.stop()

    def channels(self, directory: Path) -> dict[str, Any]:
        """notify.channels for these receivers (the tokens come from files)."""
        (directory / "ntfy.token").write_text(self.ntfy.token + "\n")
        (directory / "matrix.token").write_text(self.matrix.token + "\n")
        return {
            "mail": {"type": "smtp", "host": "127.0.0.1", "port": self.smtp.port,
                     "security": "none", "sender": "pi@lab.lan", "to": ["anna@lab.lan"],
                     "timeout": 2},
            "phone": {"type": "ntfy", "url": self.ntfy.url, "topic": "lab",
                      "token_file": str(directory / "ntfy.token"), "timeout": 2},
            "gotify": {"type": "gotify", "url": self.gotify.url,
                       "token": self.gotify.token, "timeout": 2},
            "matrix": {"type": "matrix", "homeserver": self.matrix.url, "room": ROOM,
                       "token_file": str(directory / "matrix.token"), "timeout": 2},
        }

    def counts(self) -> dict[str, int]:
        return {"mail": len(self.smtp.messages), "phone": len(self.ntfy.accepted),
                "gotify": len(self.gotify.accepted), "matrix": len(self.matrix.accepted)}

    def titles(self) -> dict[str, list[str]]:
        return {"mail": [str(m["Subject"]) for m in self.smtp.messages],
                "phone": [m["title"] for m in self.ntfy.accepted],
                "gotify": [m["title"] for m in self.gotify.accepted],
                "matrix": [m["content"]["body"].splitlines()[0] for m in self.matrix.accepted]}


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    made = Receivers()
    yield made
    made.stop()


def notify_config(directory: Path, receivers: Receivers, **more: Any) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    return {"notify": {"public_url": "http://lab-pi.lan:5000", "retry_after": 0.5,
                       "retry_max": 2, "channels": {**receivers.channels(directory), **more}}}


@pytest.mark.skipif(not os.access(MOSQUITTO, os.X_OK), reason="needs mosquitto")
def test_an_alert_reaches_every_channel_within_hold_plus_5_s(
        tmp_path: Path, async_mode: str, receivers: Receivers) -> None:
    broker = Broker(_dir(tmp_path / "broker"))
    broker.start()
    got: list[tuple[str, dict[str, Any], bool, float]] = []
    sub = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda _c, _u, m: got.append(
        (m.topic, json.loads(m.payload), m.retain, time.time()))
    sub.connect("127.0.0.1", broker.port)
    sub.subscribe("sensorhub/alerts/#", qos=1)
    sub.loop_start()
    receivers.start()
    server = None
    try:
        extra = notify_config(tmp_path / "srv", receivers,
                              ha={"type": "mqtt", "url": broker.url, "topic": "sensorhub/alerts"})
        server = start_server(tmp_path / "srv", async_mode, sensors=SENSORS, extra=extra)
        up = time.time()
        wait_for(lambda: min(receivers.counts().values()) >= 2 and len(got) >= 4, HOLD + 10,
                 f"two alerts on every channel (got {receivers.counts()}, mqtt {len(got)})")
        assert time.time() - up <= HOLD + 5.0, "slower than the hold time + 5 s"
        for channel, titles in receivers.titles().items():
            assert sorted(t.split(") ")[1].split(" ")[0] for t in titles) == [
                "humidity", "temperature"], channel
        mail = receivers.smtp.messages[0]
        assert "Incubator (Room A)" in str(mail["Subject"])
        assert "Chart: http://lab-pi.lan:5000/#sensor=a1" in mail.get_content()
        loud = next(m for m in receivers.ntfy.accepted if "temperature" in m["title"])
        assert loud["priority"] == 5 and loud["tags"][0] == "rotating_light"
        events = [p for t, p, _, _ in got if t == "sensorhub/alerts/events"]
        states = {t: (p["state"], r) for t, p, r, _ in got if t != "sensorhub/alerts/events"}
        assert {e["kind"] for e in events} == {"temperature_above", "humidity_above"}
        assert states == {"sensorhub/alerts/a1/temperature_above": ("firing", False),
                          "sensorhub/alerts/a1/humidity_above": ("firing", False)}
        late: list[Any] = []  # a late subscriber gets the current state, retained
        check = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
        check.on_message = lambda _c, _u, m: late.append((m.topic, m.retain))
        check.connect("127.0.0.1", broker.port)
        check.subscribe("sensorhub/alerts/a1/#", qos=1)
        check.loop_start()
        wait_for(lambda: len(late) >= 2, 5, "retained alert states")
        check.loop_stop()
        assert all(retained for _, retained in late)
    finally:
        sub.loop_stop()
        if server is not None:
            assert server.stop() == 0, server.log()
        broker.stop()


def test_receivers_down_and_a_restart_meanwhile_lose_nothing_and_duplicate_nothing(
        tmp_path: Path, async_mode: str, receivers: Receivers) -> None:
    directory = tmp_path / "srv"
    extra = notify_config(directory, receivers)
    server = start_server(directory, async_mode, sensors=SENSORS, extra=extra)
    down_since = time.time()
    try:
        wait_for(lambda: _failed_channels(server) == {"mail", "phone", "gotify", "matrix"},
                 HOLD + 15, "failed tries on every channel")
        assert server.stop() == 0, server.log()
        server = _restart(directory, async_mode, extra)
        failed_before = sum(_outcomes(server).get("failed", {}).values())
        time.sleep(max(0.0, DOWN - (time.time() - down_since)))
        assert sum(_outcomes(server).get("failed", {}).values()) > failed_before, \
            "the restarted server did not keep trying"
        assert receivers.counts() == {"mail": 0, "phone": 0, "gotify": 0, "matrix": 0}
        receivers.start()
        wait_for(lambda: min(receivers.counts().values()) >= 2, 15,
                 f"the queued messages after the receivers came back: {receivers.counts()}")
        time.sleep(3.0)  # a duplicate would arrive now
        assert receivers.counts() == {"mail": 2, "phone": 2, "gotify": 2, "matrix": 2}
        requests = len(receivers.matrix.requests)
        assert requests == 2, f"matrix saw {requests} sends for 2 messages"
        assert _outcomes(server)["sent"] == {"mail": 2, "phone": 2, "gotify": 2, "matrix": 2}
        assert "tk_live" not in server.log() and "syt_live" not in server.log()
    finally:
        assert server.stop() == 0, server.log()


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _restart(directory: Path, async_mode: str, extra: dict[str, Any]) -> LiveServer:
    """The same config and database, a new process (as systemd would restart it)."""
    return start_server(directory, async_mode, sensors=SENSORS, extra=extra)


def _outcomes(server: LiveServer) -> dict[str, dict[str, int]]:
    """outcome -> channel -> tries, from the server's database."""
    with sqlite3.connect(server.db_path, timeout=5) as conn:
        rows = conn.execute("SELECT d.outcome, n.channel, COUNT(*) FROM deliveries d JOIN "
                            "notifications n ON n.id = d.notification GROUP BY 1, 2").fetchall()
    out: dict[str, dict[str, int]] = {}
    for outcome, channel, n in rows:
        out.setdefault(outcome, {})[channel] = n
    return out


def _failed_channels(server: LiveServer) -> set[str]:
    if server.proc.poll() is not None:
        raise AssertionError(server.log())
    try:
        return set(_outcomes(server).get("failed", {}))
    except sqlite3.OperationalError:  # not made yet
        return set()

