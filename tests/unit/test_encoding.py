"""JSON out through orjson: the same documents the standard library wrote, faster."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from flask import Flask, jsonify

from sensorhub.web.encoding import FastJSONProvider, SocketJSON

HISTORY = {"sensor": "gh-air", "since": 1795540000, "until": 1795543600.5, "step": 3.604,
           "fields": ["ts", "temperature", "humidity"],
           "points": [[1795540002.0, 21.5, 61.0], [1795540005.604, -0.07, None],
                      [1795540009.208, 1e-05, 100.0]]}


def app() -> Flask:
    made = Flask(__name__)
    made.json = FastJSONProvider(made)
    return made


def test_responses_carry_the_standard_librarys_document() -> None:
    with app().app_context():
        body = jsonify(HISTORY).get_data()
    assert body.endswith(b"\n")
    assert json.loads(body) == HISTORY
    assert list(json.loads(body)) == list(HISTORY)  # keys in the order the code built them
    # every float reads back as exactly the same float
    assert [p[1] for p in json.loads(body)["points"]] == [21.5, -0.07, 1e-05]


def test_what_json_cannot_say_is_handled_as_flask_does() -> None:
    moment = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    with app().app_context():
        answer = json.loads(jsonify({"nan": math.nan, "when": moment, 3: "int key"}).get_data())
    assert answer == {"nan": None, "when": "Sat, 28 Nov 2026 12:00:00 GMT", "3": "int key"}


def test_socket_packets_are_compact_and_decoded_by_the_standard_library() -> None:
    text = SocketJSON.dumps(["reading", HISTORY], separators=(",", ":"))
    assert ", " not in text and ": " not in text
    assert SocketJSON.loads(text) == ["reading", HISTORY]  # 1e-05 is written 0.00001
    assert math.isnan(SocketJSON.loads('{"x": NaN}')["x"])  # input is read as before
