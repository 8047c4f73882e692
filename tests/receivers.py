"""Real receivers on 127.0.0.1 for the alert channels, each following its API's request shape.

- ``NtfyServer``: ntfy's "publish as JSON" (``POST /`` with ``{"topic", "message",
  "title", "priority" 1-5, "tags", "click"}``; ``Authorization: Bearer`` for a protected
  topic); answers ntfy's message object.
- ``GotifyServer``: ``POST /message`` with an application token (``X-Gotify-Key`` or
  ``?token=``) and ``{"message", "title", "priority", "extras"}``; answers the message.
- ``MatrixServer``: ``PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}``
  with ``Authorization: Bearer``; the transaction id makes a repeat return the first
  event id without storing a second event, as the spec requires.
- ``SmtpServer``: aiosmtpd, recording each message.

Each can be stopped and started again on the same port (a receiver that is down);
while down, the port stays bound but not listening, so connections are refused and no
other test process (pytest-xdist) is handed the port in the meantime.
Servers reject what the real ones reject (wrong token, bad field types) with the
real status codes, so a channel that sends a wrong shape fails its test.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.conftest import free_port

NTFY_TOPIC = re.compile(r"^[-_A-Za-z0-9]{1,64}$")
MATRIX_SEND = re.compile(r"^/_matrix/client/v3/rooms/([^/]+)/send/([^/]+)/([^/]+)$")


class _Handler(BaseHTTPRequestHandler):
    receiver: HttpReceiver

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        status, answer = self.receiver.handle(self.command, self.path, dict(self.headers),
                                              body)
        self._answer(status, answer)

    do_POST = do_PUT = do_GET = _handle  # noqa: N815 - http.server's naming

    def log_message(self, *args: Any) -> None:
        pass


class PortHold:
    """A port kept bound (not listening) while its receiver is down: connections to it
    are refused, and the kernel hands it to nobody else."""

    def __init__(self) -> None:
        self.port = free_port()
        self._sock: socket.socket | None = None
        self.hold()

    def hold(self) -> None:
        """Take the port back (after the receiver stopped; its closed connections may
        still be in TIME_WAIT, hence SO_REUSEADDR)."""
        if self._sock is None:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            self._sock = sock

    def release(self) -> None:
        """Let the receiver listen on the port."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __del__(self) -> None:  # a receiver is dropped stopped: its port with it
        self.release()


class HttpReceiver:
    """A small HTTP server in a thread; subclasses implement ``handle``."""

    def __init__(self) -> None:
        self._port = PortHold()
        self.port = self._port.port
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepted: list[dict[str, Any]] = []  # what the server stored
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> HttpReceiver:
        """Listen (again) on the receiver's port."""
        handler = type("Handler", (_Handler,), {"receiver": self})
        self._port.release()
        deadline = time.monotonic() + 10
        while True:
            try:
                self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._port.hold()

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any
               ) -> tuple[int, Any]:
        raise NotImplementedError

    def record(self, method: str, path: str, headers: dict[str, str], body: Any) -> None:
        with self._lock:
            self.requests.append((method, path, headers, body))

    def store(self, item: dict[str, Any]) -> None:
        with self._lock:
            self.accepted.append(item)


def bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("Authorization", "")
    return value[7:] if value.startswith("Bearer ") else None


class NtfyServer(HttpReceiver):
    """An ntfy server's JSON publishing endpoint."""

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token = token

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any
               ) -> tuple[int, Any]:
        self.record(method, path, headers, body)
        if method not in ("POST", "PUT") or urlsplit(path).path != "/":
            return 404, {"code": 40401, "http": 404, "error": "page not found"}
        if self.token is not None and bearer(headers) != self.token:
            return 403, {"code": 40301, "http": 403, "error": "forbidden"}
        if not isinstance(body, dict) or not NTFY_TOPIC.match(str(body.get("topic", ""))):
            return 400, {"code": 40009, "http": 400, "error": "invalid request: topic invalid"}
        checks = [isinstance(body.get("message", ""), str), isinstance(body.get("title", ""), str),
                  body.get("priority", 3) in (1, 2, 3, 4, 5),
                  isinstance(body.get("tags", []), list)
                  and all(isinstance(t, str) for t in body.get("tags", [])),
                  isinstance(body.get("click", ""), str)]
        if not all(checks):
            return 400, {"code": 40007, "http": 400, "error": "invalid request: JSON body"}
        message = {"id": secrets.token_hex(6), "time": int(time.time()), "event": "message",
                   "topic": body["topic"], "message": body.get("message", "triggered"),
                   **{k: body[k] for k in ("title", "priority", "tags", "click") if k in body}}
        self.store(message)
        return 200, message


class GotifyServer(HttpReceiver):
    """A Gotify server's ``POST /message`` for one application."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any
               ) -> tuple[int, Any]:
        self.record(method, path, headers, body)
        parts = urlsplit(path)
        if method != "POST" or parts.path != "/message":
            return 404, {"error": "Not Found", "errorCode": 404, "errorDescription": "not found"}
        token = headers.get("X-Gotify-Key") or parse_qs(parts.query).get("token", [None])[0]
        if token != self.token:
            return 401, {"error": "Unauthorized", "errorCode": 401, "errorDescription":
                         "you need to provide a valid access token or user credentials to "
                         "access this api"}
        ok = (isinstance(body, dict) and isinstance(body.get("message"), str)
              and body["message"] != "" and isinstance(body.get("title", ""), str)
              and isinstance(body.get("priority", 0), int)
              and isinstance(body.get("extras", {}), dict))
        if not ok:
            return 400, {"error": "Bad Request", "errorCode": 400,
                         "errorDescription": "Field 'message' is required"}
        message = {"id": len(self.accepted) + 1, "appid": 1, "message": body["message"],
                   "title": body.get("title", ""), "priority": body.get("priority", 0),
                   "extras": body.get("extras"), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ")}
        self.store(message)
        return 200, message


class MatrixServer(HttpReceiver):
    """A homeserver's send-message call for one user in some rooms."""

    def __init__(self, token: str, rooms: tuple[str, ...]) -> None:
        super().__init__()
        self.token = token
        self.rooms = set(rooms)
        self._txns: dict[tuple[str, str], str] = {}

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any
               ) -> tuple[int, Any]:
        self.record(method, path, headers, body)
        match = MATRIX_SEND.match(urlsplit(path).path)
        if method != "PUT" or match is None:
            return 404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}
        token = bearer(headers)
        if token is None:
            return 401, {"errcode": "M_MISSING_TOKEN", "error": "Missing access token"}
        if token != self.token:
            return 401, {"errcode": "M_UNKNOWN_TOKEN", "error": "Unknown access token"}
        room, event_type, txn = (unquote(g) for g in match.groups())
        if room not in self.rooms:
            return 403, {"errcode": "M_FORBIDDEN", "error": "User not in room"}
        if not isinstance(body, dict) or (event_type == "m.room.message" and not (
                isinstance(body.get("msgtype"), str) and isinstance(body.get("body"), str))):
            return 400, {"errcode": "M_BAD_JSON", "error": "msgtype and body are required"}
        if (token, txn) in self._txns:  # the same transaction: the same event, not stored
            return 200, {"event_id": self._txns[(token, txn)]}
        event_id = f"${secrets.token_urlsafe(12)}"
        self._txns[(token, txn)] = event_id
        self.store({"room": room, "type": event_type, "txn": txn, "content": body,
                    "event_id": event_id})
        return 200, {"event_id": event_id}


class SmtpServer:
    """aiosmtpd on loopback, recording each message it accepts."""

    def __init__(self) -> None:
        self._port = PortHold()
        self.port = self._port.port
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._controller: Any = None

    def start(self) -> SmtpServer:
        from aiosmtpd.controller import Controller

        receiver = self

        class Handler:
            async def handle_DATA(self, _server: Any, _session: Any,  # noqa: N802
                                  envelope: Any) -> str:
                receiver.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                receiver.messages.append(message_from_bytes(envelope.content,
                                                            policy=policy.default))
                return "250 2.0.0 Ok: queued as " + secrets.token_hex(5).upper()

        self._port.release()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self._port.hold()
