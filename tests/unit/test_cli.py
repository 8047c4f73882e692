"""The sensorhub command in-process: read, user and token management.

``main([...])`` is what the ``sensorhub`` script and ``python -m sensorhub`` call; its
output and exit status are the behaviour. That ``python -m sensorhub`` reaches it is
checked once with a real process in tests/live/test_cli.py.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sensorhub.config import load_config
from sensorhub.service.cli import main
from sensorhub.storage.store import Store
from sensorhub.storage.users import Users
from tests.conftest import write_config


@dataclass
class Result:
    """What one command did: its exit status and what it printed."""

    returncode: int
    stdout: str
    stderr: str


Cli = Callable[..., Result]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
        ) -> Iterator[Cli]:
    """Run ``sensorhub ARGS...`` in-process as a shell would: status, stdout, stderr.

    Logging starts as in a fresh process (no handlers on the root logger, so a record
    reaches stderr unless the command configures logging itself), not as pytest's
    capture handlers have it; every handler and level is put back afterwards.
    """
    root = logging.getLogger()
    saved = root.handlers[:], root.level

    def run(*args: str, stdin: str = "") -> Result:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        kept = root.handlers[:], root.level
        root.handlers, root.level = [], logging.WARNING
        try:
            status = main(list(args))
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            for handler in root.handlers:
                handler.close()
            root.handlers, root.level = kept
        out, err = capsys.readouterr()
        return Result(status, out, err)

    yield run
    root.handlers, root.level = saved


def test_read_takes_one_reading_per_sensor(tmp_path: Path, cli: Cli) -> None:
    config = write_config(tmp_path)
    result = cli("read", "-c", str(config))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["a1", "b1"]
    assert all("°C" in line and "%RH" in line for line in lines)


def test_read_reports_each_failure_clearly(tmp_path: Path, cli: Cli,
                                           no_hardware: None) -> None:
    config = write_config(tmp_path, sensors=[
        {"id": "ok", "room": "a", "driver": "mock", "interval": 1},
        {"id": "porch", "room": "a", "driver": "dht22", "interval": 2, "pin": 4}])
    result = cli("read", "-c", str(config))
    assert result.returncode == 1
    assert result.stdout.startswith("ok: ")
    assert "porch: FAILED: " in result.stderr and "cannot open dht22 sensor:" in result.stderr
    # says how to fix it: no adafruit_dht here (no_hardware), so install the Pi extra
    assert "sensorhub[pi]" in result.stderr
    assert result.stderr.count("porch") == 1, "one clear line per failure, no log noise"
    assert cli("read", "nope", "-c", str(config)).returncode == 2


def test_user_and_token_lifecycle(tmp_path: Path, cli: Cli) -> None:
    config = str(write_config(tmp_path))
    assert cli("user", "add", "alice", "--rooms", "a", "--password-stdin", "-c", config,
               stdin="long-enough-pw\n").returncode == 0
    assert cli("user", "add", "root", "--admin", "--password-stdin", "-c", config,
               stdin="long-enough-pw\n").returncode == 0
    refused = cli("user", "add", "eve", "--rooms", "attic", "--password-stdin", "-c", config,
                  stdin="long-enough-pw\n")
    assert refused.returncode == 1 and "unknown room(s) attic" in refused.stderr
    assert cli("user", "list", "-c", config).stdout.splitlines() == ["alice\ta", "root\tadmin"]
    created = cli("token", "create", "alice", "--label", "kiosk", "-c", config)
    token = created.stdout.strip()
    assert created.returncode == 0 and token.startswith("shb_") and "shown once" in created.stderr
    listed = cli("token", "list", "-c", config).stdout
    assert "alice\tkiosk" in listed and token not in listed
    token_id = listed.split("\t")[0]
    assert cli("token", "revoke", token_id, "-c", config).returncode == 0
    assert cli("token", "list", "-c", config).stdout == ""
    assert cli("user", "passwd", "alice", "--password-stdin", "-c", config,
               stdin="another-long-pw\n").returncode == 0
    store = Store(load_config(config).storage.path)
    try:  # the password came from stdin, without its newline
        users = Users(store.connect)
        assert users.verify("alice", "another-long-pw") is not None
        assert users.verify("alice", "long-enough-pw") is None
    finally:
        store.close()
    assert cli("user", "remove", "alice", "-c", config).returncode == 0
    gone = cli("user", "remove", "alice", "-c", config)
    assert gone.returncode == 1 and "no user 'alice'" in gone.stderr


def test_user_remove_keeps_the_last_admin_and_is_audited(tmp_path: Path, cli: Cli) -> None:
    """Issue 16: ``user remove admin`` deleted the last admin without a word."""
    config = str(write_config(tmp_path))
    for name, role in (("admin", "--admin"), ("second", "--admin")):
        assert cli("user", "add", name, role, "--password-stdin", "-c", config,
                   stdin="long-enough-pw\n").returncode == 0
    assert cli("user", "remove", "second", "-c", config).returncode == 0
    refused = cli("user", "remove", "admin", "-c", config)
    assert refused.returncode == 1
    assert refused.stderr == ("error: admin is the last admin: make another user an admin "
                              "first\n")
    assert cli("user", "list", "-c", config).stdout == "admin\tadmin\n"
    store = Store(load_config(config).storage.path)
    try:
        from sensorhub.storage.audit import Audit

        rows = Audit(store.connect).entries()
    finally:
        store.close()
    assert [(r["action"], r["target"], r["address"]) for r in rows] == [
        ("user.remove", "second", "local"), ("user.add", "second", "local"),
        ("user.add", "admin", "local")]
    assert all(r["actor"].startswith("cli:") for r in rows)
