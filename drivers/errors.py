"""One error tree for the hardware layer.

Leaves also subclass a builtin (as gpiozero does), so ``except RuntimeError`` written
against adafruit_dht keeps working. Each error carries a short ``kind`` used for
read-health counters and sensor states.
"""

from __future__ import annotations


class DriverError(Exception):
    """Root of every error a driver raises."""

    kind = "error"


class TransientReadError(DriverError, RuntimeError):
    """A read failed in a way that usually clears on retry."""

    kind = "transient"


class ChecksumError(TransientReadError):
    """The sensor's checksum did not match its data (electrical noise, long wires)."""

    kind = "checksum"


class IncompleteReadError(TransientReadError):
    """The sensor answered, but not with a full 40-bit frame."""

    kind = "incomplete"


class SensorNotFoundError(TransientReadError):
    """Nothing answered on the data pin: unplugged, unpowered or miswired."""

    kind = "not_found"


class ImplausibleReadingError(TransientReadError):
    """The sensor (or our plausibility filter) produced a value that cannot be real."""

    kind = "implausible"


class ReadTimeoutError(DriverError, TimeoutError):
    """A read did not finish within its time limit (the sensor or its helper hung)."""

    kind = "timeout"


class PulseInStuckError(DriverError, RuntimeError):
    """Blinka's libgpiod_pulsein helper cannot claim the pin (often a leftover process)."""

    kind = "pulsein"


class HardwareUnavailableError(DriverError, ImportError):
    """The library or device a driver needs is not present on this machine."""

    kind = "unavailable"


class BadPinError(DriverError, ValueError):
    """A pin number that this board does not have."""

    kind = "bad_pin"


#: adafruit_dht's RuntimeError messages, mapped to our error classes.
_ADAFRUIT_MESSAGES: tuple[tuple[str, type[DriverError]], ...] = (
    ("checksum did not validate", ChecksumError),
    ("full buffer was not returned", IncompleteReadError),
    ("dht sensor not found", SensorNotFoundError),
    ("unplausible data", ImplausibleReadingError),
    ("unable to set line", PulseInStuckError),  # the helper says "... line 4 to input"
    ("timed out waiting for pulsein", PulseInStuckError),
)

PULSEIN_HINT = (
    "a leftover libgpiod_pulsein process may hold the pin: stop it "
    "(pkill -f libgpiod_pulsein) or reboot, or set options.use_pulseio: false"
)


def translate_runtime_error(error: BaseException) -> DriverError:
    """Turn an exception from adafruit_dht/Blinka into the matching DriverError."""
    if isinstance(error, DriverError):
        return error
    message = str(error) or type(error).__name__
    lowered = message.lower()
    for needle, cls in _ADAFRUIT_MESSAGES:
        if needle in lowered:
            if cls is PulseInStuckError:
                return PulseInStuckError(f"{message} ({PULSEIN_HINT})")
            return cls(message)
    return TransientReadError(message)
