"""Fake Blinka 10 ``pulseio``: PulseIn and its libgpiod_pulsein helper process.

As adafruit_blinka/microcontroller/bcm283x/pulseio/PulseIn.py: the constructor makes
a sysv_ipc queue, finds the header chip (``pin.chip_index``: RuntimeError when there is
none), starts the helper and waits 0.25 s for its "!"; a helper that cannot take the
line only prints "Unable to set line N to input" on stderr and exits, so Python sees
"Timed out waiting for PulseIn message". Afterwards every ``len()``/``popleft()``
waits for the helper's answer with no time limit: a helper that died mid-read blocks
the caller until ``deinit()`` removes the queue (sysv_ipc.ExistentialError).
Off a Raspberry Pi the import raises NotImplementedError; without sysv_ipc,
ModuleNotFoundError (adafruit_dht catches both and has no PulseIn).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import deque
from typing import Any

import adafruit_blinka
import fakehw

if adafruit_blinka.is_pi():
    import sysv_ipc
else:
    raise NotImplementedError("pulseio not supported for this board.")


class Helper:
    """The libgpiod_pulsein process, as far as PulseIn can tell (Popen's poll/terminate)."""

    def __init__(self, line: int, maxlen: int, queue: Any) -> None:
        self.line, self.maxlen, self.queue = line, maxlen, queue
        self.returncode: int | None = None
        self.pulses: deque[int] = deque(maxlen=maxlen)
        self.delay = 0.0  # a stalled helper answers this late
        if fakehw.world.claim_line(line):
            queue.send("!", True, type=2)
        else:
            print(f"Unable to set line {line} to input", file=sys.stderr)
            self.returncode = 1

    def poll(self) -> int | None:
        """None while running, else the exit status."""
        return self.returncode

    def terminate(self) -> None:
        """SIGTERM: the helper frees its line."""
        if self.returncode is None:
            self.returncode = -15
            fakehw.world.release_line(self.line)

    def handle(self, command: str) -> None:
        """One command from PulseIn (what the C helper's main loop does)."""
        if self.returncode is not None:
            return  # nobody reads the queue any more
        if command.startswith("t"):
            trigger = int(command[1:])
            outcome = fakehw.world.capture(self.line, dht11=trigger >= 18000)
            if outcome.kind == "helper_dies":
                self.returncode = -11
                fakehw.world.release_line(self.line)
                return
            self.pulses.clear()
            self.pulses.extend(fakehw.pulses(outcome, trigger >= 18000, fakehw.world.default))
            self.delay = (outcome.seconds or 0.0) if outcome.kind == "hang" else 0.0
        elif command == "c":
            self.pulses.clear()
        elif command in ("l", "^"):
            if self.delay:
                fakehw.blocking_sleep(self.delay)
                self.delay = 0.0
            if command == "l":
                answer = len(self.pulses)
            else:
                answer = self.pulses.popleft() if self.pulses else -1
            self.queue.send(str(answer), True, type=2)


class PulseIn:
    """pulseio.PulseIn on a Raspberry Pi."""

    def __init__(self, pin: Any, maxlen: int = 2, idle_state: bool = False) -> None:
        self._process: Helper | None = None
        self._mq: Any = None
        self._pin = pin
        self._maxlen = maxlen
        self._mq = sysv_ipc.MessageQueue(None, flags=sysv_ipc.IPC_CREX)
        chip = getattr(pin, "chip_index", 0)  # RuntimeError: no header GPIO controller
        del chip
        self._process = Helper(pin.id, maxlen, self._mq)
        message = self._wait_receive_msg(timeout=0.25)
        if message[0] != b"!":
            raise RuntimeError("Could not establish message queue with subprocess")
        self._paused = False

    def _wait_receive_msg(self, timeout: float = 0, type: int = 2) -> Any:
        if timeout > 0:
            stamp = time.monotonic()
            while (time.monotonic() - stamp) < timeout:
                try:
                    return self._mq.receive(block=False, type=type)
                except sysv_ipc.BusyError:
                    fakehw.blocking_sleep(0.001)
            raise RuntimeError(fakehw.PULSEIN_TIMEOUT)
        return self._mq.receive(block=True, type=type)

    def _send(self, command: str) -> None:
        self._mq.send(command, True, type=1)
        self._mq.receive(block=False, type=1)  # the helper takes its command off the queue
        assert self._process is not None
        self._process.handle(command)

    def __del__(self) -> None:
        self.deinit()

    def deinit(self) -> None:
        """Stop the helper and remove the queue (wakes a reader blocked on it)."""
        if self._process is not None:
            self._process.terminate()
            self._process = None
        if self._mq is not None:
            with contextlib.suppress(sysv_ipc.ExistentialError):
                self._mq.remove()
            self._mq = None

    def resume(self, trigger_duration: int = 0) -> None:
        """Capture again, after a trigger pulse of that many µs."""
        self._send(f"t{trigger_duration}" if trigger_duration else "r")
        self._paused = False

    def pause(self) -> None:
        """Stop capturing."""
        self._send("p")
        self._paused = True

    def clear(self) -> None:
        """Drop captured pulses."""
        self._send("c")

    def popleft(self) -> int:
        """The oldest pulse."""
        self._send("^")
        reply = int(self._wait_receive_msg()[0].decode("utf-8"))
        if reply == -1:
            raise IndexError("pop from empty list")
        return reply

    def __len__(self) -> int:
        self._send("l")
        return int(self._wait_receive_msg()[0].decode("utf-8"))
