"""The broadcaster: one ``reading`` per reading; for opt-ins, one ``readings`` a tick."""

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

    def join(self, sid: str, keys: list[str]) -> None:
        for key in keys:
            self.members.setdefault(key, []).append(sid)

    def emit(self, event: str, data: Any, to: Any = None) -> None:
        self.emitted.append((event, data, to))

    def start_background_task(self, fn: Callable[..., None], *args: Any) -> None:
        self.tasks.append(lambda: fn(*args))

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
    broadcaster.on_tick()
    assert sio.emitted == [("reading", reading("a1", "a", 1).to_message(), room_key("a"))]
    assert sio.tasks == []  # no timer when nobody takes batches


def test_a_client_of_several_rooms_joins_one_batch_room_for_the_set() -> None:
    broadcaster = Broadcaster(FakeSocketIO())
    assert broadcaster.batch_rooms({"b", "a"}) == [batch_room_key("a,b")]
    assert broadcaster.batch_rooms(["a"]) == [batch_room_key("a")]
    assert broadcaster.batch_rooms([]) == []


def test_reading_clients_join_one_room_per_room() -> None:
    broadcaster = Broadcaster(FakeSocketIO())
    assert broadcaster.socket_rooms({"b", "a"}, batch=False) == [room_key("a"), room_key("b")]
    assert broadcaster.socket_rooms({"b", "a"}, batch=True) == [batch_room_key("a,b")]


def test_the_end_of_a_tick_sends_one_message_per_client_across_its_rooms() -> None:
    sio = FakeSocketIO()
    broadcaster = Broadcaster(sio, max_wait=30.0)
    sio.join("s1", broadcaster.batch_rooms({"a", "b"}))
    tick = [reading("a1", "a", 1), reading("a2", "a", 1), reading("b1", "b", 1)]
    for r in tick:
        broadcaster.on_reading(r)
    # the per-reading contract is untouched and immediate
    assert [(e, to) for e, _, to in sio.emitted] == [("reading", room_key(r.room)) for r in tick]
    assert len(sio.tasks) == 1, "one deadline per batch, however many readings"
    sio.emitted.clear()
    broadcaster.on_tick()  # no waiting: the poller says every sensor due has been read
    assert sio.emitted == [("readings", [r.to_message() for r in tick], batch_room_key("a,b"))]
    # each reading in a batch keeps its own ts and seq
    assert all({"ts", "seq", "sensor"} <= set(m) for _, batch, _ in sio.emitted for m in batch)
    sio.emitted.clear()
    sio.run_tasks()  # the deadline of a batch that has gone out sends nothing
    assert sio.emitted == []


def test_a_tick_is_encoded_once_per_distinct_set_of_rooms() -> None:
    sio = FakeSocketIO()
    broadcaster = Broadcaster(sio)
    for sid, rooms in [("s1", {"a", "b"}), ("s2", {"a", "b"}), ("s3", {"a"}), ("s4", {"b"})]:
        sio.join(sid, broadcaster.batch_rooms(rooms))
    broadcaster.batch_rooms({"c", "a"})  # a set whose clients have all gone: nothing sent
    tick = [reading("a1", "a", 1), reading("b1", "b", 1)]
    for r in tick:
        broadcaster.on_reading(r)
    sio.emitted.clear()
    broadcaster.on_tick()
    sent = {to: [m["sensor"] for m in batch] for event, batch, to in sio.emitted}
    assert [e for e, _, _ in sio.emitted] == ["readings"] * 3, "one emit (one encoding) a set"
    assert sent == {batch_room_key("a,b"): ["a1", "b1"], batch_room_key("a"): ["a1"],
                    batch_room_key("b"): ["b1"]}


def test_a_batch_goes_out_after_the_maximum_wait_when_no_tick_ends_it() -> None:
    """A hung sensor, a retry or an MQTT push: the batch waits max_wait, no longer."""
    sio = FakeSocketIO()
    broadcaster = Broadcaster(sio, max_wait=0.05)
    sio.join("s1", broadcaster.batch_rooms({"a"}))
    broadcaster.on_reading(reading("a1", "a", 1))
    sio.emitted.clear()
    sio.run_tasks()
    assert sio.slept == [0.05]
    assert sio.emitted == [("readings", [reading("a1", "a", 1).to_message()],
                            batch_room_key("a"))]


def test_the_deadline_of_a_sent_batch_never_cuts_the_next_one_short() -> None:
    sio = FakeSocketIO()
    broadcaster = Broadcaster(sio)
    sio.join("s1", broadcaster.batch_rooms({"a"}))
    broadcaster.on_reading(reading("a1", "a", 1))
    broadcaster.on_tick()
    broadcaster.on_reading(reading("a1", "a", 2))  # the next tick's batch opens
    first_deadline, second_deadline = sio.tasks
    sio.emitted.clear()
    first_deadline()
    assert sio.emitted == [], "the first batch's deadline sent the second batch early"
    second_deadline()
    assert sio.emitted == [("readings", [reading("a1", "a", 2).to_message()],
                            batch_room_key("a"))]


def test_states_and_alerts_reach_both_kinds_of_subscriber() -> None:
    sio = FakeSocketIO()
    broadcaster = Broadcaster(sio)
    broadcaster.batch_rooms({"a", "b"})
    broadcaster.batch_rooms({"b"})
    broadcaster.on_state(SensorState("a1", "a", "failing", 1.0, "checksum"))
    broadcaster.on_alert({"room": "a", "sensor": "a1"})
    both = [room_key("a"), batch_room_key("a,b")]
    assert [(e, to) for e, _, to in sio.emitted] == [("sensor_state", both), ("alert", both)]


def test_readings_from_many_threads_are_each_sent_once() -> None:
    sio = FakeSocketIO()
    broadcaster = Broadcaster(sio)
    sio.join("s1", broadcaster.batch_rooms({"a"}))

    def poll(sensor: str) -> None:
        for seq in range(200):
            broadcaster.on_reading(reading(sensor, "a", seq))
            if seq % 7 == 0:
                broadcaster.on_tick()

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


def test_with_a_message_queue_each_room_batch_is_always_published() -> None:
    """Other web processes' clients are not visible here: publish every room's batch."""
    sio = FakeSocketIO()
    sio.manager = PubSubManager()  # what server.message_queue makes Flask-SocketIO use
    broadcaster = Broadcaster(sio)
    assert broadcaster.batch_rooms({"b", "a"}) == [batch_room_key("a"), batch_room_key("b")]
    broadcaster.on_reading(reading("a1", "a", 1))
    broadcaster.on_reading(reading("b1", "b", 1))
    broadcaster.on_tick()
    assert [(e, to) for e, _, to in sio.emitted] == [
        ("reading", room_key("a")), ("reading", room_key("b")),
        ("readings", batch_room_key("a")), ("readings", batch_room_key("b"))]
