"""CSV and JSON exports: every stored reading of some sensors in a range, streamed, with
temperatures in the unit the user reads them in (°C or °F)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sensorhub.config import SensorConfig
from sensorhub.readings import QUANTITIES
from sensorhub.storage.store import Store

#: CSV column of each quantity, in QUANTITIES order ({unit}: c or f for temperature)
CSV_COLUMNS = ("temperature_{unit}", "humidity_pct", "pressure_hpa", "co2_ppm")
UNIT_NAMES = {"temperature": "°{unit}", "humidity": "%", "pressure": "hPa", "co2": "ppm"}
CHUNK = 16384  # characters sent at a time: a year of readings never sits in memory
#: runs each chunk's read off the event loop (the web query gate, sensorhub.web.limits)
Run = Callable[[Callable[[], Any]], Any]


def _converter(unit: str) -> Any:
    """Values in QUANTITIES order -> the same with temperature in ``unit``."""
    if unit == "C":
        return lambda values: values
    return lambda values: [None if values[0] is None else round(values[0] * 1.8 + 32, 2),
                           *values[1:]]


def filename(sensors: Sequence[SensorConfig], since: float, until: float, ext: str) -> str:
    """``gh-air_20250601-1000_20250601-1200.csv``: what and when, safe in any file system."""
    ids = "+".join(s.id for s in sensors) if len(sensors) <= 3 else "sensorhub"
    try:
        stamp = [datetime.fromtimestamp(t, UTC).strftime("%Y%m%d-%H%M") for t in (since, until)]
    except (OverflowError, OSError, ValueError):  # beyond the calendar: no dates in the name
        stamp = []
    return f"{ids}_{stamp[0]}_{stamp[1]}.{ext}" if since > 0 and stamp else f"{ids}.{ext}"


def csv_stream(store: Store, sensors: Sequence[SensorConfig], since: float, until: float,
               unit: str, run: Run | None = None) -> Iterator[str]:
    """``sensor,time_utc,epoch,temperature_c,humidity_pct`` (then pressure and CO2 when
    any of the sensors measures them), sensor after sensor, oldest first."""
    shown = [i for i, q in enumerate(QUANTITIES)
             if i < 2 or any(q in s.quantities for s in sensors)]
    convert = _converter(unit)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["sensor", "time_utc", "epoch",
                     *(CSV_COLUMNS[i].format(unit=unit.lower()) for i in shown)])
    for sensor in sensors:
        for ts, *values in store.export_rows(sensor.id, since, until, run=run):
            values = convert(values)
            stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            writer.writerow([sensor.id, stamp, f"{ts:.3f}",
                             *("" if values[i] is None else values[i] for i in shown)])
            if buffer.tell() > CHUNK:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


def json_stream(store: Store, sensors: Sequence[SensorConfig], since: float, until: float,
                unit: str, run: Run | None = None) -> Iterator[str]:
    """``{"since", "until", "unit", "sensors": [{id, name, room, fields, units,
    readings: [[ts, ...], ...]}]}``: each sensor's readings hold what it measures."""
    convert = _converter(unit)
    yield json.dumps({"since": since, "until": until, "unit": unit})[:-1] + ', "sensors": ['
    for n, sensor in enumerate(sensors):
        measured = [q for q in QUANTITIES if q in sensor.quantities]
        where = [QUANTITIES.index(q) for q in measured]
        head = {"id": sensor.id, "name": sensor.name, "room": sensor.room,
                "fields": ["ts", *measured],
                "units": {q: UNIT_NAMES[q].format(unit=unit) for q in measured}}
        yield ("," if n else "") + json.dumps(head, ensure_ascii=False)[:-1] + ', "readings": ['
        parts: list[str] = []
        size, first = 0, True
        for ts, *values in store.export_rows(sensor.id, since, until, run=run):
            values = convert(values)
            part = json.dumps([round(ts, 3), *(values[i] for i in where)])
            parts.append(part)
            size += len(part)
            if size > CHUNK:
                yield ("" if first else ",") + ",".join(parts)
                parts, size, first = [], 0, False
        yield ("" if first or not parts else ",") + ",".join(parts) + "]}"
    yield "]}"
