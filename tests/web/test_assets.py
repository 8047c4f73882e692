"""Static files and page compression (sensorhub/assets.py), on an app of their own."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from flask import Flask

from sensorhub.web import assets

PAGE = "<!doctype html><title>x</title>" + "<p>sensor</p>" * 200


@pytest.fixture
def client(tmp_path: Path) -> object:
    (tmp_path / "app.js").write_text("console.log('hi');\n" * 100)
    app = Flask(__name__, static_folder=None)
    assets.init_app(app, tmp_path)
    app.add_url_rule("/", "page", lambda: PAGE)
    app.add_url_rule("/small", "small", lambda: "<p>hi</p>")
    return app.test_client()


def test_pages_are_gzipped_for_clients_that_accept_it(client: object) -> None:
    answer = client.get("/", headers={"Accept-Encoding": "gzip"})  # type: ignore[attr-defined]
    assert answer.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in answer.headers["Vary"]
    assert gzip.decompress(answer.data).decode() == PAGE
    assert int(answer.headers["Content-Length"]) == len(answer.data) < len(PAGE)


@pytest.mark.parametrize(("path", "encoding"), [
    ("/", "identity"),  # the client did not ask
    ("/?next=%2Fx", "gzip"),  # reflected query next to a CSRF token: BREACH
    ("/small", "gzip"),  # not worth a gzip header
])
def test_pages_left_alone(client: object, path: str, encoding: str) -> None:
    answer = client.get(path, headers={"Accept-Encoding": encoding})  # type: ignore[attr-defined]
    assert "Content-Encoding" not in answer.headers
    assert answer.data.startswith(b"<")


def test_static_content_type_names_its_charset_once(client: object) -> None:
    answer = client.get("/static/app.js")  # type: ignore[attr-defined]
    assert answer.headers["Content-Type"] == "text/javascript; charset=utf-8"
