"""The MQTT side of a process: publish our own sensors (node), take in pushed ones (hub)."""

from __future__ import annotations

import logging
from typing import Any

from drivers.registry import DRIVER_SPECS
from sensorhub.config import Config
from sensorhub.mqtt.link import MqttLink, status_topic
from sensorhub.mqtt.outbox import Outbox
from sensorhub.mqtt.source import MqttSource
from sensorhub.polling.push import PushTarget
from sensorhub.runtime import Runtime

log = logging.getLogger(__name__)


class MqttBridge:
    """The MQTT side of one sensorhub process: a poller source, and a sink (the outbox)."""

    def __init__(self, config: Config, runtime: Runtime, store: Any) -> None:
        assert config.mqtt is not None
        self.store = store
        node = config.node.name if config.node else None
        pushed = [s for s in config.sensors if DRIVER_SPECS[s.driver].push]
        own = [s for s in config.sensors if not DRIVER_SPECS[s.driver].push]
        self.link = MqttLink(config.mqtt, will_topic=status_topic(node) if node else None,
                             persistent=bool(pushed))
        self.source = MqttSource(self.link, runtime, pushed) if pushed else None
        self.outbox: Outbox | None = None
        if node is not None:
            retained: list[tuple[str, str]] = []
            remember = None
            ha = config.homeassistant
            if ha is not None and ha.discovery:
                retained, remember = self._discovery(config, node, own)
            self.outbox = Outbox(self.link, node, own, store.connect, runtime, retained,
                                 remember)
        self._started = False

    def _discovery(self, config: Config, node: str, own: list[Any]
                   ) -> tuple[list[tuple[str, str]], Any]:
        """Discovery configs, plus an empty retained config for each sensor that is gone."""
        from sensorhub import __version__
        from sensorhub.mqtt.homeassistant import announced, discovery_messages, remember

        assert config.homeassistant is not None
        messages = discovery_messages(config.homeassistant.prefix, node, own, config.rooms,
                                      __version__)
        current = {topic for topic, _ in messages}
        conn = self.store.connect()
        try:
            gone = sorted(announced(conn) - current)
        finally:
            conn.close()
        if gone:
            log.info("homeassistant: removing %d entities of sensors no longer configured",
                     len(gone))
        return messages + [(topic, "") for topic in gone], (
            lambda db: remember(db, current))

    @property
    def sinks(self) -> list[Outbox]:
        """What the poller must feed: the outbox of this node's own sensors, if any."""
        return [self.outbox] if self.outbox is not None else []

    def start(self, target: PushTarget) -> None:
        """Seed replay detection from the store, then connect and start both halves."""
        if self.source is not None:
            for s in self.source.sensors:
                latest = self.store.latest(s.id)
                target.seed_last_ts(s.id, latest.ts if latest else None)
            self.source.start(target)
        if self.outbox is not None:
            self.outbox.start()
        self.link.start()
        self._started = True

    def stop(self) -> None:
        """Stop both halves (the outbox says goodbye and saves its marks), disconnect."""
        if not self._started:
            return
        if self.source is not None:
            self.source.stop()
        if self.outbox is not None:
            self.outbox.stop()
        self.link.stop()
