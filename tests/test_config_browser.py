"""A manager changes the hall in /manage/config: the kiosk and the lobby show it at once,
without a restart, and the change log lists it. Screenshots of the settings pages."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from conftest import PASSWORD, LiveServer, bearer

pytestmark = pytest.mark.browser

SHOWN = 15_000  # ms: a generous bound for "it shows up", not a speed target


@pytest.fixture
def server(hall_dir):
    live = LiveServer(hall_dir).start()
    yield live
    live.kill()


def new_page(browser, url, viewport=(1366, 768)):
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(url)
    return page


def test_a_manager_adds_a_service_and_renames_a_window_and_every_screen_follows(server, browser, shots):
    kiosk_token = server.device_token("kiosk-1", "kiosk")
    server.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    # window 2 calls a ticket, so the lobby shows window 2's name
    clerk = bearer(server.clerk_token("1002", 2))
    t = requests.post(server.url + "/api/tickets", json={"service": "A"}, headers=bearer(kiosk_token), timeout=5)
    assert t.status_code == 201
    assert requests.post(server.url + "/api/windows/2/call-next", headers=clerk, timeout=5).status_code == 200

    kiosk = new_page(browser, server.url + f"/kiosk?token={kiosk_token}", (1080, 1920))
    lobby = new_page(browser, server.url + "/display?voice=0", (1920, 1080))
    expect(lobby.locator("#newest-window")).to_have_text("2号窗口", timeout=SHOWN)
    expect(kiosk.locator('#services button[data-code="E"]')).to_be_visible(timeout=SHOWN)
    kiosk.evaluate("window.__notReloaded = true")
    lobby.evaluate("window.__notReloaded = true")

    admin = new_page(browser, server.url + "/manage")
    admin.fill("input[name=user]", "9001")
    admin.fill("input[name=password]", PASSWORD)
    admin.click("#login-form button[type=submit]")
    expect(admin.locator("#tabs")).to_be_visible()
    admin.goto(server.url + "/manage/config#services")
    admin.wait_for_selector("body[data-ready='1']")
    admin.screenshot(path=shots / "config-services.png")

    # a new service: F, 公积金
    admin.click("#add-service")
    card = admin.locator('#service-list form:has(input[name=code][value="F"])')
    expect(card).to_be_visible(timeout=SHOWN)
    card.locator("input[name=name]").fill("住房公积金")
    card.locator("input[name=name_en]").fill("Housing Provident Fund")
    card.locator("button[type=submit]").click()
    expect(admin.locator("#status")).to_contain_text("F", timeout=SHOWN)
    expect(kiosk.locator('#services button[data-code="F"] .s-main')).to_have_text("住房公积金", timeout=SHOWN)

    # window 2 renamed, and it serves F too
    admin.click('#tabs a[data-tab="windows"]')
    row = admin.locator("#window-table tbody tr").nth(1)
    row.locator("input[name=name]").fill("公积金综合窗口")
    row.locator("input[name=services]").fill("A, F")
    row.locator("[data-save]").click()
    expect(lobby.locator("#newest-window")).to_have_text("公积金综合窗口", timeout=SHOWN)
    admin.screenshot(path=shots / "config-windows.png")
    # pushed, not reloaded: both pages are the ones opened before the change
    assert kiosk.evaluate("window.__notReloaded === true") and lobby.evaluate("window.__notReloaded === true")
    r = requests.get(server.url + "/api/windows", timeout=5).json()["windows"]
    assert [w for w in r if w["number"] == 2][0]["services"] == ["A", "F"]

    # another manager saves while this one is typing: the typing is kept, and the page says why
    row3 = admin.locator("#window-table tbody tr").nth(2)
    row3.locator("input[name=name]").fill("综合受理窗口")
    other = bearer(requests.post(server.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                                 timeout=5).json()["token"])
    conf = requests.get(server.url + "/api/config", headers=other, timeout=5).json()
    [w for w in conf["windows"] if w["number"] == 4][0]["name"] = "4号综合窗口"
    assert requests.put(server.url + "/api/config", json=conf, headers=other, timeout=10).status_code == 200
    expect(admin.locator("#status")).to_contain_text("其他人刚刚修改了设置", timeout=SHOWN)
    expect(row3.locator("input[name=name]")).to_have_value("综合受理窗口")

    # the change log lists both changes
    admin.click('#tabs a[data-tab="audit"]')
    log = admin.locator("#audit-table")
    expect(log).to_contain_text("windows.2.name", timeout=SHOWN)
    expect(log).to_contain_text("公积金综合窗口")
    expect(log).to_contain_text("services.F")
    expect(log).to_contain_text("住房公积金")
    admin.screenshot(path=shots / "config-audit.png")

    for tab in ("staff", "ratings", "devices"):
        admin.click(f'#tabs a[data-tab="{tab}"]')
        admin.wait_for_timeout(300)
        admin.screenshot(path=shots / f"config-{tab}.png")
    kiosk.screenshot(path=shots / "config-kiosk-after.png")
    lobby.screenshot(path=shots / "config-lobby-after.png")
    admin.goto(server.url + "/manage/config?lang=en#services")
    admin.wait_for_selector("body[data-ready='1']")
    expect(admin.locator("#tabs")).to_contain_text("Services")
    admin.screenshot(path=shots / "config-services-en.png")
