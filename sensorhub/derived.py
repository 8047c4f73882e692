"""Quantities derived from temperature and relative humidity, in one place."""

from __future__ import annotations

import math

# Magnus formula coefficients over water (Alduchov & Eskridge 1996 / Sonntag), -45..60 °C
MAGNUS_A = 17.62
MAGNUS_B = 243.12  # °C


def dew_point(temperature: float | None, humidity: float | None) -> float | None:
    """Dew point in °C (the temperature at which condensation starts), or None."""
    if temperature is None or humidity is None or humidity <= 0:
        return None
    gamma = math.log(humidity / 100.0) + MAGNUS_A * temperature / (MAGNUS_B + temperature)
    return round(MAGNUS_B * gamma / (MAGNUS_A - gamma), 2)


def absolute_humidity(temperature: float | None, humidity: float | None) -> float | None:
    """Water vapour content in g/m³, or None."""
    if temperature is None or humidity is None:
        return None
    saturation_hpa = 6.112 * math.exp(MAGNUS_A * temperature / (MAGNUS_B + temperature))
    return round(216.7 * saturation_hpa * humidity / 100.0 / (273.15 + temperature), 2)
