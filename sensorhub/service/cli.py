"""The ``sensorhub`` command: run, node, check-config, read, detect, user, token, notify."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from sensorhub.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from sensorhub.readings import Reading

DEFAULT_CONFIG = "config.yaml"


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", default=os.environ.get("SENSORHUB_CONFIG",
                                                                 DEFAULT_CONFIG),
                        help="config file (default: $SENSORHUB_CONFIG or ./config.yaml)")


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    # --config may also follow the action: `sensorhub user add bob -c cfg.yaml`
    leaf = argparse.ArgumentParser(add_help=False)
    leaf.add_argument("--config", "-c", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser = argparse.ArgumentParser(prog="sensorhub", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="serve the dashboard and poll the sensors")
    _config_arg(run)
    run.add_argument("--host", help="listen address (overrides server.host)")
    run.add_argument("--port", type=int, help="listen port (overrides server.port)")
    run.add_argument("--async-mode", choices=("eventlet", "threading"),
                     help="override server.async_mode")
    run.add_argument("--log-level", default=os.environ.get("SENSORHUB_LOG_LEVEL", "INFO"))

    node = sub.add_parser("node", help="poll the sensors and publish them to MQTT (no web)")
    _config_arg(node)
    node.add_argument("--log-level", default=os.environ.get("SENSORHUB_LOG_LEVEL", "INFO"))

    check = sub.add_parser("check-config", help="validate a config file")
    _config_arg(check)

    read = sub.add_parser("read", help="take one reading from each sensor (wiring check)")
    _config_arg(read)
    read.add_argument("sensors", nargs="*", help="sensor ids (default: all)")

    detect = sub.add_parser("detect", help="find the sensors this machine can read and "
                            "print their config")
    _config_arg(detect)
    detect.add_argument("--sysfs", help="sysfs root (default: hardware.sysfs, else /sys)")
    detect.add_argument("--room", help="room of the printed sensors (default: the first)")

    user = sub.add_parser("user", help="manage users")
    _config_arg(user)
    usub = user.add_subparsers(dest="action", required=True)
    add = usub.add_parser("add", help="create a user", parents=[leaf])
    add.add_argument("name")
    who = add.add_mutually_exclusive_group(required=True)
    who.add_argument("--rooms", help="comma-separated room ids the user may watch")
    who.add_argument("--admin", action="store_true", help="may see every room")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input")
    usub.add_parser("list", help="list users", parents=[leaf])
    passwd = usub.add_parser("passwd", help="change a password (ends the user's sessions)",
                             parents=[leaf])
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    remove = usub.add_parser("remove", help="delete a user and their tokens", parents=[leaf])
    remove.add_argument("name")

    token = sub.add_parser("token", help="manage API tokens (kiosks, scripts)")
    _config_arg(token)
    tsub = token.add_subparsers(dest="action", required=True)
    create = tsub.add_parser("create", help="make a token for a user; printed once",
                             parents=[leaf])
    create.add_argument("name")
    create.add_argument("--label", default="")
    revoke = tsub.add_parser("revoke", help="revoke a token by id", parents=[leaf])
    revoke.add_argument("id", type=int)
    tlist = tsub.add_parser("list", help="list tokens (ids and labels, never the secret)",
                            parents=[leaf])
    tlist.add_argument("name", nargs="?")

    notify = sub.add_parser("notify", help="alert channels: send a test, show the delivery log")
    _config_arg(notify)
    nsub = notify.add_subparsers(dest="action", required=True)
    ntest = nsub.add_parser("test", help="send a test message now and print the server's answer",
                            parents=[leaf])
    ntest.add_argument("channel", help="a channel name from notify.channels (or webhook)")
    nlog = nsub.add_parser("log", help="recent deliveries: sent, failed (why), gave up",
                           parents=[leaf])
    nlog.add_argument("--channel")
    nlog.add_argument("--limit", type=int, default=30)
    return parser


def _load(path: str) -> Config:
    try:
        return load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sensorhub`` command."""
    args = build_parser().parse_args(argv)
    if args.command == "check-config":
        config = _load(args.config)
        print(f"{args.config}: ok ({len(config.rooms)} rooms, {len(config.sensors)} sensors)")
        return 0
    if args.command == "run":
        from sensorhub.service.serve import serve
        return serve(_load(args.config), host=args.host, port=args.port,
                     async_mode=args.async_mode, log_level=args.log_level)
    if args.command == "node":
        from sensorhub.service.node import run_node
        return run_node(_load(args.config), log_level=args.log_level)
    if args.command == "read":
        return _read(_load(args.config), args.sensors)
    if args.command == "notify":
        from sensorhub.service.notify import notify_command
        return notify_command(_load(args.config), args)
    if args.command == "detect":
        from sensorhub.service.detect import default_sysfs, detect

        logging.basicConfig(level=logging.CRITICAL)
        config = _load(args.config) if os.path.exists(args.config) else None
        return detect(config, default_sysfs(config, args.sysfs), args.room)
    return _manage(args)


def _read(config: Config, wanted: list[str]) -> int:
    from drivers.errors import DriverError
    from sensorhub.polling.loop import Poller
    from sensorhub.polling.power import SharedGpio
    from sensorhub.runtime import ThreadingRuntime

    logging.basicConfig(level=logging.CRITICAL)  # one line per sensor below, no log noise
    known = {s.id for s in config.sensors}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        print(f"unknown sensor(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    from drivers.registry import DRIVER_SPECS, open_driver

    sensors = [s for s in config.sensors if (not wanted or s.id in wanted)
               and not DRIVER_SPECS[s.driver].push]  # pushed over MQTT: nothing to read
    opener = partial(open_driver, sysfs=str(config.hardware.sysfs))
    gpio = SharedGpio(config.gpio_backend, str(config.hardware.sysfs))
    poller = Poller(sensors, ThreadingRuntime(), gpio=gpio, open_driver=opener)
    failures = 0
    try:
        for s in sensors:
            ok = poller.poll_once(s.id)
            reading = poller.latest(s.id)
            if ok and reading is not None:
                print(f"{s.id}: {describe(reading)}")
            else:
                failures += 1
                print(f"{s.id}: FAILED: {poller.state(s.id).error}", file=sys.stderr)
    except DriverError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        poller.stop(timeout=1.0)
    return 1 if failures else 0


def describe(reading: Reading) -> str:
    """One reading as `sensorhub read` prints it: each measured quantity with its unit."""
    from drivers.base import QUANTITIES, UNITS

    units = {**UNITS, "humidity": "%RH"}
    return "  ".join(f"{value} {units[q]}" for q in QUANTITIES
                     if (value := getattr(reading, q)) is not None)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("passwords differ")
    return first


def _manage(args: argparse.Namespace) -> int:
    from sensorhub.storage.audit import Audit
    from sensorhub.storage.store import Store
    from sensorhub.storage.users import UserError, Users

    config = _load(args.config)
    store = Store(config.storage.path, retention_days=config.storage.retention_days)
    users = Users(store.connect)
    audit = Audit(store.connect)
    # the audit log names who ran the command line, as the admin page names its admin
    actor = f"cli:{getpass.getuser()}"

    def record(action: str, target: str, detail: str = "") -> None:
        audit.record(actor, action, target, detail, "local")
    try:
        if args.command == "user":
            return _user(args, config, users, record)
        return _token(args, users, record)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _user(args: argparse.Namespace, config: Config, users: object,
          record: Callable[..., None]) -> int:
    from sensorhub.storage.users import Users

    assert isinstance(users, Users)
    if args.action == "add":
        rooms = frozenset(r.strip() for r in (args.rooms or "").split(",") if r.strip())
        unknown = rooms - {r.id for r in config.rooms}
        if unknown:
            print(f"error: unknown room(s) {', '.join(sorted(unknown))} in {args.config}",
                  file=sys.stderr)
            return 1
        users.add(args.name, _password(args.password_stdin), admin=args.admin, rooms=rooms)
        record("user.add", args.name, "admin" if args.admin else f"rooms {','.join(sorted(rooms))}")
        print(f"user {args.name} created")
    elif args.action == "list":
        for u in users.overview():
            rights = "admin" if u["admin"] else ",".join(u["rooms"]) or "-"
            print("\t".join([u["name"], rights, *(["disabled"] if u["disabled"] else [])]))
    elif args.action == "passwd":
        users.set_password(args.name, _password(args.password_stdin))
        record("user.change", args.name, "password set")
        print(f"password of {args.name} changed; their sessions are ended")
    elif args.action == "remove":
        users.remove(args.name)  # never the last admin (LastAdminError)
        record("user.remove", args.name)
        print(f"user {args.name} removed")
    return 0


def _token(args: argparse.Namespace, users: object, record: Callable[..., None]) -> int:
    from sensorhub.storage.users import Users

    assert isinstance(users, Users)
    if args.action == "create":
        token_id, token = users.create_token(args.name, args.label)
        record("token.create", args.name, f"id {token_id}")
        print(f"token {token_id} for {args.name} (shown once, keep it safe):", file=sys.stderr)
        print(token)
    elif args.action == "revoke":
        record("token.revoke", users.revoke_token(args.id), f"id {args.id}")
        print(f"token {args.id} revoked")
    else:
        for token_id, user, label, _created in users.tokens(args.name):
            print(f"{token_id}\t{user}\t{label}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

