"""The simulated hardware shared by the fake Blinka stack, ``adafruit_dht`` and ``RPi.GPIO``.

One ``world`` per process holds the board Blinka would detect (and which of its
platform packages are installed, which GPIO chips exist), what each DHT answers next,
the GPIO lines (every level a program drives, with its monotonic timestamp, like
gpiozero's MockPin) and the data lines held by libgpiod_pulsein helpers. Tests script
it in-process::

    world.script(pin=4, outcomes=["checksum", "ok:21.5,40.0"], then="ok:21.6,40.2")
    world.stick(pin=4, power_pin=17)  # a hung DHT: "not found" until power-cycled
    world.board = "GENERIC_LINUX_PC"  # Blinka on a PC: imports, no pins at all

A subprocess (``PYTHONPATH=tests/fakes``) reads the same settings from the JSON file
named by ``FAKEHW_SCRIPT`` (see :meth:`World.configure`) and, if ``FAKEHW_LOG`` names
a file, appends one JSON line per hardware event to it (see :func:`read_log`).
``FAKE_GPIO_NOT_A_PI=1`` makes ``import RPi.GPIO`` fail as it does off a Pi, and
``FAKE_BOARD_UNSUPPORTED=1`` makes Blinka fail to identify the board.

A DHT measurement produces the pulse train the sensor would send (40 bits, each a low
and a high pulse; a high over 51 µs is a 1), which the fake adafruit_dht decodes with
the real library's algorithm. Outcomes: ``ok`` | ``ok:T,H`` | ``checksum`` (the frame
with a wrong checksum byte) | ``buffer`` (half a frame) | ``notfound`` (no pulses) |
``implausible`` (humidity over 100 %, correct checksum) | ``hang`` | ``hang:SECONDS``
(the helper answers that late, with half a frame) | ``helper_dies`` (Blinka's
libgpiod_pulsein exits mid-read: the real ``measure()`` then blocks until the helper's
queue is removed).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# adafruit_dht's own RuntimeError messages (adafruit_dht.py 4.0.x)
MESSAGES = {
    "checksum": "Checksum did not validate. Try again.",
    "buffer": "A full buffer was not returned. Try again.",
    "notfound": "DHT sensor not found, check wiring",
    "implausible": "Received unplausible data. Try again.",
}
# Blinka's PulseIn, when its libgpiod_pulsein helper never answers
PULSEIN_TIMEOUT = "Timed out waiting for PulseIn message. Make sure libgpiod is installed."
OUTCOME_KINDS = ("ok", *MESSAGES, "hang", "helper_dies")
PI_BOARDS = {"RASPBERRY_PI_4B": "pinctrl-bcm2711", "RASPBERRY_PI_5": "pinctrl-rp1",
             "RASPBERRY_PI_3B_PLUS": "pinctrl-bcm2835"}
DEFAULT_OUTCOME = "ok:21.0,45.0"
ENV_SCRIPT = "FAKEHW_SCRIPT"
ENV_LOG = "FAKEHW_LOG"
ENV_NOT_A_PI = "FAKE_GPIO_NOT_A_PI"
ENV_UNSUPPORTED_BOARD = "FAKE_BOARD_UNSUPPORTED"
ENV_VARS = (ENV_SCRIPT, ENV_LOG, ENV_NOT_A_PI, ENV_UNSUPPORTED_BOARD)


def env_flag(name: str) -> bool:
    """Whether an on/off environment variable is set to 1."""
    return os.environ.get(name, "") == "1"


def _original(module: str) -> Any:
    """The unpatched module when eventlet has monkey-patched it (the server's mode)."""
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None and patcher.is_monkey_patched(module):
        return patcher.original(module)
    return None


def _real_lock() -> Any:
    original = _original("threading")
    return original.Lock() if original is not None else threading.Lock()


def real_condition() -> Any:
    """A condition variable that blocks the OS thread, as a stuck syscall does."""
    original = _original("threading")
    return original.Condition() if original is not None else threading.Condition()


def blocking_sleep(seconds: float) -> None:
    """Sleep in the calling OS thread, as a hung sensor does (drivers.timing's twin)."""
    original = _original("time")
    (original.sleep if original is not None else time.sleep)(seconds)


@dataclass(frozen=True)
class Outcome:
    """What one DHT measurement does."""

    kind: str
    temperature: float = 0.0
    humidity: float = 0.0
    seconds: float | None = None  # hang: how long (None: the world's hang_seconds)


def parse_outcome(text: str) -> Outcome:
    """Parse ``ok:21.5,40`` / ``hang:0.5`` / ``checksum`` ...; raise ValueError on typos."""
    kind, _, arg = str(text).strip().partition(":")
    kind = kind.strip().lower()
    if kind not in OUTCOME_KINDS:
        raise ValueError(f"unknown fake DHT outcome {text!r}; known: {', '.join(OUTCOME_KINDS)}")
    if kind == "ok":
        values = arg or DEFAULT_OUTCOME.partition(":")[2]
        parts = values.split(",")
        if len(parts) != 2:
            raise ValueError(f"fake DHT outcome {text!r}: expected ok:TEMPERATURE,HUMIDITY")
        return Outcome("ok", float(parts[0]), float(parts[1]))
    if kind == "hang":
        return Outcome("hang", seconds=float(arg) if arg else None)
    if arg:
        raise ValueError(f"fake DHT outcome {text!r} takes no argument")
    return Outcome(kind)


def frame(temperature: float, humidity: float, dht11: bool) -> list[int]:
    """The five bytes a DHT sends for these values (checksum last)."""
    if dht11:  # integral humidity; temperature as integral byte + tenths
        tenths = round(abs(temperature) * 10)
        data = [round(humidity) & 0xFF, 0, tenths // 10 & 0xFF, tenths % 10]
    else:  # tenths in 16 bits, the temperature's top bit its sign
        hum, temp = round(humidity * 10), round(abs(temperature) * 10)
        data = [hum >> 8 & 0xFF, hum & 0xFF, (temp >> 8 & 0x7F) | (0x80 if temperature < 0 else 0),
                temp & 0xFF]
    return [*data, sum(data) & 0xFF]


def pulses(outcome: Outcome, dht11: bool, default: Outcome) -> list[int]:
    """The pulse lengths (µs) the helper captures for one outcome: low, high, low, ..."""
    if outcome.kind == "notfound":
        return [55, 80][: 2 if dht11 else 1]  # fewer than 10: nothing answered
    base = outcome if outcome.kind == "ok" else default
    data = frame(base.temperature, base.humidity, dht11)
    if outcome.kind == "checksum":
        data[4] = (data[4] + 1) & 0xFF
    elif outcome.kind == "implausible":
        data = frame(base.temperature, 100.5 if not dht11 else 101, dht11)
    train: list[int] = []
    for byte in data:
        for bit in range(7, -1, -1):
            train += [50, 70 if byte >> bit & 1 else 26]
    train.append(50)  # the end-of-frame low: 81 pulses, as the real helper reports
    return train[:50] if outcome.kind in ("buffer", "hang") else train


@dataclass
class FakeSensor:
    """One DHT wired to a data pin, optionally powered from a GPIO."""

    pin: int
    outcomes: deque[Outcome] = field(default_factory=deque)
    then: Outcome | None = None  # answer once the script is used up (None: world default)
    stuck: bool = False  # hung: answers "not found" until its power is cycled
    power_pin: int | None = None
    min_off: float = 0.0  # seconds without power that revive a stuck sensor
    off_since: float | None = None
    measures: int = 0
    power_cycles: int = 0
    revivals: int = 0


@dataclass(frozen=True)
class GpioEvent:
    """A level a program drove on a GPIO line."""

    t: float  # the world's monotonic clock
    pin: int
    level: bool
    how: str  # "setup" (initial=) or "output"


class World:
    """Sensors, GPIO lines and pulse-in helpers of one simulated Raspberry Pi."""

    def __init__(self) -> None:
        self._lock = _real_lock()
        self.reset()

    def reset(self) -> None:
        """Forget everything; then apply FAKEHW_SCRIPT and the env flags, if set."""
        with self._lock:
            self.clock: Callable[[], float] = time.monotonic
            self.cache_seconds = 2.0  # adafruit_dht's delay_between_readings
            self.measure_seconds = 0.0  # how long a measurement takes (the real one: 0.25)
            self.hang_seconds = 5.0
            self.default = parse_outcome(DEFAULT_OUTCOME)
            self.not_a_pi = env_flag(ENV_NOT_A_PI)
            # Blinka's view of the machine (adafruit_platformdetect): a Pi 4B by default;
            # None is a machine it cannot identify, "GENERIC_LINUX_PC" a PC
            self.board: str | None = None if env_flag(ENV_UNSUPPORTED_BOARD) \
                else "RASPBERRY_PI_4B"
            # platform packages Blinka 10 wants on a Pi; the PWM and NeoPixel backends are
            # missing on a plain install, which is enough for Blinka to ask from a terminal
            self.installed: set[str] = {"gpiod", "sysv_ipc"}
            self.chips: dict[str, tuple[str, int]] | None = None  # None: the board's own
            self.chip_access = True  # False: /dev/gpiochip* not readable by this user
            self.prompts = 0  # how often Blinka asked to pip-install (must stay 0)
            self.capture_seconds = 0.0  # adafruit_dht sleeps 0.25 s while capturing
            # I2C buses (/dev/i2c-N) and the devices on them: bus -> address -> device
            # (tests/fakes/i2c_devices.py), as the fake smbus2 sees them
            self.i2c: dict[int, dict[int, Any]] = {}
            self.sensors: dict[int, FakeSensor] = {}
            self.devices: list[Any] = []  # every adafruit_dht device constructed
            self.exits: list[tuple[float, int]] = []  # (time, pin) of every exit() call
            self.measures: list[tuple[float, int, str]] = []  # (time, pin, outcome kind)
            self.gpio: list[GpioEvent] = []
            self.cleaned: list[int] = []  # lines released by GPIO.cleanup, in order
            self.functions: dict[int, str] = {}  # line -> "out" while some program drives it
            self.levels: dict[int, bool] = {}
            self.held_lines: dict[int, str] = {}  # data line -> who holds it
        path = os.environ.get(ENV_SCRIPT)
        if path:
            self.configure(json.loads(Path(path).read_text(encoding="utf-8")))

    # -- scripting -------------------------------------------------------------------
    def sensor(self, pin: int) -> FakeSensor:
        """The sensor on a data pin (a healthy default one if nothing was scripted)."""
        with self._lock:
            return self._sensor(pin)

    def _sensor(self, pin: int) -> FakeSensor:
        if pin not in self.sensors:
            self.sensors[pin] = FakeSensor(pin)
        return self.sensors[pin]

    def script(self, pin: int, outcomes: Iterable[str] = (), *, then: str | None = None
               ) -> FakeSensor:
        """Queue what the sensor on ``pin`` answers; ``then`` repeats once they run out."""
        parsed = [parse_outcome(o) for o in outcomes]
        after = parse_outcome(then) if then is not None else None
        with self._lock:
            sensor = self._sensor(pin)
            sensor.outcomes.extend(parsed)
            if after is not None:
                sensor.then = after
            return sensor

    def stick(self, pin: int, power_pin: int | None = None, *, min_off: float = 0.0
              ) -> FakeSensor:
        """Hang the sensor: it answers "not found" until ``power_pin`` goes LOW, then HIGH
        at least ``min_off`` seconds later."""
        with self._lock:
            sensor = self._sensor(pin)
            sensor.stuck = True
            if power_pin is not None:
                sensor.power_pin = power_pin
            sensor.min_off = min_off
            return sensor

    def hold_pulsein(self, pin: int) -> None:
        """Leave a libgpiod_pulsein helper of an earlier run holding the data line."""
        with self._lock:
            self.held_lines[pin] = "leftover libgpiod_pulsein"

    def release_pulsein(self, pin: int) -> None:
        """What ``pkill libgpiod_pulsein`` does to a leftover helper."""
        with self._lock:
            self.held_lines.pop(pin, None)

    def preset_output(self, pin: int, level: bool) -> None:
        """A line left as an output by another program (or a crashed earlier run)."""
        with self._lock:
            self.functions[pin] = "out"
            self.levels[pin] = level

    def configure(self, data: dict[str, Any]) -> None:
        """Apply a JSON-style script (the FAKEHW_SCRIPT file)::

            {"default": "ok:21.0,45.0", "cache_seconds": 2.0, "measure_seconds": 0.0,
             "hang_seconds": 5.0, "not_a_pi": false, "unsupported_board": false,
             "board": "RASPBERRY_PI_4B", "installed": ["gpiod", "sysv_ipc"],
             "chips": {"/dev/gpiochip0": ["pinctrl-bcm2711", 58]}, "chip_access": true,
             "capture_seconds": 0.0, "held_pulsein": [4],
             "sensors": {"4": {"outcomes": ["checksum", "ok:21.5,40.0"],
                               "then": "ok:21.5,40.0", "stuck": true,
                               "power_pin": 17, "min_off": 1.0}}}
        """
        known = {"default", "cache_seconds", "measure_seconds", "hang_seconds", "not_a_pi",
                 "unsupported_board", "held_pulsein", "sensors", "board", "installed",
                 "chips", "chip_access", "capture_seconds"}
        _check_keys(data, known, "fake hardware script")
        if "default" in data:
            self.default = parse_outcome(data["default"])
        for key in ("cache_seconds", "measure_seconds", "hang_seconds", "capture_seconds"):
            if key in data:
                setattr(self, key, float(data[key]))
        for key in ("not_a_pi", "chip_access"):
            if key in data:
                setattr(self, key, bool(data[key]))
        if data.get("unsupported_board"):
            self.board = None
        if "board" in data:
            self.board = data["board"]
        if "installed" in data:
            self.installed = set(data["installed"])
        if "chips" in data:
            self.chips = {path: (label, int(lines)) for path, (label, lines)
                          in data["chips"].items()}
        for pin in data.get("held_pulsein", ()):
            self.hold_pulsein(int(pin))
        for pin_text, spec in data.get("sensors", {}).items():
            _check_keys(spec, {"outcomes", "then", "stuck", "power_pin", "min_off"},
                        f"fake sensor {pin_text}")
            pin = int(pin_text)
            self.script(pin, spec.get("outcomes", ()), then=spec.get("then"))
            if spec.get("stuck"):
                self.stick(pin, spec.get("power_pin"), min_off=float(spec.get("min_off", 0.0)))
            elif "power_pin" in spec:
                self.sensor(pin).power_pin = int(spec["power_pin"])

    # -- what tests look at ----------------------------------------------------------
    def states(self, pin: int) -> list[bool]:
        """Every level driven on a GPIO line, in order (HIGH = True)."""
        with self._lock:
            return [e.level for e in self.gpio if e.pin == pin]

    def events(self, pin: int) -> list[GpioEvent]:
        """Every drive of one GPIO line, with its time and how it was driven."""
        with self._lock:
            return [e for e in self.gpio if e.pin == pin]

    def exit_count(self, pin: int) -> int:
        """How often exit() was called on devices of one data pin."""
        with self._lock:
            return sum(1 for _, p in self.exits if p == pin)

    # -- called by the fake modules --------------------------------------------------
    def capture(self, pin: int, dht11: bool) -> Outcome:
        """One DHT measurement on ``pin``: which outcome the sensor produces now."""
        with self._lock:
            now = self.clock()
            sensor = self._sensor(pin)
            sensor.measures += 1
            if sensor.stuck or not self._powered(sensor):
                outcome = Outcome("notfound")
            elif sensor.outcomes:
                outcome = sensor.outcomes.popleft()
            else:
                outcome = sensor.then or self.default
            self.measures.append((now, pin, outcome.kind))
            if outcome.kind == "hang" and outcome.seconds is None:
                outcome = Outcome("hang", seconds=self.hang_seconds)
        self._log({"event": "measure", "pin": pin, "outcome": outcome.kind})
        if self.measure_seconds:
            blocking_sleep(self.measure_seconds)
        return outcome

    def header_chips(self) -> dict[str, tuple[str, int]]:
        """The GPIO chips Blinka would find: path -> (label, number of lines)."""
        if self.chips is not None:
            return self.chips
        label = PI_BOARDS.get(self.board or "")
        return {"/dev/gpiochip0": (label, 58)} if label else {}

    def _powered(self, sensor: FakeSensor) -> bool:
        # only a line driven LOW cuts the power; an unconfigured power pin means "always on"
        return sensor.power_pin is None or self.levels.get(sensor.power_pin) is not False

    def claim_line(self, pin: int) -> bool:
        """A pulse-in helper takes the data line; False if another one holds it."""
        with self._lock:
            if pin in self.held_lines:
                return False
            self.held_lines[pin] = "libgpiod_pulsein"
            return True

    def release_line(self, pin: int) -> None:
        """A pulse-in helper ends and frees its data line."""
        with self._lock:
            self.held_lines.pop(pin, None)

    def record_exit(self, pin: int) -> None:
        """Note an adafruit_dht ``exit()`` call."""
        with self._lock:
            self.exits.append((self.clock(), pin))
        self._log({"event": "exit", "pin": pin})

    def drive(self, pin: int, level: bool, how: str) -> None:
        """A program drives a GPIO output; a hung DHT it powers may revive."""
        with self._lock:
            now = self.clock()
            previous = self.levels.get(pin)
            self.levels[pin] = level
            self.functions[pin] = "out"
            self.gpio.append(GpioEvent(now, pin, level, how))
            for sensor in self.sensors.values():
                if sensor.power_pin != pin:
                    continue
                if not level and previous is not False:
                    sensor.off_since = now
                elif level and sensor.off_since is not None:
                    sensor.power_cycles += 1
                    if sensor.stuck and now - sensor.off_since >= sensor.min_off:
                        sensor.stuck = False
                        sensor.revivals += 1
                    sensor.off_since = None
        self._log({"event": "gpio", "pin": pin, "level": int(level), "how": how})

    def release(self, pin: int) -> None:
        """GPIO.cleanup turns a line back into an input."""
        with self._lock:
            self.functions.pop(pin, None)
            self.levels.pop(pin, None)
            self.cleaned.append(pin)
        self._log({"event": "cleanup", "pin": pin})

    def function(self, pin: int) -> str:
        """"out" while some program drives the line, else "in"."""
        with self._lock:
            return self.functions.get(pin, "in")

    def _log(self, event: dict[str, Any]) -> None:
        path = os.environ.get(ENV_LOG)
        if not path:
            return
        line = json.dumps({"t": self.clock(), "pid": os.getpid(), **event})
        with open(path, "a", encoding="utf-8") as log:
            log.write(line + "\n")


def _check_keys(data: Any, known: set[str], what: str) -> None:
    if not isinstance(data, dict):
        raise ValueError(f"{what}: expected a JSON object, got {data!r}")
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{what}: unknown keys {sorted(unknown)}; known: {sorted(known)}")


def read_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The events a subprocess appended to its FAKEHW_LOG file."""
    text = Path(path).read_text(encoding="utf-8") if Path(path).exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


world = World()
