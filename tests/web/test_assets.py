"""Static files and page compression (sensorhub/web/assets.py).

Mostly on a bare Flask app of their own (exact bodies, no templates); the last test
checks that the real app compresses its real pages the same way.
"""

from __future__ import annotations

import gzip
from pathlib import Path

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
