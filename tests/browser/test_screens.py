"""The kiosk on a 1080p and a 7" 800 x 480 screen, the phone list, the connection-loss
banner with a killed and restarted server, alerts on the charts, the first-run note."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.browser.conftest import screenshot
from tests.browser.test_browser import SETTLED, log_in, points
from tests.conftest import ASYNC_MODES, LiveServer, restart_server, start_server

pytestmark = pytest.mark.browser

SCREENS = {"1080p": {"width": 1920, "height": 1080}, "7inch": {"width": 800, "height": 480}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
BANNER = "#lost"


def mocks(n: int, interval: float = 1.0) -> list[dict[str, Any]]:
    """n mock sensors over two rooms; every third also measures pressure and CO2."""
    return [{"id": f"s{i}", "name": f"Sensor {i}", "room": "a" if i % 2 else "b",
             "driver": "mock", "interval": interval,
             "options": {"seed": i, **({"pressure": True, "co2": True} if i % 3 == 0 else {})}}
            for i in range(1, n + 1)]


@pytest.fixture
def one_mode(tmp_path: Any) -> Iterator[Any]:
    """Servers in the first async mode only: a layout does not depend on the mode."""
    started: list[LiveServer] = []

    def make(**config: Any) -> LiveServer:
        directory = tmp_path / f"srv{len(started)}"
        directory.mkdir()
        started.append(start_server(directory, ASYNC_MODES[0], **config))
        return started[-1]

    yield make
    for server in started:
        server.stop()


def fits(page: Any) -> dict[str, Any]:
    """How the kiosk uses the screen: scrollbars, the cards' share, overflow, number sizes."""
    return page.evaluate("""() => {
      const d = document.documentElement, cards = [...document.querySelectorAll('.card')];
      const area = cards.reduce((a, c) => a + c.offsetWidth * c.offsetHeight, 0);
      return {
        scroll: [d.scrollWidth > innerWidth, d.scrollHeight > innerHeight],
        share: area / (innerWidth * innerHeight),
        overflow: cards.filter((c) => c.scrollHeight > c.clientHeight + 1
          || c.scrollWidth > c.clientWidth + 1).map((c) => c.dataset.sensor),
        outside: cards.filter((c) => { const r = c.getBoundingClientRect();
          return r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5; }).length,
        number: Math.min(...cards.map((c) =>
          parseFloat(getComputedStyle(c.querySelector('.t')).fontSize))),
        height: Math.min(...cards.map((c) => c.offsetHeight)),
        background: getComputedStyle(document.body).backgroundColor,
        header: document.querySelectorAll('#bar, .who, #controls').length,
      };
    }""")


@pytest.mark.parametrize("n", [1, 4, 12])
def test_the_kiosk_fills_the_screen(open_page: Any, one_mode: Any, n: int) -> None:
    server = one_mode(sensors=mocks(n), rooms=[{"id": "a", "name": "Room A"},
                                                     {"id": "b", "name": "Room B"}])
    server.add_user("lobby", rooms=("a", "b"))
    token = server.token("lobby")
    for screen, viewport in SCREENS.items():
        for scheme in ("light", "dark"):
            page, watch = open_page(viewport=viewport, color_scheme=scheme)
            page.goto(f"{server.url}/kiosk#token={token}")  # the token reaches no log
            page.wait_for_function(SETTLED, timeout=15000)
            page.wait_for_function("(n) => document.querySelectorAll('.card').length === n", arg=n)
            page.evaluate("() => new Promise((done) => requestAnimationFrame(() => "
                          "requestAnimationFrame(done)))")  # the charts have sized themselves
            screenshot(page, f"kiosk-{n}-{screen}-{scheme}")
            got = fits(page)
            assert got["header"] == 0, "no header on a wall screen"
            assert got["scroll"] == [False, False], got
            assert got["overflow"] == [] and got["outside"] == 0, got
            assert got["share"] > 0.8, got  # the cards fill the screen
            # a number readable across a room: a fifth of the card's height or more
            assert got["number"] >= min(0.2 * got["height"], 140), got
            dark = sum(int(v) for v in got["background"][4:-1].split(",")[:3]) < 150
            assert dark == (scheme == "dark"), got  # the scheme follows the system
            watch.assert_clean(page)
    page, watch = open_page(viewport=SCREENS["7inch"])
    page.goto(f"{server.url}/kiosk?theme=dark#token={token}")  # or forced by the address
    page.wait_for_function(SETTLED, timeout=15000)
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    watch.assert_clean(page)


def test_losing_the_server_is_shown_and_a_restart_fills_the_gap(
        open_page: Any, server_factory: Any) -> None:
    server = server_factory()  # rooms a, b; sensors a1, b1 at 0.2 s
    server.add_user("root", admin=True)
    page, watch = open_page(viewport={"width": 1280, "height": 800})
    log_in(page, server, "root")
    page.evaluate("sensorhub.setRange(120)")
    page.wait_for_function(SETTLED)
    kiosk, kiosk_watch = open_page(viewport=SCREENS["7inch"])
    kiosk.goto(f"{server.url}/kiosk?range=10m#token={server.token('root')}")
    kiosk.wait_for_function(SETTLED)
    assert page.locator(BANNER).is_hidden()
    page.click(".card[data-sensor=a1] .more summary")  # an open health panel...
    health = page.locator(".card[data-sensor=a1] .health")
    page.wait_for_function("() => document.querySelector('.card[data-sensor=a1] .health')"
                           ".textContent.includes('last good reading')")

    server.stop(signal.SIGKILL)  # pulled plug: no goodbye
    killed = time.monotonic()
    for p in (page, kiosk):
        p.wait_for_selector(f"{BANNER}:not([hidden])", timeout=5000)
    assert time.monotonic() - killed < 5
    banner = page.locator(BANNER)
    assert banner.get_attribute("role") == "alert"
    text = banner.inner_text()
    assert text.startswith("No connection to the server since ") and "last data " in text
    last = page.evaluate("Math.max(...[...sensorhub.state.sensors.values()]"
                         ".map((s) => s.latest.ts))")
    assert page.evaluate("(t) => new Date(t * 1000).toLocaleTimeString([], "
                         "{hour: '2-digit', minute: '2-digit', second: '2-digit', "
                         "hourCycle: 'h23'})", last) in text
    badges = page.locator(".card .badge").all_inner_texts()
    assert [b.lower() for b in badges] == ["no connection", "no connection"]
    assert "grayscale" in page.evaluate(
        "getComputedStyle(document.querySelector('.card')).filter")
    # ...keeps ageing with the card while nothing arrives (it once froze at "4 s ago")
    page.wait_for_function("() => /last good reading([6-9]|\\d\\d) s ago/.test(document"
                           ".querySelector('.card[data-sensor=a1] .health').textContent)",
                           timeout=10000)
    assert "last good reading" in health.inner_text()
    screenshot(page, "connection-lost-desktop-light")
    screenshot(kiosk, "connection-lost-kiosk-7inch-light")

    time.sleep(1.5)  # a visible hole in the readings
    again = restart_server(server)
    started = time.time()
    server.proc = again.proc  # the factory stops it after the test, whatever happens
    for p in (page, kiosk):
        p.wait_for_selector(f"{BANNER}[hidden]", state="attached", timeout=20000)
        p.wait_for_function(SETTLED, timeout=15000)
    assert [b.lower() for b in page.locator(".card .badge").all_inner_texts()] == ["ok", "ok"]
    # the readings the new server took before the page was back are in the chart
    page.wait_for_function("(t) => sensorhub.lastTs.get('a1') > t + 1", arg=started)
    shown = [x for x, y in points(page, "a1") if y is not None]
    stored = requests.get(f"{again.url}/api/history", timeout=10, params={
        "sensor": "a1", "since": started - 1, "until": started + 1.5, "max_points": 10000},
        headers={"Authorization": f"Bearer {again.token('root')}"}).json()["points"]
    assert stored, "the restarted server took no readings in its first second"
    assert all(any(abs(x - p[0]) < 0.25 for x in shown) for p in stored)
    # and the time the server was dead is a gap in the line, not a straight line over it
    gaps = [x for x, y in points(page, "a1") if y is None]
    assert any(last < x < started for x in gaps), (last, started, gaps)
    screenshot(page, "connection-back-desktop-light")
    for w in (watch, kiosk_watch):  # refused while the server was dead: expected, and only that
        refused = [f for f in w.failed if "socket.io" in f and "CONNECTION_REFUSED" in f]
        w.failed[:] = [f for f in w.failed if f not in refused]
        w.errors[:] = [e for e in w.errors if "CONNECTION_REFUSED" not in e]
    watch.assert_clean(page)
    kiosk_watch.assert_clean(kiosk)
    again.stop()  # not the factory's: it only knows the first process


def test_phones_get_a_compact_list_and_a_one_row_header(open_page: Any, one_mode: Any) -> None:
    server = one_mode(sensors=mocks(5, 0.5), rooms=[{"id": "a", "name": "Room A"},
                                                          {"id": "b", "name": "Room B"}])
    server.add_user("alice", rooms=("a", "b"))
    for scheme in ("light", "dark"):
        page, watch = open_page(**PHONE, color_scheme=scheme)
        log_in(page, server, "alice")
        bar = page.evaluate("""() => { const b = document.querySelector('#bar');
          const boxes = [...b.children].filter((c) => c.offsetParent)
            .map((c) => c.getBoundingClientRect());
          return {height: b.offsetHeight, shown: boxes.length,  // one row: all on one line
            oneRow: Math.max(...boxes.map((r) => r.top))
              < Math.min(...boxes.map((r) => r.bottom))}; }""")
        assert bar["height"] <= 60 and bar["oneRow"] and bar["shown"] == 3, bar
        rows = page.locator(".card .row")
        assert rows.count() == 5 and all(r.is_visible() for r in rows.all())
        assert page.locator(".card .chart").first.is_hidden()  # a list, not five charts
        page.wait_for_timeout(100)  # one frame for the sparklines
        page.wait_for_function("""() => [...document.querySelectorAll('.spark')].every((c) => {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          for (let i = 3; i < d.length; i += 4) if (d[i]) return true; return false; })""")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.evaluate("innerHeight / document.querySelector('.card').offsetHeight") > 8
        screenshot(page, f"phone-list-{scheme}", full_page=True)
        rows.first.click()  # a row opens the full card
        card = page.locator(".card").first
        assert card.get_attribute("class").split().count("open") == 1
        canvas = card.locator(".chart canvas")
        canvas.wait_for(state="visible")  # Chart.js sizes it at the next resize callback
        assert canvas.bounding_box()["height"] > 150
        screenshot(page, f"phone-card-open-{scheme}", full_page=True)
        page.click("#menu")
        assert page.locator("#ranges").is_visible() and page.locator(".who").is_visible()
        screenshot(page, f"phone-menu-{scheme}")
        watch.assert_clean(page)


# a cellar stays within 12 ± 1 °C: above 11 fires for sure, with the line in the chart
ALARMED = [{"id": "a1", "name": "Bench", "room": "a", "driver": "mock", "interval": 0.5,
            "options": {"profile": "cellar"},
            "alerts": [{"quantity": "temperature", "above": 11.0, "for": 0.5},
                       {"quantity": "humidity", "below": 10}]},
           {"id": "b1", "name": "Shelf", "room": "b", "driver": "mock", "interval": 0.5}]


def test_alerts_on_the_chart_acknowledged_from_the_banner(open_page: Any,
                                                          server_factory: Any) -> None:
    server: LiveServer = server_factory(sensors=ALARMED)
    password = (server.db_path.parent / "initial-admin-password").read_text().strip()
    for scheme, viewport in (("light", {"width": 1280, "height": 800}),
                             ("dark", {"width": 390, "height": 844})):
        page, watch = open_page(viewport=viewport, color_scheme=scheme)
        log_in(page, server, "admin", password)
        page.wait_for_selector("#alerts:not([hidden])", timeout=10000)
        card = page.locator(".card[data-sensor=a1]")
        if scheme == "light":
            badge = card.locator(".badge").inner_text().lower()
            assert badge == "alert", "a card in alarm never says OK"
            rules = page.evaluate("sensorhub.charts.get('a1').$marks.rules.map((r) => r.kind)")
            assert rules == ["temperature_above", "humidity_below"]
            page.wait_for_function("() => (sensorhub.state.episodes.get('a1') || []).length > 0")
            assert page.locator(".card[data-sensor=b1] .badge").inner_text().lower() == "ok"
            screenshot(page, "alert-firing-desktop-light")
            page.click("#alerts button.ack")
            page.wait_for_function("() => document.querySelector('#alerts').textContent"
                                   ".includes('acknowledged by admin')")
            assert card.locator(".badge").inner_text().lower() == "acknowledged"
            stored = requests.get(f"{server.url}/api/alerts?sensor=a1", timeout=10, headers={
                "Authorization": f"Bearer {server.token('admin')}"}).json()["alerts"]
            assert [(a["kind"], a["acked_by"]) for a in stored] == [("temperature_above", "admin")]
            assert abs(stored[0]["acked"] - time.time()) < 30
        else:  # a second viewer sees the acknowledgement in the banner and on the card
            assert "acknowledged by admin" in page.locator("#alerts").inner_text()
            card.locator(".row").click()
        screenshot(page, f"alert-acknowledged-{'desktop' if scheme == 'light' else 'phone'}"
                         f"-{scheme}", full_page=True)
        watch.assert_clean(page)


def test_first_run_note_and_an_empty_alert_history(open_page: Any, server_factory: Any) -> None:
    server = server_factory()
    password_file = server.db_path.parent / "initial-admin-password"
    page, watch = open_page(viewport={"width": 1280, "height": 800})
    log_in(page, server, "admin", password_file.read_text().strip())
    note = page.locator("#first-run")
    assert note.is_visible() and str(password_file) in note.inner_text()
    assert "sensorhub user add" in note.inner_text()
    screenshot(page, "first-run-desktop-light")
    page.click("#history summary")
    page.wait_for_selector("#alert-none:not([hidden])")
    assert page.locator("#alert-list li").count() == 0  # not "1. No alerts yet."
    assert page.locator("#alert-list").is_hidden()
    page.click("#first-run-hide")
    assert note.is_hidden()
    page.reload()
    page.wait_for_function(SETTLED)
    assert page.locator("#first-run").is_hidden()  # hidden stays hidden
    watch.assert_clean(page)
