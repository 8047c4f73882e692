"""The browser tier's harness: Debian's Chromium through Playwright, watched pages, and a
folder of screenshots that the run prints at the end.

Every request to a host other than 127.0.0.1/localhost is aborted and recorded: the
dashboard must work air-gapped. Console errors (CSP violations among them), failed
requests and HTTP errors fail the test (``Watch.assert_clean``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import screenshot_folder

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# the page records CSP violations itself too (they also reach the console)
CSP_PROBE = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""
# where screenshots go: tests/conftest.py chooses the folder once per run
SHOTS = screenshot_folder()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless (never a downloaded browser build)."""
    try:
        from playwright import sync_api
    except ImportError:
        sync_api, message = None, "playwright is missing: pip install -e .[dev]"
    else:
        message = f"{CHROMIUM} is missing: apt-get install chromium (./dev test does)"
    if sync_api is None or not CHROMIUM.exists():
        if os.environ.get("CI"):  # CI installs both: a skip there would hide a broken setup
            pytest.fail(message)
        pytest.skip(message)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Watch:
    """What a page did that it must not: leave loopback, fail a request, log an error."""

    external: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self, page: Any) -> None:
        """Nothing went out, nothing failed, nothing was logged as an error."""
        csp = page.evaluate("window.__csp")
        assert self.external == [], f"requests left loopback: {self.external}"
        assert self.failed == [], f"failed requests: {self.failed}"
        assert self.errors == [], f"console errors: {self.errors}"
        assert csp == [], f"CSP violations: {csp}"


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """Make a fresh browser context and page that are watched (see Watch)."""
    contexts: list[Any] = []

    def make(**context_args: Any) -> tuple[Any, Watch]:
        watch = Watch()
        context = browser.new_context(**context_args)
        contexts.append(context)

        def guard(route: Any) -> None:
            if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
                route.continue_()
            else:
                watch.external.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        context.add_init_script(CSP_PROBE)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and watch.errors.append(m.text))
        page.on("pageerror", lambda e: watch.errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: urlsplit(r.url).hostname in LOCAL_HOSTS
                and watch.failed.append(f"{r.url}: {r.failure}"))
        page.on("response", lambda r: r.status >= 400
                and watch.failed.append(f"{r.url}: HTTP {r.status}"))
        page.on("websocket", lambda ws: urlsplit(ws.url).hostname not in LOCAL_HOSTS
                and watch.external.append(ws.url))
        return page, watch

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save what the page shows now as SHOTS/<name>.png (printed at the end of the run)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    if full_page:  # from the top: a sticky header scrolled along is drawn mid-page
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=full_page)
    return path

