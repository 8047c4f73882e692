"""The only place that emits: readings and state changes go to their room.

Clients in ``room:<id>`` get one ``reading`` event per reading of that sensorhub room
(the original contract), at once. Clients that opted in to batches
(``{"batch": true}`` in the connect auth) get ``readings`` instead: one message per
tick holding every reading of all their rooms. A batch goes out as soon as the poller
says the tick is over (``on_tick``: every sensor due at that instant has been read),
and at the latest ``MAX_WAIT`` after its first reading, for whatever the schedule
does not cover (a slow or hung sensor, a retry, readings pushed in over MQTT).

Batch clients join one Socket.IO room per distinct *set* of rooms (``batch:a,b``).
A tick's message is therefore built and encoded once for each set of rooms someone
watches, not once per client, and each client gets one message per tick however
many rooms it sees. Python-socketio encodes an emit once for all of a room's
clients; what batches save is the per-client, per-message cost (a queue hand-off, a
websocket frame and a send per client), which is nearly all of the fan-out's CPU.

With ``server.message_queue`` the clients of other processes cannot be seen from
here, so batch clients join ``batch:<id>`` for each of their rooms, and every room's
batch is published: one message per room per tick.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from socketio import PubSubManager

from sensorhub.readings import Reading, SensorState
from sensorhub.runtime import real_lock

MAX_WAIT = 0.05  # seconds a batch waits at most for the rest of its tick
NAMESPACE = "/"
SEPARATOR = ","  # between the room ids of a set (room ids are [a-z0-9_-]: never in one)


def room_key(room_id: str) -> str:
    """The Socket.IO room name of a sensorhub room (kept apart from client sids)."""
    return f"room:{room_id}"


def batch_room_key(room_ids: str) -> str:
    """The Socket.IO room of the batch clients of a room, or of a set (``"a,b"``)."""
    return f"batch:{room_ids}"


class Broadcaster:
    """A poller sink that pushes to Socket.IO rooms."""

    def __init__(self, socketio: Any, *, max_wait: float = MAX_WAIT) -> None:
        self.socketio = socketio
        self.max_wait = max_wait
        self.sent = 0
        self._pending: list[tuple[str, dict[str, Any]]] = []  # (room, message), open batch
        self._batch = 0  # number of the open batch, 0 when none is open
        self._opened = 0  # batches opened so far
        self._sets: dict[str, frozenset[str]] = {}  # batch room -> the rooms it covers
        self._lock = real_lock()  # guards the four above; poller threads share them

    # -- who joins what ----------------------------------------------------------------
    def socket_rooms(self, room_ids: Iterable[str], batch: bool) -> list[str]:
        """The Socket.IO rooms of a client that may watch ``room_ids`` (``batch``: it
        asked for ``readings``); what connect and any later resync make it join."""
        if batch:
            return self.batch_rooms(room_ids)
        return [room_key(room_id) for room_id in sorted(room_ids)]

    def batch_rooms(self, room_ids: Iterable[str]) -> list[str]:
        """The Socket.IO rooms a batch client that may watch ``room_ids`` joins."""
        rooms = frozenset(room_ids)
        if not rooms:
            return []
        if self._shared():
            return [batch_room_key(r) for r in sorted(rooms)]
        key = batch_room_key(SEPARATOR.join(sorted(rooms)))
        with self._lock:
            self._sets[key] = rooms
        return [key]

    def _shared(self) -> bool:
        """Whether other processes' clients count too (server.message_queue)."""
        return isinstance(self.socketio.server.manager, PubSubManager)

    def _has_members(self, key: str) -> bool:
        manager = self.socketio.server.manager
        return next(iter(manager.get_participants(NAMESPACE, key)), None) is not None

    def _batched(self, room_id: str) -> bool:
        """Whether any connected client takes this room's readings in batches."""
        if self._shared():
            return True
        with self._lock:
            keys = [key for key, rooms in self._sets.items() if room_id in rooms]
        return any(self._has_members(key) for key in keys)

    # -- readings ----------------------------------------------------------------------
    def on_reading(self, reading: Reading) -> None:
        """Push a reading to its room at once, and into the open batch if anyone batches."""
        message = reading.to_message()
        self.socketio.emit("reading", message, to=room_key(reading.room))
        self.sent += 1
        if not self._batched(reading.room):
            return  # nobody takes batches of this room: no timer, no second copy
        with self._lock:
            self._pending.append((reading.room, message))
            opened = self._batch == 0
            if opened:
                self._opened += 1
                self._batch = self._opened
            number = self._batch
        if opened:
            self.socketio.start_background_task(self._flush_late, number)

    def on_tick(self) -> None:
        """The poller read every sensor due at an instant: send the open batch now."""
        self._flush()

    def _flush_late(self, number: int) -> None:
        """Send batch ``number`` after ``max_wait`` unless its tick ended first."""
        self.socketio.sleep(self.max_wait)
        self._flush(number)

    def _flush(self, number: int | None = None) -> None:
        """Close the open batch (only if it is ``number``) and send it, once per set."""
        with self._lock:
            if not self._pending or (number is not None and number != self._batch):
                return  # nothing open, or that batch has gone out already
            pending, self._pending, self._batch = self._pending, [], 0
            sets = list(self._sets.items())
        if self._shared():
            by_room: dict[str, list[dict[str, Any]]] = {}
            for room, message in pending:
                by_room.setdefault(room, []).append(message)
            for room, messages in by_room.items():
                self.socketio.emit("readings", messages, to=batch_room_key(room))
            return
        for key, rooms in sets:
            messages = [message for room, message in pending if room in rooms]
            if messages and self._has_members(key):
                self.socketio.emit("readings", messages, to=key)

    # -- everything else ---------------------------------------------------------------
    def on_state(self, state: SensorState) -> None:
        """Push a sensor's new state to its room."""
        self.socketio.emit("sensor_state", state.to_message(), to=self._watchers(state.room))

    def on_alert(self, message: dict[str, Any]) -> None:
        """Push an alert firing or clearing to the sensor's room."""
        self.socketio.emit("alert", message, to=self._watchers(message["room"]))

    def to_client(self, sid: str, event: str, data: Any) -> None:
        """Send one event to one client (the connect-time snapshot)."""
        self.socketio.emit(event, data, to=sid)

    def _watchers(self, room_id: str) -> list[str]:
        """Every Socket.IO room with clients of a sensorhub room, whichever way they read."""
        if self._shared():
            return [room_key(room_id), batch_room_key(room_id)]
        with self._lock:
            sets = [key for key, rooms in self._sets.items() if room_id in rooms]
        return [room_key(room_id), *sets]
