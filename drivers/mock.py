"""A sensor with no hardware: seeded, realistic signal and DHT-like faults.

The signal is a daily cycle (from the wall clock's time of day), a slow mean-reverting
drift and DHT22-sized noise, rounded to the DHT22's 0.1 resolution. Faults reproduce
what real DHTs do, raised as adafruit_dht's own RuntimeError messages and translated
by the same code the DHT driver uses, so every error path is exercised.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

from drivers.base import DriverBase, Sample
from drivers.errors import translate_runtime_error
from drivers.timing import blocking_sleep

# (mean °C, daily swing °C, mean %RH, daily swing %RH) per profile
PROFILES: dict[str, tuple[float, float, float, float]] = {
    "greenhouse": (22.0, 6.0, 65.0, 12.0),
    "cellar": (12.0, 0.4, 80.0, 2.0),
    "closet": (27.0, 2.0, 35.0, 4.0),
    "lab": (21.0, 1.0, 45.0, 4.0),
    "outdoor": (10.0, 5.0, 75.0, 15.0),
}

# adafruit_dht's own messages, with how often each shows up on a flaky DHT22
FAULT_MESSAGES: tuple[tuple[str, float], ...] = (
    ("Checksum did not validate. Try again.", 0.6),
    ("A full buffer was not returned. Try again.", 0.3),
    ("DHT sensor not found, check wiring", 0.1),
)
NOT_FOUND = "DHT sensor not found, check wiring"


class MockDriver(DriverBase):
    """A deterministic fake DHT22 with optional fault injection (and pressure, CO2)."""

    min_interval = 0.1

    def __init__(
        self,
        pin: int | None = None,
        *,
        seed: int = 0,
        profile: str = "lab",
        fault_rate: float = 0.0,
        hang_rate: float = 0.0,
        hang_seconds: float = 30.0,
        spike_rate: float = 0.0,
        outage_after: float | None = None,
        outage_for: float = 0.0,
        outage_every: float | None = None,
        pressure: bool = False,
        co2: bool = False,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pin = pin
        self._rng = random.Random(seed)
        self._profile = PROFILES[profile]
        self._fault_rate = fault_rate
        self._hang_rate = hang_rate
        self._hang_seconds = hang_seconds
        self._spike_rate = spike_rate
        self._outage_after = outage_after
        self._outage_for = outage_for
        self._outage_every = outage_every
        self._wall_clock = wall_clock
        self._monotonic = monotonic
        self._opened = monotonic()
        self._drift_t = 0.0
        self._drift_h = 0.0
        # a second stream, so adding pressure or CO2 leaves temperature and humidity as
        # they were for the same seed
        self._extra = random.Random(seed + 1_000_003) if pressure or co2 else None
        self._pressure = 1013.0 if pressure else None
        self._co2 = 600.0 if co2 else None
        self.reads = 0
        self.closed = False

    def in_outage(self) -> bool:
        """Whether the simulated sensor is currently unplugged."""
        if self._outage_after is None:
            return False
        age = self._monotonic() - self._opened - self._outage_after
        if age < 0:
            return False
        if self._outage_every:
            age %= self._outage_every
        return age < self._outage_for

    def _fail(self, message: str) -> None:
        raise translate_runtime_error(RuntimeError(message))

    def read(self) -> Sample:
        """Produce the next sample, or raise the fault the dice chose."""
        if self.closed:
            raise RuntimeError("read from a closed mock sensor")
        self.reads += 1
        rng = self._rng
        roll = rng.random()  # drawn every read, so the sequence depends only on the seed
        if self.in_outage():
            self._fail(NOT_FOUND)
        if roll < self._hang_rate:
            blocking_sleep(self._hang_seconds)
            self._fail("A full buffer was not returned. Try again.")
        if roll < self._hang_rate + self._fault_rate:
            messages = [m for m, _ in FAULT_MESSAGES]
            weights = [w for _, w in FAULT_MESSAGES]
            self._fail(rng.choices(messages, weights)[0])
        temperature, humidity = self._signal()
        if roll < self._hang_rate + self._fault_rate + self._spike_rate:
            # bits flipped in a way the checksum did not catch: an absurd jump
            temperature = round(temperature + rng.choice((-1, 1)) * rng.uniform(25, 60), 1)
        return Sample(temperature, humidity, *self._extras())

    def _extras(self) -> tuple[float | None, float | None]:
        """Pressure (a slow weather drift, BME280-sized noise) and CO2 (a busy room)."""
        extra = self._extra
        if extra is None:
            return None, None
        if self._pressure is not None:
            self._pressure += 0.02 * (1013.0 - self._pressure) + extra.gauss(0, 0.05)
        if self._co2 is not None:
            self._co2 = max(400.0, self._co2 + 0.05 * (650.0 - self._co2) + extra.gauss(0, 8))
        return (None if self._pressure is None else round(self._pressure, 2),
                None if self._co2 is None else float(round(self._co2)))

    def _signal(self) -> tuple[float, float]:
        mean_t, swing_t, mean_h, swing_h = self._profile
        local = time.localtime(self._wall_clock())
        seconds = local.tm_hour * 3600 + local.tm_min * 60 + local.tm_sec
        # warmest mid-afternoon (15:00), most humid before dawn
        phase = 2 * math.pi * (seconds - 15 * 3600) / 86400
        rng = self._rng
        self._drift_t = 0.995 * self._drift_t + rng.gauss(0, 0.02)
        self._drift_h = 0.995 * self._drift_h + rng.gauss(0, 0.05)
        temperature = mean_t + swing_t * math.cos(phase) + self._drift_t + rng.gauss(0, 0.08)
        humidity = mean_h - swing_h * math.cos(phase) + self._drift_h + rng.gauss(0, 0.3)
        humidity = min(100.0, max(0.0, humidity))
        return round(temperature, 1), round(humidity, 1)

    def close(self) -> None:
        """Mark closed; later reads fail loudly."""
        self.closed = True
