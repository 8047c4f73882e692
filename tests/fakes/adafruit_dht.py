"""Fake adafruit_dht 4.0.x: the real classes, 2-second cache and errors; answers from fakehw.

Like the real library, ``temperature`` and ``humidity`` each call ``measure()``, which
talks to the sensor only if the last attempt (good or not) is more than 2 s old and
otherwise returns the cached values (``None`` before the first good measurement);
failures are ``RuntimeError`` with the library's own messages. ``use_pulseio=True``
(the default on a Pi) starts a pulse-in helper that holds the data line until
``exit()``: a second device on the same line fails as Blinka does.
"""

from __future__ import annotations

from typing import Any

import fakehw

__version__ = "4.0.12+fake"


class DHTBase:
    """What DHT11/DHT22 share: one measurement, cached for 2 s, read by two properties."""

    def __init__(self, dht11: bool, pin: Any, trig_wait: int, use_pulseio: bool, *,
                 max_pulses: int = 81) -> None:
        self._dht11 = dht11
        self._pin = pin
        self._trig_wait = trig_wait
        self._max_pulses = max_pulses
        self._last_called = 0.0
        self._humidity: float | None = None
        self._temperature: float | None = None
        self._use_pulseio = use_pulseio
        self._world = fakehw.world
        line = pin.id  # a bare int fails here, as it does in Blinka's PulseIn
        if use_pulseio:
            self.pulse_in = fakehw.PulseIn(self._world, line)
        self._world.devices.append(self)

    def exit(self) -> None:
        """Clean up the PulseIn process. Must be called explicitly."""
        self._world.record_exit(self._pin.id)
        if self._use_pulseio:
            self.pulse_in.deinit()

    def measure(self) -> None:
        """Talk to the sensor unless the last attempt is under 2 s old (the datasheet)."""
        world = self._world
        now = world.clock()
        if self._last_called == 0 or now - self._last_called > world.cache_seconds:
            self._last_called = now
            if self._use_pulseio:
                self.pulse_in.clear()
            temperature, humidity = world.measure(self._pin.id)
            if self._dht11:  # 1 % humidity, 0.1 °C (integral byte + decimal byte)
                new_humidity: float = round(humidity)
                new_temperature = round(temperature, 1)
            else:  # 0.1 resolution for both
                new_humidity = round(humidity, 1)
                new_temperature = round(temperature, 1)
            if new_humidity < 0 or new_humidity > 100:
                raise RuntimeError("Received unplausible data. Try again.")
            self._temperature = new_temperature
            self._humidity = new_humidity

    @property
    def temperature(self) -> float | None:
        """Temperature of the current measurement (°C)."""
        self.measure()
        return self._temperature

    @property
    def humidity(self) -> float | None:
        """Relative humidity of the current measurement (%)."""
        self.measure()
        return self._humidity


class DHT11(DHTBase):
    """DHT11."""

    def __init__(self, pin: Any, use_pulseio: bool = True) -> None:
        super().__init__(True, pin, 18000, use_pulseio)


class DHT22(DHTBase):
    """DHT22 / AM2302."""

    def __init__(self, pin: Any, use_pulseio: bool = True) -> None:
        super().__init__(False, pin, 1000, use_pulseio)


class DHT21(DHTBase):
    """DHT21 / AM2301."""

    def __init__(self, pin: Any, use_pulseio: bool = True) -> None:
        super().__init__(False, pin, 1000, use_pulseio, max_pulses=129)
