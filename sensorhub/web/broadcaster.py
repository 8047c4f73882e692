"""The only place that emits: readings and state changes go to their room.

A sensorhub room has two Socket.IO rooms. Clients in ``room:<id>`` get one ``reading``
event per reading (the original contract). Clients that opted in to batches are in
``batch:<id>`` and get ``readings``: every reading of the room that arrives within
``COALESCE_WINDOW`` of the first one (the sensors due in the same tick) in one
message, encoded once for the whole room and sent once per client. Each reading in
it keeps its own ``ts`` and ``seq``. Python-socketio already encodes a packet once per
room; what a batch saves is the per-client, per-message cost (a queue hand-off, a
websocket frame and a send per client), which is nearly all of the fan-out's CPU.
"""

from __future__ import annotations

from typing import Any

from socketio import PubSubManager

from sensorhub.readings import Reading, SensorState
from sensorhub.runtime import real_lock

COALESCE_WINDOW = 0.02  # seconds a room's batch stays open after its first reading
NAMESPACE = "/"


def room_key(room_id: str) -> str:
    """The Socket.IO room name of a sensorhub room (kept apart from client sids)."""
    return f"room:{room_id}"


def batch_room_key(room_id: str) -> str:
    """The Socket.IO room of the clients that take coalesced ``readings`` events."""
    return f"batch:{room_id}"


class Broadcaster:
    """A poller sink that pushes to Socket.IO rooms."""

    def __init__(self, socketio: Any, *, window: float = COALESCE_WINDOW) -> None:
        self.socketio = socketio
        self.window = window
        self.sent = 0
        self._batches: dict[str, list[dict[str, Any]]] = {}  # room id -> open batch
        self._flush_due = False
        self._lock = real_lock()  # guards the two above; poller threads share them

    def on_reading(self, reading: Reading) -> None:
        """Push a reading to the room of its sensor (and into the room's open batch)."""
        message = reading.to_message()
        room = reading.room
        self.socketio.emit("reading", message, to=room_key(room))
        self.sent += 1
        if not self._has_members(batch_room_key(room)):
            return  # nobody takes batches: no timer, no second copy
        with self._lock:
            self._batches.setdefault(room, []).append(message)
            start, self._flush_due = not self._flush_due, True
        if start:
            self.socketio.start_background_task(self._flush_later)

    def _has_members(self, key: str) -> bool:
        manager = self.socketio.server.manager
        if isinstance(manager, PubSubManager):
            return True  # server.message_queue: the clients of other processes count too
        return next(iter(manager.get_participants(NAMESPACE, key)), None) is not None

    def _flush_later(self) -> None:
        """Close every open batch after the window and send each as one message."""
        self.socketio.sleep(self.window)
        with self._lock:
            batches, self._batches = self._batches, {}
            self._flush_due = False
        for room, messages in batches.items():
            self.socketio.emit("readings", messages, to=batch_room_key(room))

    def on_state(self, state: SensorState) -> None:
        """Push a sensor's new state to its room."""
        self.socketio.emit("sensor_state", state.to_message(), to=_both(state.room))

    def on_alert(self, message: dict[str, Any]) -> None:
        """Push an alert firing or clearing to the sensor's room."""
        self.socketio.emit("alert", message, to=_both(message["room"]))

    def to_client(self, sid: str, event: str, data: Any) -> None:
        """Send one event to one client (the connect-time snapshot)."""
        self.socketio.emit(event, data, to=sid)


def _both(room_id: str) -> list[str]:
    """Every client of a room, whichever way it takes readings."""
    return [room_key(room_id), batch_room_key(room_id)]
