"""The broadcaster: one ``reading`` per reading, and coalesced ``readings`` for opt-ins."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from socketio import PubSubManager

from sensorhub.readings import Reading, SensorState
from sensorhub.web.broadcaster import Broadcaster, batch_room_key, room_key


class FakeSocketIO:
    """Records emits; background tasks run only when the test says so."""

    def __init__(self, members: dict[str, list[str]] | None = None) -> None:
        self.emitted: list[tuple[str, Any, Any]] = []
        self.tasks: list[Callable[[], None]] = []
        self.slept: list[float] = []
        self.members = members or {}
        self.server = self
        self.manager = self

    def get_participants(self, namespace: str, room: str) -> Iterator[tuple[str, str]]:
        yield from ((sid, sid) for sid in self.members.get(room, []))

    def emit(self, event: str, data: Any, to: Any = None) -> None:
        self.emitted.append((event, data, to))

    def start_background_task(self, fn: Callable[[], None]) -> None:
        self.tasks.append(fn)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def run_tasks(self) -> None:
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            task()


def reading(sensor: str, room: str, seq: int) -> Reading:
    return Reading(sensor, room, 1_790_000_000.0 + seq, seq, 20.0 + seq / 10, 50.0)


def test_without_batch_subscribers_only_single_readings_go_out() -> None:
    sio = FakeSocketIO()
    broadcaster = Broadcaster(sio)
    broadcaster.on_reading(reading("a1", "a", 1))
    assert sio.emitted == [("reading", reading("a1", "a", 1).to_message(), room_key("a"))]
    assert sio.tasks == []  # no timer when nobody takes batches


def test_a_tick_goes_to_batch_subscribers_as_one_message_per_room() -> None:
    sio = FakeSocketIO({batch_room_key("a"): ["s1"], batch_room_key("b"): ["s2"]})
    broadcaster = Broadcaster(sio, window=0.02)
    tick = [reading("a1", "a", 1), reading("a2", "a", 1), reading("b1", "b", 1)]
    for r in tick:
        broadcaster.on_reading(r)
    # the per-reading contract is untouched and immediate
    assert [(e, to) for e, _, to in sio.emitted] == [("reading", room_key(r.room)) for r in tick]
    assert len(sio.tasks) == 1, "one flush per window, however many readings"
    sio.emitted.clear()
    sio.run_tasks()
    assert sio.slept == [0.02]
    assert sio.emitted == [
        ("readings", [tick[0].to_message(), tick[1].to_message()], batch_room_key("a")),
        ("readings", [tick[2].to_message()], batch_room_key("b")),
    ]
    # each reading in a batch keeps its own ts and seq
    assert all({"ts", "seq", "sensor"} <= set(m) for _, batch, _ in sio.emitted for m in batch)


def test_the_next_tick_opens_a_new_batch() -> None:
    sio = FakeSocketIO({batch_room_key("a"): ["s1"]})
    broadcaster = Broadcaster(sio)
    broadcaster.on_reading(reading("a1", "a", 1))
    sio.run_tasks()
    broadcaster.on_reading(reading("a1", "a", 2))
    assert len(sio.tasks) == 1
    sio.emitted.clear()
    sio.run_tasks()
    assert sio.emitted == [("readings", [reading("a1", "a", 2).to_message()],
                            batch_room_key("a"))]


def test_states_and_alerts_reach_both_kinds_of_subscriber() -> None:
    sio = FakeSocketIO()
    broadcaster = Broadcaster(sio)
    broadcaster.on_state(SensorState("a1", "a", "failing", 1.0, "checksum"))
    broadcaster.on_alert({"room": "a", "sensor": "a1"})
    both = [room_key("a"), batch_room_key("a")]
    assert [(e, to) for e, _, to in sio.emitted] == [("sensor_state", both), ("alert", both)]


def test_readings_from_many_threads_are_each_sent_once() -> None:
    sio = FakeSocketIO({batch_room_key("a"): ["s1"]})
    broadcaster = Broadcaster(sio)

    def poll(sensor: str) -> None:
        for seq in range(200):
            broadcaster.on_reading(reading(sensor, "a", seq))

    threads = [threading.Thread(target=poll, args=(f"a{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    sio.run_tasks()
    batched = [m for e, batch, _ in sio.emitted if e == "readings" for m in batch]
    singles = [m for e, m, _ in sio.emitted if e == "reading"]
    assert len(singles) == 800
    assert sorted((m["sensor"], m["seq"]) for m in batched) == sorted(
        (m["sensor"], m["seq"]) for m in singles)


def test_with_a_message_queue_batches_are_always_published() -> None:
    """Other web processes' clients are not visible here: publish the batch anyway."""
    sio = FakeSocketIO()
    sio.manager = PubSubManager()  # what server.message_queue makes Flask-SocketIO use
    broadcaster = Broadcaster(sio)
    broadcaster.on_reading(reading("a1", "a", 1))
    sio.run_tasks()
    assert [e for e, _, _ in sio.emitted] == ["reading", "readings"]
