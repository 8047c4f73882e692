"""Turn MQTT messages into readings of ordinary sensors (``driver: mqtt``/``mqtt_json``).

A runtime task drains the link's inbox and feeds ``Poller.ingest``, so pushed
sensors get the same filter, states, storage, broadcasts and alerts as local ones.
A node's last will (``offline`` on its status topic) turns its sensors offline at
once; a sensor that stays silent goes offline after its ``offline_after``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from typing import Any

from drivers.base import QUANTITIES, Sample
from drivers.errors import DriverError
from sensorhub.config import SensorConfig
from sensorhub.mqtt.link import OFFLINE, MqttLink, reading_topic, state_topic, status_topic
from sensorhub.polling.push import PushTarget
from sensorhub.runtime import Event, Runtime

log = logging.getLogger(__name__)

DRAIN_EVERY = 0.05  # seconds: the inbox is a plain deque, polled (portable across modes)
SILENCE_EVERY = 0.5  # seconds between offline checks


class BadMessageError(DriverError, ValueError):
    """An MQTT payload that is not a reading."""

    kind = "bad_message"


def field(data: Any, path: str) -> Any:
    """``SI7021.Temperature`` -> data["SI7021"]["Temperature"] (None when absent)."""
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def number(value: Any, what: str) -> float | None:
    """A JSON number as float; None stays None; anything else is a bad message."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadMessageError(f"{what} is not a number: {value!r}")
    return float(value)


class MqttSource:
    """Routes subscribed topics to push sensors and drives them."""

    def __init__(self, link: MqttLink, runtime: Runtime, sensors: list[SensorConfig]) -> None:
        self.link = link
        self.poller: PushTarget | None = None  # set by start()
        self.runtime = runtime
        self.sensors = sensors
        self.routes: dict[str, list[tuple[str, SensorConfig]]] = defaultdict(list)
        self.by_node: dict[str, list[str]] = defaultdict(list)
        for s in sensors:
            if s.driver == "mqtt":
                node, remote = s.options["node"], s.options["sensor"]
                self.routes[reading_topic(node, remote)].append(("reading", s))
                self.routes[state_topic(node, remote)].append(("state", s))
                self.by_node[node].append(s.id)
            else:
                self.routes[s.options["topic"]].append(("json", s))
        for node in self.by_node:
            self.routes[status_topic(node)].append(("status", sensors[0]))
        for topic in self.routes:
            link.subscribe(topic)
        self._stop: Event = runtime.event()
        self._done: Event = runtime.event()
        self.received = 0

    def attach(self, target: PushTarget) -> None:
        """Send what arrives to ``target`` (the poller)."""
        self.poller = target

    def start(self, target: PushTarget) -> None:
        """Start draining the inbox into ``target`` (the poller)."""
        self.attach(target)
        self.runtime.spawn(self._run)

    def stop(self) -> None:
        """Stop draining."""
        self._stop.set()
        self._done.wait(2.0)

    def _run(self) -> None:
        last_check = 0.0
        try:
            while not self._stop.wait(DRAIN_EVERY):
                inbox = self.link.inbox
                while inbox and not self._stop.is_set():
                    topic, payload = inbox.popleft()
                    self.received += 1
                    self.handle(topic, payload)
                now = time.monotonic()
                if now - last_check >= SILENCE_EVERY:
                    last_check = now
                    for s in self.sensors:
                        self.poller.check_silence(s.id)
        except Exception:
            log.exception("mqtt: source crashed")
        finally:
            self._done.set()

    def handle(self, topic: str, payload: bytes) -> None:
        """Apply one message to the sensors routed from its topic."""
        for kind, sensor in self.routes.get(topic, ()):
            if kind == "status":
                self._status(topic, payload)
                continue
            try:
                data = json.loads(payload)
                if kind == "reading":
                    self._reading(sensor, data)
                elif kind == "state":
                    self._state(sensor, data)
                else:
                    self._json(sensor, data)
            except (BadMessageError, ValueError, TypeError, KeyError) as error:
                if not isinstance(error, BadMessageError):
                    error = BadMessageError(f"{type(error).__name__}: {error}")
                log.debug("mqtt: bad message on %s: %s", topic, error)
                self.poller.push_failure(sensor.id, error)

    def _reading(self, sensor: SensorConfig, data: Any) -> None:
        if not isinstance(data, dict):
            raise BadMessageError("a reading must be a JSON object")
        ts = number(data.get("ts"), "ts")
        if ts is None:
            raise BadMessageError("a reading needs its ts")
        self.poller.ingest(sensor.id, ts, Sample(*(number(data.get(q), q) for q in QUANTITIES)))

    def _state(self, sensor: SensorConfig, data: Any) -> None:
        state = data.get("state") if isinstance(data, dict) else None
        if state in ("failing", "offline"):  # 'ok' needs no news: readings show it
            node = sensor.options["node"]
            self.poller.report_state(sensor.id, state, f"on node {node}: {data.get('error')}")

    def _status(self, topic: str, payload: bytes) -> None:
        node = topic.split("/")[1]
        if payload.decode(errors="replace").strip() != OFFLINE:
            return
        log.warning("mqtt: node %s is offline", node)
        for sensor_id in self.by_node.get(node, ()):
            self.poller.report_state(sensor_id, "offline", f"node {node} is offline")

    def _json(self, sensor: SensorConfig, data: Any) -> None:
        fields = {q: sensor.options.get(f"{q}_field") for q in QUANTITIES}
        named = [q for q, path in fields.items() if path]
        values: dict[str, float | None] = dict.fromkeys(fields)
        if isinstance(data, int | float) and not isinstance(data, bool) and len(named) == 1:
            values[named[0]] = float(data)  # ESPHome: one bare number per state topic
        else:
            for q in named:
                values[q] = number(field(data, fields[q] or ""), fields[q] or q)
            if all(values[q] is None for q in named):
                raise BadMessageError(f"none of {', '.join(fields[q] or q for q in named)} "
                                      "in the message")
        self.poller.ingest(sensor.id, time.time(), Sample(*(values[q] for q in QUANTITIES)))
