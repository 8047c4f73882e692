"""GET /metrics in the Prometheus text format, off unless configured.

Values are read from the running hub at scrape time by a custom collector, so the
hot path pays nothing for metrics. prometheus-client is imported on the first
scrape only. Names follow Prometheus' conventions: base units (pascals, meters, a
0-1 ratio for relative humidity), a ``_timestamp_seconds`` gauge for the last good
reading, the standard ``process_*`` metrics, failure counters that exist from the
start. An offline sensor's value gauges are dropped (not kept as if live):
``sensorhub_sensor_up`` and the timestamp say what happened.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, abort, current_app, request

from sensorhub.derived import absolute_humidity, dew_point
from sensorhub.web.auth import client_address
from sensorhub.web.state import Web, current

#: quantity -> factor from sensorhub's unit to the exported base unit
SCALE = {"humidity": 0.01, "pressure": 100.0}


def failure_kinds() -> list[str]:
    """Every kind of failed read a sensor can count (drivers.errors and pushed messages)."""
    from drivers.errors import DriverError
    from sensorhub.mqtt.source import BadMessageError  # noqa: F401 - registers its kind

    kinds, todo = set(), [DriverError]
    while todo:
        cls = todo.pop()
        kinds.add(cls.kind)
        todo.extend(cls.__subclasses__())
    return sorted(kinds)

bp = Blueprint("metrics", __name__)
REGISTRY = "sensorhub.metrics"


def _collector(web: Web) -> Any:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    hub = web.hub

    class HubCollector:
        """Current readings, read health, alerts, clients and storage of one hub."""

        def collect(self) -> Iterator[Any]:
            labels = ["sensor", "room"]
            gauges = {
                "temperature": GaugeMetricFamily(
                    "sensorhub_temperature_celsius", "Latest temperature", labels=labels),
                "humidity": GaugeMetricFamily(
                    "sensorhub_relative_humidity_ratio",
                    "Latest relative humidity, 0-1 (0.61 is 61 %RH)", labels=labels),
                "pressure": GaugeMetricFamily(
                    "sensorhub_pressure_pascals", "Latest air pressure", labels=labels),
                "co2": GaugeMetricFamily(
                    "sensorhub_co2_ppm", "Latest CO2 concentration in parts per million",
                    labels=labels),
                "dew_point": GaugeMetricFamily(
                    "sensorhub_dew_point_celsius", "Dew point of the latest reading",
                    labels=labels),
                "abs_humidity": GaugeMetricFamily(
                    "sensorhub_absolute_humidity_grams_per_cubic_meter",
                    "Water vapour content of the latest reading", labels=labels),
            }
            up = GaugeMetricFamily("sensorhub_sensor_up",
                                   "1 if the sensor is ok, 0 if failing or offline", labels=labels)
            state = GaugeMetricFamily("sensorhub_sensor_state", "Current state (1 = in it)",
                                      labels=[*labels, "state"])
            last_good = GaugeMetricFamily("sensorhub_last_good_reading_timestamp_seconds",
                                          "When the last accepted reading was taken (Unix time)",
                                          labels=labels)
            attempts = CounterMetricFamily("sensorhub_read_attempts", "Reads attempted",
                                           labels=labels)
            good = CounterMetricFamily("sensorhub_reads_good", "Reads accepted", labels=labels)
            failures = CounterMetricFamily("sensorhub_read_failures", "Failed reads by kind",
                                           labels=[*labels, "kind"])
            cycles = CounterMetricFamily("sensorhub_power_cycles", "Power cycles of the sensor",
                                         labels=labels)
            kinds = failure_kinds()
            poller = hub.poller
            for s in hub.config.sensors:
                key = [s.id, s.room]
                reading = poller.latest(s.id)
                shown = poller.state(s.id).state
                if reading is not None and shown != "offline":  # never stale as if live
                    values = {"temperature": reading.temperature, "humidity": reading.humidity,
                              "pressure": reading.pressure, "co2": reading.co2,
                              "dew_point": dew_point(reading.temperature, reading.humidity),
                              "abs_humidity": absolute_humidity(reading.temperature,
                                                                reading.humidity)}
                    for name, value in values.items():
                        if value is not None:
                            gauges[name].add_metric(key, value * SCALE.get(name, 1.0))
                if reading is not None:
                    last_good.add_metric(key, reading.ts)
                up.add_metric(key, 1.0 if shown == "ok" else 0.0)
                for name in ("ok", "failing", "offline"):
                    state.add_metric([*key, name], 1.0 if shown == name else 0.0)
                health = poller.health(s.id)
                attempts.add_metric(key, health["attempts"])
                good.add_metric(key, health["good"])
                counted = health["failures"]
                for kind in sorted({*kinds, *counted}):  # zero from the start: rate() works
                    failures.add_metric([*key, kind], counted.get(kind, 0))
                cycles.add_metric(key, health["power_cycles"])
            yield from gauges.values()
            yield from (up, state, last_good, attempts, good, failures, cycles)
            alerts = GaugeMetricFamily("sensorhub_alert_firing", "1 while an alert fires",
                                       labels=[*labels, "kind"])
            engine = hub.alerts
            firing = set(engine.firing()) if engine is not None else set()
            for sensor, room, kind in engine.watched() if engine is not None else ():
                alerts.add_metric([sensor, room, kind], 1.0 if (sensor, room, kind) in firing
                                  else 0.0)
            yield alerts
            yield _one(GaugeMetricFamily, "sensorhub_connected_clients",
                       "Socket.IO clients connected", len(web.clients))
            yield _one(CounterMetricFamily, "sensorhub_readings_written",
                       "Readings written to the database since start", hub.store.written)
            yield _one(GaugeMetricFamily, "sensorhub_readings_pending",
                       "Readings waiting for the next batch write", hub.store.pending)
            yield _one(CounterMetricFamily, "sensorhub_write_batches",
                       "Batched commits (one fsync each) since start", hub.store.flushes)
            sent = CounterMetricFamily("sensorhub_notifications",
                                       "Notification deliveries since start, by outcome",
                                       labels=["channel", "outcome"])
            notifier = engine.notifier if engine is not None else None
            for name, courier in (notifier.couriers.items() if notifier else ()):
                for outcome in ("sent", "failed", "gave_up"):
                    sent.add_metric([name, outcome], getattr(courier, outcome))
            yield sent
            yield from _security(web.security_counters())

    return HubCollector()


def _security(counts: dict[str, int]) -> Iterator[Any]:
    """The guards' counters (issue 12): refused lifecycle events, held-back logins."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    for name, help_ in (("lifecycle_events_refused",
                         "Client events named like connect/disconnect, refused"),
                        ("logins_throttled", "Login attempts refused: too many for the pair"),
                        ("logins_busy", "Login attempts turned away: no turn to hash")):
        yield _one(CounterMetricFamily, f"sensorhub_{name}", help_, counts[name])
    for name, help_ in (("password_hashes_running", "Password hashes running now"),
                        ("password_hashes_peak", "Most password hashes ever run at once"),
                        ("password_hashes_limit", "Password hashes allowed at once")):
        yield _one(GaugeMetricFamily, f"sensorhub_{name}", help_, counts[name])


def _one(kind: Any, name: str, help_: str, value: float) -> Any:
    """A metric family of ``kind`` with one unlabelled sample."""
    family = kind(name, help_)
    family.add_metric([], value)
    return family


def _registry() -> Any:
    """This app's registry, made on the first scrape."""
    registry = current_app.extensions.get(REGISTRY)
    if registry is None:
        from prometheus_client import CollectorRegistry, ProcessCollector

        registry = CollectorRegistry()
        registry.register(_collector(current()))
        ProcessCollector(registry=registry)  # the standard process_* names, unprefixed
        current_app.extensions[REGISTRY] = registry
    return registry


def _refusal(settings: Any) -> int | None:
    """403 for an address not allowed, 401 for a missing or wrong token, else None."""
    if settings.allow:
        try:  # behind a trusted proxy, the client's address, not the proxy's
            address = ipaddress.ip_address(client_address())
        except ValueError:
            return 403
        if not any(address in network for network in settings.allow):
            return 403
    if settings.token is not None:
        header = request.headers.get("Authorization", "")
        if not hmac.compare_digest(header.encode(), f"Bearer {settings.token}".encode()):
            return 401
    return None


@bp.get("/metrics")
def metrics() -> Response:
    """The Prometheus exposition (404 when metrics are off, 401/403 when refused)."""
    settings = current().config.metrics
    if settings is None:
        abort(404)
    refused = _refusal(settings)
    if refused == 401:
        return Response("a bearer token is required\n", status=401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="sensorhub metrics"'})
    if refused is not None:
        return Response("forbidden\n", status=403, mimetype="text/plain")
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
