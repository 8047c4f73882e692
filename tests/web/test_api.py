"""HTTP routes against the real server: rights, headers, static assets, login limits."""

from __future__ import annotations

import csv
import gzip
import io
import re
import time

import pytest
import requests

from tests.conftest import PASSWORD, LiveServer

HOSTILE = ["' OR 1=1 --", "a1; DROP TABLE readings", "../../etc/passwd", "%00", "a1\x00",
           "<script>alert(1)</script>", "9" * 400, "-1e308", "NaN", "inf", "{}", "[]"]


def bearer(server: LiveServer, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token(name)}"}


def get(server: LiveServer, path: str, **kwargs: object) -> requests.Response:
    return requests.get(server.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]


def test_sensors_requires_auth(live_server: LiveServer) -> None:
    answer = get(live_server, "/api/sensors")
    assert answer.status_code == 401 and answer.json() == {"error": "authentication required"}
    answer = get(live_server, "/api/sensors", headers={"Authorization": "Bearer shb_nope"})
    assert answer.status_code == 401 and answer.json() == {"error": "invalid or revoked token"}


def test_sensors_lists_only_visible_ones(live_server: LiveServer) -> None:
    body = get(live_server, "/api/sensors", headers=bearer(live_server, "alice")).json()
    assert [s["id"] for s in body["sensors"]] == ["a1"]
    assert body["sensors"][0]["health"]["good"] > 0
    admin = get(live_server, "/api/sensors", headers=bearer(live_server, "root")).json()
    assert {s["id"] for s in admin["sensors"]} == {"a1", "b1"}


def test_history_over_http(live_server: LiveServer) -> None:
    headers = bearer(live_server, "alice")
    since = time.time() - 60
    ok = get(live_server, f"/api/history?sensor=a1&since={since}&max_points=50", headers=headers)
    assert ok.status_code == 200 and 0 < len(ok.json()["points"]) <= 50
    other = get(live_server, f"/api/history?sensor=b1&since={since}", headers=headers)
    assert other.status_code == 404 and other.json() == {"error": "unknown sensor"}
    bad = get(live_server, "/api/history?sensor=a1&since=yesterday", headers=headers)
    assert bad.status_code == 400 and "since" in bad.json()["error"]


def test_csv_export_streams_every_reading(live_server: LiveServer) -> None:
    headers = bearer(live_server, "alice")
    answer = get(live_server, "/api/export.csv?sensor=a1", headers=headers, stream=True)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["sensor", "time_utc", "epoch", "temperature_c", "humidity_pct"]
    assert len(rows) > 2 and all(r[0] == "a1" for r in rows[1:])
    epochs = [float(r[2]) for r in rows[1:]]
    assert epochs == sorted(epochs)
    denied = get(live_server, "/api/export.csv?sensor=b1", headers=headers)
    assert denied.status_code == 404


def test_healthz_needs_no_auth_and_leaks_nothing(live_server: LiveServer) -> None:
    answer = get(live_server, "/healthz")
    body = answer.json()
    assert answer.status_code == 200 and body["status"] == "ok"
    assert body["sensors"]["ok"] == 2
    assert "a1" not in answer.text and "temperature" not in answer.text


@pytest.mark.parametrize("path", ["/healthz", "/login", "/api/sensors", "/nope",
                                  "/static/app.css", "/"])
def test_security_headers_on_every_response(live_server: LiveServer, path: str) -> None:
    headers = get(live_server, path, allow_redirects=False).headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "http" not in csp and "*" not in csp and "unsafe" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_static_assets_are_fingerprinted_compressed_and_cached(live_server: LiveServer) -> None:
    page = live_server.login("alice").get(live_server.url + "/", timeout=10).text
    urls = re.findall(r'(?:src|href)="(/static/[^"]+\?v=[0-9a-f]+)"', page)
    assert any("chart.umd.min.js" in u for u in urls), urls
    for url in urls:
        answer = get(live_server, url, headers={"Accept-Encoding": "gzip"}, stream=True)
        assert answer.status_code == 200
        assert "immutable" in answer.headers["Cache-Control"]
        raw = answer.raw.read()
        if url.split("?")[0].endswith((".js", ".css", ".svg")):
            assert answer.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(raw)
        etag = answer.headers["ETag"]
        again = get(live_server, url, headers={"If-None-Match": etag})
        assert again.status_code == 304
    unversioned = get(live_server, "/static/app.css")
    assert unversioned.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("path", ["/static/../config.yaml", "/static/..%2fconfig.yaml",
                                  "/static/%2e%2e/sensorhub/__init__.py",
                                  "/static/vendor/../../README.md", "/static/",
                                  "/static/vendor/MANIFEST/x"])
def test_static_path_traversal_is_refused(live_server: LiveServer, path: str) -> None:
    answer = get(live_server, path)
    assert answer.status_code == 404
    assert "rooms:" not in answer.text and "import" not in answer.text


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_parameters_never_500(live_server: LiveServer, value: str) -> None:
    headers = bearer(live_server, "alice")
    for path in ("/api/history", "/api/export.csv"):
        for param in ("sensor", "since", "until", "max_points"):
            params = {"sensor": "a1", "since": "0", param: value}
            answer = get(live_server, path, params=params, headers=headers)
            assert answer.status_code in (200, 400, 404), (path, param, answer.status_code)
            if answer.status_code == 200 and path == "/api/history":
                assert answer.json()["sensor"] == "a1"
    assert get(live_server, "/healthz").status_code == 200


def test_wrong_methods_and_oversized_bodies(live_server: LiveServer) -> None:
    assert requests.post(live_server.url + "/api/sensors", timeout=5).status_code == 405
    assert requests.delete(live_server.url + "/healthz", timeout=5).status_code == 405
    big = requests.post(live_server.url + "/login", data={"username": "x" * 200_000},
                        timeout=10)
    assert big.status_code == 413


def test_login_cookie_flags_and_csrf(live_server: LiveServer) -> None:
    session = requests.Session()
    session.get(live_server.url + "/login", timeout=5)
    no_csrf = session.post(live_server.url + "/login", timeout=5, allow_redirects=False,
                           data={"username": "alice", "password": PASSWORD})
    assert no_csrf.status_code == 400
    logged_in = live_server.login("alice")
    answer = logged_in.get(live_server.url + "/", timeout=5)
    assert answer.status_code == 200 and "alice" in answer.text
    first = requests.get(live_server.url + "/login", timeout=5)
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_redirect_stays_on_site(live_server: LiveServer) -> None:
    session = requests.Session()
    page = session.get(live_server.url + "/login", timeout=5).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = session.post(live_server.url + "/login", timeout=10, allow_redirects=False, data={
        "username": "alice", "password": PASSWORD, "csrf_token": token,
        "next": "//evil.example/steal"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"


def test_login_brute_force_is_slowed(live_server: LiveServer) -> None:
    live_server.add_user("mallory", rooms=("a",))
    session = requests.Session()
    page = session.get(live_server.url + "/login", timeout=5).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    statuses = []
    for attempt in range(7):
        answer = session.post(live_server.url + "/login", timeout=10, allow_redirects=False,
                              data={"username": "mallory", "password": f"guess{attempt}",
                                    "csrf_token": token})
        statuses.append(answer.status_code)
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429, 429]
    assert int(answer.headers["Retry-After"]) > 0
    # even the right password is refused while the user is locked out
    right = session.post(live_server.url + "/login", timeout=10, allow_redirects=False,
                         data={"username": "mallory", "password": PASSWORD, "csrf_token": token})
    assert right.status_code == 429
    log = live_server.log()
    assert "guess" not in log and PASSWORD not in log


def test_unauthenticated_dashboard_redirects_to_login(live_server: LiveServer) -> None:
    answer = get(live_server, "/", allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
