"""Kernel-read sensors in a real ``sensorhub run``, in both async modes.

The file reads run in worker threads under eventlet as under threading; a device that
vanishes fails only its own sensor, and the server picks it up again by itself.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.fakes.sysfs_tree import FakeSysfs


def sensors_of(server: Any, token: str) -> dict[str, dict[str, Any]]:
    body = requests.get(f"{server.url}/api/sensors", timeout=5,
                        headers={"Authorization": f"Bearer {token}"}).json()
    return {s["id"]: s for s in body["sensors"]}


def wait_for(server: Any, token: str, check: Any, what: str, timeout: float = 15.0
             ) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    seen: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        seen = sensors_of(server, token)
        if check(seen):
            return seen
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s: {seen}\n{server.log()[-3000:]}")


def test_kernel_sensors_run_fail_alone_and_recover(server_factory: Any,
                                                   fake_sysfs: FakeSysfs) -> None:
    bme = fake_sysfs.bme280(1, 0x76, 21.5, 45.1, 1013.25)
    fake_sysfs.ds18b20("28-0316a2795bff", temperature=18.5)
    server = server_factory(
        rooms=[{"id": "a", "name": "A"}],
        sensors=[{"id": "bme", "room": "a", "driver": "iio", "interval": 1,
                  "offline_after": 2, "options": {"device": "bme280"}},
                 {"id": "probe", "room": "a", "driver": "ds18b20", "interval": 1}],
        extra={"hardware": {"sysfs": str(fake_sysfs.root)}})
    server.add_user("root", admin=True)
    token = server.token("root")
    seen = wait_for(server, token, lambda s: all(x["latest"] for x in s.values()),
                    "both sensors read")
    assert seen["bme"]["latest"]["pressure"] == 1013.25
    assert seen["probe"]["latest"]["temperature"] == 18.5
    bme.unplug()
    seen = wait_for(server, token, lambda s: s["bme"]["state"]["state"] == "offline",
                    "the unplugged BME280 offline")
    assert f"not_found: {fake_sysfs.root}/bus/iio/devices: no IIO device named 'bme280'" \
        in seen["bme"]["state"]["error"]
    assert seen["probe"]["state"]["state"] == "ok"
    bme.plug()
    bme.set("in_pressure_input", "100.5")
    wait_for(server, token, lambda s: s["bme"]["state"]["state"] == "ok"
             and s["bme"]["latest"]["pressure"] == 1005.0, "the BME280 back")
    assert server.proc.poll() is None
