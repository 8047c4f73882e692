"""SIGHUP re-reads config.yaml in a running ``sensorhub run`` (``systemctl reload``).

The unit's ``ExecReload=/bin/kill -HUP $MAINPID`` sends it. The signal handler only
sets an event; a task of its own runs the reload (``Web.reload``), so the handler
never waits on the poller or the database. Around it systemd hears ``RELOADING=1``
(with ``MONOTONIC_USEC``, as systemd.service(5) asks) and ``READY=1`` with the result
in ``STATUS=``. The command-line overrides of ``sensorhub run`` (--host, --port,
--async-mode) apply to every reload as to the start, so they never read as changes.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.registry import DRIVER_SPECS
from sensorhub.config import Config
from sensorhub.service.systemd import PollerWatchdog, allowances, notify

log = logging.getLogger(__name__)

CHECK_EVERY = 1.0  # seconds: how often the reload task looks at ``stop``


def handle_reloads(web: Any, stop: Any, load: Callable[[Path], Config], *,
                   watchdog: PollerWatchdog | None = None,
                   ping_every: float | None = None) -> Callable[[], None]:
    """Take SIGHUP from now on; return the task that reloads (until ``stop``).

    A SIGHUP that comes before the task runs is kept and served once it does.
    ``load`` reads a config file with the command-line overrides applied;
    ``ping_every`` is systemd's watchdog interval, if any. The systemd watchdog
    follows the polled sensors of each reloaded config.
    """
    runtime = web.hub.runtime
    wanted = runtime.event()
    reloader = web.reloader
    reloader.load, reloader.notify = load, notify
    if watchdog is not None:
        reloader.listeners.append(_watch_polled(watchdog, runtime, stop, ping_every))

    def on_hup(_signum: int, _frame: Any) -> None:
        log.info("received SIGHUP; reloading %s", web.config.source)
        wanted.set()

    def run() -> None:
        while not stop.is_set():
            if wanted.wait(CHECK_EVERY):
                wanted.clear()  # a SIGHUP during this reload brings another after it
                web.reload()

    signal.signal(signal.SIGHUP, on_hup)
    return run


def _watch_polled(watchdog: PollerWatchdog, runtime: Any, stop: Any,
                  ping_every: float | None) -> Callable[[Config], None]:
    """A reload listener: the watchdog follows the polled sensors of the new config.

    Should a reload leave nothing polled (only MQTT sensors), no loop beats any more:
    a task pings instead while that lasts, as ``sensorhub run`` does from the start.
    """
    pinging: list[bool] = []

    def ping() -> None:
        while not stop.wait((ping_every or 3.0) / 3):
            if watchdog.idle:
                notify("WATCHDOG=1")

    def follow(config: Config) -> None:
        watchdog.track(allowances(s for s in config.sensors
                                  if not DRIVER_SPECS[s.driver].push))
        if watchdog.idle and not pinging:
            pinging.append(True)
            runtime.spawn(ping)
    return follow
