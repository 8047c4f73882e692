"""Big answers are encoded to JSON off the event loop, and sent as they are.

A history answer of 10,000 points takes python-socketio 100-250 ms to walk (looking
for binary parts) and encode on this 2-core test machine, several times that on a
Pi, and under eventlet that time is taken from every other task, the poller's
included. The query job encodes the answer in its worker thread instead
(``Preencoded.of``); the Socket.IO server is given ``PacketJSON`` as its json module,
which splices such an answer into the packet as it is.
"""

from __future__ import annotations

import json
from typing import Any

SEPARATORS = (",", ":")


class Preencoded:
    """A JSON value already encoded (``text``): Socket.IO sends it without a look."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    @classmethod
    def of(cls, value: Any) -> Preencoded:
        """Encode ``value`` now (call it in the worker thread that made it)."""
        return cls(json.dumps(value, separators=SEPARATORS))


class PacketJSON:
    """The ``json`` module python-socketio encodes packets with: json, plus Preencoded.

    A packet's data is the list of its arguments; an argument that is a Preencoded
    goes in as its text.
    """

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        """``json.dumps``, splicing in Preencoded arguments."""
        if isinstance(obj, list) and any(isinstance(item, Preencoded) for item in obj):
            return "[" + ",".join(item.text if isinstance(item, Preencoded)
                                  else json.dumps(item, **kwargs) for item in obj) + "]"
        return json.dumps(obj, **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        """``json.loads``."""
        return json.loads(text, **kwargs)
