"""GET /metrics in the Prometheus text format, off unless configured.

Values are read from the running hub at scrape time by a custom collector, so the
hot path pays nothing for metrics. prometheus-client is imported on the first
scrape only.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, abort, current_app, request

from sensorhub.derived import absolute_humidity, dew_point
from sensorhub.web.auth import client_address
from sensorhub.web.state import Web, current

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
                    "sensorhub_humidity_percent", "Latest relative humidity", labels=labels),
                "pressure": GaugeMetricFamily(
                    "sensorhub_pressure_hectopascals", "Latest air pressure", labels=labels),
                "co2": GaugeMetricFamily(
                    "sensorhub_co2_ppm", "Latest CO2 concentration", labels=labels),
                "dew_point": GaugeMetricFamily(
                    "sensorhub_dew_point_celsius", "Dew point of the latest reading",
                    labels=labels),
                "abs_humidity": GaugeMetricFamily(
                    "sensorhub_absolute_humidity_grams_per_cubic_metre",
                    "Water vapour content of the latest reading", labels=labels),
            }
            up = GaugeMetricFamily("sensorhub_sensor_up",
                                   "1 if the sensor is ok, 0 if failing or offline", labels=labels)
            state = GaugeMetricFamily("sensorhub_sensor_state", "Current state (1 = in it)",
                                      labels=[*labels, "state"])
            age = GaugeMetricFamily("sensorhub_last_good_reading_age_seconds",
                                    "Seconds since the last accepted reading", labels=labels)
            attempts = CounterMetricFamily("sensorhub_read_attempts", "Reads attempted",
                                           labels=labels)
            good = CounterMetricFamily("sensorhub_reads_good", "Reads accepted", labels=labels)
            failures = CounterMetricFamily("sensorhub_read_failures", "Failed reads by kind",
                                           labels=[*labels, "kind"])
            cycles = CounterMetricFamily("sensorhub_power_cycles", "Power cycles of the sensor",
                                         labels=labels)
            now = time.time()
            poller = hub.poller
            for s in hub.config.sensors:
                key = [s.id, s.room]
                reading = poller.latest(s.id)
                shown = poller.state(s.id).state
                if reading is not None:
                    values = {"temperature": reading.temperature, "humidity": reading.humidity,
                              "pressure": reading.pressure, "co2": reading.co2,
                              "dew_point": dew_point(reading.temperature, reading.humidity),
                              "abs_humidity": absolute_humidity(reading.temperature,
                                                                reading.humidity)}
                    for name, value in values.items():
                        if value is not None:
                            gauges[name].add_metric(key, value)
                    age.add_metric(key, max(0.0, now - reading.ts))
                up.add_metric(key, 1.0 if shown == "ok" else 0.0)
                for name in ("ok", "failing", "offline"):
                    state.add_metric([*key, name], 1.0 if shown == name else 0.0)
                health = poller.health(s.id)
                attempts.add_metric(key, health["attempts"])
                good.add_metric(key, health["good"])
                for kind, count in sorted(health["failures"].items()):
                    failures.add_metric([*key, kind], count)
                cycles.add_metric(key, health["power_cycles"])
            yield from gauges.values()
            yield from (up, state, age, attempts, good, failures, cycles)
            alerts = GaugeMetricFamily("sensorhub_alert_firing", "1 while an alert fires",
                                       labels=[*labels, "kind"])
            engine = hub.alerts
            firing = set(engine.firing()) if engine is not None else set()
            for sensor, room, kind in engine.watched() if engine is not None else ():
                alerts.add_metric([sensor, room, kind], 1.0 if (sensor, room, kind) in firing
                                  else 0.0)
            yield alerts
            clients = GaugeMetricFamily("sensorhub_connected_clients",
                                        "Socket.IO clients connected")
            clients.add_metric([], len(web.clients))
            yield clients
            written = CounterMetricFamily("sensorhub_readings_written",
                                          "Readings written to the database since start")
            written.add_metric([], hub.store.written)
            yield written
            pending = GaugeMetricFamily("sensorhub_readings_pending",
                                        "Readings waiting for the next batch write")
            pending.add_metric([], hub.store.pending)
            yield pending
            batches = CounterMetricFamily("sensorhub_write_batches",
                                          "Batched commits (one fsync each) since start")
            batches.add_metric([], hub.store.flushes)
            yield batches
            yield from _security(web.security_counters())

    return HubCollector()


def _security(counts: dict[str, int]) -> Iterator[Any]:
    """The guards' counters (issue 12): refused lifecycle events, held-back logins."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    for name, help_ in (("lifecycle_events_refused",
                         "Client events named like connect/disconnect, refused"),
                        ("logins_throttled", "Login attempts refused: too many for the pair"),
                        ("logins_busy", "Login attempts turned away: no turn to hash")):
        counter = CounterMetricFamily(f"sensorhub_{name}", help_)
        counter.add_metric([], counts[name])
        yield counter
    for name, help_ in (("password_hashes_running", "Password hashes running now"),
                        ("password_hashes_peak", "Most password hashes ever run at once"),
                        ("password_hashes_limit", "Password hashes allowed at once")):
        gauge = GaugeMetricFamily(f"sensorhub_{name}", help_)
        gauge.add_metric([], counts[name])
        yield gauge


def _registry() -> Any:
    """This app's registry, made on the first scrape."""
    registry = current_app.extensions.get(REGISTRY)
    if registry is None:
        from prometheus_client import CollectorRegistry, ProcessCollector

        registry = CollectorRegistry()
        registry.register(_collector(current()))
        ProcessCollector(namespace="sensorhub", registry=registry)
        current_app.extensions[REGISTRY] = registry
    return registry


def _allowed(settings: Any) -> bool:
    if settings.token is not None:
        header = request.headers.get("Authorization", "")
        if not hmac.compare_digest(header.encode(), f"Bearer {settings.token}".encode()):
            return False
    if settings.allow:
        try:  # behind a trusted proxy, the client's address, not the proxy's
            address = ipaddress.ip_address(client_address())
        except ValueError:
            return False
        return any(address in network for network in settings.allow)
    return True


@bp.get("/metrics")
def metrics() -> Response:
    """The Prometheus exposition (404 when metrics are off, 401/403 when refused)."""
    settings = current().config.metrics
    if settings is None:
        abort(404)
    if not _allowed(settings):
        return Response("forbidden\n", status=403, mimetype="text/plain",
                        headers={"WWW-Authenticate": "Bearer"})
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
