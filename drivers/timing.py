"""Blocking sleep that stays a real OS sleep even when eventlet has patched ``time``.

Driver reads run in worker threads; a green sleep there would start a second hub in
that thread. The real one is what a hung sensor does.
"""

from __future__ import annotations

import sys
import time


def blocking_sleep(seconds: float) -> None:
    """Sleep for real, in the calling OS thread."""
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None and patcher.is_monkey_patched("time"):
        patcher.original("time").sleep(seconds)
    else:
        time.sleep(seconds)
