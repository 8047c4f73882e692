"""``sensorhub node``: poll this Pi's sensors and publish them to MQTT; no web server.

The node keeps every reading in its own SQLite store, which doubles as the buffer
while the broker is unreachable (sensorhub.mqtt.outbox).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

from sensorhub.config import Config
from sensorhub.service.logs import setup_logging

log = logging.getLogger(__name__)

def run_node(config: Config, *, log_level: str = "INFO") -> int:
    """Poll and publish until SIGTERM/SIGINT; return the exit status."""
    from sensorhub.hub import assemble
    from sensorhub.runtime import ThreadingRuntime
    from sensorhub.service.instance import InstanceLock, StartError

    setup_logging(log_level)
    if config.mqtt is None or config.node is None:
        log.error("%s: node mode needs an mqtt: and a node: section", config.source)
        return 2
    lock = InstanceLock(config.storage.path)  # held until the process ends
    try:
        lock.acquire()
    except StartError as error:
        print(error, file=sys.stderr, flush=True)
        return 1
    hub = assemble(config, ThreadingRuntime(), alerts=False)  # the hub alerts, not nodes
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    hub.start()
    log.info("node %s: %d sensors, publishing to %s", config.node.name, len(config.sensors),
             config.mqtt.url)
    while not stop.wait(1.0):
        # Blinka's PulseIn installs a SIGTERM handler that exits 1; ours must win
        if signal.getsignal(signal.SIGTERM) is not on_signal:
            signal.signal(signal.SIGTERM, on_signal)
    hub.stop()
    backlog = hub.bridge.outbox.backlog if hub.bridge and hub.bridge.outbox else 0
    log.info("stopped; %d readings stored, %d waiting for the broker", hub.store.written,
             backlog)
    return 0
