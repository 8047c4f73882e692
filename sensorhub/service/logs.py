"""Log to stderr, one line per event; journald gets syslog priority prefixes."""

from __future__ import annotations

import logging
import os
import sys

PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
              logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
    """``<6>sensorhub.polling.loop: message``: journald adds the time and reads the level."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\n", " | ")
        return f"<{PRIORITIES.get(record.levelno, 6)}>{text}"


def setup_logging(level: str = "INFO") -> None:
    """Send log records to stderr in a journald-friendly format."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("engineio", "socketio", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
