"""sensorhub: a Raspberry Pi temperature and humidity dashboard."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sensorhub.config import Config

if TYPE_CHECKING:  # imported lazily: eventlet must monkey-patch before flask loads
    from flask import Flask
    from flask_socketio import SocketIO

__version__ = "0.1.0"
log = logging.getLogger(__name__)



def _asset_root() -> Path:
    """Where templates/ and static/ are: the source tree, or an installed share/ copy."""
    source = Path(__file__).resolve().parent.parent
    if (source / "templates").is_dir():
        return source
    return Path(sys.prefix) / "share" / "sensorhub"


ROOT = _asset_root()
MAX_EVENT_BYTES = 64 * 1024


def create_app(config: Config, *, poll: bool = True) -> tuple[Flask, SocketIO]:
    """Build the Flask app and its Socket.IO server for one configuration.

    With ``poll`` the poller and housekeeping start right away (the CLI's ``run``);
    tests pass ``poll=False`` to drive the pieces themselves.
    """
    from flask import Flask
    from flask_socketio import SocketIO

    from sensorhub.alerts.engine import AlertEngine, AlertLog
    from sensorhub.hub import Hub
    from sensorhub.polling.loop import Poller
    from sensorhub.runtime import SocketIORuntime
    from sensorhub.storage.store import Store
    from sensorhub.storage.users import Users
    from sensorhub.web import api, assets, auth, events, metrics, security, views
    from sensorhub.web.broadcaster import Broadcaster

    app = Flask(__name__, static_folder=None, template_folder=str(ROOT / "templates"))
    app.config.update(
        SECRET_KEY=security.load_secret_key(config.secret_key_path),
        SESSION_COOKIE_NAME="sensorhub_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.server.session_hours),
        MAX_CONTENT_LENGTH=64 * 1024,
        JSON_SORT_KEYS=False,
    )
    socketio = SocketIO(app, async_mode=config.server.async_mode,
                        max_http_buffer_size=MAX_EVENT_BYTES, logger=False,
                        engineio_logger=False, message_queue=config.server.message_queue,
                        channel="sensorhub")
    runtime = SocketIORuntime(socketio)
    store = Store(config.storage.path, retention_days=config.storage.retention_days)
    users = Users(store.connect)
    broadcaster = Broadcaster(socketio)
    poller = Poller(config.sensors, runtime, [store, broadcaster],
                    gpio_backend=config.gpio_backend)
    alerts = AlertEngine(config, AlertLog(store.connect), runtime, emit=broadcaster.on_alert,
                         gpio=poller.gpio)
    poller.sinks.append(alerts)
    if config.mqtt is not None:
        from sensorhub.mqtt.bridge import MqttBridge

        MqttBridge(config, runtime, poller, store)  # a poller source: starts with it
    hub = Hub(config=config, store=store, users=users, poller=poller,
              broadcaster=broadcaster, runtime=runtime, socketio=socketio, alerts=alerts)
    app.extensions["sensorhub"] = hub

    security.init_app(app)
    assets.init_app(app, ROOT / "static")
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(metrics.bp)
    events.init_socketio(socketio, hub)
    app.extensions["sensorhub.first_password"] = _bootstrap_admin(
        users, config.storage.path.parent / "initial-admin-password")
    if poll:
        hub.start()
    return app, socketio


def _bootstrap_admin(users: Any, password_file: Path) -> str | None:
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
    password_file = config.storage.path.parent / "initial-admin-password"
    lines = [
        f"sensorhub is running: open {url}",
        f"log in as 'admin' with the password {password}",
        f"  (also in {password_file}; change it with: sensorhub user passwd admin)",
    ]
    if config.server.host in ("127.0.0.1", "localhost", "::1"):
        lines.append(f"only this machine can connect: set server.host: 0.0.0.0 in "
                     f"{config.source} to let phones and laptops on the LAN in")
    return lines
