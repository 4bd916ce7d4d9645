"""A clerk's yearly public commitment with its progress this year, on the lobby's 阳光政务
panel and on the idle pad, in headless Chromium against a real `qrate serve`."""
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


@pytest.fixture
def hall(tmp_path):
    folder = tmp_path / "hall"
    path = config.write_demo(folder, always_open=True)
    text = path.read_text(encoding="utf-8").replace('employee_no = "1003"\n', 'employee_no = "1003"\npost = "desk"\n')
    path.write_text(text + POSTS, encoding="utf-8")
    live = LiveServer(folder, now=datetime(2026, 6, 15, 10, 0, tzinfo=TZ))
    seed_history(live, 3)
    live.start()
    try:
        live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        manager = requests.post(live.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                                timeout=5).json()["token"]
        clerk = live.clerk_token("1003", 3)   # signs in at window 3: the lobby shows its panel
        yield {"live": live, "manager": manager, "clerk": clerk, "pad": live.device_token("pad-3", "pad", 3)}
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
    minutes = round(mine["targets"][0]["value"] / 60, 1)
    assert mine["targets"][0]["value"] is not None        # the seeded half year has figures
    text = f"承诺平均办理不超过 10 分钟 · 本年 {minutes:g} 分钟"

    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    lobby = ctx.new_page()
    lobby.goto(live.url + "/display?voice=0")
    # the panel (rotating every 8 s) shows the year's text, then its progress in the same line
    expect(lobby.locator("#panel .commit")).to_have_text("热情服务，一次告知，限时办结。", timeout=20_000)
    lobby.screenshot(path=str(SHOTS / "commitment-lobby-text.png"))
    line = lobby.locator("#panel .pledge-line").first
    expect(line).to_be_visible(timeout=10_000)
    expect(line).to_have_text(text)
    expect(lobby.locator("#panel .commit")).to_be_hidden()
    expect(lobby.locator("#panel .pledge-line").nth(1)).to_be_hidden()   # one line in the lobby
    lobby.screenshot(path=str(SHOTS / "commitment-lobby.png"))

    pad_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    pad = pad_ctx.new_page()
    pad.goto(f"{live.url}/pad?token={hall['pad']}")
    pad.wait_for_selector("body[data-state=idle]")
    expect(pad.locator(".commitment .pledge-line").first).to_have_text(text, timeout=10_000)
    expect(pad.locator(".commitment .pledge-line").nth(1)).to_contain_text("承诺好评率不低于 90% · 本年 ")
    expect(pad.locator("#commitment")).to_have_text("热情服务，一次告知，限时办结。")
    pad.screenshot(path=str(SHOTS / "commitment-pad.png"))
    ctx.close()
    pad_ctx.close()
