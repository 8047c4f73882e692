"""Crash durability: ``kill -9`` the real server at random moments, several rounds.

After every kill the database passes ``PRAGMA integrity_check``, the readings missing
are only those of the last write batch (``storage.flush_interval``, README: "at most
flush_interval seconds of readings are at risk"), and a restarted server serves the
old history plus new readings. SENSORHUB_CRASH_ROUNDS sets the rounds (CI: 2: the first
kills a server on a fresh database, the second one that recovered a killed database, and
the restart after them recovers once more; a third round takes no new path); the seed of
the kill moments is printed for a re-run (SENSORHUB_CRASH_SEED). It runs in both async
modes: the batched writer runs in eventlet's tpool or in a plain thread, and a kill must
cost at most one batch in either.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from sensorhub.readings import Reading
from sensorhub.storage.store import Store
from tests.clients import Watcher
from tests.conftest import LiveServer, start_server, wait_for

ROUNDS = int(os.environ.get("SENSORHUB_CRASH_ROUNDS", "2"))
FLUSH = 0.5  # storage.flush_interval of the test config
INTERVAL = 0.1
# a batch is written at most FLUSH after its first reading; a commit itself takes time,
# and a loaded CI machine may run the flush late: allow that much on top
SLACK = 1.0
SENSORS = [{"id": f"s{i}", "room": "a", "driver": "mock", "interval": INTERVAL,
            "options": {"seed": i}} for i in range(3)]


def stored(db: Path) -> set[tuple[str, float]]:
    """(sensor, ts) of every reading in the database; checks its integrity first."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {(name, round(ts / 1000, 3)) for name, ts in conn.execute(
            "SELECT s.name, r.ts FROM readings r JOIN sensor_ids s ON s.id = r.sensor")}


@pytest.mark.slow
def test_kill_9_loses_at_most_one_batch(tmp_path: Path, async_mode: str) -> None:
    seed = int(os.environ.get("SENSORHUB_CRASH_SEED", random.randrange(10**6)))
    print(f"SENSORHUB_CRASH_SEED={seed}")
    rng = random.Random(seed)
    config = {"sensors": SENSORS, "storage": {"flush_interval": FLUSH}}
    token = None
    seen: set[tuple[str, float]] = set()  # every reading pushed live in any round
    started = time.time()
    for round_ in range(ROUNDS):
        server = start_server(tmp_path, async_mode, **config)
        try:
            if token is None:
                server.add_user("alice", rooms=("a",))
                token = server.token("alice")
            viewer = Watcher(server, auth={"token": token})
            # a random moment (mid-batch or mid-commit), late enough that some readings
            # are older than one batch: those must be on disk
            time.sleep(rng.uniform(FLUSH + SLACK + 0.5, FLUSH + SLACK + 1.5))
            killed_at = time.time()
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait(10)
        finally:
            server.stop(signal.SIGKILL)
        viewer.close()
        pushed = {(r["sensor"], round(r["ts"], 3)) for r in viewer.of("reading")}
        assert len(pushed) >= 5, f"round {round_}: no readings flowed"
        on_disk = stored(server.db_path)
        assert pushed & on_disk, f"round {round_}: nothing was written before the kill"
        missing = pushed - on_disk
        too_old = sorted(ts for _s, ts in missing if ts < killed_at - FLUSH - SLACK)
        assert not too_old, (f"round {round_}: {len(too_old)} readings older than one batch "
                             f"lost (oldest {killed_at - too_old[0]:.2f} s before the kill)")
        assert len(missing) <= len(SENSORS) * (FLUSH + SLACK) / INTERVAL
        assert seen <= on_disk | pushed, "a later round lost readings of an earlier one"
        seen |= pushed & on_disk

    # a restart serves the old history plus new readings
    server = start_server(tmp_path, async_mode, **config)
    try:
        viewer = Watcher(server, auth={"token": token})
        wait_for(lambda: len(viewer.of("reading")) >= len(SENSORS), 10, "new readings")
        check_history(server, viewer, seen, started)
        viewer.close()
    finally:
        assert server.stop() == 0, server.log()
    assert "Traceback" not in server.log()


def check_history(server: LiveServer, viewer: Watcher, old: set[tuple[str, float]],
                  since: float) -> None:
    """History over the socket holds every reading kept from the killed rounds and new ones."""
    new = {(r["sensor"], round(r["ts"], 3)) for r in viewer.of("reading")}
    assert new
    for sensor in {s["id"] for s in SENSORS}:
        answer = viewer.client.call("history", {"sensor": sensor, "since": since - 1,
                                                "max_points": 10000}, timeout=10)
        served = {(sensor, round(p[0], 3)) for p in answer["points"]}
        want = {x for x in old | new if x[0] == sensor}
        assert want <= served, (f"{sensor}: {sorted(want - served)} not served; "
                                f"new {sorted(x[1] for x in new if x[0] == sensor)[:3]}; "
                                f"served {sorted(served)[-3:]} {answer['until']}")


def test_history_never_misses_the_batch_being_committed(tmp_path: Path) -> None:
    """A history or export asked mid-commit still sees that batch (found by the test above)."""
    store = Store(tmp_path / "db.sqlite")
    t0 = 1_795_000_000.0
    for i in range(5):
        store.add(Reading("s1", "a", t0 + i, i + 1, 20.0 + i, 50.0))
    store.flush()
    for i in range(5, 10):
        store.add(Reading("s1", "a", t0 + i, i + 1, 20.0 + i, 50.0))
    inside, release = threading.Event(), threading.Event()

    def stall() -> int:  # SQLite calls this while the flush's statements run
        inside.set()
        release.wait(10)
        return 0

    store._writer.set_progress_handler(stall, 1)
    flusher = threading.Thread(target=store.flush)
    flusher.start()
    try:
        assert inside.wait(10)
        points = store.history("s1", t0 - 1, t0 + 20, 10_000)["points"]
        assert [p[0] for p in points] == [t0 + i for i in range(10)]
        # small chunks: the export reads several transactions, each around the commit
        assert [row[0] for row in store.export_rows("s1", t0 - 1, t0 + 20, chunk=3)] == [
            t0 + i for i in range(10)]
        latest = store.latest("s1")
        assert latest is not None
        assert (latest.ts, latest.temperature, latest.humidity) == (t0 + 9, 29.0, 50.0)
    finally:
        release.set()
        flusher.join(10)
        store._writer.set_progress_handler(None, 1)
    # and once committed, nothing is counted twice
    assert len(store.history("s1", t0 - 1, t0 + 20, 10_000)["points"]) == 10
    assert store.count() == 10
    store.close()
