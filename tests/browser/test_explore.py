"""Exploring history in Chromium: charts that fit, zoom and pan with the window in the
address (Back undoes a zoom), compare, the statistics table and exports, against a real
server whose database was seeded with nine days of one sensor (tests/browser/seeding.py).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.browser.conftest import screenshot
from tests.browser.seeding import DAY, Seeded, seed
from tests.browser.test_browser import SETTLED, log_in
from tests.conftest import ASYNC_MODES, LiveServer, start_server

pytestmark = pytest.mark.browser

SENSORS = [  # a1 and b1 read once a minute, as seeded: their history has no gaps but one
    {"id": "a1", "name": "Bench", "room": "a", "driver": "mock", "interval": 60.0,
     "options": {"seed": 1}},
    {"id": "b1", "name": "Cellar", "room": "b", "driver": "mock", "interval": 60.0,
     "options": {"seed": 2, "profile": "cellar"}},
    {"id": "c1", "name": "Office air", "room": "a", "driver": "mock", "interval": 1.0,
     "options": {"seed": 3, "pressure": True, "co2": True}},
]
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Seeded]]:
    """One server (the first async mode: the page's logic does not depend on it)."""
    directory = tmp_path_factory.mktemp("explore")
    history = seed(directory)
    server = start_server(directory, ASYNC_MODES[0], sensors=SENSORS)
    server.add_user("root", admin=True)
    yield server, history
    assert server.stop() == 0, server.log()


def chart(page: Any, sensor: str, expr: str) -> Any:
    """Evaluate ``expr`` with ``c`` the sensor's chart and ``s`` its series."""
    return page.evaluate(f"(id) => {{ const c = sensorhub.charts.get(id); "
                         f"const s = sensorhub.state.sensors.get(id); return {expr}; }}", sensor)


def legend(page: Any, sensor: str) -> list[str]:
    """The legend under a sensor's chart, as shown."""
    return page.locator(f".card[data-sensor={sensor}] .legend button").all_inner_texts()


def query(page: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def open_dashboard(open_page: Any, server: LiveServer, path: str = "/", **context: Any
                   ) -> tuple[Any, Any]:
    page, watch = open_page(**(context or DESKTOP))
    log_in(page, server, "root")
    if path != "/":
        page.goto(server.url + path)
        page.wait_for_function(SETTLED, timeout=15000)
    return page, watch


def test_charts_fit_the_data_they_have(open_page: Any, seeded: Any) -> None:
    server, history = seeded
    for scheme in ("light", "dark"):
        page, watch = open_dashboard(open_page, server, "/?range=24h", **DESKTOP,
                                     color_scheme=scheme)
        now = page.evaluate("sensorhub.serverNow()")
        # a1 has nine days: the x axis is the whole day; b1 has two hours: it spans those
        assert abs(chart(page, "a1", "c.scales.x.min") - (now - DAY)) < 30
        assert chart(page, "a1", "s.el.since.textContent") == ""
        assert abs(chart(page, "b1", "c.scales.x.min") - history.first["b1"]) < 200
        assert chart(page, "b1", "s.el.since.textContent").startswith("collecting since ")
        for sensor in ("a1", "b1", "c1"):  # 0.1 °C steps are no zig-zag; humidity not 0-100
            t_span = chart(page, sensor, "c.scales.y.max - c.scales.y.min")
            h = chart(page, sensor, "[c.scales.y1.min, c.scales.y1.max]")
            assert t_span >= 2 and 10 <= h[1] - h[0] < 100, (sensor, t_span, h)
        assert legend(page, "c1") == ["temperature", "humidity", "pressure", "CO₂"]
        assert legend(page, "a1") == ["temperature", "humidity"]
        # the sensor offline 10-12 h ago is a gap, and its lone reading there a dot
        data = chart(page, "a1", "c.data.datasets[0].data")
        gaps = [d["x"] for d in data if d["y"] is None]
        assert any(history.gap[0] < x < history.gap[1] for x in gaps), gaps
        dots = chart(page, "a1", "c.$marks.dots")  # the x of each dot drawn
        assert len(dots) == 1 and abs(dots[0] - history.lone) < 200, dots
        screenshot(page, f"charts-24h-desktop-{scheme}", full_page=True)
        watch.assert_clean(page)

    page, watch = open_dashboard(open_page, server, "/?range=7d")
    # seven days come from 15-minute rollups: a min/max band around the mean, and the hot
    # day's half-hour at 27-35 °C stays in the band however much the mean smooths it
    band = chart(page, "a1", "c.data.datasets[2].data.map((d, i) => d.y - "
                             "c.data.datasets[1].data[i].y).filter((v) => v > 0).length")
    assert band > 100
    assert chart(page, "a1", "Math.max(...c.data.datasets[2].data.map((d) => d.y))") == 35.0
    assert chart(page, "a1", "Math.max(...c.data.datasets[0].data.map((d) => d.y))") < 35.0
    page.click("#ranges button[data-range='31536000']")
    page.wait_for_function(SETTLED)
    # a year of which a1 has nine days: those nine days, at the step of nine days
    assert chart(page, "a1", "s.el.since.textContent").startswith("collecting since ")
    assert abs(chart(page, "a1", "c.scales.x.min") - history.first["a1"]) < 0.03 * 9 * DAY
    assert 900 <= chart(page, "a1", "s.step") <= 1800 and chart(page, "a1", "s.pts.length") > 400
    screenshot(page, "charts-1y-desktop-light")
    watch.assert_clean(page)


def wheel(page: Any, sensor: str, dy: float, at: float = 0.5) -> None:
    canvas = page.locator(f".card[data-sensor={sensor}] .chart canvas")
    canvas.scroll_into_view_if_needed()  # touches below the fold reach nothing (first-run note)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * at, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, dy)


def test_zoom_pan_back_and_a_custom_range(open_page: Any, seeded: Any) -> None:
    server, _history = seeded
    page, watch = open_dashboard(open_page, server, "/?range=24h")
    day_step = chart(page, "a1", "s.step")
    for _ in range(10):  # zoom in, left of now: a fixed window
        wheel(page, "a1", -600, at=0.4)
    page.wait_for_function("() => new URL(location.href).searchParams.has('from')")
    page.wait_for_function(SETTLED)
    zoomed = query(page)
    assert set(zoomed) == {"from", "to"}, zoomed
    span = chart(page, "a1", "c.scales.x.max - c.scales.x.min")
    assert 600 < span < 0.4 * DAY
    for sensor in ("b1", "c1"):  # every chart follows
        assert chart(page, sensor, "[c.scales.x.min, c.scales.x.max]") == chart(
            page, "a1", "[c.scales.x.min, c.scales.x.max]")
    assert chart(page, "a1", "s.step") < day_step  # fetched again, at a finer tier
    assert page.locator("#window").is_visible()
    screenshot(page, "zoomed-desktop-light")

    page.go_back()  # Back undoes the zoom
    page.wait_for_function("() => new URL(location.href).searchParams.get('range') === '24h'")
    page.wait_for_function(SETTLED)
    assert abs(chart(page, "a1", "c.scales.x.max - c.scales.x.min") - DAY) < 60
    page.go_forward()
    page.wait_for_function("() => new URL(location.href).searchParams.has('from')")
    assert query(page) == zoomed

    # shift-drag a box: that window exactly; then drag to pan back in time
    box = page.locator(".card[data-sensor=a1] .chart canvas").bounding_box()
    area = chart(page, "a1", "c.chartArea")
    left, right = box["x"] + area["left"] + 40, box["x"] + area["left"] + 140
    y = box["y"] + (area["top"] + area["bottom"]) / 2
    expect = chart(page, "a1", f"[c.scales.x.getValueForPixel({area['left'] + 40}), "
                               f"c.scales.x.getValueForPixel({area['left'] + 140})]")
    page.keyboard.down("Shift")
    page.mouse.move(left, y)
    page.mouse.down()
    page.mouse.move((left + right) / 2, y, steps=4)
    page.mouse.move(right, y, steps=4)
    page.mouse.up()
    page.keyboard.up("Shift")
    page.wait_for_function("(f) => new URL(location.href).searchParams.get('from') !== f",
                           arg=zoomed["from"])
    page.wait_for_function(SETTLED)
    boxed = chart(page, "a1", "[c.scales.x.min, c.scales.x.max]")
    assert abs(boxed[0] - expect[0]) < 0.05 * (expect[1] - expect[0]) + 2, (boxed, expect)
    assert abs(boxed[1] - expect[1]) < 0.05 * (expect[1] - expect[0]) + 2, (boxed, expect)
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=8)
    page.mouse.up()
    page.wait_for_function("(t) => sensorhub.charts.get('a1').scales.x.max < t - 1",
                           arg=boxed[1])
    page.wait_for_function("(t) => +new Date(new URL(location.href).searchParams.get('to')) / 1000"
                           " < t - 1", arg=boxed[1])
    page.wait_for_function(SETTLED)
    assert chart(page, "a1", "s.fetched.since") <= chart(page, "a1", "c.scales.x.min")

    page.dblclick(".card[data-sensor=b1] .chart canvas")  # double-click: back to live
    page.wait_for_function("() => new URL(location.href).searchParams.get('range') === '24h'")
    assert page.locator("#window").is_hidden()

    # a custom range from the dialog, then the same link opened elsewhere
    page.click("#custom")
    start = time.localtime(time.time() - 2 * DAY)
    page.fill("#range-from", time.strftime("%Y-%m-%dT09:00", start))
    page.fill("#range-to", time.strftime("%Y-%m-%dT15:30", start))
    screenshot(page, "custom-range-dialog-desktop-light")
    page.click("#range-show")
    page.wait_for_function("() => new URL(location.href).searchParams.has('to')")
    page.wait_for_function(SETTLED)
    a = time.mktime((*start[:3], 9, 0, 0, 0, 0, -1))
    assert chart(page, "a1", "[c.scales.x.min, c.scales.x.max]") == [a, a + 6.5 * 3600]
    shared = page.url
    other, other_watch = open_dashboard(open_page, server)
    other.goto(shared)
    other.wait_for_function(SETTLED)
    assert chart(other, "c1", "[c.scales.x.min, c.scales.x.max]") == [a, a + 6.5 * 3600]
    assert "from=" in other.url and other.locator("#window .what").inner_text()
    watch.assert_clean(page)
    other_watch.assert_clean(other)


def test_compare_sensors_and_yesterday(open_page: Any, seeded: Any) -> None:
    server, _history = seeded
    page, watch = open_dashboard(open_page, server, "/?range=6h&compare=yesterday&sensors=a1,b1")
    assert page.locator(".card").evaluate_all("(e) => e.map((c) => c.dataset.sensor)") == [
        "a1", "b1"]
    assert page.locator("#overlay").is_visible()
    overlay = "sensorhub.charts.get('overlay')"
    labels = page.evaluate(f"{overlay}.data.datasets.map((d) => d.label)")
    colours = page.evaluate(f"{overlay}.data.datasets.map((d) => d.borderColor)")
    assert labels == ["Bench", "Cellar"] and len(set(colours)) == 2, (labels, colours)
    page.wait_for_function(f"() => {overlay}.data.datasets.every((d) => d.data.length > 0)")
    # yesterday's line for a1 (seeded), drawn over today's window
    page.wait_for_function("() => sensorhub.state.sensors.get('a1').cmpSets[0].data.length > 50")
    xs = chart(page, "a1", "s.cmpSets[0].data.filter((d) => d.y != null).map((d) => d.x)")
    lo, hi = chart(page, "a1", "[c.scales.x.min, c.scales.x.max]")
    assert min(xs) >= lo - 600 and max(xs) <= hi + 2 * 3600
    assert legend(page, "a1") == ["temperature", "humidity", "temperature yesterday",
                                  "humidity yesterday"]
    page.click(".card[data-sensor=a1] .legend button:has-text('humidity yesterday')")
    assert chart(page, "a1", "c.data.datasets.filter((d, i) => !c.isDatasetVisible(i))"
                             ".map((d) => d.label)") == ["humidity yesterday"]
    screenshot(page, "compare-desktop-light", full_page=True)

    page.click("#overlay-q button[data-quantity=humidity]")
    page.wait_for_function("() => new URL(location.href).searchParams.get('quantity') === "
                           "'humidity'")
    page.click("#picker summary")
    page.check("#picks input[value=c1]")
    page.wait_for_function("() => new URL(location.href).searchParams.get('sensors') === "
                           "'a1,b1,c1'")
    page.wait_for_function(SETTLED)
    assert page.evaluate(f"{overlay}.data.datasets.length") == 3
    page.select_option("#compare", "last_week")
    page.wait_for_function("() => new URL(location.href).searchParams.get('compare') === "
                           "'last_week'")
    page.wait_for_function("() => sensorhub.state.sensors.get('a1').cmp.shift === 604800")
    watch.assert_clean(page)


def test_the_daily_table_picks_the_hottest_and_coldest_days(open_page: Any, seeded: Any) -> None:
    server, history = seeded
    for name, context in (("desktop", DESKTOP), ("phone", PHONE)):
        for scheme in ("light", "dark"):
            page, watch = open_dashboard(open_page, server, "/?range=30d&view=table&sensor=a1",
                                         **context, color_scheme=scheme)
            page.wait_for_selector("#table tbody tr")
            rows = page.locator("#table tbody tr")
            assert rows.count() >= 9
            hot = page.locator("#table tr.hottest")
            cold = page.locator("#table tr.coldest")
            assert hot.count() == 1 and cold.count() == 1
            assert "35.0°C" in hot.inner_text() and "5.0°C" in cold.inner_text()
            day = time.strftime("%-d", time.localtime(history.hot_day))
            assert day in hot.locator("th").inner_text()
            assert page.locator("#table .extremes").inner_text().startswith("Hottest:")
            assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size[
                "width"], "the page scrolls sideways"
            screenshot(page, f"table-{name}-{scheme}", full_page=True)
            watch.assert_clean(page)
    page.click("#periods button[data-period=month]")
    page.wait_for_function("() => document.querySelector('#table .title').textContent"
                           ".startsWith('Monthly')")
    assert page.locator("#table tbody tr").count() in (1, 2)  # nine days: one or two months
    assert "period=month" in page.url


def test_a_busy_server_refusing_statistics_is_asked_again(open_page: Any,
                                                         seeded: Any) -> None:
    """A 503 (every query slot busy) or 429 (over the history limit) is a "not now":
    the table says so and asks again after Retry-After, instead of staying empty."""
    server, _history = seeded
    page, watch = open_page(**DESKTOP)
    log_in(page, server, "root")
    refused: list[float] = []

    def busy_once(route: Any) -> None:
        if not refused:
            refused.append(time.monotonic())
            route.fulfill(status=503, headers={"Retry-After": "1"}, content_type=
                          "application/json", body='{"error": "server busy, try again"}')
        else:
            route.continue_()

    page.route("**/api/statistics?*", busy_once)
    page.goto(server.url + "/?range=30d&view=table&sensor=a1")
    page.wait_for_function("() => /busy/.test(document.querySelector('#table .note')"
                           "?.textContent || '')")
    page.wait_for_selector("#table tbody tr", timeout=15000)
    assert time.monotonic() - refused[0] >= 1.0  # after the server's Retry-After
    assert page.locator("#table tr.hottest").count() == 1
    assert [f for f in watch.failed if "/api/statistics" not in f] == []


def test_export_downloads_what_is_on_screen(open_page: Any, seeded: Any) -> None:
    server, history = seeded
    # two hours between a1's once-a-minute readings (none on an edge), as epoch ms
    start = int((history.now - DAY - 3600 + 30) * 1000) / 1000
    window = f"from={int(start * 1000)}&to={int((start + 7200) * 1000)}"
    page, watch = open_dashboard(open_page, server, f"/?{window}")
    page.click("#units button[data-unit=F]")
    page.click("#export summary")
    with page.expect_download() as got:
        page.click("#export-csv")
    rows = list(csv.reader(io.StringIO(got.value.path().read_text())))
    assert rows[0][:5] == ["sensor", "time_utc", "epoch", "temperature_f", "humidity_pct"]
    epochs = [float(r[2]) for r in rows[1:]]
    assert {r[0] for r in rows[1:]} == {"a1"}  # b1 and c1 have nothing in that window
    assert min(epochs) >= start and max(epochs) <= start + 7200 and len(epochs) == 120
    token = server.token("root")
    celsius = requests.get(f"{server.url}/api/export.csv", timeout=10, params={
        "sensor": "a1", "since": start, "until": start + 7200},
        headers={"Authorization": f"Bearer {token}"}).text.splitlines()[1:]
    assert [float(r[3]) for r in rows[1:]] == [
        round(float(line.split(",")[3]) * 1.8 + 32, 2) for line in celsius]
    with page.expect_download() as got:
        page.click("#export-json")
    body = json.loads(got.value.path().read_text())
    assert [s["id"] for s in body["sensors"]] == ["a1", "c1", "b1"]  # as on screen
    assert body["unit"] == "F" and len(body["sensors"][0]["readings"]) == 120
    assert (body["since"], body["until"]) == (pytest.approx(start, abs=1),
                                              pytest.approx(start + 7200, abs=1))
    screenshot(page, "export-menu-desktop-light")
    watch.assert_clean(page)


def pinch(page: Any, sensor: str, spread: float) -> None:
    """Two fingers on a sensor's chart moving apart by ``spread`` px (real touch events)."""
    canvas = page.locator(f".card[data-sensor={sensor}] .chart canvas")
    canvas.scroll_into_view_if_needed()  # touches below the fold reach nothing (first-run note)
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5
    cdp = page.context.new_cdp_session(page)

    def touch(kind: str, gap: float) -> None:
        points = [] if kind == "touchEnd" else [
            {"x": cx - gap / 2, "y": cy, "id": 1}, {"x": cx + gap / 2, "y": cy, "id": 2}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", 40)
    for step in range(1, 11):
        touch("touchMove", 40 + spread * step / 10)
    touch("touchEnd", 0)
    cdp.detach()


def test_a_pinch_zooms_on_a_phone(open_page: Any, seeded: Any) -> None:
    server, _history = seeded
    page, watch = open_dashboard(open_page, server, "/?range=24h", **PHONE)
    page.click(".card[data-sensor=a1] .row")  # open the card: its chart is the one pinched
    page.locator(".card[data-sensor=a1] .chart canvas").wait_for(state="visible")
    before = chart(page, "a1", "c.scales.x.max - c.scales.x.min")
    pinch(page, "a1", 200)
    page.wait_for_function("() => new URL(location.href).searchParams.has('from')")
    page.wait_for_function(SETTLED)
    after = chart(page, "a1", "c.scales.x.max - c.scales.x.min")
    assert after < 0.7 * before, (before, after)
    screenshot(page, "pinched-phone-light", full_page=True)
    page.go_back()
    page.wait_for_function("() => new URL(location.href).searchParams.get('range') === '24h'")
    watch.assert_clean(page)
