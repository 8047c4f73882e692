"""GPIO shared by sensor power pins and alarm outputs, opened once on first use."""

from __future__ import annotations

from drivers.gpio import GpioBackend, open_backend
from drivers.sysfs import SYSFS
from sensorhub.runtime import real_lock


class SharedGpio:
    """One GPIO backend for the whole process (power pins and alarm outputs)."""

    def __init__(self, backend: str = "rpigpio", sysfs: str = SYSFS) -> None:
        self.backend_name = backend
        self.sysfs = sysfs
        self._backend: GpioBackend | None = None
        self._lock = real_lock()  # two sensor loops may ask at once

    def __call__(self) -> GpioBackend:
        """The backend, opened on first use (raises what the backend raises)."""
        with self._lock:
            if self._backend is None:
                self._backend = open_backend(self.backend_name, self.sysfs)
            return self._backend

    def release(self, pin: int) -> None:
        """Give one pin back (a removed sensor's power pin); no-op if never opened."""
        with self._lock:
            backend = self._backend
        if backend is not None:
            backend.release(pin)

    def cleanup(self) -> None:
        """Release every pin set up (if the backend was ever opened)."""
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.cleanup()
