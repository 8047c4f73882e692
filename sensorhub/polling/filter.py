"""What a raw sample must pass before it is a reading: calibration, range and jump filter."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from drivers.base import QUANTITIES, UNITS, Sample
from drivers.errors import ImplausibleReadingError
from drivers.registry import DriverSpec
from sensorhub.config import SensorConfig

log = logging.getLogger(__name__)

JUMP_CONFIRMATIONS = 3  # agreeing readings that turn a "jump" into a real change
# how far past its datasheet range a sensor may read before a value is implausible
MARGINS = {"temperature": 5.0, "humidity": 10.0, "pressure": 20.0, "co2": 100.0}
# physical limits no margin may cross
LIMITS = {"humidity": (0.0, 100.0), "co2": (0.0, float("inf")),
          "pressure": (0.0, float("inf"))}


def _describe(sample: Sample) -> str:
    return "/".join(f"{v} {UNITS[q]}" for q, v in zip(QUANTITIES, sample, strict=True)
                    if v is not None)


@dataclass
class SampleFilter:
    """Calibration, the plausible range of the sensor, and lone jumps held back.

    A jump larger than ``max_jump`` is held back; if the next readings agree with it,
    it was a real change (a door opened) and is let through.
    """

    cfg: SensorConfig
    spec: DriverSpec
    accepted: Sample | None = None  # last value let through
    candidates: list[Sample] = field(default_factory=list)

    def apply(self, sample: Sample) -> Sample:
        """The corrected values, or ImplausibleReadingError."""
        cfg = self.cfg
        values = []
        for quantity, raw in zip(QUANTITIES, sample, strict=True):
            if raw is None:
                values.append(None)
                continue
            value = round(cfg.corrected(quantity, raw), 2)
            low, high = self.spec.range(quantity)
            margin = MARGINS[quantity]
            floor, ceiling = LIMITS.get(quantity, (float("-inf"), float("inf")))
            low, high = max(floor, low - margin), min(ceiling, high + margin)
            if not low <= value <= high:
                unit = UNITS[quantity]
                raise ImplausibleReadingError(
                    f"{quantity} {value} {unit} is outside {low:g}..{high:g} {unit}")
            values.append(value)
        corrected = Sample(*values)
        if self.accepted is not None and not self.spec.prefiltered \
                and not self._agree(self.accepted, corrected):
            candidates = self.candidates
            if candidates and not self._agree(candidates[-1], corrected):
                candidates.clear()
            candidates.append(corrected)
            if len(candidates) < JUMP_CONFIRMATIONS:
                raise ImplausibleReadingError(
                    f"jump from {_describe(self.accepted)} to {_describe(corrected)} rejected")
            log.info("sensor %s: accepted a real change to %s", cfg.id, _describe(corrected))
        self.candidates.clear()
        return corrected

    def _agree(self, a: Sample, b: Sample) -> bool:
        """Whether two samples are within ``max_jump`` of each other in every quantity."""
        limits = self.cfg.max_jump
        return all(x is None or y is None or q not in limits or abs(x - y) <= limits[q]
                   for q, x, y in zip(QUANTITIES, a, b, strict=True))
