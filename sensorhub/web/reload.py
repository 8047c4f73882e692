"""Re-read config.yaml and run it without a restart: ``Web.reload()``.

``sensorhub run`` calls it on SIGHUP (``systemctl reload sensorhub``); the admin page
will call it from a button. An invalid file changes nothing: every problem is logged
with its file:line and returned. A valid one is sorted by
``sensorhub.config.diff.compare``; the hub applies what a running process can take on
(``Hub.apply``), connected sockets get the rooms their rights now allow and a fresh
``snapshot`` (sensorhub.web.resync), and what only a restart applies is logged and
reported as such, never half-applied. One reload runs at a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sensorhub.config import Config, ConfigError, load_config
from sensorhub.config.diff import ConfigChange, compare
from sensorhub.runtime import real_lock
from sensorhub.web.resync import resync

if TYPE_CHECKING:
    from sensorhub.web.state import Web

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadResult:
    """What a reload did: ``ok`` with what changed, or why nothing did."""

    ok: bool
    message: str  # one line: the summary, or why nothing changed
    errors: tuple[str, ...] = ()  # each problem of an invalid file: "file:line: field: ..."
    change: ConfigChange | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the admin API."""
        c = self.change
        return {"ok": self.ok, "message": self.message, "errors": list(self.errors),
                **{key: list(getattr(c, key)) if c else [] for key in
                   ("added", "removed", "restarted", "updated", "other", "needs_restart")},
                "rooms": bool(c and c.rooms), "notify": bool(c and c.notify)}


class Reloader:
    """Runs reloads, one at a time; ``sensorhub run`` sets ``load``, ``notify``, ``listeners``."""

    def __init__(self) -> None:
        #: reads the config (sensorhub run re-applies its command-line overrides)
        self.load: Callable[[Any], Config] = load_config
        #: sd_notify: RELOADING=1 before, READY=1 after (a no-op outside systemd)
        self.notify: Callable[[str], Any] = lambda _message: False
        #: called with the new config once the hub runs it (the systemd watchdog)
        self.listeners: list[Callable[[Config], Any]] = []
        self.last: ReloadResult | None = None
        self._lock = real_lock()  # guards _busy only (O(1), never held across a reload)
        self._busy = False

    def reload(self, web: Web) -> ReloadResult:
        """Re-read the config file ``web`` runs and apply it; say what happened."""
        with self._lock:
            busy, self._busy = self._busy, True
        if busy:
            return ReloadResult(False, "a reload is already running; nothing changed")
        server = web.config.server
        self.notify(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}\n"
                    f"STATUS=reloading {web.config.source}")
        try:
            result = self._reload(web)
        except Exception as error:  # a bug: say so loudly; systemd still hears READY=1
            log.exception("reload of %s failed part-way", web.config.source)
            result = ReloadResult(False, f"failed part-way ({type(error).__name__}: {error}); "
                                  "restart sensorhub to be sure what runs")
        finally:
            with self._lock:
                self._busy = False
        self.last = result
        stamp = time.strftime("%H:%M:%S")
        self.notify(f"READY=1\nSTATUS=listening on {server.host}:{server.port}; reload at "
                    f"{stamp}: {'ok' if result.ok else 'FAILED'}: {result.message}"[:400])
        return result

    def _reload(self, web: Web) -> ReloadResult:
        source = web.config.source
        try:
            config = self.load(source)
        except ConfigError as error:
            problems = tuple(str(p) for p in error.problems)
            for problem in problems:
                log.error("reload: %s", problem)
            message = f"{source} has {len(problems)} problem(s); nothing changed"
            log.error("reload: %s", message)
            return ReloadResult(False, f"{message}: {problems[0]}", problems)
        change = compare(web.config, config)
        for item in change.needs_restart:
            log.warning("reload: %s changed in %s: it takes effect at the next restart",
                        item, source)
        if change.anything:
            web.hub.apply(change.config)
            for listener in self.listeners:
                listener(change.config)
            sockets = resync(web)
            log.info("reload of %s: %s (%d sockets brought up to date)", source,
                     change.summary(), sockets)
        else:
            log.info("reload of %s: %s", source, change.summary())
        return ReloadResult(True, change.summary(), change=change)
