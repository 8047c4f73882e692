"""Secret key, CSRF tokens, rate limits, the client's address and security headers."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import secrets
import stat
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, session

from sensorhub.config.checker import Network
from sensorhub.runtime import real_lock

log = logging.getLogger(__name__)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")


def load_secret_key(path: Path) -> bytes:
    """Read the session-signing key, creating it (mode 0600) on first start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_existing_key(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    log.info("created a new secret key in %s", path)
    return path.read_bytes().strip()


def _read_existing_key(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("secret key %s was readable by others (mode %o); set to 0600", path, mode)
        path.chmod(0o600)
    key = path.read_bytes().strip()
    if len(key) < 32:
        raise ValueError(f"secret key file {path} is too short; delete it to make a new one")
    return key


def csrf_token() -> str:
    """The session's CSRF token (made on first use)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(24)
    return token


def csrf_ok(submitted: str | None) -> bool:
    """Whether a submitted form token matches the session's."""
    expected = session.get("csrf")
    return bool(expected and submitted) and hmac.compare_digest(str(expected), str(submitted))


def client_address(peer: str | None, forwarded: str | None,
                   trusted: tuple[Network, ...]) -> str:
    """The client's address, as far as it can be trusted.

    The peer's own address, unless the peer is a proxy named in
    ``server.trusted_proxies``: then the right-most ``X-Forwarded-For`` entry that is
    not itself a trusted proxy. Each proxy appends the address it saw, so everything
    left of that entry came from the client and may be forged; a header from any other
    peer is ignored for the same reason.
    """
    address = peer or "?"
    if not trusted or not forwarded or not _among(address, trusted):
        return address
    for hop in reversed([h.strip() for h in forwarded.split(",")[-20:]]):
        if not _among(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:  # not what a proxy writes: keep the peer's address
                return address
    return address


def _among(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


class RateLimiter:
    """Counts failures per key in a sliding window; refuses once the limit is reached."""

    def __init__(self, limit: int, window: float, clock: object = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = real_lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] > self.window:
            hits.popleft()
        return hits

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: it may now)."""
        now = self._clock()  # type: ignore[operator]
        with self._lock:
            hits = self._recent(key, now)
            if len(hits) < self.limit:
                if not hits:
                    self._hits.pop(key, None)
                return 0.0
            return max(0.0, self.window - (now - hits[0]))

    def hit(self, key: str) -> None:
        """Record one failure for ``key``."""
        now = self._clock()  # type: ignore[operator]
        with self._lock:
            self._recent(key, now).append(now)
            if len(self._hits) > 10_000:  # bound memory under a spray of client addresses
                stale = [k for k, v in self._hits.items() if not v or now - v[-1] > self.window]
                for key_ in stale:
                    del self._hits[key_]

    def reset(self, key: str) -> None:
        """Forget ``key``'s failures (after a successful login)."""
        with self._lock:
            self._hits.pop(key, None)


SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def add_security_headers(response: Response) -> Response:
    """Send the headers every response carries."""
    for name, value in SECURITY_HEADERS:
        response.headers.setdefault(name, value)
    return response


class SecurityHeadersMiddleware:
    """WSGI wrapper that adds the headers to responses Flask never sees.

    Flask-SocketIO answers ``/socket.io/`` (the Engine.IO handshake and long-polling)
    in its own middleware, outside Flask's ``after_request``.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Call the app, adding any missing security header to its response."""
        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            present = {name.lower() for name, _value in headers}
            headers = [*headers, *((n, v) for n, v in SECURITY_HEADERS
                                   if n.lower() not in present)]
            return start_response(status, headers, *exc_info)

        return self.app(environ, start)


def init_app(app: Flask) -> None:
    """Register the headers and the template helper (after SocketIO wrapped the app)."""
    app.after_request(add_security_headers)
    app.wsgi_app = SecurityHeadersMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    app.jinja_env.globals["csrf_token"] = csrf_token
