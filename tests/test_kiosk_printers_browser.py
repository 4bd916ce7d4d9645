"""Each kiosk page shows its own printer's state: kiosk-east's printer is unplugged
(nothing listens at its address), kiosk-west prints on the hall's default printer.
East says so, west does not; an admin gives east a working printer and east's
banner goes, without a reload."""
from __future__ import annotations

import socket
import time

import pytest
import requests
from playwright.sync_api import expect

from conftest import PASSWORD, SHOTS, LiveServer, bearer
from server import config

pytestmark = pytest.mark.browser


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("kiosk-printers")
    folder = tmp_path / "hall"
    config.write_demo(folder, always_open=True)
    live = LiveServer(folder)
    tokens = {}
    for name, extra in (("kiosk-east", ["--printer", f"tcp://127.0.0.1:{closed_port()}?timeout=0.5"]),
                        ("kiosk-west", [])):
        tokens[name] = live.cli("device", "add", name, "--kind", "kiosk", *extra).strip().splitlines()[-1]
    live.cli("user", "add", "9000", "--role", "admin", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    live.start()
    yield live, tokens, tmp_path
    live.kill()


def test_each_kiosk_shows_its_own_printer(hall, browser):
    live, tokens, tmp = hall
    pages = {}
    for name in tokens:
        ctx = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN")
        pages[name] = ctx.new_page()
    try:
        east, west = pages["kiosk-east"], pages["kiosk-west"]
        east.goto(f"{live.url}/kiosk?token={tokens['kiosk-east']}")
        east.wait_for_selector("#printer-banner:not(.hidden)", timeout=15000)
        assert "打印机未连接" in east.inner_text("#printer-banner")
        east.wait_for_function("document.querySelectorAll('.service').length === 5")
        east.screenshot(path=str(SHOTS / "kiosk-own-printer-offline.png"))

        with west.expect_response(lambda r: r.url.endswith("/api/printer")) as answer:
            west.goto(f"{live.url}/kiosk?token={tokens['kiosk-west']}")
        assert answer.value.json()["name"] == "default" and answer.value.json()["can_print"] is True
        west.wait_for_function("document.querySelectorAll('.service').length === 5")
        expect(west.locator("#printer-banner")).to_be_hidden()  # east's printer is not west's concern

        admin = requests.post(live.url + "/api/login", json={"user": "9000", "password": PASSWORD},
                              timeout=5).json()["token"]
        r = requests.put(live.url + "/api/devices/kiosk-east/printer", headers=bearer(admin),
                         json={"printer": f"file://{tmp / 'east-printer'}"}, timeout=10)
        assert r.status_code == 200, r.text
        east.wait_for_selector("#printer-banner", state="hidden", timeout=15000)
        expect(west.locator("#printer-banner")).to_be_hidden()
        east.click(".service[data-code='A']")
        east.wait_for_selector("#done:not(.hidden)")
        number = east.inner_text("#d-number")
        printed = lambda: list((tmp / "east-printer").glob(f"*-{number}.txt"))  # noqa: E731
        deadline = time.monotonic() + 30
        while not printed() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert printed(), "the ticket printed on kiosk-east's own printer"
    finally:
        for pg in pages.values():
            pg.context.close()


def test_the_settings_page_says_a_new_server_port_waits_for_the_next_start(hall, browser):
    live, _, _ = hall
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = ctx.new_page()
    try:
        page.goto(live.url + "/manage")
        page.fill("input[name=user]", "9000")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#tabs")
        page.goto(live.url + "/manage/config#devices")
        page.wait_for_selector("body[data-ready='1']")
        page.click('#tabs a[data-tab="devices"]')
        expect(page.locator("#server-box")).to_contain_text("下次启动")
        page.fill("#server-form input[name=port]", str(live.port + 1))
        page.click("#server-form button[type=submit]")
        expect(page.locator("#status")).to_contain_text("server.port")
        expect(page.locator("#status")).to_contain_text("下次启动 qrate serve 时生效")
        page.screenshot(path=str(SHOTS / "config-server-next-start.png"))
        assert requests.get(live.url + "/healthz", timeout=5).ok  # still serving where it was
    finally:
        ctx.close()
