"""Issue 15 in headless Chromium against one real `qrate serve`: a clerk's yearly public
commitment with its progress this year on the lobby's 阳光政务 panel and the idle pad;
意见建议 left on a ticket's status page and answered there, and from the kiosk's button."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from conftest import PASSWORD, SHOTS, LiveServer, bearer, seed_history
from server import config

pytestmark = pytest.mark.browser
TZ = ZoneInfo("Asia/Shanghai")
POSTS = '''
[[posts]]
code = "desk"
name = "综合受理岗"
name_en = "General intake"
indicators = [{figure = "service_s.mean", target = 600, weight = 60, better = "lower"},
              {figure = "good_rate", target = 0.9, weight = 40, better = "higher"}]
'''


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    folder = tmp_path_factory.mktemp("assessment") / "hall"
    path = config.write_demo(folder, always_open=True)
    text = path.read_text(encoding="utf-8").replace('employee_no = "1003"\n', 'employee_no = "1003"\npost = "desk"\n')
    path.write_text(text + POSTS + '\n[publish]\nfigures = ["window_satisfaction", "clerk_commitments"]\n',
                    encoding="utf-8")
    live = LiveServer(folder, now=datetime(2026, 6, 17, 10, 0, tzinfo=TZ))
    seed_history(live, 2)   # Monday and Tuesday
    live.start()
    try:
        live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        manager = requests.post(live.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                                timeout=5).json()["token"]
        clerk = live.clerk_token("1003", 3)   # signs in at window 3: the lobby shows its panel
        yield {"live": live, "manager": manager, "clerk": clerk, "pad": live.device_token("pad-3", "pad", 3),
               "kiosk": live.device_token("kiosk-1", "kiosk")}
    finally:
        live.kill()


def test_the_commitment_and_its_progress_on_the_lobby_and_the_pad(hall, browser):
    live = hall["live"]
    r = requests.post(live.url + "/api/commitments", headers=bearer(hall["manager"]), timeout=10,
                      json={"staff": "1003", "year": 2026, "text": "热情服务，一次告知，限时办结。",
                            "targets": [{"figure": "service_s.mean", "target": 600},
                                        {"figure": "good_rate", "target": 0.9}]})
    assert r.status_code == 201, r.text
    (mine,) = requests.get(live.url + "/api/pledges?staff=1003", timeout=10).json()["commitments"]
    assert mine["targets"][0]["value"] is not None        # the seeded days have figures
    minutes = round(mine["targets"][0]["value"] / 60, 1)
    text = f"承诺平均办理不超过 10 分钟 · 本年 {minutes:g} 分钟"

    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    lobby = ctx.new_page()
    lobby.goto(live.url + "/display?voice=0")
    # the panel (rotating every 8 s) shows the year's text, then its progress in the same line
    expect(lobby.locator("#panel .commit")).to_have_text("热情服务，一次告知，限时办结。", timeout=20_000)
    lobby.screenshot(path=str(SHOTS / "commitment-lobby-text.png"))
    line = lobby.locator("#panel .pledge-line").first
    expect(line).to_be_visible(timeout=20_000)  # the next turn of the 8 s rotation, on a loaded machine
    expect(line).to_have_text(text)
    expect(lobby.locator("#panel .commit")).to_be_hidden()
    expect(lobby.locator("#panel .pledge-line").nth(1)).to_be_hidden()   # one line in the lobby
    lobby.screenshot(path=str(SHOTS / "commitment-lobby.png"))

    pad_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    pad = pad_ctx.new_page()
    pad.goto(f"{live.url}/pad?token={hall['pad']}")
    pad.wait_for_selector("body[data-state=idle]")
    expect(pad.locator(".commitment .pledge-line").first).to_have_text(text)
    expect(pad.locator(".commitment .pledge-line").nth(1)).to_contain_text("承诺好评率不低于 90% · 本年 ")
    expect(pad.locator("#commitment")).to_have_text("热情服务，一次告知，限时办结。")
    pad.screenshot(path=str(SHOTS / "commitment-pad.png"))
    ctx.close()
    pad_ctx.close()


def test_leave_on_the_status_page_and_see_the_answer(hall, browser):
    live = hall["live"]
    kiosk = hall["kiosk"]
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
    (left,) = requests.get(live.url + "/api/feedback", headers=bearer(hall["manager"]), timeout=5).json()["feedback"]
    assert left["phone"] == "138****8000" and left["kind"] == "suggestion"
    # the manager answers on the dashboard's follow-up tab
    manage = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN").new_page()
    manage.goto(live.url + "/manage")
    manage.fill("input[name=user]", "9001")
    manage.fill("input[name=password]", PASSWORD)
    manage.click("#login-form button")
    manage.locator("#tabs").wait_for()
    manage.click("a[data-tab=followup]")
    # the list masks the number; the manager answering this one opens the whole number
    number = manage.locator(f'[data-fb-phone="{left["id"]}"]')
    expect(number).to_have_text("138****8000")
    manage.click(f'button[data-fb-whole="{left["id"]}"]')
    expect(number).to_have_text("13800138000")
    manage.fill(f'input[data-fb="{left["id"]}"]', "已调高大厅音量，感谢您的建议。")
    manage.click(f'button[data-fb-send="{left["id"]}"]')
    expect(manage.locator("#fb-rows")).to_contain_text("按时")
    expect(manage.locator("#fb-figures")).to_contain_text("已答复 1 条")
    manage.locator("#fb-card").screenshot(path=str(SHOTS / "feedback-manage.png"))
    # the assessment tab: clerk 1003 of 综合受理岗 with the seeded days, the distribution drawn
    manage.click("a[data-tab=assess]")
    manage.fill("#assess-form input[name=period]", "2026-06")
    manage.click("#assess-form button[type=submit]")
    expect(manage.locator("#post-rows tbody tr", has_text="1003")).to_contain_text("综合受理岗")
    expect(manage.locator("#post-weights")).to_contain_text("日常考评权重 0.3")
    assert manage.locator("#chart-posts").bounding_box()["height"] > 50
    manage.locator("#by-post").screenshot(path=str(SHOTS / "assessment-by-post.png"))
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
    rows = requests.get(live.url + "/api/feedback", headers=bearer(hall["manager"]), timeout=5).json()["feedback"]
    assert [r["source"] for r in rows] == ["kiosk", "status"]
    ctx.close()
