"""What the dashboard's explore, export, statistics, acknowledge and kiosk features ask
of the server, in-process: answers, units, rights and refusals."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest

from tests.web.conftest import Site, received

ALARMED = [
    {"id": "a1", "name": "A one", "room": "a", "driver": "mock", "interval": 0.2,
     "options": {"seed": 1}, "alerts": [{"quantity": "temperature", "above": -50}]},
    {"id": "b1", "name": "B one", "room": "b", "driver": "mock", "interval": 0.2,
     "options": {"seed": 2, "pressure": True}},
]


def readings(site: Site, times: int) -> None:
    """Take real readings of every sensor, at least a millisecond apart, and store them."""
    for _ in range(times):
        site.poll()
        time.sleep(0.002)
    site.flush()


def test_statistics_by_hour_day_and_month_with_the_rights_of_history(site: Site) -> None:
    site.add_user("alice", rooms=("a",))
    readings(site, 5)
    alice = site.bearer("alice")
    client = site.client()
    for period in ("hour", "day", "month"):
        body = client.get(f"/api/statistics?sensor=a1&period={period}", headers=alice).get_json()
        assert body["fields"][:6] == ["start", "label", "temperature_mean", "temperature_min",
                                      "temperature_max", "temperature_n"]
        [row] = body["rows"]  # five readings, all in this hour, day and month
        assert row[5] == 5 and row[3] <= row[2] <= row[4], row
    assert client.get("/api/statistics?sensor=b1", headers=alice).status_code == 404
    assert client.get("/api/statistics?sensor=a1").status_code == 401
    for query, reason in [("sensor=a1&period=week", "period must be hour, day or month"),
                          ("sensor=a1&since=monday", "since must be a number"),
                          ("sensor=a1&period=hour&since=0", "hourly statistics cover at most "
                                                             "366 days: ask for days"),
                          ("period=day", "sensor must be a sensor id")]:
        answer = client.get(f"/api/statistics?{query}", headers=alice)
        assert answer.status_code == 400 and answer.get_json() == {"error": reason}, query


def test_export_of_several_sensors_in_fahrenheit_as_csv_and_json(make_site) -> None:
    site = make_site(sensors=ALARMED)
    site.add_user("root", admin=True)
    site.add_user("alice", rooms=("a",))
    readings(site, 4)
    root = site.bearer("root")
    client = site.client()
    since, until = time.time() - 60, time.time()
    celsius = list(csv.reader(io.StringIO(client.get(
        f"/api/export.csv?sensor=a1&since={since}&until={until}", headers=root
    ).get_data(as_text=True))))[1:]
    answer = client.get(f"/api/export.csv?sensor=a1&sensor=b1&since={since}&until={until}"
                        "&unit=F", headers=root)
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="a1+b1_')
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0] == ["sensor", "time_utc", "epoch", "temperature_f", "humidity_pct",
                       "pressure_hpa"]  # b1 measures pressure
    assert [r[0] for r in rows[1:]] == ["a1"] * 4 + ["b1"] * 4
    assert [float(r[3]) for r in rows[1:5]] == [round(float(r[3]) * 1.8 + 32, 2) for r in celsius]
    assert rows[1][5] == "" and float(rows[5][5]) > 900

    body = json.loads(client.get(f"/api/export.json?sensor=b1&sensor=a1&since={since}"
                                 f"&until={until}&unit=F", headers=root).get_data(as_text=True))
    assert (body["since"], body["until"], body["unit"]) == (since, until, "F")
    assert [s["id"] for s in body["sensors"]] == ["b1", "a1"]
    b1, a1 = body["sensors"]
    assert b1["fields"] == ["ts", "temperature", "humidity", "pressure"]
    assert a1["units"] == {"temperature": "°F", "humidity": "%"}
    assert [r[1] for r in a1["readings"]] == [float(r[3]) for r in rows[1:5]]
    assert len(b1["readings"]) == 4 and all(len(r) == 4 for r in b1["readings"])

    alice = site.bearer("alice")
    assert client.get("/api/export.json?sensor=a1&sensor=b1", headers=alice).status_code == 404
    for query, reason in [("sensor=a1&unit=K", "unit must be C or F"),
                          ("since=0", "sensor is required"),
                          ("sensor=a1&since=5&until=1", "since is after until")]:
        answer = client.get(f"/api/export.json?{query}", headers=alice)
        assert answer.status_code == 400 and answer.get_json() == {"error": reason}, query


def test_a_firing_alert_is_acknowledged_by_name_and_everyone_sees_it(make_site) -> None:
    site = make_site(sensors=ALARMED, rooms=[{"id": "a", "name": "A", "public": True},
                                             {"id": "b", "name": "B"}])
    site.add_user("alice", rooms=("a",))
    site.add_user("bob", rooms=("b",))
    alice = site.socket(client=site.login("alice"))
    viewer = site.socket()  # anonymous, on the public room
    bob = site.socket(auth={"token": site.token("bob")})  # room b, and the public room a
    readings(site, 1)
    [firing] = [a for a in received(alice, "alert") if a["state"] == "firing"]
    assert firing["acked"] is None and received(viewer, "alert")

    refused = viewer.emit("acknowledge", {"sensor": "a1", "kind": "temperature_above"},
                          callback=True)
    assert refused == {"error": "log in to acknowledge alerts"}
    assert alice.emit("acknowledge", {"sensor": "b1", "kind": "offline"},
                      callback=True) == {"error": "unknown sensor"}  # room b is not hers
    assert alice.emit("acknowledge", {"sensor": "a1", "kind": "offline"},
                      callback=True) == {"error": "that alert is not firing"}
    assert alice.emit("acknowledge", ["a1"], callback=True) == {
        "error": "bad request: expected {sensor, kind}"}
    answer = alice.emit("acknowledge", {"sensor": "a1", "kind": "temperature_above"},
                        callback=True)
    assert answer["alert"]["acked_by"] == "alice" and answer["alert"]["state"] == "firing"
    assert abs(answer["alert"]["acked"] - time.time()) < 5
    [seen] = received(viewer, "alert")
    assert (seen["state"], seen["acked_by"]) == ("acknowledged", "alice")
    assert [a["state"] for a in received(bob, "alert")] == ["firing", "acknowledged"]

    later = site.socket(client=site.login("alice"))  # the snapshot says it too
    [alert] = received(later, "snapshot")[0]["alerts"]
    assert (alert["state"], alert["acked_by"]) == ("firing", "alice")
    episodes = later.emit("alert_history", {"sensor": "a1", "since": time.time() - 60},
                          callback=True)["alerts"]
    assert [(e["kind"], e["acked_by"]) for e in episodes] == [("temperature_above", "alice")]
    assert later.emit("alert_history", {"sensor": "b1"}, callback=True) == {
        "error": "unknown sensor"}
    assert later.emit("alert_history", {"since": "x"}, callback=True) == {
        "error": "bad request: since must be a number"}


def test_the_kiosk_page_and_the_first_run_hint(site: Site) -> None:
    assert site.client().get("/").status_code == 302  # no public room: log in first
    site.add_user("alice", rooms=("a",))
    token = site.token("alice")
    # /kiosk renders for anyone: its token is in the #fragment, which no request carries,
    # and the socket decides what the page may show (docs/protocol.md)
    pages = [site.client().get("/kiosk"), site.client().get(f"/?token={token}"),
             site.login("alice").get("/kiosk")]
    for page in (answer.get_data(as_text=True) for answer in pages):
        assert 'class="kiosk"' in page and "Log in" not in page and "first-run" not in page
        assert 'id="controls"' not in page  # no header clutter on a wall screen

    password_file = site.config.initial_password_path
    admin = site.login("admin", password_file.read_text().strip())
    page = admin.get("/").get_data(as_text=True)
    assert 'id="first-run"' in page and str(password_file) in page
    assert "sensorhub user add" in page and str(site.config.source) in page
    assert 'class="kiosk"' not in page
    assert 'id="first-run"' not in site.login("alice").get("/").get_data(as_text=True)
    password_file.unlink()  # the admin has read it and deleted it: the hint goes
    assert 'id="first-run"' not in admin.get("/").get_data(as_text=True)


@pytest.mark.parametrize("value", ["null", "3650"])
def test_statistics_retention_is_a_storage_setting(make_site, value: str) -> None:
    site = make_site(storage={"statistics_retention_days": None if value == "null"
                              else float(value)})
    expected = None if value == "null" else 3650.0
    assert site.config.storage.statistics_retention_days == expected
    assert site.web.hub.store.statistics_retention_days == expected
