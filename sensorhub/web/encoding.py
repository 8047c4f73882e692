"""JSON out through orjson: for HTTP answers (``jsonify``) and Socket.IO packets.

A history answer is thousands of floats. The standard library's encoder spends about
1.5 ms on a 1-hour answer (7,000 floats through ``float.__repr__``) and orjson about
0.15 ms, for the same text: both write the shortest representation that reads back
as the same float. orjson is well kept, ships wheels for the Pi (armv7l, aarch64) and
is packaged by Debian (python3-orjson); next to Flask it adds about 0.25 MiB.

Only encoding changes. Incoming JSON (request bodies, Socket.IO packets from clients)
is still read by the standard library, so what the server accepts stays as it was.

Big answers are also encoded off the event loop: python-socketio takes 100-250 ms to
walk a 10,000-point history answer (looking for binary parts) and encode it on a
2-core test machine, several times that on a Pi, and under eventlet that time is
taken from every other task, the poller's included. The query job encodes the
answer in its worker thread instead (``Preencoded.of``) and ``SocketJSON`` splices it
into the packet as it is; an HTTP route sends it as the body.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

# dict keys that are not strings are written as strings, as the standard library does
_OPTIONS = orjson.OPT_NON_STR_KEYS


class FastJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with orjson writing the body of JSON responses.

    Keys keep their insertion order (the order the code builds them in) and a NaN
    becomes null, where the standard library wrote ``NaN``, which is not JSON. Types
    orjson does not know go through Flask's own ``default`` (dates as HTTP dates,
    ``Decimal``, ``UUID``). ``dumps``/``loads`` (sessions, ``request.json``) are
    Flask's, unchanged.
    """

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """A JSON response of the arguments, as ``flask.jsonify`` makes it."""
        obj = self._prepare_response_obj(args, kwargs)
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(obj)  # indented for people reading it in debug mode
        body = orjson.dumps(obj, default=self.default,
                            option=_OPTIONS | orjson.OPT_PASSTHROUGH_DATETIME)
        return self._app.response_class(body + b"\n", mimetype=self.mimetype)


class Preencoded:
    """A JSON value already encoded (``text``): Socket.IO sends it without a look."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    @classmethod
    def of(cls, value: Any) -> Preencoded:
        """Encode ``value`` now (call it in the worker thread that made it)."""
        return cls(orjson.dumps(value, option=_OPTIONS).decode())


class SocketJSON:
    """The ``json`` module python-socketio and python-engineio are given (``json=``)."""

    @staticmethod
    def dumps(obj: Any, **_options: Any) -> str:
        """Encode a packet's data (compact), splicing in Preencoded arguments as they are.

        A packet's data is the list of its arguments; an argument that is a Preencoded
        goes in as its text.
        """
        if isinstance(obj, list) and any(isinstance(item, Preencoded) for item in obj):
            return "[" + ",".join(item.text if isinstance(item, Preencoded)
                                  else orjson.dumps(item, option=_OPTIONS).decode()
                                  for item in obj) + "]"
        return orjson.dumps(obj, option=_OPTIONS).decode()

    @staticmethod
    def loads(text: str | bytes, **options: Any) -> Any:
        """Decode a client's packet as before, with the standard library."""
        return json.loads(text, **options)
