"""Disk trouble under the real server: unwritable file, disk full, database locked.

Each scenario checks the same promise (store.py): a clear log line, the dashboard keeps
showing live readings (and history from memory), nothing crashes, /healthz says
``degraded``, and once the problem clears writing resumes with nothing lost.

The tests run as root in CI, and root writes any file, so the "not writable" server is
started without CAP_DAC_OVERRIDE (dropped from its bounding set before exec); "disk
full" caps the server's file size with RLIMIT_FSIZE (prlimit on the running process:
writes that grow a file fail, as on a full disk), which needs no privileges at all.

The unwritable file and the full disk run in one async mode: the write fails at once,
in the same store code on a worker thread in either mode. The locked database runs in
both: each write waits out SQLite's busy timeout, which must block neither mode's loop.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.clients import Watcher, close_all
from tests.conftest import ASYNC_MODES, LiveServer, start_server, wait_for

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2
SENSORS = [{"id": "a1", "room": "a", "driver": "mock", "interval": 0.2,
            "options": {"seed": 1}}]
ROOMS = [{"id": "a", "name": "A", "public": True}]  # the dashboard needs no login here


def _drop_file_override() -> None:
    """In the child before exec: lose root's power to ignore file permissions."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@contextlib.contextmanager
def _children_without_file_override() -> Iterator[None]:
    """Processes started inside this block obey file permissions even as root."""
    if os.geteuid() != 0:
        yield
        return
    original = subprocess.Popen

    def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        return original(*args, preexec_fn=_drop_file_override, **kwargs)

    subprocess.Popen = popen  # type: ignore[misc, assignment]
    try:
        yield
    finally:
        subprocess.Popen = original  # type: ignore[misc]


_ADMINS: dict[Path, dict[str, str]] = {}


def admin_headers(server: LiveServer) -> dict[str, str]:
    """An admin's token for the server's database, made once and before any trouble.

    /healthz shows the storage figures to a credential only (issue 12 item 11).
    """
    if server.db_path not in _ADMINS:
        server.add_user("health-admin", admin=True)
        _ADMINS[server.db_path] = {"Authorization": f"Bearer {server.token('health-admin')}"}
    return _ADMINS[server.db_path]


def health(server: LiveServer) -> dict[str, Any]:
    """The /healthz body, as an admin sees it."""
    answer = requests.get(server.url + "/healthz", headers=_ADMINS[server.db_path], timeout=10)
    assert answer.status_code == 200
    return answer.json()


def stored_ts(db: Path, sensor: str = "a1") -> set[float]:
    """Times of every stored reading of a sensor (after the server stopped)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {round(ts / 1000, 3) for (ts,) in conn.execute(
            "SELECT ts FROM readings r JOIN sensor_ids s ON s.id = r.sensor WHERE s.name = ?",
            (sensor,))}


def live_through_trouble(server: LiveServer, viewer: Watcher, trouble: str, clear: Callable[[],
                         None], steady: bool = True) -> None:
    """Check the promise while the trouble lasts, then clear it and check recovery.

    ``steady``: every write fails until cleared. On a full disk some commits still
    succeed (SQLite reuses WAL space it already has), so only the first failure is sure.
    """
    seen: list[str] = []

    def failing() -> bool:
        seen.append(health(server)["storage"]["write_error"] or "")
        return bool(seen[-1])

    wait_for(failing, 15, "the write error", every=0.2)
    assert trouble in seen[-1], seen[-1]
    assert "cannot write readings to" in server.log() and trouble in server.log()
    before = len(viewer.of("reading"))
    wait_for(lambda: len(viewer.of("reading")) >= before + 5, 10,
             "readings on the dashboard while the disk refuses them")
    if steady:
        body = health(server)
        assert body["status"] == "degraded" and body["storage"]["pending"] > 0, body
    shown = {round(r["ts"], 3) for r in viewer.of("reading")}  # before asking: later ones
    answer = viewer.client.call("history", {"sensor": "a1", "since": time.time() - 30,
                                            "max_points": 10000}, timeout=10)
    served = {round(p[0], 3) for p in answer["points"]}
    assert shown <= served  # from memory: the disk refuses them
    clear()
    wait_for(lambda: health(server)["storage"]["write_error"] is None, 20, "writing to resume",
             every=0.2)
    assert "resumed" in server.log()
    assert health(server)["status"] == "ok"
    assert server.proc.poll() is None and "Traceback" not in server.log()


def finish(server: LiveServer, viewer: Watcher) -> None:
    """Stop the server; every reading the dashboard saw must be on disk."""
    viewer.close()
    assert server.stop() == 0, server.log()
    pushed = {round(r["ts"], 3) for r in viewer.of("reading")}
    missing = pushed - stored_ts(server.db_path)
    assert not missing, f"{len(missing)} of {len(pushed)} readings never reached the disk"


@pytest.fixture
def watchers() -> Iterator[list[Watcher]]:
    """Watchers that are disconnected after the test."""
    made: list[Watcher] = []
    yield made
    close_all(made)


ONE_MODE = ASYNC_MODES[:1]  # see the module's docstring


@pytest.mark.parametrize("async_mode", ONE_MODE)
def test_unwritable_database_file(tmp_path: Path, async_mode: str,
                                  watchers: list[Watcher]) -> None:
    first = start_server(tmp_path, async_mode, rooms=ROOMS, sensors=SENSORS)
    admin_headers(first)
    assert first.stop() == 0
    db = first.db_path
    db.chmod(0o444)  # e.g. restored from a backup with the wrong mode
    try:
        with _children_without_file_override():
            server = start_server(tmp_path, async_mode, rooms=ROOMS, sensors=SENSORS)
    except OSError as error:  # no CAP_SETPCAP to drop capabilities with
        pytest.skip(f"cannot run the server without file override: {error}")
    try:
        viewer = Watcher(server)
        watchers.append(viewer)

        def fix_permissions() -> None:  # SQLite gave -wal and -shm the file's mode too
            for path in db.parent.glob(db.name + "*"):
                path.chmod(0o644)

        live_through_trouble(server, viewer, "readonly database", fix_permissions)
        finish(server, viewer)
    finally:
        server.stop(signal.SIGKILL)


@pytest.mark.parametrize("async_mode", ONE_MODE)
def test_disk_full(tmp_path: Path, async_mode: str, watchers: list[Watcher]) -> None:
    server = start_server(tmp_path, async_mode, rooms=ROOMS, sensors=SENSORS)
    admin_headers(server)
    try:
        viewer = Watcher(server)
        watchers.append(viewer)
        wait_for(lambda: health(server)["storage"]["batches"] >= 1, 10, "a first batch",
                 every=0.1)
        pid = server.proc.pid
        _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        # no file may grow any more: the next WAL append fails as on a full disk
        sizes = [p.stat().st_size for p in tmp_path.rglob("*") if p.is_file()]
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (max(sizes), hard))

        def free_space() -> None:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))

        try:
            live_through_trouble(server, viewer, "disk", free_space, steady=False)
        finally:
            free_space()
        finish(server, viewer)
    finally:
        server.stop(signal.SIGKILL)


def test_database_locked_by_another_process(tmp_path: Path, async_mode: str,
                                            watchers: list[Watcher]) -> None:
    server = start_server(tmp_path, async_mode, rooms=ROOMS, sensors=SENSORS)
    admin_headers(server)
    blocker = sqlite3.connect(server.db_path, timeout=0, isolation_level=None)
    try:
        viewer = Watcher(server)
        watchers.append(viewer)
        blocker.execute("BEGIN EXCLUSIVE")  # e.g. a backup script holding the write lock

        def release() -> None:
            with contextlib.suppress(sqlite3.Error):
                blocker.execute("ROLLBACK")

        live_through_trouble(server, viewer, "locked", release)
        finish(server, viewer)
    finally:
        blocker.close()
        server.stop(signal.SIGKILL)


def test_alert_clears_live_on_a_full_disk(tmp_path: Path, async_mode: str,
                                          watchers: list[Watcher]) -> None:
    """An alert that clears while the disk is full is pushed at once, stored later.

    The sensor is unplugged from 3 to 9 s after start: it goes offline (the alert
    fires and is stored), the disk fills, the sensor comes back (the alert clears:
    the dashboard must hear it now), the disk frees (the clear must reach the log).
    """
    sensors = [{**SENSORS[0], "offline_after": 1.0,
                "options": {"seed": 1, "outage_after": 3, "outage_for": 6}}]
    server = start_server(tmp_path, async_mode, rooms=ROOMS, sensors=sensors)
    try:
        admin_headers(server)  # made while the disk has room
        viewer = Watcher(server)
        watchers.append(viewer)
        wait_for(lambda: viewer.of("alert"), 15, "the offline alert")
        assert viewer.of("alert")[0]["state"] == "firing", viewer.of("alert")
        stored = requests.get(server.url + "/api/alerts", timeout=10).json()["alerts"]
        assert stored and stored[0]["cleared"] is None, stored
        pid = server.proc.pid
        _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        wal = Path(str(server.db_path) + "-wal").stat().st_size
        assert server.log_path.stat().st_size < wal - 32768  # the log may still grow
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (wal, hard))  # the WAL may not grow
        try:
            wait_for(lambda: len(viewer.of("alert")) >= 2, 20, "the alert to clear live")
            assert viewer.of("alert")[1]["state"] == "cleared", viewer.of("alert")
            wait_for(lambda: health(server)["storage"]["write_error"], 10,
                     "the readings that came back to hit the full disk too")
        finally:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))

        def cleared_in_log() -> bool:
            rows = requests.get(server.url + "/api/alerts", timeout=10).json()["alerts"]
            return bool(rows) and rows[0]["cleared"] is not None

        wait_for(cleared_in_log, 20, "the clear to be stored once the disk has room")
        assert len(viewer.of("alert")) == 2, viewer.of("alert")  # each change pushed once
        assert "cannot record alert" in server.log()
    finally:
        server.stop(signal.SIGKILL)
    assert "Traceback" not in server.log()
