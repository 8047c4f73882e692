"""``sensorhub node``: poll this Pi's sensors and publish them to MQTT; no web server.

The node keeps every reading in its own SQLite store, which doubles as the buffer
while the broker is unreachable (sensorhub.mqtt.outbox).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from sensorhub.config import Config
from sensorhub.service.logs import setup_logging

log = logging.getLogger(__name__)

RETENTION_EVERY = 3600.0


def run_node(config: Config, *, log_level: str = "INFO") -> int:
    """Poll and publish until SIGTERM/SIGINT; return the exit status."""
    from sensorhub.mqtt.bridge import MqttBridge
    from sensorhub.polling.loop import Poller
    from sensorhub.runtime import ThreadingRuntime
    from sensorhub.storage.store import Store

    setup_logging(log_level)
    if config.mqtt is None or config.node is None:
        log.error("%s: node mode needs an mqtt: and a node: section", config.source)
        return 2
    runtime = ThreadingRuntime()
    store = Store(config.storage.path, retention_days=config.storage.retention_days)
    poller = Poller(config.sensors, runtime, [store],
                    gpio_backend=config.gpio_backend)
    bridge = MqttBridge(config, runtime, poller, store)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    store.apply_retention()
    poller.start()
    log.info("node %s: %d sensors, publishing to %s", config.node.name, len(config.sensors),
             config.mqtt.url)
    last_retention = time.monotonic()
    while not stop.wait(config.storage.flush_interval):
        # Blinka's PulseIn installs a SIGTERM handler that exits 1; ours must win
        if signal.getsignal(signal.SIGTERM) is not on_signal:
            signal.signal(signal.SIGTERM, on_signal)
        store.flush()
        if time.monotonic() - last_retention >= RETENTION_EVERY:
            last_retention = time.monotonic()
            store.apply_retention()
    poller.stop()
    store.close()
    backlog = bridge.outbox.backlog if bridge.outbox else 0
    log.info("stopped; %d readings stored, %d waiting for the broker", store.written, backlog)
    return 0
