"""``sensorhub notify test CHANNEL`` and ``sensorhub notify log``: check channels by hand.

``test`` sends a message now, outside the queue, and prints the receiver's own answer
(an ntfy message id, Gotify's stored message, Matrix's event id, the SMTP server's
"queued as"), or why it failed; either way it goes into the delivery log.
"""

from __future__ import annotations

import argparse
import sys
import time

from sensorhub.config import Config


def notify_command(config: Config, args: argparse.Namespace) -> int:
    """Run ``notify test`` or ``notify log``; return the exit status."""
    from sensorhub.alerts.outbox import Outbox
    from sensorhub.storage.store import Store

    store = Store(config.storage.path, retention_days=config.storage.retention_days)
    try:
        outbox = Outbox(store.connect)
        if args.action == "test":
            return _test(config, outbox, args.channel)
        return _log(outbox, args.channel, args.limit)
    finally:
        store.close()


def _test(config: Config, outbox: object, name: str) -> int:
    from sensorhub.alerts.channels import ChannelError, open_channel
    from sensorhub.alerts.message import probe_message
    from sensorhub.alerts.outbox import Outbox
    from sensorhub.runtime import OffLoopTimeoutError, ThreadingRuntime

    assert isinstance(outbox, Outbox)
    found = next((c for c in config.channels if c.name == name), None)
    if found is None:
        known = ", ".join(c.name for c in config.channels) or "none configured"
        print(f"error: no channel {name!r} in {config.source} (channels: {known})",
              file=sys.stderr)
        return 2
    channel = open_channel(found.name, found.kind, found.options)
    message = probe_message(name, config)
    print(f"sending a test to {name} ({found.kind})…", file=sys.stderr)
    try:
        answer = ThreadingRuntime().run_blocking(lambda: channel.deliver(message),
                                                 timeout=channel.timeout + 2)
    except (ChannelError, OffLoopTimeoutError) as error:
        outbox.record(name, message, "failed", str(error), time.time())
        print(f"{name}: FAILED: {error}", file=sys.stderr)
        return 1
    outbox.record(name, message, "sent", str(answer), time.time())
    print(f"{name}: sent; the server answered: {answer}")
    return 0


def _log(outbox: object, channel: str | None, limit: int) -> int:
    from sensorhub.alerts.outbox import Outbox

    assert isinstance(outbox, Outbox)
    rows = outbox.log(channel=channel, limit=max(1, min(limit, 1000)))
    for row in reversed(rows):
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["ts"]))
        print(f"{stamp}  {row['channel']:<12} {row['outcome']:<8} {row['key']:<28} "
              f"{row['detail']}")
    if not rows:
        print("no deliveries yet", file=sys.stderr)
    return 0
