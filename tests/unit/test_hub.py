"""The hub's housekeeping: batched writes go on whatever a retention pass meets."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from pathlib import Path

import pytest

from sensorhub.config import parse_config
from sensorhub.hub import assemble
from sensorhub.runtime import ThreadingRuntime
from sensorhub.storage.audit import Audit
from sensorhub.storage.store import Store

CONFIG = """\
storage: {path: data/hub.db, flush_interval: 0.05}
rooms: [{id: lab}]
sensors: [{id: air, room: lab, driver: mock, interval: 0.1, options: {seed: 1}}]
"""


def test_audit_retention_on_a_database_that_refuses_writes_is_logged_not_raised(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = Store(tmp_path / "db.sqlite")
    blocker = sqlite3.connect(store.path, timeout=0, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # a backup script holding the write lock
        audit = Audit(lambda: sqlite3.connect(store.path, timeout=0))
        assert audit.apply_retention() == 0
        assert "audit retention pass failed: database is locked" in caplog.text
    finally:
        blocker.close()
        store.close()


def test_a_failing_retention_pass_never_stops_the_batched_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
        ) -> None:
    """A retention pass that raised at start ended housekeeping before its first flush:
    a read-only database was never reported and nothing was written once it healed."""
    hub = assemble(parse_config(CONFIG, tmp_path / "config.yaml"), ThreadingRuntime(),
                   alerts=False)

    def refuse(now: float | None = None) -> int:
        raise RuntimeError("a retention pass that cannot finish")

    monkeypatch.setattr(hub.audit, "apply_retention", refuse)
    caplog.set_level(logging.ERROR)
    hub.start()
    try:
        deadline = time.monotonic() + 10
        while hub.store.flushes < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert hub.store.flushes >= 2, caplog.text
        assert "retention pass failed" in caplog.text
        assert "housekeeping crashed" not in caplog.text
    finally:
        with contextlib.suppress(Exception):
            hub.stop()
    assert hub.store.pending == 0
