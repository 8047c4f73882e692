"""Static files and page compression (sensorhub/web/assets.py).

Mostly on a bare Flask app of their own (exact bodies, no templates); the last tests
check the real app: its pages compressed the same way, its dashboard modules all
fetched by fingerprinted URLs, and no session cookie on a static file.
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sensorhub.web import assets
from tests.web.conftest import Site

PAGE = "<!doctype html><title>x</title>" + "<p>sensor</p>" * 200


@pytest.fixture
def bare_client(tmp_path: Path) -> FlaskClient:
    """A bare app serving tmp_path/static (app.js in it, secret.txt next to it)."""
    root = tmp_path / "static"
    (root / "sub").mkdir(parents=True)
    (root / "app.js").write_text("console.log('hi');\n" * 100)
    modules = {  # main -> a, b; a <-> b (a cycle, as cards.js and redraw.js have); c alone
        "main.js": "import { a } from './a.js';\nimport './b.js';\nimport '../c.js';\n",
        "a.js": "import { b } from './b.js';\nexport const a = 1;\n",
        "b.js": "import { a } from './a.js';\nexport const b = 2;\n",
    }
    (root / "js").mkdir()
    for name, text in modules.items():
        (root / "js" / name).write_text(text)
    (root / "c.js").write_text("export const c = 3;\n")
    (tmp_path / "secret.txt").write_text("not for the web\n")
    app = Flask(__name__, static_folder=None)
    assets.init_app(app, root)
    app.add_url_rule("/", "page", lambda: PAGE)
    app.add_url_rule("/small", "small", lambda: "<p>hi</p>")
    return app.test_client()


def test_pages_are_gzipped_for_clients_that_accept_it(bare_client: FlaskClient) -> None:
    answer = bare_client.get("/", headers={"Accept-Encoding": "gzip"})
    assert answer.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in answer.headers["Vary"]
    assert gzip.decompress(answer.data).decode() == PAGE
    assert int(answer.headers["Content-Length"]) == len(answer.data) < len(PAGE)


@pytest.mark.parametrize(("path", "encoding"), [
    ("/", "identity"),  # the client did not ask
    ("/?next=%2Fx", "gzip"),  # reflected query next to a CSRF token: BREACH
    ("/small", "gzip"),  # not worth a gzip header
])
def test_pages_left_alone(bare_client: FlaskClient, path: str, encoding: str) -> None:
    answer = bare_client.get(path, headers={"Accept-Encoding": encoding})
    assert "Content-Encoding" not in answer.headers
    assert answer.data.startswith(b"<")


def test_static_content_type_names_its_charset_once(bare_client: FlaskClient) -> None:
    answer = bare_client.get("/static/app.js")
    assert answer.headers["Content-Type"] == "text/javascript; charset=utf-8"


@pytest.mark.parametrize("path", ["/static/../secret.txt", "/static/..%2fsecret.txt",
                                  "/static/%2e%2e/secret.txt", "/static/sub/../../secret.txt",
                                  "/static/sub/..%2f..%2fsecret.txt"])
def test_no_file_outside_the_root(bare_client: FlaskClient, path: str) -> None:
    """A file of a served type next to the root: only the path check keeps it in."""
    answer = bare_client.get(path)
    assert answer.status_code == 404 and b"not for the web" not in answer.data
    assert bare_client.get("/static/sub/../app.js").status_code == 200  # inside: fine


def test_the_real_pages_are_compressed_but_not_a_reflected_query(site: Site) -> None:
    site.add_user("alice", rooms=("a",))
    gzip_ok = {"Accept-Encoding": "gzip"}
    page = site.login("alice").get("/", headers=gzip_ok)
    assert page.status_code == 200 and page.headers["Content-Encoding"] == "gzip"
    assert b"alice" in gzip.decompress(page.data)
    assert site.client().get("/login", headers=gzip_ok).headers["Content-Encoding"] == "gzip"
    login = site.client().get("/login?next=%2Fx", headers=gzip_ok)  # a CSRF token in it
    assert login.status_code == 200 and "Content-Encoding" not in login.headers
    assert 'name="csrf_token"' in login.get_data(as_text=True)


def edit(path: Path, text: str) -> None:
    """Change a file and its mtime (two writes can fall in one mtime tick)."""
    stamp = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))


def version_of(client: FlaskClient, path: str) -> str:
    """The ?v= a template would give ``path`` (what asset_url says)."""
    app = client.application
    with app.app_context():
        url = app.jinja_env.globals["asset_url"](path)
    return url.split("?v=")[1]


def test_modules_import_each_other_by_versioned_urls(bare_client: FlaskClient) -> None:
    body = bare_client.get("/static/js/main.js").get_data(as_text=True)
    a, b, c = (version_of(bare_client, p) for p in ("js/a.js", "js/b.js", "c.js"))
    assert f"import {{ a }} from './a.js?v={a}';" in body
    assert f"import './b.js?v={b}';" in body and f"import '../c.js?v={c}';" in body
    a_body = bare_client.get(f"/static/js/a.js?v={a}")
    assert f"from './b.js?v={b}'" in a_body.get_data(as_text=True)
    assert "immutable" in a_body.headers["Cache-Control"]  # the URL main.js names is current


def test_a_module_version_covers_everything_it_imports(bare_client: FlaskClient,
                                                       tmp_path: Path) -> None:
    paths = ("js/main.js", "js/a.js", "js/b.js", "c.js")
    before = {p: version_of(bare_client, p) for p in paths}
    edit(tmp_path / "static" / "js" / "b.js", "import { a } from './a.js';\nexport const b = 3;\n")
    after = {p: version_of(bare_client, p) for p in paths}
    # b changed: so did a (imports b), main (imports a and b); c imports nothing of theirs
    assert [before[p] != after[p] for p in paths] == [True, True, True, False]
    body = bare_client.get("/static/js/main.js").get_data(as_text=True)
    assert f"./a.js?v={after['js/a.js']}'" in body and f"./b.js?v={after['js/b.js']}'" in body
    stale = bare_client.get(f"/static/js/main.js?v={before['js/main.js']}")
    assert stale.headers["Cache-Control"] == "no-cache"  # an old URL: never kept for a year


def test_a_module_is_compressed_once_per_version(bare_client: FlaskClient) -> None:
    url = f"/static/js/main.js?v={version_of(bare_client, 'js/main.js')}"
    first = bare_client.get(url, headers={"Accept-Encoding": "gzip"})
    again = bare_client.get(url, headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip" and first.data == again.data
    assert b"?v=" in gzip.decompress(first.data)  # the rewritten body is what is compressed
    assert int(first.headers["Content-Length"]) == len(first.data)
    etag = first.headers["ETag"]
    assert bare_client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_every_dashboard_module_is_fetched_by_a_current_versioned_url(site: Site) -> None:
    """Follow the real page's module graph: every import carries the current version,
    so a warm reload finds every module in the cache (immutable) and asks for none."""
    site.add_user("alice", rooms=("a",))
    client = site.login("alice")
    page = client.get("/").get_data(as_text=True)
    entry = re.search(r'<script type="module" src="([^"]+)"', page)
    assert entry is not None
    todo, seen = [entry[1]], set()
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert "immutable" in answer.headers["Cache-Control"], url
        text = answer.get_data(as_text=True)
        specs = re.findall(r"""\b(?:from|import)\s*['"](\.\.?/[^'"]+)['"]""", text)
        for spec in specs:
            assert "?v=" in spec, (url, spec)  # no module fetched by its bare URL
            todo.append(urljoin(url, spec))
    names = {urlsplit(u).path.rsplit("/", 1)[1] for u in seen}
    assert len(names) >= 20 and {"main.js", "charts.js", "redraw.js"} <= names, names


def test_static_files_carry_no_session_cookie(site: Site) -> None:
    """A logged-in browser's session is refreshed by pages and the API, never by one
    of the two dozen static files (each would carry ~300 B of Set-Cookie and Vary: Cookie)."""
    site.add_user("alice", rooms=("a",))
    client = site.login("alice")
    assert "Set-Cookie" in client.get("/").headers  # the page refreshes it, as before
    for path in ("/static/app.css", "/static/js/main.js", "/static/vendor/chart.bundle.min.js"):
        answer = client.get(path)
        assert answer.status_code == 200
        assert "Set-Cookie" not in answer.headers, path
        assert "Cookie" not in answer.headers.get("Vary", ""), path
    assert client.get("/api/sensors").status_code == 200  # still logged in


@pytest.mark.parametrize("path", ["/?range=24h&x=MARKER", "/kiosk?range=7d&x=MARKER",
                                  "/?token=MARKER"])
def test_the_dashboard_with_its_state_in_the_address_is_compressed(site: Site, path: str) -> None:
    """Reloads and bookmarks of the dashboard carry a query: the page does not echo
    it (so BREACH has nothing to work with) and is compressed like the plain one."""
    site.add_user("alice", rooms=("a",))
    answer = site.login("alice").get(path, headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "gzip"
    page = gzip.decompress(answer.data)
    assert b'id="rooms"' in page and b"MARKER" not in page


def test_zoom_plugin_is_a_later_file_not_part_of_the_first_load(site: Site) -> None:
    """The page's scripts are the lean Chart.js bundle, Socket.IO and main.js; the zoom
    plugin's fingerprinted URL is only named (charts.js loadZoom fetches it), and both
    bundles come gzipped, immutable, each holding only its own part."""
    site.add_user("alice", rooms=("a",))
    client = site.login("alice")
    page = client.get("/").get_data(as_text=True)
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', page)
    assert [urlsplit(s).path for s in scripts] == [
        "/static/vendor/chart.bundle.min.js", "/static/vendor/socket.io.min.js",
        "/static/js/main.js"]
    zoom = re.search(r'<script id="chartjs"[^>]*\bdata-zoom="([^"]+)"', page)
    assert zoom and urlsplit(zoom.group(1)).path == "/static/vendor/chart.zoom.min.js"
    bodies = {}
    for url in (scripts[0], zoom.group(1)):
        answer = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "gzip"
        assert "immutable" in answer.headers["Cache-Control"]
        assert answer.headers["Vary"] == "Accept-Encoding"
        bodies[urlsplit(url).path.rsplit("/", 1)[1]] = gzip.decompress(answer.data)
    core, gestures = bodies["chart.bundle.min.js"], bodies["chart.zoom.min.js"]
    assert b'id:"zoom"' in gestures and b'id:"zoom"' not in core
    assert b"Hammer" in gestures and b"Hammer" not in core
    # tree-shaken: no controller, element or plugin the dashboard does not draw with (the
    # time and logarithmic scales stay: esbuild keeps classes with static initialisers)
    for unused in (b'id="bar"', b'id="doughnut"', b'id="category"', b'id="arc"',
                   b'id:"legend"', b'id:"decimation"', b'id:"title"'):
        assert unused not in core, unused
    assert b'id="line"' in core and b'id="linear"' in core and b'id:"filler"' in core
