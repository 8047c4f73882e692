"""The in-process tier: the real app on a temp database, no server process.

``create_app(config, poll=False)`` builds everything a ``sensorhub run`` builds (the
hub, the poller with its sinks, the routes, the socket events), but nothing runs on
its own: a test takes readings with ``site.poll(...)`` (the real poller reading the
real mock driver, through the real filter, store and broadcaster) and talks to the
app with Flask's test client and Flask-SocketIO's test client, which share the login
cookie as a browser's page and socket do.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_socketio import SocketIO, SocketIOTestClient

from sensorhub.app import create_app
from sensorhub.config import Config, load_config
from sensorhub.web.state import EXTENSION, Web
from tests.conftest import PASSWORD, write_config


@dataclass
class Site:
    """One in-process app and what a test does with it."""

    app: Flask
    socketio: SocketIO
    config: Config
    directory: Path
    sockets: list[SocketIOTestClient] = field(default_factory=list)

    @property
    def web(self) -> Web:
        """The app's web state (hub, broadcaster, clients)."""
        return self.app.extensions[EXTENSION]

    # -- people ----------------------------------------------------------------------
    def add_user(self, name: str, *, rooms: tuple[str, ...] = (), admin: bool = False
                 ) -> str:
        """Create a user with the standard test password."""
        self.web.hub.users.add(name, PASSWORD, admin=admin, rooms=frozenset(rooms))
        return name

    def token(self, name: str) -> str:
        """A new API token of a user."""
        return self.web.hub.users.create_token(name)[1]

    def bearer(self, name: str) -> dict[str, str]:
        """The Authorization header of a new token of a user."""
        return {"Authorization": f"Bearer {self.token(name)}"}

    def client(self) -> FlaskClient:
        """A fresh HTTP client (its own cookie jar)."""
        return self.app.test_client()

    @staticmethod
    def csrf(client: FlaskClient) -> str:
        """The CSRF token of the login form as ``client``'s session gets it."""
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
        assert token, "login form has no CSRF token"
        return token.group(1)

    def login(self, name: str, password: str = PASSWORD,
              client: FlaskClient | None = None) -> FlaskClient:
        """An HTTP client logged in through the real form (CSRF token and all)."""
        client = client or self.client()
        answer = client.post("/login", data={"username": name, "password": password,
                                             "csrf_token": self.csrf(client)})
        assert answer.status_code == 302, answer.get_data(as_text=True)
        return client

    def socket(self, *, auth: dict[str, Any] | None = None,
               client: FlaskClient | None = None,
               headers: dict[str, str] | None = None) -> SocketIOTestClient:
        """A Socket.IO client (connected unless the server refused it)."""
        sock = self.socketio.test_client(self.app, auth=auth, flask_test_client=client,
                                         headers=headers)
        self.sockets.append(sock)
        return sock

    # -- sensors ---------------------------------------------------------------------
    def poll(self, *sensor_ids: str, times: int = 1) -> int:
        """Read sensors now through the real poller; return how many readings it took.

        Rounds are 2 ms apart: the store keys a sensor's readings by the millisecond
        (``INSERT OR IGNORE``), so two reads within one would be stored as one. A real
        poller never reads a sensor that fast (every driver's minimum is >= 0.1 s).
        """
        poller = self.web.hub.poller
        taken = 0
        for round_ in range(times):
            if round_:
                time.sleep(0.002)
            for sensor_id in sensor_ids or poller.ids():
                taken += poller.poll_once(sensor_id)
        return taken

    def flush(self) -> int:
        """Write pending readings to the database now."""
        return self.web.hub.store.flush()

    def close(self) -> None:
        """Disconnect every socket and close the database."""
        for sock in self.sockets:
            if sock.is_connected():
                sock.disconnect()
        self.web.hub.poller.stop(timeout=1.0)
        self.web.hub.store.close()


def received(sock: SocketIOTestClient, event: str) -> list[Any]:
    """The payloads of one event a test client has received (and not read) so far."""
    return [m["args"][0] if m["args"] else None for m in sock.get_received()
            if m["name"] == event]


def build_site(directory: Path, **config: Any) -> Site:
    """An in-process app in ``directory`` (write_config's arguments); close it after.

    For a fixture of wider scope than ``make_site``'s, e.g. one site a module shares
    because its tests only read, and users (scrypt: ~0.25 s each) are made once.
    """
    loaded = load_config(write_config(directory, async_mode="threading", **config))
    app, socketio = create_app(loaded, poll=False)
    return Site(app, socketio, loaded, directory)


@pytest.fixture
def make_site(tmp_path: Path) -> Iterator[Callable[..., Site]]:
    """Build in-process apps with a custom config (write_config's arguments)."""
    made: list[Site] = []

    def make(**config: Any) -> Site:
        directory = tmp_path / f"site{len(made)}"
        directory.mkdir()
        site = build_site(directory, **config)
        made.append(site)
        return site

    yield make
    for site in made:
        site.close()


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    """The default test config (rooms a and b, mock sensors a1 and b1) in-process."""
    return make_site()


@pytest.fixture
def app(site: Site) -> Flask:
    """The Flask app of ``site``."""
    return site.app


@pytest.fixture
def client(site: Site) -> FlaskClient:
    """An HTTP test client of ``site``."""
    return site.client()


@pytest.fixture
def socket_client(site: Site) -> Callable[..., SocketIOTestClient]:
    """Make Socket.IO test clients of ``site`` (``auth=``, ``client=`` for a login)."""
    return site.socket
