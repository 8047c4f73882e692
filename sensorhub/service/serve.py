"""``sensorhub run``: listen, poll, reload on SIGHUP, and stop cleanly on SIGTERM.

We run the WSGI server ourselves (rather than ``socketio.run``) so that READY=1 goes
to systemd only once the port accepts connections, and so that SIGTERM flushes every
accepted reading and exits 0. SIGHUP re-reads the config (sensorhub.service.reload).
Before anything else the process takes the database's
instance lock and the port (sensorhub.service.instance): a second instance, or a
port taken by another program, ends here with one line and status 1. Every
connection passes the connection guard (sensorhub.service.guard); Flask's debug mode
is never on.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import warnings
from dataclasses import replace
from typing import Any

from sensorhub.config import Config
from sensorhub.service.logs import setup_logging

log = logging.getLogger(__name__)


def serve(config: Config, *, host: str | None = None, port: int | None = None,
          async_mode: str | None = None, log_level: str = "INFO") -> int:
    """Run the service until SIGTERM/SIGINT; return the exit status."""
    def overridden(config: Config) -> Config:  # --host, --port, --async-mode win
        return replace(config, server=replace(
            config.server, host=host or config.server.host,
            port=port if port is not None else config.server.port,
            async_mode=async_mode or config.server.async_mode))

    config = overridden(config)
    server = config.server
    setup_logging(log_level)
    if server.async_mode == "eventlet":
        os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")
        with warnings.catch_warnings():  # bugfix-only mode is known (design card)
            warnings.simplefilter("ignore")
            import eventlet

        eventlet.monkey_patch()
        from eventlet import tpool

        tpool.set_num_threads(_worker_threads(config))
    from drivers.registry import DRIVER_SPECS
    from sensorhub.service.instance import InstanceLock, StartError, bind, listen

    lock = InstanceLock(config.storage.path)
    try:  # several web processes sharing a message queue share one database on purpose
        lock.acquire(shared=server.message_queue is not None)
        sock = bind(server.host, server.port)
    except StartError as error:
        print(error, file=sys.stderr, flush=True)
        return 1
    from sensorhub.app import create_app
    from sensorhub.config import load_config
    from sensorhub.service.guard import ConnectionGuard
    from sensorhub.service.reload import handle_reloads
    from sensorhub.service.servers import eventlet_server, threading_server
    from sensorhub.service.systemd import PollerWatchdog, allowances, notify, watchdog_interval
    from sensorhub.web.state import EXTENSION

    interval = watchdog_interval()
    polled = [s for s in config.sensors if not DRIVER_SPECS[s.driver].push]
    watchdog = None
    if interval and polled:  # pushed (MQTT) sensors have no loop to beat
        watchdog = PollerWatchdog(allowances(polled), interval)
        log.info("systemd watchdog: every %.0f s, pinged from the poller loops", interval)
    leader = None
    if server.message_queue:
        from sensorhub.service.leader import Leader

        leader = Leader(server.message_queue, ttl=server.leader_ttl)
    app, _socketio = create_app(config, poll=False, sinks=[leader] if leader else [],
                                on_cycle=watchdog.beat if watchdog else None)
    web = app.extensions[EXTENSION]
    hub = web.hub
    stop = hub.runtime.event()
    status = [0]

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    try:
        listen(sock, server.host, server.port)
    except StartError as error:  # another server bound the port while we started
        print(error, file=sys.stderr, flush=True)
        hub.store.close()
        return 1
    guard = ConnectionGuard(server.limits)
    make_server = eventlet_server if server.async_mode == "eventlet" else threading_server
    close_listener, run_server = make_server(app, sock, guard)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    reloads = handle_reloads(web, stop, lambda path: overridden(load_config(path)),
                             watchdog=watchdog, ping_every=interval)
    web.clients.start()
    _start_polling(hub, leader, stop, status, None if polled else interval)
    hub.runtime.spawn(guard.run, stop)
    hub.runtime.spawn(run_server)
    url_host = "127.0.0.1" if server.host in ("0.0.0.0", "::") else server.host
    log.info("sensorhub listening on http://%s:%d/ (%s mode, %d sensors)", url_host,
             server.port, server.async_mode, len(config.sensors))
    notify(f"READY=1\nSTATUS=listening on {server.host}:{server.port}")
    hub.runtime.spawn(reloads)  # only now: a reload's READY=1 must not precede the first
    if web.first_password and sys.stderr.isatty():
        from sensorhub.app import first_run_lines

        url = f"http://{url_host}:{server.port}/"
        print("\n" + "\n".join("  " + line for line in first_run_lines(
            config, web.first_password, url)) + "\n", file=sys.stderr, flush=True)
    while not stop.wait(1.0):
        # Blinka's PulseIn installs a SIGTERM handler that exits 1; ours must win
        if signal.getsignal(signal.SIGTERM) is not on_signal:
            signal.signal(signal.SIGTERM, on_signal)
    notify("STOPPING=1")
    web.clients.stop()
    hub.stop()
    if leader is not None:
        leader.release()  # after the poller stopped: never two at once
    close_listener()
    lock.release()  # after the poller stopped and the database closed
    logging.shutdown()
    sys.stdout.flush()
    return status[0]


def _start_polling(hub: Any, leader: Any, stop: Any, status: list[int],
                   ping_every: float | None) -> None:
    """Poll now, or (with a message queue) once this process is elected leader.

    A process with nothing of its own to poll (or a standby) pings the systemd
    watchdog from its event loop instead of from poller loops.
    """
    from sensorhub.service.systemd import notify

    if ping_every:
        def ping() -> None:
            while not stop.wait(ping_every / 3):
                notify("WATCHDOG=1")
        hub.runtime.spawn(ping)
    if leader is None:
        hub.start()
        return

    def lost() -> None:
        status[0] = 1
        stop.set()

    def standby() -> None:
        leader.load_states(hub.poller)

    log.info("message queue %s: polling only if elected leader", hub.config.server.message_queue)
    hub.runtime.spawn(leader.run, stop, hub.start, lost, standby)


def _worker_threads(config: Config) -> int:
    """Size eventlet's thread pool so a sensor read never waits for a free thread.

    A hung DHT read holds a worker thread: two per sensor plus the store's writes
    are the poller's share. Web queries get ``web_queries`` more, and never more
    than that (sensorhub.web.limits), so they cannot take the poller's threads;
    logins and alert writes get a few spare.
    """
    return max(20, 2 * len(config.sensors) + 4) + config.server.limits.web_queries + 4
