"""Each channel against a real receiver on 127.0.0.1 that follows its API's request shape."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from sensorhub.alerts.channels import ChannelError, open_channel
from sensorhub.alerts.message import Notification, compose, probe_message
from sensorhub.config import Config, parse_config
from tests.receivers import GotifyServer, MatrixServer, NtfyServer, SmtpServer

CONFIG = """
rooms: [{id: gh, name: Greenhouse}]
sensors:
  - {id: gh-air, name: Greenhouse air, room: gh, driver: mock, interval: 1,
     alerts: [{quantity: temperature, above: 30, for: 5m, severity: critical}]}
notify:
  public_url: "http://greenhouse-pi.lan:5000/"
"""
TOKEN = "tk_0123456789abcdefghijklmnopq"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return parse_config(CONFIG, tmp_path / "config.yaml")


def firing(config: Config, alert_id: int = 7) -> Notification:
    started = time.time() - 360
    return compose(config, {"sensor": "gh-air", "room": "gh", "kind": "temperature_above",
                            "state": "firing", "since": started, "value": 31.24,
                            "threshold": 30.0, "id": alert_id, "started": started,
                            "severity": "critical"})


def test_the_message_says_what_a_person_needs_at_3_am(config: Config) -> None:
    n = firing(config)
    assert n.title == "Greenhouse air (Greenhouse) temperature 31.2 °C, above 30.0 °C"
    assert "Temperature on Greenhouse air (Greenhouse) is 31.2 °C, above the threshold of " \
           "30.0 °C." in n.text
    assert "Firing since " + time.strftime("%Y-%m-%d %H:%M", time.localtime(
        n.event["started"])) in n.text and "(6 min ago)" in n.text
    assert n.link == "http://greenhouse-pi.lan:5000/#sensor=gh-air" and n.link in n.text
    assert (n.key, n.severity, n.state) == ("alert-7-firing", "critical", "firing")
    cleared = compose(config, {**n.event, "state": "cleared", "since": n.event["started"] + 600,
                               "value": 28.9})
    assert cleared.key == "alert-7-cleared" and cleared.title.startswith("Cleared: ")
    assert "back to 28.9 °C" in cleared.text and "(10 min)" in cleared.text
    offline = compose(config, {"sensor": "gh-air", "room": "gh", "kind": "offline",
                               "state": "firing", "since": 1.0, "value": None,
                               "threshold": 60.0, "id": 8})
    assert offline.title == "Greenhouse air (Greenhouse) is offline"
    assert "no good reading for 60 s" in offline.text
    assert Notification.from_json(n.to_json()) == n


def test_ntfy_publishes_json_with_priority_tags_and_token(config: Config) -> None:
    server = NtfyServer(token=TOKEN).start()
    try:
        channel = open_channel("phone", "ntfy", {"url": server.url, "topic": "greenhouse",
                                                 "token": TOKEN})
        answer = channel.deliver(firing(config))
        assert answer.startswith("HTTP 200 {") and '"event": "message"' in answer
        [(method, path, headers, body)] = server.requests
        assert (method, path, headers["Authorization"]) == ("POST", "/", f"Bearer {TOKEN}")
        assert body["topic"] == "greenhouse" and body["priority"] == 5
        assert body["tags"] == ["rotating_light", "gh-air", "temperature_above"]
        assert body["click"] == "http://greenhouse-pi.lan:5000/#sensor=gh-air"
        assert body["title"].startswith("Greenhouse air") and "31.2 °C" in body["message"]
        wrong = open_channel("phone", "ntfy", {"url": server.url, "topic": "greenhouse",
                                               "token": "tk_wrong-secret-value"})
        with pytest.raises(ChannelError) as caught:
            wrong.deliver(firing(config))
        assert "HTTP 403" in str(caught.value) and "wrong-secret" not in str(caught.value)
    finally:
        server.stop()


def test_gotify_posts_message_with_app_token_header(config: Config) -> None:
    server = GotifyServer(token="AbCdEf.123456").start()
    try:
        channel = open_channel("gotify", "gotify", {"url": server.url + "/",
                                                    "token": "AbCdEf.123456"})
        answer = channel.deliver(firing(config))
        assert answer.startswith("HTTP 200") and '"appid": 1' in answer
        [(method, path, headers, body)] = server.requests
        assert (method, path) == ("POST", "/message")  # the token is never in the URL
        assert headers["X-Gotify-Key"] == "AbCdEf.123456"
        assert body["priority"] == 8 and body["title"].startswith("Greenhouse air")
        assert body["extras"]["client::notification"]["click"]["url"].endswith("#sensor=gh-air")
        assert body["extras"]["sensorhub::alert"]["key"] == "alert-7-firing"
        with pytest.raises(ChannelError, match="HTTP 401"):
            open_channel("gotify", "gotify", {"url": server.url, "token": "nope"}).deliver(
                firing(config))
    finally:
        server.stop()


def test_matrix_sends_m_room_message_and_a_repeat_is_the_same_event(config: Config) -> None:
    room = "!greenhouse:matrix.lan"
    server = MatrixServer(token="syt_secret", rooms=(room,)).start()
    try:
        channel = open_channel("matrix", "matrix", {"homeserver": server.url, "room": room,
                                                    "token": "syt_secret"})
        first = channel.deliver(firing(config))
        again = channel.deliver(firing(config))  # died before recording: sent again
        assert json.loads(first.split(" ", 2)[2]) == json.loads(again.split(" ", 2)[2])
        assert len(server.accepted) == 1, "the transaction id did not make it idempotent"
        stored = server.accepted[0]
        assert stored["room"] == room and stored["type"] == "m.room.message"
        assert stored["content"]["msgtype"] == "m.text"
        assert stored["content"]["body"].startswith("Greenhouse air (Greenhouse) temperature")
        assert "<b>Greenhouse air" in stored["content"]["formatted_body"]
        assert server.requests[0][0] == "PUT" and server.requests[0][1].startswith(
            "/_matrix/client/v3/rooms/%21greenhouse%3Amatrix.lan/send/m.room.message/")
        other = channel.deliver(firing(config, alert_id=8))
        assert len(server.accepted) == 2 and other != first
        with pytest.raises(ChannelError, match="M_FORBIDDEN"):
            open_channel("matrix", "matrix", {"homeserver": server.url, "room": "!x:lan",
                                              "token": "syt_secret"}).deliver(firing(config))
    finally:
        server.stop()


def test_smtp_hands_the_mail_to_the_relay_and_reports_its_answer(config: Config) -> None:
    server = SmtpServer().start()
    try:
        channel = open_channel("mail", "smtp", {
            "host": "127.0.0.1", "port": server.port, "security": "none",
            "sender": "sensorhub <pi@greenhouse.lan>", "to": ("anna@lab.lan", "ben@lab.lan")})
        answer = channel.deliver(firing(config))
        assert answer.startswith("250 2.0.0 Ok: queued as")
        [mail] = server.messages
        assert server.envelopes == [("pi@greenhouse.lan", ["anna@lab.lan", "ben@lab.lan"])]
        assert mail["Subject"] == "Greenhouse air (Greenhouse) temperature 31.2 °C, above " \
                                  "30.0 °C"
        assert mail["Message-ID"] == "<alert-7-firing.mail@sensorhub>"
        assert mail["X-Priority"] == "1"
        assert "#sensor=gh-air" in mail.get_payload(decode=True).decode()
        starttls = open_channel("mail", "smtp", {"host": "127.0.0.1", "port": server.port,
                                                 "sender": "pi@lab.lan", "to": ("a@lab.lan",)})
        with pytest.raises(ChannelError, match="does not offer STARTTLS"):
            starttls.deliver(firing(config))  # never falls back to plain text on its own
    finally:
        server.stop()


def test_a_dead_receiver_is_a_channel_error_naming_host_not_token(config: Config) -> None:
    server = GotifyServer(token="t")
    channel = open_channel("g", "gotify", {"url": server.url, "token": "s3cr3t-token-x",
                                           "timeout": 1})
    with pytest.raises(ChannelError) as caught:
        channel.deliver(probe_message("g", config))
    assert f"127.0.0.1:{server.port}" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


def test_secrets_come_from_files_and_never_reach_the_log(tmp_path: Path,
                                                         caplog: Any) -> None:
    (tmp_path / "ntfy.token").write_text("tk_from_a_file_0001\n")
    text = CONFIG + ("  channels:\n"
                     "    phone: {type: ntfy, url: 'http://127.0.0.1:9', topic: gh,"
                     " token_file: ntfy.token, timeout: 0.5}\n")
    config = parse_config(text, tmp_path / "config.yaml")
    assert dict(config.channels[0].options)["token"] == "tk_from_a_file_0001"
    caplog.set_level(logging.DEBUG)
    channel = open_channel("phone", "ntfy", config.channels[0].options)
    with pytest.raises(ChannelError) as caught:
        channel.deliver(probe_message("phone", config))
    assert "tk_from" not in str(caught.value) + caplog.text
