"""The admin pages in the real headless Chromium against the real server (issue 16).

An admin adds a user with one room; that user, logged in on a phone in a second
browser context, sees only that room; the admin gives them another room and their
open dashboard follows live, on the same socket. A kiosk link's QR code is read back
from a screenshot (zxing-cpp, no camera) and must say the kiosk URL, which then
opens the dashboard of that room. Screenshots of every admin page, desktop and
phone, go to the folder the run prints (SENSORHUB_SCREENSHOTS, else a temp folder).
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.test_browser import SETTLED, log_in
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 860}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "device_scale_factor": 2}
ROOMS = "() => [...document.querySelectorAll('.room')].map((e) => e.dataset.room)"
READY = "() => document.body.dataset.ready === '1'"


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go; printed so a person can open them."""
    folder = Path(os.environ.get("SENSORHUB_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nadmin screenshots: {folder}")
    return folder


def tab(page: Any, name: str) -> None:
    """Open one section of the admin page and wait until it has loaded."""
    page.click(f"[data-tab={name}]")
    page.wait_for_function("(tab) => document.body.dataset.loaded === tab", arg=name)


def snap(page: Any, path: Path) -> None:
    """A whole-page screenshot from the top (a sticky header stays where it belongs)."""
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=path, full_page=True)


def decode_qr(png: bytes) -> list[str]:
    """The texts of the QR codes in a screenshot."""
    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    return [code.text for code in zxingcpp.read_barcodes(image)]


def test_admin_walkthrough(open_page: Any, server_factory: Any, shots: Path) -> None:
    server: LiveServer = server_factory()
    server.add_user("root", admin=True)
    admin, admin_watch = open_page(**DESKTOP)
    log_in(admin, server, "root")
    admin.click(".who a[href='/admin']")
    admin.wait_for_url(server.url + "/admin")
    admin.wait_for_function(READY)

    # a new user with one room; the password is shown once
    admin.fill("#add-user input[name=name]", "greta")
    admin.check("#add-user input[name=rooms][value=a]")
    admin.click("#add-user button[type=submit]")
    admin.wait_for_selector("#secret:not([hidden]) [data-secret]")
    password = admin.locator("#secret [data-secret]").inner_text().strip()
    assert len(password) >= 16
    admin.wait_for_selector(".adm-card[data-user=greta]")
    assert admin.locator(".adm-card[data-user=greta] .adm-user-rooms").inner_text() == "Room A"
    snap(admin, shots / "admin-users-desktop.png")

    # greta on her phone sees room A only, and no way to the admin page
    phone, phone_watch = open_page(**PHONE)
    log_in(phone, server, "greta", password)
    assert phone.evaluate(ROOMS) == ["a"]
    assert phone.locator("a[href='/admin']").count() == 0
    snapshots = phone.evaluate("sensorhub.state.snapshots")

    # the admin gives her room B instead: her open dashboard follows, same socket
    card = admin.locator(".adm-card[data-user=greta]")
    card.locator("summary").click()
    card.locator("input[name=rooms][value=b]").check()
    card.locator("input[name=rooms][value=a]").uncheck()
    changed = time.monotonic()
    card.locator("button[type=submit]").click()
    phone.wait_for_function(f"(rooms) => ({ROOMS})().join() === rooms", arg="b", timeout=5000)
    assert time.monotonic() - changed < 5
    assert phone.evaluate("sensorhub.state.snapshots") == snapshots + 1, "it reconnected"
    phone.wait_for_function(SETTLED)
    assert phone.locator(".card").evaluate_all("(els) => els.map((e) => e.dataset.sensor)") == [
        "b1"]
    snap(phone, shots / "dashboard-after-rooms-change-phone.png")
    admin.wait_for_selector(".adm-card[data-user=greta] .adm-user-rooms:text-is('Room B')")

    # a kiosk link for room B: its QR code, read back from the screen, is the link
    tab(admin, "tokens")
    admin.select_option("#token-user", "greta")
    admin.fill("#add-token input[name=label]", "hall screen")
    admin.check("#add-token input[name=rooms][value=b]")
    admin.click("#add-token button[type=submit]")
    admin.wait_for_selector("#token-secret:not([hidden]) .adm-qr svg")
    url = admin.locator(".adm-kiosk-url").inner_text().strip()
    assert url.startswith(f"{server.url}/kiosk#token=shb_"), url
    qr = admin.locator(".adm-qr")
    qr.scroll_into_view_if_needed()
    assert decode_qr(qr.screenshot()) == [url]
    admin.wait_for_selector(".adm-card[data-token]")
    snap(admin, shots / "admin-tokens-desktop.png")
    kiosk, kiosk_watch = open_page(**DESKTOP)
    kiosk.goto(url)
    kiosk.wait_for_function(SETTLED)
    assert kiosk.evaluate(ROOMS) == ["b"] and "token" not in kiosk.url

    # the config as it runs, check-config, and the audit log of all of the above
    tab(admin, "config")
    admin.click("#check-config")
    admin.wait_for_selector("#config-result:not([hidden])")
    assert admin.locator("#config-result").inner_text().startswith("OK:")
    assert admin.locator("tr[data-sensor=a1]").count() == 1
    snap(admin, shots / "admin-config-desktop.png")
    tab(admin, "audit")
    actions = admin.locator("#audit-table tbody tr").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.action)")
    assert {"login", "user.add", "user.change", "token.create", "config.check"} <= set(actions)
    change = admin.locator("#audit-table tr[data-action='user.change'] td").all_inner_texts()
    assert change[1:5] == ["root", "user.change", "greta", "rooms b"]  # what changed, only
    snap(admin, shots / "admin-audit-desktop.png")

    # greta's own account page, on her phone
    phone.goto(server.url + "/account")
    phone.wait_for_function(READY)
    assert phone.locator("#sessions li").count() == 1
    snap(phone, shots / "account-phone.png")
    for page, watch in ((admin, admin_watch), (phone, phone_watch), (kiosk, kiosk_watch)):
        watch.assert_clean(page)


def test_admin_pages_on_a_phone(open_page: Any, server_factory: Any, shots: Path) -> None:
    server: LiveServer = server_factory()
    server.add_user("root", admin=True)
    server.add_user("alice", rooms=("a",))
    server.users.create_token("alice", "greenhouse tablet", frozenset({"a"}))
    page, watch = open_page(**PHONE)
    log_in(page, server, "root")
    page.goto(server.url + "/admin#users")
    page.wait_for_function(READY)
    page.wait_for_selector(".adm-card[data-user=alice]")
    for name in ("users", "tokens", "config", "audit"):
        tab(page, name)
        snap(page, shots / f"admin-{name}-phone.png")
        # nothing wider than the phone: no sideways scrolling of the page itself
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
    page.goto(server.url + "/account")
    page.wait_for_function(READY)
    snap(page, shots / "account-admin-phone.png")
    assert urlsplit(page.url).path == "/account"
    watch.assert_clean(page)
