"""Static files: fingerprinted URLs, long cache lifetimes, gzip made once per version.

``asset_url('app.css')`` gives ``/static/app.css?v=<hash>``; a request carrying the
current hash is cacheable for a year (the URL changes whenever the file does). ES
modules are served with their relative imports fingerprinted the same way
(``imports.py``), and a module's hash covers every module it imports, directly or
not: a warm reload of the dashboard fetches its HTML and nothing else.

Compressed bodies are made once per file version (gzip level 9) and kept in memory:
the whole static tree is a few hundred KiB. No brotli: browsers ask for it over
HTTPS and from localhost only, and sensorhub is mostly reached over plain HTTP on a
LAN (``docs/performance.md`` has the figures). The dashboard page itself is gzipped
per response (a few KiB, ~0.1 ms).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

from flask import Blueprint, Flask, Request, Response, abort, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.security import safe_join

from sensorhub.runtime import real_lock
from sensorhub.web.imports import imports_of, rewrite

TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8",
         ".png": "image/png", ".ico": "image/x-icon", ".json": "application/json"}
COMPRESSIBLE = {".js", ".css", ".svg", ".txt", ".json"}
YEAR = 365 * 86400
PAGE_GZIP_MIN = 1024  # bytes: below this the gzip header costs more than it saves
STATIC = "/static/"
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Source:
    """One static file as on disk, with the modules it imports (JS only)."""

    mtime_ns: int
    body: bytes
    digest: str
    imports: tuple[str, ...]


@dataclass(frozen=True)
class Asset:
    """One static file as served: ``digest`` is its version, the ``?v=`` of its URL."""

    digest: str
    body: bytes
    gzipped: bytes | None
    mimetype: str


def short_hash(data: bytes) -> str:
    """The 16 hex digits a version is made of."""
    return hashlib.sha256(data).hexdigest()[:16]


class Assets:
    """The static tree, read lazily and cached by modification time."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._sources: dict[str, Source] = {}
        self._served: dict[str, Asset] = {}
        self._lock = real_lock()

    def source(self, name: str) -> Source | None:
        """The file at a path under the root as on disk, or None."""
        joined = safe_join(str(self.root), name)
        if joined is None:
            return None
        path = Path(joined)
        suffix = path.suffix.lower()
        if suffix not in TYPES:
            return None
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return None
        cached = self._sources.get(name)
        if cached is not None and cached.mtime_ns == mtime:
            return cached
        if not path.is_file():
            return None
        body = path.read_bytes()
        imports = imports_of(name, body.decode("utf-8")) if suffix == ".js" else ()
        source = Source(mtime, body, short_hash(body), imports)
        with self._lock:
            self._sources[name] = source
        return source

    def version(self, name: str) -> str | None:
        """A file's version: its own hash, or for a module the hash of every file it
        reaches through its imports (so its URL changes when any of them does)."""
        source = self.source(name)
        if source is None:
            return None
        if not source.imports:
            return source.digest
        seen: dict[str, str] = {}
        stack = [name]
        while stack:  # the imports can be cyclic (cards.js <-> redraw.js): a set, not a tree
            current = stack.pop()
            found = self.source(current)
            if current in seen or found is None:
                continue
            seen[current] = found.digest
            stack.extend(found.imports)
        listing = "".join(f"{path}\0{digest}\n" for path, digest in sorted(seen.items()))
        return short_hash(listing.encode("utf-8"))

    def get(self, name: str) -> Asset | None:
        """The asset at a path under the root as served, or None."""
        source = self.source(name)
        version = self.version(name) if source is not None else None
        if source is None or version is None:
            return None
        cached = self._served.get(name)
        if cached is not None and cached.digest == version:
            return cached
        body = source.body
        if source.imports:
            body = rewrite(name, body.decode("utf-8"), self.version).encode("utf-8")
        suffix = Path(name).suffix.lower()
        gzipped = gzip.compress(body, 9, mtime=0) if suffix in COMPRESSIBLE else None
        asset = Asset(version, body, gzipped, TYPES[suffix])
        with self._lock:
            self._served[name] = asset
        return asset

    def url(self, name: str) -> str:
        """The fingerprinted URL of an asset."""
        version = self.version(name)
        if version is None:
            raise FileNotFoundError(f"no static file {name}")
        return f"{STATIC}{name}?v={version}"


class StaticSkipsSession(SecureCookieSessionInterface):
    """Flask's cookie sessions, but never for a static file.

    A permanent session is re-sent (``Set-Cookie``, ~300 B) on every response, with
    ``Vary: Cookie``: on each of the dashboard's two dozen files that was a tenth of
    the first load, and it kept shared caches from keeping them. A static file reads
    no session, so it gets none.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """None (Flask then uses its null session, never saved) under /static/."""
        if request.path.startswith(STATIC):
            return None
        return super().open_session(app, request)


def make_blueprint(assets: Assets) -> Blueprint:
    """The /static route serving ``assets``."""
    bp = Blueprint("assets", __name__)

    @bp.get("/static/<path:name>")
    def static_file(name: str) -> Response:
        asset = assets.get(name)
        if asset is None:
            abort(404)
        etag = asset.digest
        fresh = request.args.get("v") == asset.digest
        cache = f"public, max-age={YEAR}, immutable" if fresh else "no-cache"
        if etag in request.if_none_match:
            response = Response(status=304)
        else:
            use_gzip = asset.gzipped is not None and "gzip" in request.accept_encodings
            # content_type, not mimetype: the type already carries its charset
            response = Response(asset.gzipped if use_gzip else asset.body,
                                content_type=asset.mimetype)
            if use_gzip:
                response.headers["Content-Encoding"] = "gzip"
        response.set_etag(etag)
        response.headers["Cache-Control"] = cache
        response.headers["Vary"] = "Accept-Encoding"
        return response

    return bp


def query_not_in_page(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a page view whose HTML reflects nothing of its query string.

    The dashboard keeps its state in the address (``/?range=24h``): every reload and
    bookmark has a query, and without this mark its page would go uncompressed.
    ``tests/web/test_assets.py`` checks that a marked page does not echo its query.
    """
    @wraps(view)
    def marked(*args: P.args, **kwargs: P.kwargs) -> R:
        g.query_not_in_page = True
        return view(*args, **kwargs)

    return marked


def compress_page(response: Response) -> Response:
    """Gzip an HTML page for clients that accept it.

    Only plain GETs, and with a query string only for a view marked
    ``query_not_in_page``: a page that reflects attacker-chosen input next to a secret
    (the CSRF token) must not be compressed (BREACH).
    """
    if (request.method != "GET" or response.status_code != 200
            or (request.query_string and not g.get("query_not_in_page"))
            or response.mimetype != "text/html" or response.direct_passthrough
            or response.is_streamed or "Content-Encoding" in response.headers
            or "gzip" not in request.accept_encodings):
        return response
    body = response.get_data()
    if len(body) < PAGE_GZIP_MIN:
        return response
    response.set_data(gzip.compress(body, 6, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


def init_app(app: Flask, root: Path) -> Assets:
    """Serve ``root`` under /static, give templates ``asset_url``, gzip pages."""
    if type(app.session_interface) is not SecureCookieSessionInterface:
        raise TypeError("assets.init_app expects Flask's default session interface")
    app.session_interface = StaticSkipsSession()
    assets = Assets(root)
    app.register_blueprint(make_blueprint(assets))
    app.jinja_env.globals["asset_url"] = assets.url
    app.after_request(compress_page)
    return assets
