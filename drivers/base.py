"""The driver interface every sensor backend implements."""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

#: every quantity a sensor may measure, in this order everywhere, with its unit
QUANTITIES: tuple[str, ...] = ("temperature", "humidity", "pressure", "co2")
UNITS: dict[str, str] = {"temperature": "°C", "humidity": "%", "pressure": "hPa", "co2": "ppm"}


class Sample(NamedTuple):
    """One raw measurement as the sensor reported it (None: quantity not measured).

    Temperature in °C, relative humidity in %, pressure in hPa, CO2 in ppm.
    """

    temperature: float | None
    humidity: float | None
    pressure: float | None = None
    co2: float | None = None


@runtime_checkable
class Driver(Protocol):
    """Read one sample at a time; close releases the hardware.

    ``read`` either returns a Sample or raises a :class:`drivers.errors.DriverError`.
    It may block (a DHT read takes ~250 ms and can hang), so callers run it off the
    event loop with a timeout. A driver whose read can hang for good may also offer
    ``abort()``: the poller calls it from another thread when a read times out, to
    unblock it (the DHT driver stops a dead pulse-in helper).
    """

    #: shortest time between two real reads the hardware allows, in seconds
    min_interval: float

    def read(self) -> Sample:
        """Take one measurement."""
        ...

    def close(self) -> None:
        """Release the sensor (idempotent)."""
        ...


class DriverBase:
    """Context-manager plumbing shared by the concrete drivers."""

    min_interval: float = 2.0

    def close(self) -> None:
        """Release the sensor (idempotent)."""

    def __enter__(self) -> DriverBase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
