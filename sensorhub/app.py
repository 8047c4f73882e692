"""The Flask app and its Socket.IO server for one configuration (``create_app``)."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sensorhub import ROOT
from sensorhub.config import Config
from sensorhub.polling.loop import Sink
from sensorhub.storage.users import Users

if TYPE_CHECKING:  # imported lazily: eventlet must monkey-patch before flask loads
    from flask import Flask
    from flask_socketio import SocketIO

log = logging.getLogger(__name__)


def create_app(config: Config, *, poll: bool = True, sinks: Sequence[Sink] = (),
               on_cycle: Callable[[str], None] | None = None) -> tuple[Flask, SocketIO]:
    """Build the Flask app and its Socket.IO server for one configuration.

    With ``poll`` the poller, housekeeping and client re-checks start right away;
    ``sensorhub run`` and tests pass ``poll=False`` and start the pieces themselves.
    ``sinks`` and ``on_cycle`` go to the poller (a leader's state mirror, the systemd
    watchdog).
    """
    from flask import Flask
    from flask_socketio import SocketIO

    from sensorhub.hub import assemble
    from sensorhub.runtime import SocketIORuntime
    from sensorhub.web import (
        account,
        admin,
        admin_api,
        api,
        assets,
        auth,
        events,
        metrics,
        notify,
        security,
        views,
    )
    from sensorhub.web.broadcaster import Broadcaster
    from sensorhub.web.clients import Clients
    from sensorhub.web.encoding import FastJSONProvider, SocketJSON
    from sensorhub.web.eventguard import EventGuard
    from sensorhub.web.lifecycle import Lifecycle
    from sensorhub.web.limits import WebLimits
    from sensorhub.web.resync import resync_socket
    from sensorhub.web.state import EXTENSION, Web

    app = Flask(__name__, static_folder=None, template_folder=str(ROOT / "templates"))
    app.json = FastJSONProvider(app)  # history answers are thousands of floats
    app.config.update(
        SECRET_KEY=security.load_secret_key(config.secret_key_path),
        SESSION_COOKIE_NAME="sensorhub_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.server.session_hours),
        MAX_CONTENT_LENGTH=64 * 1024,
        DEBUG=False,  # never, whatever FLASK_DEBUG says: no traceback reaches a client
    )
    limits = config.server.limits
    # async_handlers=False: a client's events are handled one at a time in its own
    # reader task, so one client cannot start thousands of handlers at once
    socketio = SocketIO(app, async_mode=config.server.async_mode,
                        max_http_buffer_size=limits.max_event_bytes, async_handlers=False,
                        json=SocketJSON, logger=False, engineio_logger=False,
                        message_queue=config.server.message_queue, channel="sensorhub")
    runtime = SocketIORuntime(socketio)
    broadcaster = Broadcaster(socketio)
    hub = assemble(config, runtime, sinks=[broadcaster, *sinks],
                   emit_alert=broadcaster.on_alert, on_cycle=on_cycle,
                   on_tick=broadcaster.on_tick)
    web = Web(hub=hub, socketio=socketio, broadcaster=broadcaster,
              clients=Clients(hub.users, socketio, runtime),
              lifecycle=Lifecycle(socketio.server),
              limits=WebLimits(limits, runtime))
    web.clients.on_rights_changed = partial(resync_socket, web)
    app.extensions[EXTENSION] = web
    EventGuard(socketio, limits, web.limits.log)
    app.register_error_handler(500, _internal_error)

    security.init_app(app)
    assets.init_app(app, ROOT / "static")
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(notify.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin_api.bp)
    app.register_blueprint(account.bp)
    events.init_socketio(socketio, web)
    web.first_password = bootstrap_admin(hub.users, config.initial_password_path)
    if poll:
        hub.start()
        web.clients.start()
    return app, socketio


def _internal_error(error: Exception) -> tuple[dict[str, str], int]:
    """A bug answers one line; the traceback goes to the server's log only."""
    return {"error": "internal error"}, 500


def bootstrap_admin(users: Users, password_file: Path) -> str | None:
    """On first start with no users, create ``admin`` with a random password.

    The password goes to a 0600 file next to the database (and, through
    ``first_run_lines``, to the terminal when there is one), never into the log:
    journald is readable by the adm group. Returns the password when it made one.
    """
    if users.count():
        return None
    password = secrets.token_urlsafe(12)
    users.add("admin", password, admin=True)
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    log.warning("created user 'admin'; its password is in %s (change it with: "
                "sensorhub user passwd admin, then delete the file)", password_file)
    return password


def first_run_lines(config: Config, password: str, url: str) -> list[str]:
    """What a new user needs on the terminal after the first start, in one place."""
    password_file = config.initial_password_path
    lines = [
        f"sensorhub is running: open {url}",
        f"log in as 'admin' with the password {password}",
        f"  (also in {password_file}; change it with: sensorhub user passwd admin)",
    ]
    if config.server.host in ("127.0.0.1", "localhost", "::1"):
        lines.append(f"only this machine can connect: set server.host: 0.0.0.0 in "
                     f"{config.source} to let phones and laptops on the LAN in")
    return lines
