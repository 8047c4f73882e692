"""The database and its companions are readable by their owner only (mode 0600).

History, password hashes, token digests and sessions live in one SQLite file. Under
systemd the unit's ``UMask=0027`` keeps others out, but ``sensorhub run`` from a shell
inherits the usual umask 022 and SQLite would create a world-readable file. SQLite
gives ``-wal`` and ``-shm`` the database file's own mode, so creating that file 0600
covers all three; files an older release left readable are tightened at start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

COMPANIONS = ("", "-wal", "-shm", "-journal")


def private_database(path: Path) -> None:
    """Create ``path`` 0600 if missing; remove group and other bits from it and companions."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for suffix in COMPANIONS:
        tighten(Path(f"{path}{suffix}"))


def tighten(path: Path) -> None:
    """Take group and other bits off an existing file (never adds any, so 0444 stays 0400)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
            log.warning("%s was readable by others (mode %o); now %o", path, mode, mode & 0o700)
    except FileNotFoundError:
        return
    except PermissionError as error:  # not our file: say so, the service still starts
        log.warning("cannot make %s private: %s", path, error)
