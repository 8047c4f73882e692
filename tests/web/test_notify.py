"""The delivery log for admins (GET /api/notify/log) and ``sensorhub notify test/log``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sensorhub.service.cli import main
from tests.receivers import GotifyServer
from tests.web.conftest import Site

TOKEN = "AppToken.0123"


def gotify_site(make_site: Callable[..., Site], server: GotifyServer, token: str = TOKEN
                ) -> Site:
    return make_site(
        sensors=[{"id": "a1", "name": "A one", "room": "a", "driver": "mock", "interval": 0.2,
                  "alerts": [{"quantity": "temperature", "above": -50}]}],
        extra={"notify": {"public_url": "http://pi.lan:5000",
                          "channels": {"push": {"type": "gotify", "url": server.url,
                                                "token": token, "timeout": 2}}}})


def test_the_delivery_log_is_for_admins_only(make_site: Callable[..., Site]) -> None:
    server = GotifyServer(TOKEN).start()
    try:
        site = gotify_site(make_site, server)
        site.add_user("root", admin=True)
        site.add_user("alice", rooms=("a",))
        site.poll("a1")  # the real poller, mock driver and alert engine: the alert fires
        courier = site.web.hub.alerts.notifier.couriers["push"]
        courier.run_round()
        [message] = server.accepted
        assert message["title"] == "A one (Room A) temperature " + \
            message["title"].split("temperature ")[1]
        assert "Chart: http://pi.lan:5000/#sensor=a1" in message["message"]

        assert site.client().get("/api/notify/log").status_code == 401
        assert site.client().get("/api/notify/log",
                                 headers={"Authorization": "Bearer nope"}).status_code == 401
        assert site.client().get("/api/notify/log", headers=site.bearer("alice")
                                 ).status_code == 403
        answer = site.login("root").get("/api/notify/log")
        assert answer.status_code == 200
        body = answer.get_json()
        assert body["channels"] == [{"name": "push", "type": "gotify", "pending": 0, "sent": 1,
                                     "gave_up": 0}]
        [row] = body["deliveries"]
        assert (row["channel"], row["outcome"], row["sensor"], row["kind"]) == (
            "push", "sent", "a1", "temperature_above")
        assert row["detail"].startswith("HTTP 200") and TOKEN not in str(body)
        assert site.client().get("/api/notify/log?limit=x", headers=site.bearer("root")
                                 ).status_code == 400
    finally:
        server.stop()


def test_notify_test_prints_the_servers_answer_or_why_not(
        make_site: Callable[..., Site], capsys: Any) -> None:
    server = GotifyServer(TOKEN).start()
    try:
        site = gotify_site(make_site, server)
        config = str(site.config.source)
        assert main(["notify", "test", "push", "-c", config]) == 0
        out = capsys.readouterr().out
        assert out.startswith("push: sent; the server answered: HTTP 200 {") and \
            '"appid": 1' in out
        assert server.accepted[0]["title"] == "sensorhub test (push)"
        assert main(["notify", "test", "nope", "-c", config]) == 2
        assert "no channel 'nope'" in capsys.readouterr().err
        server.stop()
        assert main(["notify", "test", "push", "-c", config]) == 1
        assert "push: FAILED: cannot reach http://127.0.0.1:" in capsys.readouterr().err
        assert main(["notify", "log", "-c", config]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert [line.split()[3] for line in lines] == ["sent", "failed"]
    finally:
        server.stop()
