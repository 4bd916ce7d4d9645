"""/manage/system in a real browser at 1366×768: the admin revokes a lost tablet in one
click and gives a kiosk a new link with its QR code."""
from __future__ import annotations

import pytest

from playwright.sync_api import expect

from conftest import PASSWORD, bearer

pytestmark = pytest.mark.browser


def test_the_admin_revokes_a_tablet_and_makes_a_new_link(live, browser, shots):
    import requests
    live.cli("user", "add", "9009", "--role", "admin", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    pad = live.device_token("pad-3-lost", "pad", 3)
    live.device_token("kiosk-east", "kiosk")
    live.cli("backup")
    clerk = live.clerk_token("1003", 3)
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = ctx.new_page()
    try:
        page.request.post(live.url + "/api/login", data={"user": "9009", "password": PASSWORD})
        page.goto(live.url + "/manage/system")
        page.wait_for_selector("#devices tr[data-device='pad-3-lost']")
        assert "已校验" in page.inner_text("#backup")
        page.screenshot(path=str(shots / "manage-system.png"))
        page.click("#devices tr[data-device='pad-3-lost'] button.danger")
        page.wait_for_selector("#devices tr[data-device='pad-3-lost'] .bad")
        assert requests.get(live.url + "/api/me", headers=bearer(pad), timeout=5).status_code == 401
        page.click("#devices tr[data-device='kiosk-east'] form[action$='/link'] button")
        page.wait_for_selector("#new-link svg")
        url = page.inner_text("#device-url")
        assert url.startswith("http://127.0.0.1:") and "/kiosk?token=" in url
        page.screenshot(path=str(shots / "manage-system-new-link.png"))
        # a manager's take-over: the clerk at window 3 signed out in one click, and the
        # clerk's console says so at once
        desk = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN").new_page()
        desk.request.post(live.url + "/api/login", data={"user": "1003", "password": PASSWORD, "window": 3})
        desk.goto(live.url + "/console")
        desk.wait_for_selector("#desk:not([hidden])")
        # the console hears of the take-over on its own Socket.IO connection: only once that
        # is up (its snapshot drawn) can it be told; the desk shows before it connects
        desk.wait_for_selector("html.online")
        page.goto(live.url + "/manage/system#windows")
        page.wait_for_selector("#windows tr[data-window='3'] button.danger")
        page.screenshot(path=str(shots / "manage-system-windows.png"), full_page=True)
        page.click("#windows tr[data-window='3'] button.danger")
        page.wait_for_selector("#windows tr[data-window='3']:not(:has(button))")
        r = requests.post(live.url + "/api/windows/3/call-next", headers=bearer(clerk), timeout=5)
        assert r.status_code == 401
        desk.wait_for_selector("#signin:not([hidden])")
        # the console says who ended it, so the clerk knows what to do next
        expect(desk.locator("#login-error")).to_contain_text("管理人员已将您从本窗口签退")
        expect(desk.locator("#login-window")).to_have_value("3")  # the form offers the same window
        desk.screenshot(path=str(shots / "console-signed-out.png"))
        # back at the window, then another clerk takes it over: the console says that instead
        desk.request.post(live.url + "/api/login", data={"user": "1003", "password": PASSWORD, "window": 3})
        desk.goto(live.url + "/console")
        desk.wait_for_selector("#desk:not([hidden])")
        live.cli("user", "add", "1004", "--role", "clerk", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        r = requests.post(live.url + "/api/login", json={"user": "1004", "password": PASSWORD, "window": 3},
                          timeout=5)
        assert r.status_code == 409, r.text  # occupied: the second clerk must say take_over
        r = requests.post(live.url + "/api/login", json={"user": "1004", "password": PASSWORD, "window": 3,
                                                         "take_over": True}, timeout=5)
        assert r.status_code == 200, r.text
        desk.wait_for_selector("#signin:not([hidden])")
        expect(desk.locator("#login-error")).to_contain_text("其他工作人员已接管本窗口")
        desk.context.close()
    finally:
        ctx.close()
