"""Poller.ingest and the MQTT source's message handling, without a broker."""

from __future__ import annotations

import json
from typing import Any

from sensorhub.config import SensorConfig
from sensorhub.mqtt.source import MqttSource
from sensorhub.polling.loop import Poller
from sensorhub.readings import Reading, SensorState
from sensorhub.runtime import ThreadingRuntime


class Sink:
    """Records what a poller hands to its sinks."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.states: list[SensorState] = []

    def on_reading(self, reading: Reading) -> None:
        self.readings.append(reading)

    def on_state(self, state: SensorState) -> None:
        self.states.append(state)


class FakeLink:
    """The part of MqttLink the source uses."""

    def __init__(self) -> None:
        self.topics: list[str] = []
        self.inbox: list[Any] = []

    def subscribe(self, topic: str) -> None:
        self.topics.append(topic)


REMOTE = SensorConfig("gh", "GH", "a", "mqtt", 10.0, options={"node": "n1", "sensor": "air"},
                      offline_after=60.0)
TASMOTA = SensorConfig("tas", "T", "b", "mqtt_json", 10.0, offline_after=60.0, options={
    "topic": "tele/t1/SENSOR", "temperature_field": "SI7021.Temperature",
    "humidity_field": "SI7021.Humidity"})


def rig() -> tuple[Poller, Sink, MqttSource, list[float]]:
    clock = [1000.0]
    sink = Sink()
    poller = Poller([REMOTE, TASMOTA], ThreadingRuntime(), [sink],
                    monotonic=lambda: clock[0])
    source = MqttSource(FakeLink(), ThreadingRuntime(), [REMOTE, TASMOTA])  # type: ignore[arg-type]
    source.attach(poller)
    return poller, sink, source, clock


def reading(ts: float, t: float | None = 20.0, h: float | None = 50.0) -> bytes:
    return json.dumps({"sensor": "air", "room": "x", "ts": ts, "seq": 1, "temperature": t,
                       "humidity": h}).encode()


def test_subscribes_to_readings_states_status_and_json_topics() -> None:
    _, _, source, _ = rig()
    assert set(source.link.topics) == {"sensorhub/n1/air/reading", "sensorhub/n1/air/state",
                                       "sensorhub/n1/status", "tele/t1/SENSOR"}


def test_replays_and_older_readings_are_dropped_before_any_sink() -> None:
    _, sink, source, _ = rig()
    for ts in (100.0, 101.0, 101.0, 100.5, 102.0):
        source.handle("sensorhub/n1/air/reading", reading(ts))
    assert [r.ts for r in sink.readings] == [100.0, 101.0, 102.0]
    assert [r.seq for r in sink.readings] == [1, 2, 3]
    assert [s.state for s in sink.states] == ["ok"]


def test_seeded_last_ts_drops_what_is_already_stored() -> None:
    poller, sink, source, _ = rig()
    poller.seed_last_ts("gh", 200.0)
    source.handle("sensorhub/n1/air/reading", reading(150.0))
    source.handle("sensorhub/n1/air/reading", reading(201.0))
    assert [r.ts for r in sink.readings] == [201.0]


def test_zero_degrees_is_a_reading_and_bad_messages_are_failures() -> None:
    poller, sink, source, _ = rig()
    source.handle("sensorhub/n1/air/reading", reading(1.0, t=0.0))
    assert sink.readings[0].temperature == 0.0
    for bad in (b"not json", b"[1, 2]", json.dumps({"temperature": 1}).encode(),
                reading(2.0, t="warm")):  # type: ignore[arg-type]
        source.handle("sensorhub/n1/air/reading", bad)
    health = poller.health("gh")
    assert health["failures"] == {"bad_message": 4}
    assert poller.state("gh").state == "failing"
    assert poller.state("gh").error.startswith("bad_message: ")


def test_last_will_and_silence_turn_sensors_offline() -> None:
    poller, sink, source, clock = rig()
    source.handle("sensorhub/n1/air/reading", reading(1.0))
    source.handle("sensorhub/n1/status", b"offline")
    assert (sink.states[-1].state, sink.states[-1].error) == ("offline", "node n1 is offline")
    source.handle("sensorhub/n1/air/reading", reading(2.0))
    assert sink.states[-1].state == "ok"
    clock[0] += 59
    poller.check_silence("gh")
    assert sink.states[-1].state == "ok"
    clock[0] += 1
    poller.check_silence("gh")
    assert (sink.states[-1].state, sink.states[-1].error) == ("offline",
                                                              "silent: no reading for 60 s")


def test_a_node_reports_its_sensor_failing() -> None:
    _, sink, source, _ = rig()
    source.handle("sensorhub/n1/air/state", json.dumps(
        {"state": "failing", "error": "checksum: bad"}).encode())
    assert (sink.states[-1].state, sink.states[-1].error) == ("failing",
                                                              "on node n1: checksum: bad")


def test_json_fields_by_dotted_path_and_bare_numbers() -> None:
    poller, sink, source, _ = rig()
    source.handle("tele/t1/SENSOR", json.dumps(
        {"SI7021": {"Temperature": 21.5, "Humidity": 40}}).encode())
    assert (sink.readings[-1].temperature, sink.readings[-1].humidity) == (21.5, 40.0)
    source.handle("tele/t1/SENSOR", b'{"Other": 1}')
    assert poller.health("tas")["failures"] == {"bad_message": 1}
