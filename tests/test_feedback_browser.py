"""意见建议 in headless Chromium against a real `qrate serve`: a citizen leaves a suggestion
on the ticket's status page, a manager answers, the answer shows on that page; the kiosk's
button opens its own feedback page, which sends with the kiosk's token."""
import pytest
import requests
from playwright.sync_api import expect

from conftest import PASSWORD, SHOTS, LiveServer, bearer
from server import config

pytestmark = pytest.mark.browser


@pytest.fixture
def live(tmp_path):
    folder = tmp_path / "hall"
    config.write_demo(folder, always_open=True)
    server = LiveServer(folder).start()
    try:
        server.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        server.manager = requests.post(server.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                                       timeout=5).json()["token"]
        yield server
    finally:
        server.kill()


def test_leave_on_the_status_page_and_see_the_answer(live, browser):
    kiosk = live.device_token("kiosk-1", "kiosk")
    ticket = requests.post(live.url + "/api/tickets", json={"service": "A"}, headers=bearer(kiosk), timeout=5).json()
    ctx = browser.new_context(viewport={"width": 420, "height": 900}, locale="zh-CN")
    phone = ctx.new_page()
    phone.goto(live.url + "/t/" + ticket["status_url"].rsplit("/", 1)[-1])
    expect(phone.locator("#number")).to_have_text(ticket["number"])
    phone.check('input[name=kind][value=suggestion]')
    phone.fill("#fb-text", "叫号声音再大一点。")
    phone.fill("#fb-phone", "13800138000")
    phone.click("#fb-send")
    expect(phone.locator("#fb-msg")).to_contain_text("感谢您的意见")
    expect(phone.locator(".fb-item .fb-a")).to_contain_text("等待答复")
    (left,) = requests.get(live.url + "/api/feedback", headers=bearer(live.manager), timeout=5).json()["feedback"]
    assert left["phone"] == "138****8000" and left["kind"] == "suggestion"
    r = requests.post(f"{live.url}/api/feedback/{left['id']}/reply", headers=bearer(live.manager), timeout=5,
                      json={"reply": "已调高大厅音量，感谢您的建议。"})
    assert r.status_code == 200
    phone.reload()
    expect(phone.locator(".fb-item.answered .fb-a")).to_have_text("大厅答复：已调高大厅音量，感谢您的建议。")
    phone.screenshot(path=str(SHOTS / "feedback-status.png"), full_page=True)

    pad = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN").new_page()
    pad.goto(f"{live.url}/kiosk?token={kiosk}")
    expect(pad.locator("#feedback-btn")).to_be_visible()
    pad.screenshot(path=str(SHOTS / "feedback-kiosk-button.png"))
    pad.click("#feedback-btn")
    expect(pad.locator("#fb h2")).to_have_text("意见建议")
    pad.fill("#fb-text", "大厅座位不够。")
    pad.click("#fb-send")
    expect(pad.locator("#fb-msg")).to_contain_text("感谢您的意见")
    pad.screenshot(path=str(SHOTS / "feedback-kiosk.png"))
    rows = requests.get(live.url + "/api/feedback", headers=bearer(live.manager), timeout=5).json()["feedback"]
    assert [r["source"] for r in rows] == ["kiosk", "status"]
    ctx.close()
