"""drivers/mock.py: a seeded, realistic fake DHT22 with DHT-like faults."""

from __future__ import annotations

import itertools
import statistics
import time
from collections import Counter

import pytest

from drivers.base import Sample
from drivers.errors import (
    ChecksumError,
    DriverError,
    IncompleteReadError,
    SensorNotFoundError,
)
from drivers.mock import FAULT_MESSAGES, PROFILES, MockDriver
from drivers.registry import open_driver

NOON = 1_700_000_000.0 - (1_700_000_000.0 % 86400) + 12 * 3600  # a fixed time of day
ADAFRUIT_MESSAGES = {message for message, _ in FAULT_MESSAGES}


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 500.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def mock(**options: object) -> MockDriver:
    """A mock whose clocks stand still unless the test moves them."""
    options.setdefault("wall_clock", lambda: NOON)
    options.setdefault("monotonic", Clock())
    return MockDriver(**options)  # type: ignore[arg-type]


def outcomes(driver: MockDriver, n: int) -> list[Sample | DriverError]:
    """The next n reads: samples, or the errors raised."""
    out: list[Sample | DriverError] = []
    for _ in range(n):
        try:
            out.append(driver.read())
        except DriverError as error:
            out.append(error)
    return out


def as_comparable(items: list[Sample | DriverError]) -> list[object]:
    return [x if isinstance(x, Sample) else (type(x), str(x)) for x in items]


def test_same_seed_same_sequence():
    options = {"seed": 42, "fault_rate": 0.2, "spike_rate": 0.05}
    first = as_comparable(outcomes(mock(**options), 200))
    second = as_comparable(outcomes(mock(**options), 200))
    assert first == second
    other = as_comparable(outcomes(mock(**{**options, "seed": 43}), 200))
    assert other != first
    assert any(isinstance(x, tuple) for x in first)  # the faults are part of the sequence


def test_values_have_dht22_resolution_and_a_realistic_range():
    for profile, (mean_t, swing_t, mean_h, swing_h) in PROFILES.items():
        driver = mock(seed=7, profile=profile)
        samples = [driver.read() for _ in range(300)]
        for sample in samples:
            assert sample.pressure is None and sample.co2 is None  # a DHT22 measures neither
            for value in sample[:2]:
                assert isinstance(value, float)
                assert abs(value * 10 - round(value * 10)) < 1e-6, value
            assert mean_t - swing_t - 3 <= sample.temperature <= mean_t + swing_t + 3
            assert max(0.0, mean_h - swing_h - 8) <= sample.humidity
            assert sample.humidity <= min(100.0, mean_h + swing_h + 8)
        temperatures = [s.temperature for s in samples]
        assert len(set(temperatures)) > 3  # noise: not a constant
        steps = [abs(b - a) for a, b in itertools.pairwise(temperatures)]
        assert max(steps) < 1.5  # no jumps without spike_rate


def test_the_time_of_day_moves_the_signal():
    afternoon = NOON + 3 * 3600  # 15:00: warmest
    night = NOON - 9 * 3600  # 03:00: coolest and most humid
    warm = mock(seed=1, profile="greenhouse", wall_clock=lambda: afternoon).read()
    cold = mock(seed=1, profile="greenhouse", wall_clock=lambda: night).read()
    assert warm.temperature - cold.temperature > 10
    assert cold.humidity - warm.humidity > 15


def test_half_the_reads_fail_with_adafruits_messages_at_fault_rate_half():
    results = outcomes(mock(seed=3, fault_rate=0.5), 2000)
    errors = [x for x in results if isinstance(x, DriverError)]
    assert 0.45 <= len(errors) / len(results) <= 0.55
    assert {str(e) for e in errors} == ADAFRUIT_MESSAGES
    assert all(isinstance(e, RuntimeError) for e in errors)
    kinds = Counter(type(e) for e in errors)
    # DHT22 faults, most to least common: checksum, short frame, not found
    assert kinds[ChecksumError] > kinds[IncompleteReadError] > kinds[SensorNotFoundError] > 0


def test_no_faults_by_default():
    assert all(isinstance(x, Sample) for x in outcomes(mock(seed=3), 500))


def test_a_hang_blocks_the_read_for_real():
    driver = mock(seed=1, hang_rate=1.0, hang_seconds=0.2)
    started = time.monotonic()
    with pytest.raises(IncompleteReadError):
        driver.read()
    assert time.monotonic() - started >= 0.2


def test_spikes_are_absurd_jumps():
    samples = [x for x in outcomes(mock(seed=5, spike_rate=0.2), 500)]
    assert all(isinstance(s, Sample) for s in samples)
    temperatures = [s.temperature for s in samples]  # type: ignore[union-attr]
    typical = statistics.median(temperatures)
    spikes = [t for t in temperatures if abs(t - typical) >= 20]
    assert 0.13 <= len(spikes) / len(samples) <= 0.27
    assert all(abs(t - typical) <= 65 for t in temperatures)
    calm = [s.temperature for s in outcomes(mock(seed=5), 500)]  # type: ignore[union-attr]
    assert all(abs(t - typical) < 5 for t in calm)


def test_an_outage_is_not_found_during_the_window_then_recovers():
    clock = Clock(500.0)
    driver = mock(seed=2, outage_after=10.0, outage_for=5.0, monotonic=clock)
    timeline = {}
    for offset in (0.0, 9.9, 10.0, 12.0, 14.9, 15.0, 100.0):
        clock.now = 500.0 + offset
        try:
            driver.read()
            timeline[offset] = "ok"
        except SensorNotFoundError as error:
            assert str(error) == "DHT sensor not found, check wiring"
            timeline[offset] = "not found"
    assert timeline == {0.0: "ok", 9.9: "ok", 10.0: "not found", 12.0: "not found",
                        14.9: "not found", 15.0: "ok", 100.0: "ok"}
    assert driver.in_outage() is False


def test_outage_every_repeats_the_window():
    clock = Clock(0.0)
    driver = mock(seed=2, outage_after=10.0, outage_for=2.0, outage_every=30.0,
                  monotonic=clock)
    down = []
    for second in range(0, 80):
        clock.now = float(second)
        down.append(driver.in_outage())
    assert [s for s, d in enumerate(down) if d] == [10, 11, 40, 41, 70, 71]


def test_a_closed_mock_fails_loudly():
    driver = mock(seed=1)
    with driver:
        driver.read()
    assert driver.closed
    with pytest.raises(RuntimeError, match="closed"):
        driver.read()


def test_the_registry_opens_a_mock_with_its_options():
    driver = open_driver("mock", None, {"seed": 9, "profile": "cellar", "fault_rate": 1.0})
    assert isinstance(driver, MockDriver)
    with pytest.raises(DriverError) as info:
        driver.read()
    assert str(info.value) in ADAFRUIT_MESSAGES
    driver.close()


def test_pressure_and_co2_leave_temperature_and_humidity_as_they_were() -> None:
    plain = mock(seed=11, profile="lab")
    full = mock(seed=11, profile="lab", pressure=True, co2=True)
    for _ in range(200):
        a, b = plain.read(), full.read()
        assert a[:2] == b[:2]
        assert 990 <= b.pressure <= 1040 and b.pressure == round(b.pressure, 2)
        assert 400 <= b.co2 <= 2000 and b.co2 == int(b.co2)
