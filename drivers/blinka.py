"""Adafruit Blinka (under adafruit_dht), imported so it never prompts and its failures say why.

What Blinka 10 does that matters here (adafruit_blinka/platform_dependencies.py,
importing.py, microcontroller/generic_linux/raspberry_pi_pin.py):

- ``import board`` offers to pip-install missing platform packages (gpiod, PWM and
  NeoPixel backends) when stdin and stdout are a terminal, unless
  ``BLINKA_SKIP_DEPENDENCY_CHECK=1``. A service must never wait on a question, and
  ``sensorhub read`` runs from a terminal: we set the variable before importing.
- On a Raspberry Pi every pin needs the ``gpiod`` module: ``import digitalio`` (which
  adafruit_dht does first) raises RuntimeError "The platform library 'gpiod' was not
  found" without it.
- The header's GPIO controller is found by label; with none, Blinka raises
  "No Raspberry Pi header GPIO controller exposes GPIO N" when a pin is first used.
- On a PC Blinka imports as GENERIC_LINUX_PC, a board with no pins at all.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

from drivers.errors import (
    BadPinError,
    DriverError,
    HardwareUnavailableError,
    TransientReadError,
)

SKIP_DEPENDENCY_CHECK = "BLINKA_SKIP_DEPENDENCY_CHECK"
GPIOD_REQUIREMENT = "gpiod>=2.2.2,<3"
KERNEL_HINT = "or let the kernel read it: dtoverlay=dht11,gpiopin=N and options: {backend: kernel}"
_OWN_MODULES = ("adafruit_dht", "board", "digitalio", "adafruit_blinka", "microcontroller")


def import_dht() -> tuple[ModuleType, ModuleType]:
    """Import adafruit_dht and board without any question asked; explain any failure."""
    os.environ[SKIP_DEPENDENCY_CHECK] = "1"  # never an interactive pip install
    try:
        import adafruit_dht
        import board
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] in _OWN_MODULES:
            raise HardwareUnavailableError(
                f"{error}; install the Pi extra: pip install 'sensorhub[pi]', "
                + KERNEL_HINT) from error
        raise HardwareUnavailableError(
            f"Blinka's stack is incomplete ({error}); reinstall the Pi extra") from error
    except Exception as error:  # Blinka raises RuntimeError / NotImplementedError here
        raise explain(error) from error
    return adafruit_dht, board


def explain(error: BaseException) -> DriverError:
    """The DriverError that names what really went wrong inside Blinka or adafruit_dht."""
    if isinstance(error, DriverError):
        return error
    message = str(error) or type(error).__name__
    lowered = message.lower()
    if "'gpiod'" in message or "libgpiod python bindings" in lowered:
        return HardwareUnavailableError(
            "Adafruit Blinka needs the gpiod Python module on a Raspberry Pi and it is not "
            f"installed ({message.splitlines()[0]}). Install it where sensorhub runs: "
            f"pip install '{GPIOD_REQUIREMENT}' (install.sh and the offline bundle do); "
            + KERNEL_HINT)
    if "gpio controller" in lowered or "gpio controllers" in lowered:
        return HardwareUnavailableError(
            f"no usable GPIO chip: {message} (no /dev/gpiochip* labelled pinctrl-bcm2835, "
            "pinctrl-bcm2711 or pinctrl-rp1 that this user may open: in a container, pass "
            "the device through; elsewhere add the user to the gpio group)")
    if isinstance(error, NotImplementedError) or "board not supported" in lowered \
            or "unable to identify the board" in lowered:
        first = next((line.strip() for line in message.splitlines() if line.strip()), message)
        return HardwareUnavailableError(
            f"Blinka does not know this machine as a board with GPIO ({first}); "
            "on a PC use driver: mock")
    if isinstance(error, RuntimeError):  # something new in Blinka: worth a retry
        return TransientReadError(message)
    if isinstance(error, OSError):
        return TransientReadError(f"GPIO error: {message}")
    # NameError, TypeError, ...: the library cannot work on this machine as installed
    return HardwareUnavailableError(f"adafruit_dht/Blinka failed: {type(error).__name__}: "
                                    f"{message}")


def board_pin(board: ModuleType, pin: int) -> object:
    """``board.D<pin>``, or why this board has no such pin."""
    found = getattr(board, f"D{pin}", None)
    if found is not None:
        return found
    board_id = getattr(board, "board_id", "this board")
    if getattr(board, "D4", None) is None:  # no header at all: Blinka on a PC
        raise HardwareUnavailableError(
            f"Blinka sees this machine as {board_id}, which has no GPIO pins; "
            "on a PC use driver: mock")
    raise BadPinError(f"this board ({board_id}) has no GPIO {pin} (board.D{pin})")


def check_capture(adafruit_dht: ModuleType, board: ModuleType, use_pulseio: bool) -> None:
    """Fail now, with the reason, where adafruit_dht would fail later with a NameError
    (pulseio missing) or a TypeError (no digitalio Pin class for this board)."""
    board_id = getattr(board, "board_id", "this board")
    if use_pulseio and not hasattr(adafruit_dht, "PulseIn"):
        try:
            import pulseio  # noqa: F401 - only to learn why adafruit_dht could not
            reason = "pulseio imported, but adafruit_dht has no PulseIn"
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
        raise HardwareUnavailableError(
            f"Blinka has no pulse capture on {board_id} ({reason}); set options.use_pulseio: "
            f"false, {KERNEL_HINT}")
    if not use_pulseio and getattr(sys.modules.get("digitalio"), "Pin", None) is None:
        raise HardwareUnavailableError(f"Blinka has no GPIO pin support on {board_id}; "
                                       + KERNEL_HINT)
