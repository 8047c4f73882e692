"""Static files: fingerprinted URLs, long cache lifetimes, gzip from memory.

``asset_url('app.js')`` gives ``/static/app.js?v=<hash>``; a request carrying the
current hash is cacheable for a year (the URL changes whenever the file does).
Compressed bodies are made once per file version and kept in memory: the whole
static tree is a few hundred KiB. The dashboard page itself is gzipped per response
(a few KiB, ~0.1 ms), so the first load stays under 100 KiB on the wire.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, request
from werkzeug.security import safe_join

from sensorhub.runtime import real_lock

TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8",
         ".png": "image/png", ".ico": "image/x-icon", ".json": "application/json"}
COMPRESSIBLE = {".js", ".css", ".svg", ".txt", ".json"}
YEAR = 365 * 86400
PAGE_GZIP_MIN = 1024  # bytes: below this the gzip header costs more than it saves


@dataclass(frozen=True)
class Asset:
    """One static file as served."""

    mtime_ns: int
    digest: str
    body: bytes
    gzipped: bytes | None
    mimetype: str


class Assets:
    """The static tree, read lazily and cached by modification time."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, Asset] = {}
        self._lock = real_lock()

    def get(self, name: str) -> Asset | None:
        """The asset at a path under the root, or None."""
        joined = safe_join(str(self.root), name)
        if joined is None:
            return None
        path = Path(joined)
        suffix = path.suffix.lower()
        if suffix not in TYPES or not path.is_file():
            return None
        mtime = path.stat().st_mtime_ns
        cached = self._cache.get(name)
        if cached is not None and cached.mtime_ns == mtime:
            return cached
        body = path.read_bytes()
        gzipped = gzip.compress(body, 9, mtime=0) if suffix in COMPRESSIBLE else None
        asset = Asset(mtime, hashlib.sha256(body).hexdigest()[:16], body, gzipped, TYPES[suffix])
        with self._lock:
            self._cache[name] = asset
        return asset

    def url(self, name: str) -> str:
        """The fingerprinted URL of an asset."""
        asset = self.get(name)
        if asset is None:
            raise FileNotFoundError(f"no static file {name}")
        return f"/static/{name}?v={asset.digest}"


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


def compress_page(response: Response) -> Response:
    """Gzip an HTML page for clients that accept it.

    Only plain GETs without a query string: a page that reflects attacker-chosen
    input next to a secret (the CSRF token) must not be compressed (BREACH).
    """
    if (request.method != "GET" or request.query_string or response.status_code != 200
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
    assets = Assets(root)
    app.register_blueprint(make_blueprint(assets))
    app.jinja_env.globals["asset_url"] = assets.url
    app.after_request(compress_page)
    return assets
