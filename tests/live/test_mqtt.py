"""Nodes, the hub and Home Assistant over a real Mosquitto broker on loopback.

Every test starts its own ``mosquitto`` on a free 127.0.0.1 port (with persistence,
as docs/multinode.md asks for) and real ``sensorhub node`` / ``sensorhub run``
processes; clients are real python-socketio clients. The hub's broker link is a paho
thread: a green one under eventlet, a real one under threading, so the broker restart
runs in both async modes; routing, the Tasmota JSON and the last will are the same code
on top of that link and run in one.
"""

from __future__ import annotations

import getpass
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml

from tests.clients import Watcher as Recorder
from tests.conftest import ASYNC_MODES, ROOT, LiveServer, free_port, start_server, wait_for

MOSQUITTO = "/usr/sbin/mosquitto"
pytestmark = pytest.mark.skipif(not os.access(MOSQUITTO, os.X_OK), reason="needs mosquitto")


class Broker:
    """A private Mosquitto on loopback that keeps sessions across restarts."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {directory}/\n"
            f"max_queued_messages 100000\nuser {getpass.getuser()}\n"
            f"log_dest file {directory}/mosquitto.log\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start and wait (bounded) until the port accepts connections."""
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        """SIGTERM (mosquitto saves its sessions), then wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A running broker, stopped after the test."""
    directory = tmp_path / "broker"
    directory.mkdir()
    b = Broker(directory)
    b.start()
    yield b
    b.stop()


class Node:
    """A ``sensorhub node`` process."""

    def __init__(self, directory: Path, broker: Broker, name: str,
                 sensors: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
        directory.mkdir(exist_ok=True)
        self.directory = directory
        self.db = directory / "data" / "node.db"
        config = {"storage": {"path": "data/node.db", "flush_interval": 0.2},
                  "rooms": [{"id": "here"}], "sensors": sensors,
                  "mqtt": {"url": broker.url}, "node": {"name": name}, **(extra or {})}
        self.config = directory / "node.yaml"
        self.config.write_text(yaml.safe_dump(config, sort_keys=False))
        self.log = directory / "node.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "sensorhub", "node", "-c",
                                          str(self.config)], stdout=log,
                                         stderr=subprocess.STDOUT, env=env, cwd=self.directory)

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Signal and wait; return the exit status."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode if self.proc is not None else None

    def stored(self, sensor: str) -> list[float]:
        """Every ts (s) the node stored for a sensor, in order."""
        with sqlite3.connect(self.db) as conn:
            return [ts / 1000 for (ts,) in conn.execute(
                "SELECT r.ts FROM readings r JOIN sensor_ids s ON s.id = r.sensor "
                "WHERE s.name = ? ORDER BY r.ts", (sensor,))]


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Callable[..., Node]]:
    """Make node processes that are stopped after the test."""
    made: list[Node] = []

    def make(broker: Broker, name: str, sensors: list[dict[str, Any]], **kwargs: Any) -> Node:
        node = Node(tmp_path / f"node-{name}", broker, name, sensors, **kwargs)
        node.start()
        made.append(node)
        return node

    yield make
    for node in made:
        node.stop()


@pytest.fixture
def hubs(tmp_path: Path, async_mode: str) -> Iterator[Callable[..., LiveServer]]:
    """Start hub servers (``sensorhub run``) that are stopped after the test."""
    started: list[LiveServer] = []

    def make(broker: Broker, **config: Any) -> LiveServer:
        directory = tmp_path / f"hub{len(started)}"
        directory.mkdir()
        extra = {"mqtt": {"url": broker.url}, **config.pop("extra", {})}
        server = start_server(directory, async_mode, extra=extra, **config)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def mock(sensor_id: str, seed: int, interval: float = 0.2) -> dict[str, Any]:
    """A mock sensor on a node."""
    return {"id": sensor_id, "room": "here", "driver": "mock", "interval": interval,
            "options": {"seed": seed}}


def remote(sensor_id: str, room: str, node: str, sensor: str, **more: Any) -> dict[str, Any]:
    """A hub sensor fed by a node."""
    return {"id": sensor_id, "room": room, "driver": "mqtt", "interval": 0.2,
            "offline_after": 30, "options": {"node": node, "sensor": sensor}, **more}




HUB_SENSORS = [remote("gh", "a", "n1", "s1"), remote("cel", "b", "n1", "s2")]
TASMOTA = {"id": "tas", "room": "a", "driver": "mqtt_json", "interval": 10,
           "options": {"topic": "tele/tasmota_1/SENSOR", "temperature_field": "SI7021.Temperature",
                       "humidity_field": "SI7021.Humidity"}}


@pytest.mark.parametrize("async_mode", ASYNC_MODES[:1])  # see the module's docstring
def test_node_readings_reach_the_right_room_and_last_will_turns_them_offline(
        broker: Broker, nodes: Callable[..., Node], hubs: Callable[..., LiveServer]) -> None:
    hub = hubs(broker, sensors=[*HUB_SENSORS, TASMOTA])
    hub.add_user("alice", rooms=("a",))
    node = nodes(broker, "n1", [mock("s1", 1), mock("s2", 2)])
    alice = Recorder(hub, auth={"token": hub.token("alice")})
    try:
        wait_for(lambda: len(alice.of("reading")) >= 5, 15, "readings from the node")
        readings = [r for r in alice.of("reading") if r["sensor"] != "tas"]
        assert {r["sensor"] for r in readings} == {"gh"}, "room b's sensor leaked to alice"
        assert all(r["room"] == "a" for r in readings)
        stamps = [r["ts"] for r in readings]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        # the node publishes from memory and stores every flush_interval (0.2 s): a
        # reading the hub has may reach the node's disk a moment later
        wait_for(lambda: set(stamps) <= set(node.stored("s1")), 5, "the node's own store")
        assert set(readings[0]) == {"sensor", "room", "ts", "seq", "temperature", "humidity",
                                    "pressure", "co2",
                                    "dew_point", "abs_humidity"}
        # stored on the hub like a local reading, with the node's timestamps
        answer = alice.client.call("history", {"sensor": "gh", "since": stamps[0] - 1,
                                               "max_points": 10000}, timeout=10)
        assert set(stamps) <= {round(p[0], 3) for p in answer["points"]}
        assert [s["state"] for s in alice.of("sensor_state") if s["sensor"] == "gh"][-1] == "ok"

        tasmota = Subscriber(broker)  # a device that publishes JSON of its own
        tasmota.client.publish(TASMOTA["options"]["topic"], json.dumps(
            {"Time": "2026-11-24T10:00:00", "SI7021": {"Temperature": 0.0, "Humidity": 45.2},
             "TempUnit": "C"}), qos=1).wait_for_publish(5)
        tasmota.close()
        got = wait_for(lambda: [r for r in alice.of("reading") if r["sensor"] == "tas"], 10,
                       "the Tasmota reading")
        assert (got[0]["temperature"], got[0]["humidity"], got[0]["room"]) == (0.0, 45.2, "a")

        node.stop(signal.SIGKILL)
        killed = time.monotonic()
        offline = wait_for(lambda: [s for s in alice.of("sensor_state")
                                    if s["state"] == "offline"], 10, "offline via last will")
        assert time.monotonic() - killed < 10 < 30  # long before offline_after (30 s)
        assert offline[0]["sensor"] == "gh" and offline[0]["error"] == "node n1 is offline"
        assert {s["sensor"] for s in alice.of("sensor_state")} <= {"gh", "tas"}
    finally:
        alice.close()


def test_broker_restart_loses_nothing_and_duplicates_nothing(
        broker: Broker, nodes: Callable[..., Node], hubs: Callable[..., LiveServer]) -> None:
    hub = hubs(broker, sensors=HUB_SENSORS[:1])
    hub.add_user("alice", rooms=("a",))
    node = nodes(broker, "n1", [mock("s1", 1, interval=0.1)])
    alice = Recorder(hub, auth={"token": hub.token("alice")})
    try:
        wait_for(lambda: len(alice.of("reading")) >= 3, 15, "readings before the outage")
        broker.stop()
        down = time.time()
        # ~5 readings made while the broker is away; back before paho's first reconnect
        # (1 s after the loss, then 2 s later): a longer outage only waits out the backoff
        time.sleep(0.5)
        broker.start()
        back = time.time()
        wait_for(lambda: any(r["ts"] > back + 1.0 for r in alice.of("reading")), 30,
                 "readings after the broker came back")
        node.stop()
        received = [r["ts"] for r in alice.of("reading")]
        assert received == sorted(received), "out of order"
        assert len(set(received)) == len(received), "a reading arrived twice"
        made = [ts for ts in node.stored("s1") if received[0] <= ts <= received[-1]]
        assert sum(down < ts < back for ts in made) >= 3, "the node stopped reading"
        assert received == made, "readings made during the outage are missing"
        stored = hub.stop() == 0 and _hub_stamps(hub, "gh")
        assert [ts for ts in stored if received[0] <= ts <= received[-1]] == made
    finally:
        alice.close()


def _announced(node: Node) -> list[str]:
    """The discovery topics a node recorded as announced (its meta table)."""
    with sqlite3.connect(node.db) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'ha_announced'").fetchone()
    return json.loads(row[0]) if row else []


def _hub_stamps(hub: LiveServer, sensor: str) -> list[float]:
    with sqlite3.connect(hub.db_path) as conn:
        return [ts / 1000 for (ts,) in conn.execute(
            "SELECT r.ts FROM readings r JOIN sensor_ids s ON s.id = r.sensor "
            "WHERE s.name = ? ORDER BY r.ts", (sensor,))]


class Subscriber:
    """A plain paho client in the test that records messages on some topics."""

    def __init__(self, broker: Broker, *topics: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        self.client.connect("127.0.0.1", broker.port)
        for topic in topics:
            self.client.subscribe(topic, qos=1)
        self.client.loop_start()

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()

    def payloads(self, topic: str) -> list[Any]:
        """Decoded JSON payloads received on one topic."""
        return [json.loads(p) for t, p in list(self.messages) if t == topic and p]


HA_REQUIRED = {"name": str, "unique_id": str, "state_topic": str, "value_template": str,
               "device_class": str, "state_class": str, "unit_of_measurement": str,
               "expire_after": int, "availability": list, "availability_mode": str,
               "device": dict, "origin": dict}


def test_home_assistant_discovery_matches_the_documented_schema(
        broker: Broker, nodes: Callable[..., Node]) -> None:
    from jinja2 import Environment

    watcher = Subscriber(broker, "homeassistant/#", "sensorhub/#")
    try:
        nodes(broker, "pi-gh", [mock("air", 1)],
              extra={"homeassistant": {"discovery": True}})
        topic = "homeassistant/sensor/sensorhub_pi-gh/air_{}/config"
        wait_for(lambda: watcher.payloads("sensorhub/pi-gh/air/state")
                 and watcher.payloads(topic.format("humidity")), 15, "discovery and a state")
        reading = wait_for(lambda: watcher.payloads("sensorhub/pi-gh/air/reading"), 5,
                           "a reading")[0]
        state = watcher.payloads("sensorhub/pi-gh/air/state")[-1]
        retained = {t for t, _ in watcher.messages}
        for quantity, device_class, unit in (("temperature", "temperature", "°C"),
                                             ("humidity", "humidity", "%")):
            config = watcher.payloads(topic.format(quantity))[0]
            for key, kind in HA_REQUIRED.items():
                assert isinstance(config[key], kind), key
            assert config["unique_id"] == f"sensorhub_pi-gh_air_{quantity}"
            assert (config["device_class"], config["unit_of_measurement"]) == (device_class,
                                                                               unit)
            assert config["state_class"] == "measurement"
            assert config["state_topic"] == "sensorhub/pi-gh/air/reading"
            value = Environment().from_string(config["value_template"]).render(
                value_json=reading)
            assert float(value) == reading[quantity]
            assert config["availability_mode"] == "all"
            status, per_sensor = config["availability"]
            assert status == {"topic": "sensorhub/pi-gh/status", "payload_available": "online",
                              "payload_not_available": "offline"}
            assert per_sensor["topic"] == "sensorhub/pi-gh/air/state"
            assert Environment().from_string(per_sensor["value_template"]).render(
                value_json=state) == "online"
            assert {status["topic"], per_sensor["topic"]} <= retained
            assert config["device"]["identifiers"] == ["sensorhub_pi-gh_air"]
            assert config["device"]["manufacturer"] == "sensorhub"
            assert "suggested_area" not in config["device"]  # deprecated by Home Assistant
            assert config["device"]["name"] == "air (pi-gh)"
            assert config["default_entity_id"] == f"sensor.sensorhub_pi_gh_air_{quantity}"
    finally:
        watcher.close()


def test_a_removed_sensor_gets_an_empty_retained_config_so_no_ghost_remains(
        broker: Broker, nodes: Callable[..., Node]) -> None:
    topic = "homeassistant/sensor/sensorhub_pi-gh/{}/config"
    ha = {"homeassistant": {"discovery": True}}
    watcher = Subscriber(broker, "homeassistant/#")
    try:
        first = nodes(broker, "pi-gh", [mock("air", 1), mock("bench", 2)], extra=ha)
        wait_for(lambda: watcher.payloads(topic.format("bench_humidity")), 15, "discovery")
        wait_for(lambda: _announced(first), 10, "the node remembering what it announced")
        assert first.stop() == 0
        again = Node(first.directory, broker, "pi-gh", [mock("air", 1)], extra=ha)
        again.start()
        try:
            cleared = wait_for(lambda: [t for t, p in list(watcher.messages)
                                        if p == b"" and "bench" in t], 15, "empty configs")
            assert sorted(set(cleared)) == [topic.format("bench_humidity"),
                                            topic.format("bench_temperature")]
            late = Subscriber(broker, "homeassistant/#")  # what Home Assistant sees at start
            time.sleep(1.0)
            late.close()
            retained = {t for t, p in late.messages if p}
            assert retained == {topic.format("air_temperature"), topic.format("air_humidity")}
        finally:
            again.stop()
    finally:
        watcher.close()
