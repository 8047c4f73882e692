"""HTTP routes in-process: rights, headers, static assets (logins: test_login.py).

The Flask test client goes through the same WSGI stack a server calls (the security
headers wrapper, Flask-SocketIO's middleware, Flask), with the readings taken by the
real poller from the mock driver and stored in a real SQLite file. Unlike ``requests``,
it sends a path as written: ``/static/../x`` reaches the app instead of being
normalised to ``/x`` by the client first.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from sensorhub.readings import Reading
from tests.conftest import PASSWORD
from tests.web.conftest import Site, build_site

HOSTILE = ["' OR 1=1 --", "a1; DROP TABLE readings", "../../etc/passwd", "%00", "a1\x00",
           "<script>alert(1)</script>", "9" * 400, "-1e308", "NaN", "inf", "{}", "[]"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One default site for the module: alice (room a), bob (room b), root, 3 readings each.

    Shared because the tests only read it (and users cost a scrypt hash each); the
    one that fails logins does so as its own user, far below the per-client limit.
    """
    # many requests from one address in a few seconds: the rate limits are tested apart
    made = build_site(tmp_path_factory.mktemp("api"),
                      server={"history_limit": 10_000, "history_limit_per_user": 10_000})
    made.add_user("alice", rooms=("a",))
    made.add_user("bob", rooms=("b",))
    made.add_user("root", admin=True)
    assert made.poll(times=3) == 6
    made.flush()
    yield made
    made.close()


def test_sensors_requires_auth(client: FlaskClient) -> None:
    answer = client.get("/api/sensors")
    assert answer.status_code == 401
    assert answer.get_json() == {"error": "authentication required"}
    answer = client.get("/api/sensors", headers={"Authorization": "Bearer shb_nope"})
    assert answer.status_code == 401
    assert answer.get_json() == {"error": "invalid or revoked token"}


def test_sensors_lists_only_visible_ones(site: Site, client: FlaskClient) -> None:
    body = client.get("/api/sensors", headers=site.bearer("alice")).get_json()
    assert [s["id"] for s in body["sensors"]] == ["a1"]
    assert body["sensors"][0]["health"]["good"] == 3
    admin = client.get("/api/sensors", headers=site.bearer("root")).get_json()
    assert {s["id"] for s in admin["sensors"]} == {"a1", "b1"}


def test_history_over_http(site: Site, client: FlaskClient) -> None:
    headers = site.bearer("alice")
    since = time.time() - 60
    ok = client.get(f"/api/history?sensor=a1&since={since}&max_points=50", headers=headers)
    assert ok.status_code == 200 and 0 < len(ok.get_json()["points"]) <= 50
    other = client.get(f"/api/history?sensor=b1&since={since}", headers=headers)
    assert other.status_code == 404 and other.get_json() == {"error": "unknown sensor"}
    bad = client.get("/api/history?sensor=a1&since=yesterday", headers=headers)
    assert bad.status_code == 400 and "since" in bad.get_json()["error"]


def test_csv_export_streams_every_reading(site: Site, client: FlaskClient) -> None:
    headers = site.bearer("alice")
    answer = client.get("/api/export.csv?sensor=a1", headers=headers)
    assert answer.status_code == 200 and answer.is_streamed
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0] == ["sensor", "time_utc", "epoch", "temperature_c", "humidity_pct"]
    assert len(rows) == 1 + 3 and all(r[0] == "a1" for r in rows[1:])
    epochs = [float(r[2]) for r in rows[1:]]
    assert epochs == sorted(epochs)
    denied = client.get("/api/export.csv?sensor=b1", headers=headers)
    assert denied.status_code == 404


def test_healthz_needs_no_auth_and_leaks_nothing(site: Site, client: FlaskClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok", "clients": 0,
                                 "sensors": {"ok": 0, "failing": 0, "offline": 0}}
    admin = client.get("/healthz", headers=site.bearer("root")).get_json()
    assert admin["sensors"]["ok"] == 2 and admin["sensor_states"] == {"a1": "ok", "b1": "ok"}
    assert admin["storage"]["write_error"] is None
    assert admin["security"]["password_hashes_limit"] == 1


def test_anonymous_health_says_nothing_of_private_rooms(make_site: Any) -> None:
    """Issue 12 item 11: up/down and counts for anyone, details for a credential."""
    site = make_site(rooms=[{"id": "lobby", "name": "Lobby", "public": True},
                            {"id": "lab", "name": "Lab"}],
                     sensors=[{"id": "hall", "room": "lobby", "driver": "mock", "interval": 1},
                              {"id": "freezer", "room": "lab", "driver": "mock",
                               "interval": 1, "options": {"fault_rate": 1.0}}])
    site.poll(times=3)
    site.web.hub.store.write_error = "cannot write /srv/lab-secrets/sensorhub.db"
    anonymous = site.client().get("/healthz")
    body, text = anonymous.get_json(), anonymous.get_data(as_text=True)
    assert body == {"status": "degraded", "clients": 0,
                    "sensors": {"ok": 1, "failing": 0, "offline": 0}}, body
    assert "freezer" not in text and "lab-secrets" not in text
    bad = site.client().get("/healthz", headers={"Authorization": "Bearer shb_nope"})
    assert bad.status_code == 200 and bad.get_json() == body  # never an error, nor more
    site.add_user("root", admin=True)
    admin = site.client().get("/healthz", headers=site.bearer("root")).get_json()
    assert admin["sensor_states"] == {"hall": "ok", "freezer": "failing"}
    assert "lab-secrets" in admin["storage"]["write_error"]
    site.web.hub.store.write_error = None


@pytest.mark.parametrize("path", ["/healthz", "/login", "/api/sensors", "/nope",
                                  "/static/app.css", "/"])
def test_security_headers_on_every_response(client: FlaskClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "http" not in csp and "*" not in csp and "unsafe" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_static_assets_are_fingerprinted_compressed_and_cached(site: Site) -> None:
    page = site.login("alice").get("/").get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="(/static/[^"]+\?v=[0-9a-f]+)"', page)
    assert any("chart.bundle.min.js" in u for u in urls), urls
    client = site.client()
    for url in urls:
        answer = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200
        assert "immutable" in answer.headers["Cache-Control"]
        if url.split("?")[0].endswith((".js", ".css", ".svg")):
            assert answer.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(answer.data)  # the raw body: the client decodes nothing
        etag = answer.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304
    unversioned = client.get("/static/app.css")
    assert unversioned.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("path", ["/static/../config.yaml", "/static/..%2fconfig.yaml",
                                  "/static/%2e%2e/sensorhub/__init__.py",
                                  "/static/vendor/../../README.md", "/static/",
                                  "/static/vendor/MANIFEST/x"])
def test_static_path_traversal_is_refused(client: FlaskClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    text = answer.get_data(as_text=True)
    assert "rooms:" not in text and "import" not in text


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_parameters_never_500(site: Site, client: FlaskClient, value: str) -> None:
    headers = site.bearer("alice")
    for path in ("/api/history", "/api/export.csv"):
        for param in ("sensor", "since", "until", "max_points"):
            params = {"sensor": "a1", "since": "0", param: value}
            answer = client.get(path, query_string=params, headers=headers)
            assert answer.status_code in (200, 400, 404), (path, param, answer.status_code)
            assert "Traceback" not in answer.get_data(as_text=True)
            if answer.status_code == 200 and path == "/api/history":
                assert answer.get_json()["sensor"] == "a1"
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("until", ["1e308", "-1e308", "1e16", "-1", "253402300800"])
def test_times_out_of_range_are_a_400_with_one_line(site: Site, client: FlaskClient,
                                                     until: str) -> None:
    """Found by hand (issue 13): extreme times overflowed SQLite and answered 500."""
    headers = site.bearer("alice")
    for path in ("/api/history", "/api/export.csv"):
        answer = client.get(path, headers=headers,
                            query_string={"sensor": "a1", "since": "-1e308", "until": until})
        assert answer.status_code == 400, (path, answer.status_code)
        assert answer.get_json() == {
            "error": "until must be a time between 1970 and 9999 (epoch seconds)"}


def test_a_bug_answers_one_line_and_never_a_traceback(make_site: Any,
                                                      caplog: pytest.LogCaptureFixture
                                                      ) -> None:
    site = make_site()

    def broken() -> str:
        raise RuntimeError("a bug with a secret in its message")

    site.app.add_url_rule("/broken", view_func=broken)
    answer = site.client().get("/broken")
    assert answer.status_code == 500 and answer.get_json() == {"error": "internal error"}
    assert "secret" not in answer.get_data(as_text=True)
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "Traceback" in caplog.text  # the operator still gets it, in the server's log


def test_exports_at_once_per_client(make_site: Any) -> None:
    """A third export from one client while two stream is refused with Retry-After."""
    site = make_site(server={"exports_at_once": 2})
    store = site.web.hub.store
    for i in range(2000):  # 120 KB of CSV: each export stays suspended mid-stream
        store.add(Reading("a1", "a", 1_700_000_000 + i, i, 20.0, 50.0))
    store.flush()
    headers = site.bearer(site.add_user("carol", rooms=("a",)))
    ask = {"sensor": "a1", "since": "0"}
    streaming, done = threading.Barrier(3, timeout=10), threading.Event()

    def export() -> None:  # a download in progress, as a server thread runs it
        answer = site.client().get("/api/export.csv", headers=headers, query_string=ask)
        assert next(iter(answer.response)).startswith(b"sensor,time_utc")
        streaming.wait()
        done.wait(10)
        answer.close()

    downloads = [threading.Thread(target=export) for _ in range(2)]
    for thread in downloads:
        thread.start()
    streaming.wait()
    refused = site.client().get("/api/export.csv", headers=headers, query_string=ask)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "5"
    done.set()
    for thread in downloads:
        thread.join(10)
    answer = site.client().get("/api/export.csv", headers=headers, query_string=ask)
    assert answer.status_code == 200 and len(answer.get_data()) > 100_000


def test_wrong_methods_and_oversized_bodies(client: FlaskClient) -> None:
    assert client.post("/api/sensors").status_code == 405
    assert client.delete("/healthz").status_code == 405
    big = client.post("/login", data={"username": "x" * 200_000})
    assert big.status_code == 413


def test_login_cookie_flags_and_csrf(site: Site) -> None:
    client = site.client()
    client.get("/login")
    no_csrf = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert no_csrf.status_code == 400
    logged_in = site.login("alice")
    answer = logged_in.get("/")
    assert answer.status_code == 200 and "alice" in answer.get_data(as_text=True)
    first = site.client().get("/login")
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_redirect_stays_on_site(site: Site) -> None:
    client = site.client()
    answer = client.post("/login", data={"username": "alice", "password": PASSWORD,
                                         "csrf_token": site.csrf(client),
                                         "next": "//evil.example/steal"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"


def test_unauthenticated_dashboard_redirects_to_login(client: FlaskClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
