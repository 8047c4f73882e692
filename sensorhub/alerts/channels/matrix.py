"""Matrix: send each alert as an ``m.room.message`` to one room of a LAN homeserver.

The call is the client-server API's
``PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}`` with
``Authorization: Bearer <access token>``. The transaction id is the message's
idempotency key, so a repeat of the same message (sensorhub died after the server
took it, before it could record that) is dropped by the homeserver itself.
"""

from __future__ import annotations

import hashlib
import html
import re
from urllib.parse import quote

from drivers.options import Option
from sensorhub.alerts.channels import COMMON, ChannelSpec
from sensorhub.alerts.channels.http import call, lan_url
from sensorhub.alerts.message import Notification

ROOM_RE = re.compile(r"^![^:\s]+:\S+$")


def room_id(value: str) -> str | None:
    """A room id (``!abc:server``; the send call takes ids, not #aliases)."""
    return None if ROOM_RE.match(value) else \
        f"expected a room id like '!abcdef:matrix.lan', got {value!r}"


class MatrixChannel:
    """Post to one Matrix room as the user whose access token is configured."""

    def __init__(self, name: str, homeserver: str, room: str, token: str,
                 timeout: float = 10.0, retries: int | None = None) -> None:
        self.name = name
        self.homeserver = homeserver.rstrip("/")
        self.room = room
        self._token = token
        self.timeout = float(timeout)
        self.retries = retries

    def txn_id(self, notification: Notification) -> str:
        """The transaction id: the key, made unique to this channel and room."""
        digest = hashlib.sha256(f"{self.name}\0{self.room}".encode()).hexdigest()[:8]
        return f"sensorhub-{digest}-{notification.key}"

    def deliver(self, notification: Notification) -> str:
        """One message event; the answer holds the homeserver's ``event_id``."""
        url = (f"{self.homeserver}/_matrix/client/v3/rooms/{quote(self.room, safe='')}"
               f"/send/m.room.message/{quote(self.txn_id(notification), safe='')}")
        text = f"{notification.title}\n{notification.text}"
        formatted = f"<b>{html.escape(notification.title)}</b><br>" + "<br>".join(
            html.escape(line) for line in notification.text.splitlines())
        body = {"msgtype": "m.text", "body": text, "format": "org.matrix.custom.html",
                "formatted_body": formatted}
        return call("PUT", url, body, {"Authorization": f"Bearer {self._token}"},
                    self.timeout)


SPEC = ChannelSpec(MatrixChannel, options={
    "homeserver": Option((str,), lan_url),
    "room": Option((str,), room_id),
    "token": Option((str,)),
    **COMMON,
}, required=("homeserver", "room", "token"), secrets=("token",))
