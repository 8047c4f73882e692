"""One connection to the MQTT broker (paho-mqtt): topics, a last will, an inbox.

paho's network loop runs in its own thread (``loop_start``). Under eventlet that
thread, its sockets and its ``select`` are all monkey-patched, so it is a green
thread doing cooperative I/O; in threading mode it is an OS thread. Either way the
callbacks only append to a deque (atomic in CPython, safe across both kinds of
thread) and a runtime task drains it, so no sensorhub code runs on paho's thread.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from sensorhub.config.mqtt import MqttConfig

log = logging.getLogger(__name__)

ROOT = "sensorhub"
RECONNECT_MIN, RECONNECT_MAX = 1, 10  # seconds; a Pi on Wi-Fi comes back quickly
ONLINE, OFFLINE = "online", "offline"


def reading_topic(node: str, sensor: str) -> str:
    """Where a node publishes a sensor's readings."""
    return f"{ROOT}/{node}/{sensor}/reading"


def state_topic(node: str, sensor: str) -> str:
    """Where a node publishes a sensor's state (retained)."""
    return f"{ROOT}/{node}/{sensor}/state"


def status_topic(node: str) -> str:
    """``online``/``offline`` of a whole node (retained; ``offline`` is its last will)."""
    return f"{ROOT}/{node}/status"


class MqttLink:
    """A paho client with sensorhub's settings; received messages wait in ``inbox``."""

    def __init__(self, cfg: MqttConfig, *, will_topic: str | None = None,
                 persistent: bool = False) -> None:
        import paho.mqtt.client as mqtt  # lazily: only configs with mqtt: need it

        self.cfg = cfg
        # a persistent session makes the broker queue QoS 1 messages while we are away
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=cfg.client_id, clean_session=not persistent,
                                  protocol=mqtt.MQTTv311)
        if cfg.username is not None:
            self.client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            self.client.tls_set(ca_certs=str(cfg.ca_file) if cfg.ca_file else None)
        if will_topic is not None:
            self.client.will_set(will_topic, OFFLINE, qos=1, retain=True)
        self.client.reconnect_delay_set(RECONNECT_MIN, RECONNECT_MAX)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.inbox: deque[tuple[str, bytes]] = deque()
        self.topics: list[str] = []
        self.on_connected: list[Callable[[], None]] = []
        self._was_connected = False
        self._stopping = False

    @property
    def connected(self) -> bool:
        """Whether the broker accepted us and the connection is up."""
        return bool(self.client.is_connected())

    def subscribe(self, topic: str) -> None:
        """Subscribe (QoS 1) now and after every reconnect."""
        self.topics.append(topic)

    def start(self) -> None:
        """Connect in the background; paho reconnects on its own after a loss."""
        log.info("mqtt: connecting to %s as %s", self.cfg.url, self.cfg.client_id)
        self.client.connect_async(self.cfg.host, self.cfg.port, self.cfg.keepalive)
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect cleanly (no last will) and stop the network thread."""
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: str, *, retain: bool = False) -> Any:
        """Publish with QoS 1; the returned info tells when the broker acknowledged it."""
        return self.client.publish(topic, payload, qos=1, retain=retain)

    # -- paho callbacks (paho's thread) ---------------------------------------------
    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason: Any,
                    _properties: Any) -> None:
        if reason.is_failure:
            log.error("mqtt: %s refused the connection: %s", self.cfg.url, reason)
            return
        log.info("mqtt: connected to %s", self.cfg.url)
        self._was_connected = True
        if self.topics:
            client.subscribe([(topic, 1) for topic in self.topics])
        for hook in self.on_connected:
            try:
                hook()
            except Exception:  # a hook bug must not kill paho's loop
                log.exception("mqtt: on-connect hook failed")

    def _on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, reason: Any,
                       _properties: Any) -> None:
        if self._was_connected and not self._stopping:
            log.warning("mqtt: lost %s (%s); reconnecting", self.cfg.url, reason)
        self._was_connected = False

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        self.inbox.append((message.topic, bytes(message.payload)))
