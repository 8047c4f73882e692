"""The dashboard in a real headless Chromium against the real server on loopback: live
charts, reconnects, rights, the kiosk token, alerts (the harness: conftest.py)."""

from __future__ import annotations

import bisect
import itertools
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from sensorhub.readings import Reading
from sensorhub.storage.store import Store
from tests.conftest import PASSWORD, LiveServer, start_server

pytestmark = pytest.mark.browser

INTERVAL = 0.2  # the mock sensors of the default test config
# wait_for_function is given functions: a bare expression would need eval, which the CSP refuses
# settled: history in, the charts drawn with it (a redraw waits for the next frame), and
# the zoom plugin, which is loaded once they are, taken up
SETTLED = ("() => document.body.dataset.ready === '1' && sensorhub.state.loading === 0"
           " && !sensorhub.state.drawing && document.body.dataset.zoom === '1'")
# History answers wait until the test calls window.__release() (from then on they pass):
# the page as on a slow link.
HOLD_HISTORY = r"""
(() => {
  const held = [];
  let holding = true;
  window.__release = () => { holding = false; while (held.length) held.shift()(); };
  let io;
  Object.defineProperty(window, 'io', { configurable: true, get: () => io, set: (real) => {
    io = (...args) => {
      const socket = real(...args);
      const emit = socket.emit.bind(socket);
      socket.emit = (event, ...rest) => {
        const ack = rest.at(-1);
        if (event === 'history' && holding && typeof ack === 'function') {
          rest[rest.length - 1] = (...answer) => held.push(() => ack(...answer));
        }
        return emit(event, ...rest);
      };
      return socket;
    };
  } });
})();
"""


def log_in(page: Any, server: LiveServer, name: str, password: str = PASSWORD) -> None:
    """Log in through the real form and wait until the dashboard has applied its history."""
    if urlsplit(page.url).path != "/login":
        page.goto(server.url + "/")
        assert urlsplit(page.url).path == "/login"  # anonymous, and no public room
    # autofocus is applied at the next rendering update, not at load
    page.wait_for_function("() => document.activeElement.id === 'username'", timeout=5000)
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    page.wait_for_function(SETTLED, timeout=15000)


def points(page: Any, sensor: str) -> list[list[float | None]]:
    """The [x, y] points of a sensor's temperature dataset."""
    return page.evaluate(
        "(id) => sensorhub.charts.get(id).data.datasets[0].data.map((p) => [p.x, p.y])", sensor)


def zoom_to_raw(page: Any, seconds: float = 100) -> None:
    """Show a window short enough for the server to send every reading (step < interval)."""
    page.evaluate("(s) => sensorhub.setRange(s)", seconds)
    page.wait_for_function(SETTLED)
    step = page.evaluate("sensorhub.state.sensors.get('a1').step")
    assert step < INTERVAL, step


def assert_no_gap(page: Any, server: LiveServer, since: float) -> None:
    """Sensor a1's chart shows every reading the server has since ``since``, in order.

    The chart asked for buckets shorter than the interval, but catch-up reads of a
    poller starved of CPU may share one: a reading counts as shown when a point lies
    within one bucket of it. The line breaks, and points are more than about two
    intervals apart, only where the server's own readings are that far apart.
    """
    live = [p for p in points(page, "a1") if p[0] >= since]
    assert len(live) > 10, live
    shown = [round(p[0] * 1000) for p in live if p[1] is not None]
    breaks = [round(p[0] * 1000) for p in live if p[1] is None]
    assert shown == sorted(set(shown)), "points out of order or duplicated"
    answer = page.request.get(f"{server.url}/api/history", params={
        "sensor": "a1", "since": since, "until": live[-1][0] + 0.001, "max_points": 10000}).json()
    stored = [round(p[0] * 1000) for p in answer["points"]]
    bucket = round(page.evaluate("sensorhub.state.sensors.get('a1').step") * 1000)

    def near(ts: int, within: int) -> bool:
        i = bisect.bisect_left(shown, ts - within)
        return i < len(shown) and shown[i] <= ts + within

    missing = [ts for ts in stored if not near(ts, bucket)]
    assert not missing, f"{len(missing)} readings missing from the chart: {missing[:10]}"
    server_gap = 3 * max(bucket, INTERVAL * 1000)  # where the dashboard breaks its line

    def server_gap_at(ts: int) -> int:
        i = bisect.bisect_left(stored, ts)
        return stored[i] - stored[i - 1] if 0 < i < len(stored) else 0

    wrong = [ts for ts in breaks if server_gap_at(ts) <= server_gap - bucket]
    assert not wrong, f"the line breaks where the server has readings: {wrong}"
    allowed = max([2 * INTERVAL + 0.5] + [(b - a) / 1000 for a, b in itertools.pairwise(stored)])
    widest = max((b - a) / 1000 for a, b in itertools.pairwise(shown))
    assert widest <= allowed + bucket / 1000, f"gap of {widest:.2f} s in the chart"


def test_dashboard_loads_and_fills_live_offline(open_page: Any, live_server: LiveServer) -> None:
    page, watch = open_page(viewport={"width": 1280, "height": 800})
    log_in(page, live_server, "root")
    assert page.locator(".room h2").all_inner_texts() == ["Room A", "Room B"]
    assert sorted(page.evaluate("[...sensorhub.charts.keys()]")) == ["a1", "b1"]
    assert page.locator("#conn").get_attribute("data-state") == "live"
    assert page.locator(".card[data-sensor=a1] .badge").inner_text().lower() == "ok"

    # the default hour of a server that started seconds ago: the chart spans the data it
    # has (fetched again at that span's step), and stays bounded as readings arrive
    first = points(page, "a1")[0][0]
    assert page.evaluate("sensorhub.charts.get('a1').scales.x.min") > first - 5
    before = page.evaluate("sensorhub.lastTs.get('a1')")
    page.wait_for_function("(t) => sensorhub.lastTs.get('a1') > t + 1", arg=before)
    assert len(points(page, "a1")) <= 3 * 600 + 10

    # a short window: every reading is a point, and live ones keep arriving
    zoom_to_raw(page)
    newest = points(page, "a1")[-1][0]
    time.sleep(2)
    after = points(page, "a1")
    assert len([p for p in after if p[0] > newest]) >= 5, "no live points in 2 s"
    assert_no_gap(page, live_server, after[0][0])

    # the controls: a range button reloads history, °F converts what is shown
    day = page.locator("#ranges button[data-range='86400']")
    day.click()
    assert day.get_attribute("aria-pressed") == "true"
    page.wait_for_function(SETTLED)
    assert points(page, "a1"), "the 24 h range shows nothing"
    celsius = float(page.locator(".card[data-sensor=a1] .t").inner_text())
    page.click("#units button[data-unit='F']")
    fahrenheit = float(page.locator(".card[data-sensor=a1] .t").inner_text())
    assert abs(fahrenheit - (celsius * 1.8 + 32)) < 1.5  # a new reading may land between
    assert page.evaluate("localStorage.getItem('sensorhub.unit')") == "F"
    watch.assert_clean(page)


def test_reconnect_and_missed_readings_leave_no_gap(open_page: Any,
                                                     live_server: LiveServer) -> None:
    page, watch = open_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    log_in(page, live_server, "alice")
    zoom_to_raw(page)
    start = points(page, "a1")[0][0]

    # a Wi-Fi blip: the server keeps producing readings while the socket is down
    page.evaluate("sensorhub.socket.disconnect()")
    assert page.locator("#conn").get_attribute("data-state") == "down"
    down_at = page.evaluate("sensorhub.serverNow()")
    time.sleep(2)
    page.evaluate("sensorhub.socket.connect()")
    page.wait_for_function(f"() => sensorhub.state.snapshots === 2 && ({SETTLED})()")
    page.wait_for_function("(t) => sensorhub.lastTs.get('a1') > t + 1", arg=down_at + 2)
    assert_no_gap(page, live_server, start)
    blip = [p for p in points(page, "a1") if down_at + 0.5 < p[0] < down_at + 1.5]
    assert blip, "the blip was not backfilled"

    # messages lost on a live socket: the seq jump is noticed and backfilled
    page.evaluate("""() => {
      const socket = sensorhub.socket, [handler] = socket.listeners('reading');
      let dropped = 0;
      socket.off('reading', handler);
      socket.on('reading', (r) => {
        if (r.sensor === 'a1' && dropped < 8) dropped++; else handler(r);
      });
    }""")
    lost_at = page.evaluate("sensorhub.serverNow()")
    page.wait_for_function("(t) => sensorhub.lastTs.get('a1') > t + 2.2", arg=lost_at)
    page.wait_for_function(SETTLED)
    assert_no_gap(page, live_server, start)
    watch.assert_clean(page)


def test_user_sees_only_rooms_they_have_rights_to(open_page: Any,
                                                 live_server: LiveServer) -> None:
    page, watch = open_page()
    page.goto(live_server.url + "/")
    page.fill("#username", "alice")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "Wrong user name or password."
    assert len(watch.failed) == 1 and watch.failed[0].endswith("/login: HTTP 401")
    watch.failed.clear()  # the one expected failure, which Chromium also logs
    watch.errors[:] = [e for e in watch.errors if "status of 401" not in e]
    log_in(page, live_server, "alice")
    assert page.locator(".room").evaluate_all("(els) => els.map((e) => e.dataset.room)") == ["a"]
    assert page.locator(".card").evaluate_all("(els) => els.map((e) => e.dataset.sensor)") == ["a1"]
    assert page.evaluate("[...sensorhub.charts.keys()]") == ["a1"]
    assert "B one" not in page.content()
    page.click("button:has-text('Log out')")
    page.wait_for_url(lambda url: urlsplit(url).path == "/login")
    watch.assert_clean(page)


def test_kiosk_token_from_the_address_bar(open_page: Any, server_factory: Any) -> None:
    server = server_factory(rooms=[{"id": "a", "name": "Room A"},
                                   {"id": "b", "name": "Room B", "public": True}])
    server.add_user("alice", rooms=("a",))
    token = server.token("alice")
    page, watch = open_page()
    rooms = "() => [...document.querySelectorAll('.room')].map((e) => e.dataset.room)"

    page.goto(server.url + "/")  # anonymous: the public room only
    page.wait_for_function(SETTLED)
    assert page.evaluate(rooms) == ["b"]
    assert page.locator(".who .user").inner_text() == "public view"

    page.goto(f"{server.url}/?token={token}")  # a kiosk's link: the kiosk layout
    page.wait_for_function(SETTLED)
    assert page.evaluate(rooms) == ["a", "b"]
    assert "token" not in page.url, "the token stayed in the address bar"
    assert page.locator("body.kiosk").count() == 1 and page.locator(".who").count() == 0
    assert page.evaluate("sensorhub.state.user.name") == "alice"
    page.reload()  # a wall screen reloaded: the token is kept for the tab, not the address
    page.wait_for_function(SETTLED)
    assert page.evaluate(rooms) == ["a", "b"] and "token" not in page.url
    watch.assert_clean(page)


def test_kiosk_link_keeps_its_token_out_of_every_request_line(open_page: Any,
                                                              server_factory: Any) -> None:
    """Issue 12 item 12: /kiosk#token=... (no room is public here, so nothing else
    would show); the token travels only in the socket's connect packet and the
    Authorization header, never in a URL a server or proxy could log."""
    server = server_factory()
    server.add_user("alice", rooms=("a",))
    token = server.token("alice")
    page, watch = open_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda socket: urls.append(socket.url))
    page.goto(f"{server.url}/kiosk#token={token}")
    page.wait_for_function(SETTLED)
    rooms = "() => [...document.querySelectorAll('.room')].map((e) => e.dataset.room)"
    assert page.evaluate(rooms) == ["a"]
    # the kiosk layout has no header: who the page signed in as is in its state
    assert page.locator("body.kiosk").count() == 1
    assert page.evaluate("sensorhub.state.user.name") == "alice"
    assert "token" not in page.url, "the token stayed in the address bar"
    assert any("/socket.io/" in u for u in urls) and len(urls) > 5
    leaked = [u for u in urls if token in u or "token=" in u]
    assert not leaked, leaked
    watch.assert_clean(page)


def test_alerts_banner_history_and_sensor_health(open_page: Any, server_factory: Any) -> None:
    server = server_factory(sensors=[
        {"id": "a1", "name": "Bench", "room": "a", "driver": "mock", "interval": 0.2,
         "alerts": [{"quantity": "temperature", "above": -50, "for": 0.3}]},
        {"id": "b1", "room": "b", "driver": "mock", "interval": 0.2}])
    server.add_user("root", admin=True)
    page, watch = open_page(viewport={"width": 1280, "height": 800})
    log_in(page, server, "root")
    page.wait_for_selector("#alerts:not([hidden])", timeout=10000)
    banner = page.locator("#alerts").inner_text()
    assert "Bench: temperature above -50.0 °C" in banner
    assert page.locator(".card[data-sensor=a1]").get_attribute("class").split().count("alarm") == 1
    assert "alarm" not in page.locator(".card[data-sensor=b1]").get_attribute("class")
    page.click("#units [data-unit=F]")  # the banner follows the unit
    assert "above -58.0 °F" in page.locator("#alerts").inner_text()
    page.click("#history summary")
    page.wait_for_selector("#alert-list li.firing")
    assert "still firing" in page.locator("#alert-list").inner_text()
    page.click(".card[data-sensor=a1] .more summary")
    page.wait_for_function(
        "() => document.querySelector('.card[data-sensor=a1] .health').children.length > 4")
    health = page.locator(".card[data-sensor=a1] .health").inner_text()
    assert "good of" in health and "power cycles" in health
    dew = page.locator(".card[data-sensor=a1] .dew").inner_text()
    assert dew.startswith("dew point ")
    watch.assert_clean(page)


def test_live_points_before_history_and_zoom_after_it(open_page: Any, tmp_path: Path,
                                                      async_mode: str) -> None:
    """Readings are drawn as they come, before any history (held back here); the zoom
    plugin is fetched only once history is drawn, and then zooms every chart."""
    # ten minutes of history: a chart spans the data it has, and the wheel cannot zoom
    # below the plugin's 60-s minimum range (a younger server's chart would not zoom)
    store = Store(tmp_path / "data" / "test.db")
    now = time.time()
    for i in range(60):
        store.add(Reading("a1", "a", now - 600 + 10 * i, i, 20.0 + i % 7 / 10, 50.0))
    store.close()
    live_server = start_server(tmp_path, async_mode)
    live_server.add_user("alice", rooms=("a",))
    try:
        zoom_after_history(open_page, live_server)
    finally:
        assert live_server.stop() == 0, live_server.log()


def zoom_after_history(open_page: Any, live_server: LiveServer) -> None:
    """The steps of the test above, on its server."""
    page, watch = open_page(viewport={"width": 1280, "height": 800})
    page.context.add_init_script(HOLD_HISTORY)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(urlsplit(r.url).path))
    page.goto(live_server.url + "/")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    page.wait_for_function("() => sensorhub.charts.get('a1')?.data.datasets[0].data"
                           ".filter((p) => p.y !== null).length >= 3", timeout=10000)
    assert page.evaluate("sensorhub.state.loading") > 0  # still no history: held
    assert page.evaluate("document.body.dataset.ready") is None
    early = [p[0] for p in points(page, "a1") if p[1] is not None]
    assert "/static/vendor/chart.zoom.min.js" not in requested
    assert page.evaluate("typeof sensorhub.charts.get('a1').zoom") == "undefined"

    page.evaluate("window.__release()")
    page.wait_for_function(SETTLED, timeout=15000)
    assert requested.count("/static/vendor/chart.zoom.min.js") == 1
    shown = [p[0] for p in points(page, "a1") if p[1] is not None]
    assert shown == sorted(set(shown)), "points out of order or duplicated"
    step = page.evaluate("sensorhub.state.sensors.get('a1').step")
    assert shown[-1] >= early[-1] - step and shown[0] < early[0]  # history under them
    canvas = page.locator(".card[data-sensor=a1] .chart canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)  # a chart made before the plugin came zooms: a fixed window
    page.wait_for_function("() => !sensorhub.state.view.live")
    watch.assert_clean(page)
