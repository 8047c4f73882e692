"""What a raw sample must pass before it is a reading: offsets, range and the jump filter."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from drivers.base import Sample
from drivers.errors import ImplausibleReadingError
from drivers.registry import DriverSpec
from sensorhub.config import SensorConfig

log = logging.getLogger(__name__)

JUMP_CONFIRMATIONS = 3  # agreeing readings that turn a "jump" into a real change


@dataclass
class SampleFilter:
    """Calibration, the plausible range of the sensor, and lone jumps held back.

    A jump larger than ``max_jump`` is held back; if the next readings agree with it,
    it was a real change (a door opened) and is let through.
    """

    cfg: SensorConfig
    spec: DriverSpec
    accepted: tuple[float | None, float | None] | None = None  # last value let through
    candidates: list[Sample] = field(default_factory=list)

    def apply(self, sample: Sample) -> tuple[float | None, float | None]:
        """The calibrated values, or ImplausibleReadingError."""
        cfg, spec = self.cfg, self.spec
        t = None if sample.temperature is None else round(
            sample.temperature + cfg.temperature_offset, 2)
        h = None if sample.humidity is None else round(sample.humidity + cfg.humidity_offset, 2)
        # the datasheet range plus a margin: sensors read a little past their spec
        low, high = spec.temperature_range[0] - 5, spec.temperature_range[1] + 5
        if t is not None and not low <= t <= high:
            raise ImplausibleReadingError(f"temperature {t} °C is outside {low:g}..{high:g} °C")
        low, high = max(0.0, spec.humidity_range[0] - 10), min(100.0, spec.humidity_range[1] + 10)
        if h is not None and not low <= h <= high:
            raise ImplausibleReadingError(f"humidity {h} % is outside {low:g}..{high:g} %")
        if self.accepted is not None and not spec.prefiltered:
            last_t, last_h = self.accepted
            jumped = (t is not None and last_t is not None
                      and abs(t - last_t) > cfg.max_jump_temperature) or (
                      h is not None and last_h is not None
                      and abs(h - last_h) > cfg.max_jump_humidity)
            if jumped:
                candidates = self.candidates
                if candidates and not self._agree(candidates[-1], Sample(t, h)):
                    candidates.clear()
                candidates.append(Sample(t, h))
                if len(candidates) < JUMP_CONFIRMATIONS:
                    raise ImplausibleReadingError(
                        f"jump from {last_t} °C/{last_h} % to {t} °C/{h} % rejected")
                log.info("sensor %s: accepted a real change to %s °C / %s %%", cfg.id, t, h)
        self.candidates.clear()
        return t, h

    def _agree(self, a: Sample, b: Sample) -> bool:
        cfg = self.cfg
        return all(
            x is None or y is None or abs(x - y) <= limit
            for x, y, limit in ((a.temperature, b.temperature, cfg.max_jump_temperature),
                                (a.humidity, b.humidity, cfg.max_jump_humidity)))
