"""The citizen's status page (the ticket's QR code): own ticket only, live, and the call."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from conftest import SHOTS, bearer

pytestmark = pytest.mark.browser



def test_status_page_follows_the_ticket_to_its_call(live, browser):
    kiosk = live.device_token("kiosk-s", "kiosk")
    clerk = live.clerk_token("1003", 3)
    issue = lambda service: requests.post(live.url + "/api/tickets", json={"service": service},  # noqa: E731
                                          headers=bearer(kiosk), timeout=5).json()
    first, mine = issue("A"), issue("A")
    other = issue("B")
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                              is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        page.goto(mine["status_url"].replace("http://127.0.0.1:5000", live.url))
        page.wait_for_function("document.getElementById('number').textContent === 'A002'")
        expect(page.locator("#ahead")).to_have_text("1")
        body = page.inner_text("body")
        assert first["number"] not in body and other["number"] not in body  # nobody else's
        page.screenshot(path=str(SHOTS / "status-waiting-phone.png"))

        r = requests.post(live.url + "/api/windows/3/call-next", headers=bearer(clerk), timeout=5)
        assert r.json()["number"] == "A001"
        expect(page.locator("#ahead")).to_have_text("0")
        # the number being called now, and the windows that serve this ticket
        page.wait_for_function("document.getElementById('now-calling').textContent.includes('A001')")
        expect(page.locator("#served-at")).to_have_text("办理窗口：1、2、3、5")
        requests.post(live.url + f"/api/tickets/{first['id']}/finish", headers=bearer(clerk), timeout=5)
        requests.post(live.url + "/api/windows/3/call-next", headers=bearer(clerk), timeout=5)
        page.wait_for_selector("#call:not(.hidden)")
        expect(page.locator("#call")).to_contain_text("3 号窗口")
        page.screenshot(path=str(SHOTS / "status-called-phone.png"))
    finally:
        ctx.close()


def test_unknown_key_says_so(live, browser):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        page = ctx.new_page()
        page.goto(live.url + "/t/not-a-ticket-key")
        page.wait_for_selector("#missing:not(.hidden)")
        assert "未找到" in page.inner_text("#missing")
    finally:
        ctx.close()


def test_the_citizen_cancels_their_own_ticket(live, browser):
    kiosk = live.device_token("kiosk-c", "kiosk")
    mine = requests.post(live.url + "/api/tickets", json={"service": "B"}, headers=bearer(kiosk),
                         timeout=5).json()
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    try:
        page = ctx.new_page()
        page.goto(mine["status_url"].replace("http://127.0.0.1:5000", live.url))
        page.wait_for_selector("#cancel:not(.hidden)")
        page.click("#cancel")
        assert page.inner_text("#cancel") == "再点一次即取消您的号"  # a second tap confirms
        page.click("#cancel")
        page.wait_for_function("document.getElementById('state').textContent === '已取消'")
        expect(page.locator("#cancel")).to_be_hidden()
        queue = requests.get(live.url + "/api/queue", timeout=5).json()
        assert mine["id"] not in [t["id"] for t in queue["tickets"]]
        key = mine["status_url"].rsplit("/", 1)[1]
        again = requests.post(f"{live.url}/api/status/{key}/cancel", timeout=5)
        assert again.status_code == 409 and again.json()["error"]["code"] == "wrong_state"
        assert requests.post(f"{live.url}/api/status/nope/cancel", timeout=5).status_code == 404
    finally:
        ctx.close()
