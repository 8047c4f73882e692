"""The few concurrency primitives the app uses, portable across async modes.

The web app builds its runtime from Flask-SocketIO's portable primitives
(``start_background_task``, ``sleep``) plus an off-loop executor for blocking work;
the CLI and unit tests use plain threads. Nothing else in the app touches eventlet or
threading directly.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class OffLoopTimeoutError(TimeoutError):
    """Blocking work did not finish in time (it may still be running in its thread)."""


def _original(module: str) -> Any:
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None and patcher.is_monkey_patched(module):
        return patcher.original(module)
    return None


def real_lock() -> Any:
    """A lock of the OS thread kind, even under eventlet monkey patching.

    Shared by greenlets and worker threads; held only for O(1) work, never across I/O.
    """
    original = _original("threading")
    return original.Lock() if original is not None else threading.Lock()


def gate(slots: int) -> threading.BoundedSemaphore:
    """A bound on how many callers may be inside at once (``acquire(timeout=)``).

    Made after eventlet's monkey patching (``sensorhub run`` patches first), it is a
    green semaphore: a task waiting at the gate lets the others run.
    """
    return threading.BoundedSemaphore(slots)


class Event(Protocol):
    """The part of threading.Event the app uses."""

    def set(self) -> None: ...
    def clear(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class Runtime(Protocol):
    """Spawn, sleep, wait and run blocking work off the event loop."""

    def spawn(self, fn: Callable[..., Any], *args: Any) -> Any: ...
    def sleep(self, seconds: float) -> None: ...
    def event(self) -> Event: ...
    def run_blocking(self, fn: Callable[[], T], timeout: float | None = None) -> T: ...


def _run_in_daemon_thread(fn: Callable[[], T], timeout: float | None) -> T:
    """Run ``fn`` in a fresh daemon thread; a hung call never blocks exit."""
    done = threading.Event()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as error:  # re-raised in the caller's thread
            box["error"] = error
        finally:
            done.set()

    threading.Thread(target=target, name="sensorhub-blocking", daemon=True).start()
    if not done.wait(timeout):
        raise OffLoopTimeoutError(f"no answer within {timeout} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


class ThreadingRuntime:
    """Plain OS threads: for the CLI, the unit tests and ``async_mode: threading``."""

    def spawn(self, fn: Callable[..., Any], *args: Any) -> threading.Thread:
        """Start ``fn`` in a daemon thread."""
        name = f"sensorhub-{getattr(fn, '__name__', 'task')}"
        thread = threading.Thread(target=fn, args=args, daemon=True, name=name)
        thread.start()
        return thread

    def sleep(self, seconds: float) -> None:
        """Sleep the calling thread."""
        time.sleep(seconds)

    def event(self) -> threading.Event:
        """A new event."""
        return threading.Event()

    def run_blocking(self, fn: Callable[[], T], timeout: float | None = None) -> T:
        """Run ``fn`` in its own thread, giving up after ``timeout`` seconds."""
        if timeout is None:
            return fn()
        return _run_in_daemon_thread(fn, timeout)


class SocketIORuntime:
    """Flask-SocketIO's primitives; blocking work goes to eventlet's tpool or a thread."""

    def __init__(self, socketio: Any) -> None:
        self.socketio = socketio
        self.async_mode = socketio.async_mode

    def spawn(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Start a background task in the server's async mode."""
        return self.socketio.start_background_task(fn, *args)

    def sleep(self, seconds: float) -> None:
        """Yield to other tasks for ``seconds``."""
        self.socketio.sleep(seconds)

    def event(self) -> Event:
        """An event of the server's async mode."""
        return self.socketio.server.eio.create_event()

    def run_blocking(self, fn: Callable[[], T], timeout: float | None = None) -> T:
        """Run blocking ``fn`` in a real OS thread so the event loop keeps serving."""
        if self.async_mode != "eventlet":
            return ThreadingRuntime().run_blocking(fn, timeout)
        import eventlet
        from eventlet import tpool

        if timeout is None:
            return tpool.execute(fn)
        try:
            with eventlet.Timeout(timeout):
                return tpool.execute(fn)
        except eventlet.Timeout as error:
            raise OffLoopTimeoutError(f"no answer within {timeout} s") from error
