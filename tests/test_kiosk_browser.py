"""The kiosk in a real browser: a tap gives a number, the ticket is printed, a printer
without paper is said plainly, and the page lives through a server restart.
Screenshots at 1080x1920 (portrait) and 1920x1080 go to the `shots` folder (conftest)."""
from __future__ import annotations

import re

import pytest
import requests

from conftest import SHOTS, LiveServer, bearer
from printer_kit import PrinterSim, set_printer, wait_for

pytestmark = pytest.mark.browser

@pytest.fixture
def kiosk_page(browser, shots):
    pages = []

    def make(width: int, height: int):
        ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        pg = ctx.new_page()
        pages.append(ctx)
        return pg
    yield make
    for ctx in pages:
        ctx.close()


@pytest.mark.parametrize("width,height,name", [(1080, 1920, "portrait"), (1920, 1080, "landscape")])
def test_tap_a_service_and_see_the_number(live, kiosk_page, width, height, name):
    token = live.device_token(f"kiosk-{name}", "kiosk")
    page = kiosk_page(width, height)
    page.goto(f"{live.url}/kiosk?token={token}")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_function("document.querySelectorAll('.service').length === 5")
    page.wait_for_function("!document.querySelector('.s-info').textContent.includes('—')")
    assert "token" not in page.url  # kept in localStorage, gone from the address bar
    assert "社会保障" in page.inner_text("#services")
    page.screenshot(path=str(SHOTS / f"kiosk-start-{name}.png"))

    page.click(".service[data-code='A']")  # the one tap
    page.wait_for_selector("#done:not(.hidden)")
    assert page.inner_text("#d-number") == "A001"
    windows = next(s["windows"] for s in requests.get(live.url + "/api/services", timeout=5).json()["services"]
                   if s["code"] == "A")
    assert windows == [1, 2, 3, 5]  # the demo hall's windows for A
    assert page.inner_text("#d-where") == "叫号后请到 1、2、3、5 号窗口办理"
    page.wait_for_function("document.getElementById('d-qr').naturalWidth > 0")
    page.screenshot(path=str(SHOTS / f"kiosk-ticket-{name}.png"))

    # the ticket went through the spool to the hall's file printer
    printed = live.hall_dir / "data" / "printed"
    wait_for(lambda: list(printed.glob("*-A001.bin")), 30, what="the printed ticket")

    # the page keeps its token: a reload without ?token still issues
    page.goto(f"{live.url}/kiosk")
    page.wait_for_function("document.querySelectorAll('.service:not(.closed)').length > 0")
    page.click(".service[data-code='B']")
    page.wait_for_selector("#done:not(.hidden)")
    assert page.inner_text("#d-number") == "B001"
    page.click("#d-ok")
    page.wait_for_selector("#start:not(.hidden)")


def test_priority_in_two_taps(live, kiosk_page):
    token = live.device_token("kiosk-p", "kiosk")
    page = kiosk_page(1080, 1920)
    page.goto(f"{live.url}/kiosk?token={token}")
    page.wait_for_function("document.querySelectorAll('.service').length === 5")
    page.click("#priority-btn")
    page.screenshot(path=str(SHOTS / "kiosk-priority-portrait.png"))
    page.click(".service[data-code='E']")
    page.wait_for_selector("#done:not(.hidden)")
    ticket = requests.get(live.url + "/api/queue", timeout=5).json()["tickets"][0]
    assert ticket["priority"] is True and ticket["number"] == page.inner_text("#d-number")


def test_no_paper_is_said_plainly_and_the_number_stays(hall_dir, tmp_path, kiosk_page):
    sim = PrinterSim(tmp_path / "sim").start(paper_out=True)
    set_printer(hall_dir, sim.url, poll_s=0.5, retry_max_s=1)
    live = LiveServer(hall_dir)
    try:
        live.start()
        token = live.device_token("kiosk-np", "kiosk")
        page = kiosk_page(1080, 1920)
        page.goto(f"{live.url}/kiosk?token={token}")
        page.wait_for_selector("#printer-banner:not(.hidden)", timeout=15000)
        assert "缺纸" in page.inner_text("#printer-banner")
        page.click(".service[data-code='C']")
        page.wait_for_selector("#done:not(.hidden)")
        assert page.inner_text("#d-number") == "C001"
        assert "拍" in page.inner_text("#d-print")  # take a photo of this screen
        page.screenshot(path=str(SHOTS / "kiosk-no-paper-portrait.png"))
        sim.say("paper ok")
        page.wait_for_selector("#printer-banner.hidden", state="attached", timeout=15000)
        wait_for(lambda: any("C001" in t for t in sim.printed()), 30, what="C001 printed")
    finally:
        live.kill()
        sim.stop()


def test_kiosk_lives_through_a_server_restart(live, kiosk_page):
    token = live.device_token("kiosk-r", "kiosk")
    page = kiosk_page(1920, 1080)
    page.goto(f"{live.url}/kiosk?token={token}")
    page.wait_for_function("document.querySelectorAll('.service').length === 5")
    live.kill()
    page.wait_for_selector("#offline-banner:not(.hidden)", timeout=15000)
    assert "—" in page.inner_text(".service[data-code='A'] .s-info")  # no stale count
    again = LiveServer(live.hall_dir, live.port).start()
    try:
        page.wait_for_selector("#offline-banner.hidden", state="attached", timeout=15000)
        r = requests.post(again.url + "/api/tickets", json={"service": "A"}, headers=bearer(token),
                          timeout=5)
        assert r.status_code == 201
        page.wait_for_function(
            "document.querySelector(\".service[data-code='A'] .s-info\").textContent.startsWith('等候 1 人')",
            timeout=15000)
        page.click(".service[data-code='A']")
        page.wait_for_selector("#done:not(.hidden)")
        assert page.inner_text("#d-number") == "A002"
    finally:
        again.kill()


def test_closed_and_capped_services_say_why_and_the_page_returns_by_itself(hall_dir, kiosk_page):
    text = (hall_dir / "hall.toml").read_text(encoding="utf-8")
    text = text.replace("enforce_hours = false", "enforce_hours = true")
    blocks = text.split("[[services]]")
    for i, block in enumerate(blocks):
        if i == 0:
            continue
        own, sep, rest = block.partition("\n[")  # the service's own lines, not the tables after it
        if 'code = "D"' in own:  # never open
            own = re.sub(r"(?m)^days = \[[^\]]*\]", "days = []", own)
        else:  # open all day, every day, whenever the test runs
            own = re.sub(r"(?m)^(hours|days|slots) = \[.*\]\n", "", own)
        blocks[i] = own + sep + rest
        if 'code = "E"' in block:
            blocks[i] = blocks[i].replace('code = "E"\n', 'code = "E"\ndaily_cap = 1\n')
    text = "[[services]]".join(blocks)
    text += "\n[kiosk]\nreturn_s = 2\n"
    (hall_dir / "hall.toml").write_text(text, encoding="utf-8")
    live = LiveServer(hall_dir)
    try:
        live.start()
        token = live.device_token("kiosk-c", "kiosk")
        page = kiosk_page(1080, 1920)
        page.goto(f"{live.url}/kiosk?token={token}")
        page.wait_for_function("document.querySelectorAll('.service').length === 5")
        page.click(".service[data-code='E']")
        page.wait_for_selector("#done:not(.hidden)")
        assert page.inner_text("#d-number") == "E001"
        page.wait_for_selector("#start:not(.hidden)", timeout=15000)  # back to the start by itself
        page.wait_for_selector(".service[data-code='E'].closed")
        assert "今日号已取完" in page.inner_text(".service[data-code='E']")
        assert "未到办理时间" in page.inner_text(".service[data-code='D']")
        assert page.is_disabled(".service[data-code='D']")
        page.screenshot(path=str(SHOTS / "kiosk-closed-portrait.png"))
    finally:
        live.kill()


def test_english_for_one_citizen(live, kiosk_page):
    token = live.device_token("kiosk-en", "kiosk")
    page = kiosk_page(1920, 1080)
    page.goto(f"{live.url}/kiosk?token={token}")
    page.wait_for_function("document.querySelectorAll('.service').length === 5")
    page.click("#lang")
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.wait_for_function("document.querySelectorAll('.service').length === 5")
    assert page.inner_text(".service[data-code='A'] .s-main") == "Social Security"
    page.screenshot(path=str(SHOTS / "kiosk-start-english-landscape.png"))
    page.click(".service[data-code='A']")
    page.wait_for_selector("#done:not(.hidden)")
    assert "Please go to window" in page.inner_text("#d-where")
    page.click("#d-ok")  # the next citizen starts in Chinese
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
