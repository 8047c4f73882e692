"""The only place that emits: readings and state changes go to their room."""

from __future__ import annotations

from typing import Any

from sensorhub.readings import Reading, SensorState


def room_key(room_id: str) -> str:
    """The Socket.IO room name of a sensorhub room (kept apart from client sids)."""
    return f"room:{room_id}"


class Broadcaster:
    """A poller sink that pushes to Socket.IO rooms."""

    def __init__(self, socketio: Any) -> None:
        self.socketio = socketio
        self.sent = 0

    def on_reading(self, reading: Reading) -> None:
        """Push a reading to the room of its sensor."""
        self.socketio.emit("reading", reading.to_message(), to=room_key(reading.room))
        self.sent += 1

    def on_state(self, state: SensorState) -> None:
        """Push a sensor's new state to its room."""
        self.socketio.emit("sensor_state", state.to_message(), to=room_key(state.room))

    def on_alert(self, message: dict[str, Any]) -> None:
        """Push an alert firing or clearing to the sensor's room."""
        self.socketio.emit("alert", message, to=room_key(message["room"]))

    def to_client(self, sid: str, event: str, data: Any) -> None:
        """Send one event to one client (the connect-time snapshot)."""
        self.socketio.emit(event, data, to=sid)


class StoreSink:
    """A poller sink that queues readings for the store's next batch."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def on_reading(self, reading: Reading) -> None:
        """Queue the reading."""
        self.store.add(reading)

    def on_state(self, state: SensorState) -> None:
        """States are not stored (yet)."""
