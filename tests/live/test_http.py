"""The HTTP routes whose work runs differently per async mode, on the real server.

Every route is tested in-process in ``tests/web/test_api.py``, in threading mode with
the Flask test client. What that cannot show is the server's own concurrency: under
eventlet, ``/api/history`` and ``/api/alerts`` read SQLite through eventlet's tpool,
and ``/api/export.csv`` is a generator that reads the store in the request's
greenlet while eventlet's WSGI server streams it; under threading, werkzeug's
server streams it from its own request thread. So this one test stays live, once
per async mode.
"""

from __future__ import annotations

import csv
import io
import time

import requests

from tests.conftest import LiveServer


def test_history_alerts_and_streamed_export(live_server: LiveServer) -> None:
    url, since = live_server.url, time.time() - 60
    headers = {"Authorization": f"Bearer {live_server.token('alice')}"}
    deadline = time.monotonic() + 10
    while True:  # the server's poller reads a1 every 0.2 s
        history = requests.get(f"{url}/api/history", headers=headers, timeout=10, params={
            "sensor": "a1", "since": since, "max_points": 50})
        assert history.status_code == 200 and history.json()["sensor"] == "a1"
        if len(history.json()["points"]) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert 3 <= len(history.json()["points"]) <= 50
    alerts = requests.get(f"{url}/api/alerts?sensor=a1", headers=headers, timeout=10)
    assert alerts.status_code == 200 and alerts.json() == {"alerts": []}
    with requests.get(f"{url}/api/export.csv?sensor=a1", headers=headers, timeout=10,
                      stream=True) as answer:
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in answer.headers["Content-Disposition"]
        body = b"".join(answer.iter_content(chunk_size=None)).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["sensor", "time_utc", "epoch", "temperature_c", "humidity_pct"]
    assert len(rows) > 3 and all(r[0] == "a1" for r in rows[1:])
    epochs = [float(r[2]) for r in rows[1:]]
    assert epochs == sorted(epochs)
