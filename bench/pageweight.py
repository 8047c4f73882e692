"""Page weight and paint: the dashboard in headless Chromium against a live sensorhub.

Part 1, first load: 8 mock sensors (``--interval``, 0.25 s by default so the sensor
schedule adds at most that much to "first live point"), a day of history already
in the database, a logged-in user with an empty browser cache. Measured from the
DevTools protocol: bytes on the wire per HTTP response (headers + encoded body), the
websocket's payload bytes, whether assets came gzipped with a year-long immutable
cache lifetime and fingerprinted names; and from the page: navigation to DOMContent-
Loaded, to every chart drawn from history, and to the first point pushed live drawn
on a chart (a hook around ``io()`` sees each ``reading``; a hook around
``Chart.prototype.update`` sees when one is on a chart). Then a reload with a warm
cache.

Part 2, staying responsive: 16 sensors with 24 h of history, the page on its 24-hour
range. First the hour is simulated: the sensors run at 0.1 s for ``--live`` seconds
(90 s of 16 sensors at 0.1 s is 14,400 readings, as many as an hour of 8 sensors at
2 s, on twice the charts and twenty times faster); that phase is also reported, as a
stress figure. Then the server is restarted on the same port with the same database
and the sensors at their real 2 s, the page reconnects and backfills by itself, and
for ``--after`` seconds we measure what a user would feel after that hour. Long tasks
come from the Performance API (``longtask``), event-loop lag from a 50 ms timer,
frames from requestAnimationFrame, plus the JS heap; at the end, switching the range
to 1 h is timed until the charts have redrawn.

Needs Playwright and Debian's ``chromium`` (never a downloaded browser).

    python bench/pageweight.py
    python bench/pageweight.py --smoke        # ~10 s, for CI
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    emit_summary,
    mock_sensors,
    percentile,
    progress,
    start_sensorhub,
    workdir,
)
from bench.history import generate

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--js-flags=--expose-gc"]  # gc() before reading the heap: live bytes only
USER, PASSWORD = "viewer", "bench viewer password"
KIB = 1024
SETTLED = "() => document.body.dataset.ready === '1' && sensorhub.state.loading === 0"
# Fetched only once the charts are drawn (charts.js loadZoom): counted in the first load,
# and reported apart as what the first live point did not wait for.
DEFERRED = ("/static/vendor/chart.zoom.min.js",)
ZOOMED = "() => document.body.dataset.zoom === '1'"

# Injected before any page script (CDP, so the page's CSP does not apply to it).
PROBE = r"""
(() => {
  const b = window.__bench = {live: new Set(), readings: 0, firstReadingAt: null,
    firstLiveDrawnAt: null, snapshotAt: null, longtasks: [], lags: [], frames: 0};
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longtasks.push([e.startTime, e.duration]);
    }).observe({type: 'longtask', buffered: true});
  } catch (e) { b.noLongtasks = String(e); }
  const wrapIo = (io) => {
    const wrapped = function (...args) {
      const socket = io(...args);
      socket.onAny((event, data) => {
        const now = performance.now();
        if (event === 'snapshot' && b.snapshotAt === null) b.snapshotAt = now;
        const list = event === 'reading' ? [data] : event === 'readings' ? data : [];
        for (const r of list) {
          b.readings++;
          if (b.firstReadingAt === null) b.firstReadingAt = now;
          if (b.firstLiveDrawnAt === null) b.live.add(r.ts);
        }
      });
      return socket;
    };
    Object.assign(wrapped, io);
    return wrapped;
  };
  const wrapChart = (Chart) => {
    const update = Chart.prototype.update;
    Chart.prototype.update = function (...args) {
      const result = update.apply(this, args);
      if (b.firstLiveDrawnAt === null) {
        const data = this.data.datasets[0].data;
        for (let i = data.length - 1; i >= 0 && i >= data.length - 3; i--) {
          if (b.live.has(data[i].x)) {
            b.firstLiveDrawnAt = performance.now();
            b.live.clear();  // found: stop keeping timestamps (the heap is measured too)
            break;
          }
        }
      }
      return result;
    };
    return Chart;
  };
  for (const [name, wrap] of [['io', wrapIo], ['Chart', wrapChart]]) {
    let value;
    Object.defineProperty(window, name, {configurable: true, enumerable: true,
      get: () => value, set: (v) => { value = typeof v === 'function' ? wrap(v) : v; }});
  }
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    b.lags.push(now - last - 50);
    last = now;
  }, 50);
  const frame = () => { b.frames++; requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
})();
"""


def login_cookies(server: Any) -> list[dict[str, Any]]:
    """Log in through the real form; the session cookie for the browser."""
    import requests

    session = requests.Session()
    page = session.get(server.url + "/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token is None:
        raise RuntimeError("login form has no CSRF token")
    answer = session.post(server.url + "/login", timeout=10, allow_redirects=False, data={
        "username": USER, "password": PASSWORD, "csrf_token": token.group(1)})
    if answer.status_code != 302:
        raise RuntimeError(f"login failed: HTTP {answer.status_code}")
    return [{"name": c.name, "value": c.value, "url": server.url} for c in session.cookies]


def prepare_db(sensors: list[dict[str, Any]], days: float, interval: float) -> Any:
    """A callback for start_sensorhub: history for the sensors and the viewer user."""
    def prepare(db_path: Path) -> None:
        from bench.common import _users

        if days > 0:
            generate(db_path, [s["id"] for s in sensors], days, interval)
        _users(db_path).add(USER, PASSWORD, admin=True)
    return prepare


class Traffic:
    """Bytes on the wire per response and websocket payloads, from CDP events."""

    def __init__(self, page: Any) -> None:
        self.responses: dict[str, dict[str, Any]] = {}
        self.ws_in = self.ws_out = self.ws_frames = 0
        self.ws_extensions: str | None = None
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.webSocketFrameReceived", self._frame_in)
        cdp.on("Network.webSocketFrameSent", self._frame_out)
        cdp.on("Network.webSocketHandshakeResponseReceived", self._handshake)
        self.cdp = cdp

    def _response(self, event: dict[str, Any]) -> None:
        response = event["response"]
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        self.responses[event["requestId"]] = {
            "url": response["url"], "status": response["status"],
            "encoding": headers.get("content-encoding"),
            "cache": headers.get("cache-control"), "bytes": 0,
            "header_bytes": response.get("encodedDataLength", 0),
            "from_cache": response.get("fromDiskCache") or response.get("fromMemoryCache")}

    def _finished(self, event: dict[str, Any]) -> None:
        entry = self.responses.get(event["requestId"])
        if entry is not None:
            entry["bytes"] = event.get("encodedDataLength", 0)

    def _frame_in(self, event: dict[str, Any]) -> None:
        self.ws_in += len(event["response"].get("payloadData", ""))
        self.ws_frames += 1

    def _frame_out(self, event: dict[str, Any]) -> None:
        self.ws_out += len(event["response"].get("payloadData", ""))

    def _handshake(self, event: dict[str, Any]) -> None:
        headers = {k.lower(): v for k, v in event["response"].get("headers", {}).items()}
        self.ws_extensions = headers.get("sec-websocket-extensions")

    def reset(self) -> None:
        """Start counting afresh (before a reload)."""
        self.responses.clear()
        self.ws_in = self.ws_out = self.ws_frames = 0

    def summary(self) -> dict[str, Any]:
        """Totals and the per-response list."""
        items = []
        for r in self.responses.values():
            path = urlsplit(r["url"]).path
            items.append({"path": path, "status": r["status"], "bytes": r["bytes"],
                          "body_bytes": max(0, r["bytes"] - r["header_bytes"]),
                          "gzip": r["encoding"] == "gzip", "cache": r["cache"],
                          "fingerprinted": "?v=" in r["url"], "from_cache": r["from_cache"]})
        static = [i for i in items if i["path"].startswith("/static/")]
        deferred = sum(i["bytes"] for i in items if i["path"] in DEFERRED)
        return {
            "http_bytes": sum(i["bytes"] for i in items),
            "deferred_kib": deferred / KIB,
            "before_charts_kib": (sum(i["bytes"] for i in items) - deferred) / KIB,
            "http_kib": sum(i["bytes"] for i in items) / KIB,
            "http_body_kib": sum(i["body_bytes"] for i in items) / KIB,
            "requests": len(items),
            "static_all_gzip_or_binary": all(i["gzip"] or i["path"].endswith(".png")
                                             for i in static if not i["from_cache"]),
            "static_all_immutable_year": all("max-age=31536000" in (i["cache"] or "")
                                             and "immutable" in (i["cache"] or "")
                                             for i in static),
            "static_all_fingerprinted": all(i["fingerprinted"] for i in static),
            "websocket_payload_in_kib": self.ws_in / KIB,
            "websocket_payload_out_kib": self.ws_out / KIB,
            "websocket_frames_in": self.ws_frames,
            "websocket_extensions": self.ws_extensions,
            "responses": sorted(items, key=lambda i: -i["bytes"]),
        }


def page_timings(page: Any) -> dict[str, Any]:
    """Milliseconds from navigation start, read from the page."""
    return page.evaluate("""() => {
      const nav = performance.getEntriesByType('navigation')[0] || {};
      const b = window.__bench;
      return {dom_content_loaded_ms: nav.domContentLoadedEventEnd,
              load_ms: nav.loadEventEnd, snapshot_ms: b.snapshotAt,
              first_reading_received_ms: b.firstReadingAt,
              first_live_point_drawn_ms: b.firstLiveDrawnAt,
              charts: sensorhub.charts.size};
    }""")


def first_load(browser: Any, server: Any, timeout_ms: float) -> dict[str, Any]:
    """Cold load, then warm reload, of the dashboard."""
    context = browser.new_context()
    try:
        context.add_cookies(login_cookies(server))
        context.add_init_script(PROBE)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        traffic = Traffic(page)
        page.goto(server.url + "/")
        page.wait_for_function(SETTLED, timeout=timeout_ms)
        ready_ms = page.evaluate("() => performance.now()")
        page.wait_for_function("() => window.__bench.firstLiveDrawnAt !== null",
                               timeout=timeout_ms)
        page.wait_for_function(ZOOMED, timeout=timeout_ms)
        cold = {**page_timings(page), "history_drawn_ms": ready_ms, **traffic.summary()}
        traffic.reset()
        page.reload()
        page.wait_for_function(SETTLED, timeout=timeout_ms)
        warm_ready = page.evaluate("() => performance.now()")
        page.wait_for_function("() => window.__bench.firstLiveDrawnAt !== null",
                               timeout=timeout_ms)
        page.wait_for_function(ZOOMED, timeout=timeout_ms)
        warm = {**page_timings(page), "history_drawn_ms": warm_ready, **traffic.summary()}
        return {"cold": cold, "warm": warm, "page_errors": errors}
    finally:
        context.close()


RESET = """() => {
  if (window.gc) window.gc();
  const b = window.__bench;
  b.longtasks.length = 0; b.lags.length = 0; b.frames = 0; b.readings = 0;
  return {t: performance.now(), heap: (performance.memory || {}).usedJSHeapSize || null,
          points: [...sensorhub.charts.values()].reduce(
            (n, c) => n + c.data.datasets[0].data.length, 0)};
}"""
READ = """() => {
  if (window.gc) window.gc();
  const b = window.__bench;
  return {t: performance.now(), heap: (performance.memory || {}).usedJSHeapSize || null,
          longtasks: b.longtasks, lags: b.lags, frames: b.frames, readings: b.readings,
          points: [...sensorhub.charts.values()].reduce(
            (n, c) => n + c.data.datasets[0].data.length, 0)};
}"""


def window_metrics(page: Any, seconds: float) -> dict[str, Any]:
    """Watch the page for ``seconds``: long tasks, lag, frames, readings, heap."""
    start = page.evaluate(RESET)
    roundtrips = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        t = time.perf_counter()
        page.evaluate("() => 0")
        roundtrips.append(1000 * (time.perf_counter() - t))
    end = page.evaluate(READ)
    elapsed = (end["t"] - start["t"]) / 1000
    durations = [d for _, d in end["longtasks"]]
    heap0, heap1 = start["heap"], end["heap"]
    return {
        "seconds": elapsed, "readings": end["readings"],
        "readings_per_s": end["readings"] / elapsed if elapsed else None,
        "long_tasks": len(durations), "long_task_total_ms": sum(durations),
        "long_task_max_ms": max(durations, default=0.0),
        "busy_pct_in_long_tasks": 100 * sum(durations) / (1000 * elapsed) if elapsed else None,
        "event_loop_lag_p50_ms": percentile(end["lags"], 50),
        "event_loop_lag_p99_ms": percentile(end["lags"], 99),
        "event_loop_lag_max_ms": max(end["lags"], default=None),
        "frames_per_s": end["frames"] / elapsed if elapsed else None,
        "evaluate_roundtrip_p50_ms": percentile(roundtrips, 50),
        "evaluate_roundtrip_max_ms": max(roundtrips, default=None),
        "chart_points_before": start["points"], "chart_points_after": end["points"],
        "heap_mib_before": heap0 / 2**20 if heap0 else None,
        "heap_mib_after": heap1 / 2**20 if heap1 else None,
    }


def stay_responsive(browser: Any, directory: Path, live_s: float, after_s: float,
                    timeout_ms: float) -> dict[str, Any]:
    """24 h of history on screen, an hour of pushes simulated fast, then real-time."""
    fast = mock_sensors(("a", "b"), 8, 0.1)
    server = start_sensorhub(directory, "eventlet", sensors=fast,
                             prepare=prepare_db(fast, 1.0, 2.0))
    context = browser.new_context()
    try:
        context.add_cookies(login_cookies(server))
        context.add_init_script("try { localStorage.setItem('sensorhub.range', '86400'); } "
                                "catch (e) {}")
        context.add_init_script(PROBE)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        t = time.monotonic()
        page.goto(server.url + "/")
        page.wait_for_function(SETTLED, timeout=timeout_ms)
        result: dict[str, Any] = {"page_load_24h_s": time.monotonic() - t}
        progress(f"pageweight: {live_s:g} s of 16 sensors at 0.1 s (the simulated hour)")
        result["simulated_hour"] = window_metrics(page, live_s)
        server.stop()
        real = mock_sensors(("a", "b"), 8, 2.0)
        server = start_sensorhub(directory, "eventlet", sensors=real, port=server.port)
        page.wait_for_function("() => sensorhub.state.snapshots >= 2", timeout=timeout_ms)
        page.wait_for_function(SETTLED, timeout=timeout_ms)
        time.sleep(1.0)
        progress(f"pageweight: {after_s:g} s at the real rate (16 sensors at 2 s) after it")
        result["after_the_hour"] = window_metrics(page, after_s)
        t = time.perf_counter()
        page.click("[data-range='3600']")
        page.wait_for_function(SETTLED, timeout=timeout_ms)
        result["switch_to_1h_ms"] = 1000 * (time.perf_counter() - t)
        result["page_errors"] = errors
        return result
    finally:
        context.close()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    """Run both parts and print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.25,
                        help="sensor interval for the first-load part, s")
    parser.add_argument("--repeats", type=int, default=3, help="cold loads")
    parser.add_argument("--live", type=float, default=90.0,
                        help="seconds of fast live pushes in part 2 (0: skip part 2)")
    parser.add_argument("--after", type=float, default=20.0,
                        help="seconds measured at the real rate after the simulated hour")
    parser.add_argument("--smoke", action="store_true", help="a short run (CI)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.repeats, args.live = 1, 0.0
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    started = time.monotonic()
    summary: dict[str, Any] = {"scenario": {
        "first_load": {"sensors": 8, "interval_s": args.interval, "history_days": 1,
                       "repeats": args.repeats},
        "responsive": {"sensors": 16, "interval_s": 0.1, "history_days": 1,
                       "live_s": args.live, "then_interval_s": 2.0, "after_s": args.after,
                       "range": "24h"}}}
    timeout_ms = 30_000
    with workdir("pageweight") as scratch, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            sensors = mock_sensors(("a", "b"), 4, args.interval)
            days = 1.0 if not args.smoke else 1 / 24
            server = start_sensorhub(scratch / "first", "eventlet", sensors=sensors,
                                     prepare=prepare_db(sensors, days, 2.0))
            try:
                loads = []
                for i in range(args.repeats):
                    loads.append(first_load(browser, server, timeout_ms))
                    cold = loads[-1]["cold"]
                    progress(f"pageweight cold load #{i}: {cold['http_kib']:.1f} KiB, first live "
                             f"point drawn at {cold['first_live_point_drawn_ms']:.0f} ms")
            finally:
                server.stop()
            summary["first_load"] = loads[0]
            summary["first_load_medians"] = {
                f"{phase}_{key}": percentile([x[phase][key] for x in loads
                                              if x[phase][key] is not None], 50)
                for phase in ("cold", "warm")
                for key in ("http_kib", "before_charts_kib", "http_body_kib",
                            "dom_content_loaded_ms",
                            "history_drawn_ms", "first_live_point_drawn_ms")}
            if args.live > 0:
                summary["responsive"] = stay_responsive(browser, scratch / "live", args.live,
                                                        args.after, timeout_ms)
        finally:
            browser.close()
    medians = summary["first_load_medians"]
    summary["targets"] = {
        "cold_http_kib<=60": medians["cold_http_kib"] <= 60,
        "first_live_point_ms<=1000": medians["cold_first_live_point_drawn_ms"] <= 1000,
    }
    summary["elapsed_s"] = time.monotonic() - started
    emit_summary("pageweight", summary, save=not args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
