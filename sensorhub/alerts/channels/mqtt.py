"""MQTT: alert events on a topic, and each alert's current state retained, for Home
Assistant and Node-RED.

Per delivery, two QoS 1 messages, both acknowledged by the broker (PUBACK) before the
delivery counts as done:

- ``<topic>/events``: every message (firing, cleared, reminder, test), not retained;
- ``<topic>/<sensor>/<kind>``: the alert's current state, retained, so a subscriber
  that connects later (Home Assistant after a restart) sees what is firing now.

Each payload is the ``alert`` object (docs/protocol.md) plus ``key``, ``title``,
``message``, ``severity`` and ``link``. The channel opens its own short connection per
delivery (alerts are rare), so it needs no thread of its own and works in both async
modes; without ``url`` it uses the ``mqtt:`` broker of config.yaml.
"""

from __future__ import annotations

import json
import secrets
import time
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

from drivers.options import Option, exact_topic
from sensorhub.alerts.channels import COMMON, ChannelError, ChannelSpec
from sensorhub.alerts.message import Notification
from sensorhub.config.mqtt import broker_url


class MqttChannel:
    """Publish alerts to an MQTT broker."""

    def __init__(self, name: str, url: str, topic: str = "sensorhub/alerts",
                 username: str | None = None, password: str | None = None,
                 ca_file: str | None = None, timeout: float = 10.0,
                 retries: int | None = None) -> None:
        self.name = name
        parts = urlsplit(url)
        self.tls = parts.scheme == "mqtts"
        self.host = parts.hostname or ""
        self.port = parts.port or (8883 if self.tls else 1883)
        self.topic = topic.rstrip("/")
        self.username = username or parts.username
        self._password = password or parts.password
        self._ca_file = ca_file
        self.timeout = float(timeout)
        self.retries = retries

    def messages(self, notification: Notification) -> list[tuple[str, str, bool]]:
        """(topic, payload, retained) of one notification."""
        event = notification.event
        payload = json.dumps({**event, "key": notification.key, "title": notification.title,
                              "message": notification.text, "severity": notification.severity,
                              "link": notification.link})
        out = [(f"{self.topic}/events", payload, False)]
        if notification.state in ("firing", "cleared") and event.get("sensor"):
            out.append((f"{self.topic}/{event['sensor']}/{event['kind']}", payload, True))
        return out

    def deliver(self, notification: Notification) -> str:
        """Connect, publish, wait for every PUBACK, disconnect."""
        import paho.mqtt.client as mqtt  # lazily: only configs with an mqtt channel need it

        client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                             client_id=f"sensorhub-notify-{self.name}-{secrets.token_hex(3)}",
                             clean_session=True, protocol=mqtt.MQTTv311)
        if self.username:
            client.username_pw_set(self.username, self._password)
        if self.tls:
            client.tls_set(ca_certs=self._ca_file)
        refused: list[str] = []
        client.on_connect = lambda _c, _u, _f, reason, _p: (
            refused.append(str(reason)) if reason.is_failure else None)
        deadline = time.monotonic() + self.timeout
        try:
            client.connect(self.host, self.port, keepalive=max(5, int(self.timeout) * 2))
            while not client.is_connected():
                if refused:
                    raise ChannelError(f"mqtt {self.host}:{self.port} refused the "
                                       f"connection: {refused[0]}")
                self._step(client, deadline, "no CONNACK")
            infos = [client.publish(t, p, qos=1, retain=r)
                     for t, p, r in self.messages(notification)]
            while not all(i.is_published() for i in infos):
                self._step(client, deadline, "no PUBACK")
            return f"published {len(infos)} (mids {', '.join(str(i.mid) for i in infos)})"
        except (OSError, ValueError, RuntimeError) as error:
            raise ChannelError(f"mqtt {self.host}:{self.port}: {error}") from None
        finally:
            with suppress(Exception):  # closing a failed connection may fail too
                client.disconnect()

    def _step(self, client: Any, deadline: float, what: str) -> None:
        if time.monotonic() > deadline:
            raise ChannelError(f"mqtt {self.host}:{self.port}: {what} within "
                               f"{self.timeout:g} s")
        code = client.loop(timeout=0.05)
        if code not in (0,) and not client.is_connected():
            raise ChannelError(f"mqtt {self.host}:{self.port}: connection lost ({code})")


SPEC = ChannelSpec(MqttChannel, options={
    "url": Option((str,), broker_url),
    "topic": Option((str,), exact_topic),
    "username": Option((str,)),
    "password": Option((str,)),
    "ca_file": Option((str,)),
    **COMMON,
}, required=(), secrets=("password",))
