"""No traceback ever reaches a client: a failing handler answers a plain error.

The failure is real (the store's history query raises) and goes through the real
routes and socket events; what the client gets must not name the exception, its
message or a file.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.web.conftest import Site

SECRET_DETAIL = "/srv/private/sensorhub.db: disk I/O error at page 4711"


@pytest.fixture
def broken(site: Site, monkeypatch: pytest.MonkeyPatch) -> Site:
    site.add_user("alice", rooms=("a",))

    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError(SECRET_DETAIL)

    monkeypatch.setattr(site.web.hub.store, "history", fail)
    return site


def leaks(text: str) -> list[str]:
    return [w for w in ("Traceback", "OSError", SECRET_DETAIL, ".py", "line ") if w in text]


def test_a_failing_socket_handler_answers_internal_error(
        broken: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    sock = broken.socket(auth={"token": broken.token("alice")})
    answer = sock.emit("history", {"sensor": "a1", "since": 0}, callback=True)
    assert answer == {"error": "internal error"}
    assert sock.is_connected()
    assert SECRET_DETAIL in caplog.text  # the admin finds it in the log


def test_a_failing_route_answers_500_without_details(broken: Site) -> None:
    answer = broken.client().get("/api/history?sensor=a1&since=0", headers=broken.bearer("alice"))
    assert answer.status_code == 500
    assert not leaks(answer.get_data(as_text=True)), answer.get_data(as_text=True)
