"""Fake adafruit_dht 4.0.12: the real module's code paths over the fake Blinka.

Like the real library: ``import digitalio`` at import time (Blinka's RuntimeError on
a Pi without gpiod); ``PulseIn`` only if ``import pulseio`` worked, so
``DHT22(pin, use_pulseio=True)`` without it is a NameError; bit-banging opens a
``DigitalInOut`` (TypeError on a board without Blinka pins). ``temperature`` and
``humidity`` each call ``measure()``, which talks to the sensor only if the last
attempt (good or not) is more than 2 s old and otherwise keeps the cached values
(``None`` before the first good one); the pulses are decoded with the real algorithm
and failures are ``RuntimeError`` with the library's own messages. Time comes from
``fakehw.world.clock`` and the capture's 0.25 s sleep is ``world.capture_seconds``.
"""

from __future__ import annotations

import array
from typing import Any

import fakehw
from digitalio import DigitalInOut, Direction, Pull

_USE_PULSEIO = False
try:
    from pulseio import PulseIn

    _USE_PULSEIO = True
except (ImportError, NotImplementedError):
    pass  # This is OK, we'll try to bitbang it!

__version__ = "4.0.12+fake"


class DHTBase:
    """What DHT11/DHT22 share: one measurement, cached for 2 s, read by two properties."""

    __hiLevel = 51

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
        if self._use_pulseio:
            self.pulse_in = PulseIn(self._pin, maxlen=self._max_pulses, idle_state=True)
            self.pulse_in.pause()
        fakehw.world.devices.append(self)

    def exit(self) -> None:
        """Clean up the PulseIn process. Must be called explicitly."""
        fakehw.world.record_exit(self._pin.id)
        if self._use_pulseio:
            self.pulse_in.deinit()

    def _pulses_to_binary(self, pulses: array.array, start: int, stop: int) -> int:
        binary = 0
        hi_sig = False
        for bit_inx in range(start, stop):
            if hi_sig:
                bit = 1 if pulses[bit_inx] > self.__hiLevel else 0
                binary = binary << 1 | bit
            hi_sig = not hi_sig
        return binary

    def _get_pulses_pulseio(self) -> array.array:
        pulses = array.array("H")
        if self._use_pulseio:
            self.pulse_in.clear()
            self.pulse_in.resume(self._trig_wait)
            fakehw.blocking_sleep(fakehw.world.capture_seconds)  # the real one: 0.25 s
            self.pulse_in.pause()
            while self.pulse_in:
                pulses.append(self.pulse_in.popleft())
        return pulses

    def _get_pulses_bitbang(self) -> array.array:
        pulses = array.array("H")
        with DigitalInOut(self._pin) as dhtpin:
            dhtpin.direction = Direction.OUTPUT
            dhtpin.value = True
            dhtpin.value = False
            dhtpin.direction = Direction.INPUT
            dhtpin.pull = Pull.UP
            outcome = fakehw.world.capture(self._pin.id, dht11=self._dht11)
            if outcome.kind == "hang":
                fakehw.blocking_sleep(outcome.seconds or 0.0)
            elif outcome.kind == "helper_dies":  # no helper here: nothing comes back
                outcome = fakehw.Outcome("notfound")
            pulses.extend(fakehw.pulses(outcome, self._dht11, fakehw.world.default))
        return pulses

    def measure(self) -> None:
        """Talk to the sensor unless the last attempt is under 2 s old (the datasheet)."""
        world = fakehw.world
        if self._last_called == 0 or world.clock() - self._last_called > world.cache_seconds:
            self._last_called = world.clock()
            pulses = self._get_pulses_pulseio() if self._use_pulseio else self._get_pulses_bitbang()
            if len(pulses) < 10:
                raise RuntimeError("DHT sensor not found, check wiring")
            if len(pulses) < 80:
                raise RuntimeError("A full buffer was not returned. Try again.")
            buf = array.array("B")
            for byte_start in range(0, 80, 16):
                buf.append(self._pulses_to_binary(pulses, byte_start, byte_start + 16))
            if self._dht11:
                new_humidity: float = buf[0]
                new_temperature = buf[2] + (buf[3] & 0x0F) / 10
            else:
                new_humidity = ((buf[0] << 8) | buf[1]) / 10
                new_temperature = (((buf[2] & 0x7F) << 8) | buf[3]) / 10
                if buf[2] & 0x80:
                    new_temperature = -new_temperature
            if sum(buf[0:4]) & 0xFF != buf[4]:
                raise RuntimeError("Checksum did not validate. Try again.")
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

    def __init__(self, pin: Any, use_pulseio: bool = _USE_PULSEIO) -> None:
        super().__init__(True, pin, 18000, use_pulseio)


class DHT22(DHTBase):
    """DHT22 / AM2302."""

    def __init__(self, pin: Any, use_pulseio: bool = _USE_PULSEIO) -> None:
        super().__init__(False, pin, 1000, use_pulseio)


class DHT21(DHTBase):
    """DHT21 / AM2301."""

    def __init__(self, pin: Any, use_pulseio: bool = _USE_PULSEIO) -> None:
        super().__init__(False, pin, 1000, use_pulseio, max_pulses=129)
