"""Every page answers in Chinese first, and in English on request (?lang=en), in a real
browser: its own headings, labels and the figures its script fills in, not only <html lang>."""
import pytest
from playwright.sync_api import expect

from conftest import LiveServer
from server import config

pytestmark = pytest.mark.browser

# path -> (what the page shows in Chinese, what it shows in English); in English the Chinese
# is gone, but for what the page shows in both languages on purpose (BOTH).
PAGES = {
    "/kiosk": (["请点击您要办理的业务", "社会保障", "等候 0 人", "优先通道"],
               ["Tap the service you need", "Social Security", "Waiting: 0", "Priority window"]),
    "/display": (["正在呼叫", "当前排队", "社会保障", "0 人等候", "承诺等候不超过 20 分钟", "阳光政务", "已连接"],
                 ["Now calling", "Waiting now", "Social Security", "0 waiting", "Promise: wait at most 20 min",
                  "Connected"]),
    "/display/window/3": (["3号窗口", "已连接", "暂停办理"], ["Window 3", "Connected", "Closed"]),
    "/console": (["窗口叫号控制台", "工号", "密码", "登录"], ["Clerk console", "Employee number", "Password", "Sign in"]),
    "/manage": (["管理人员登录", "今日实况", "月度报告", "工号", "密码"],
                ["Managers sign in", "Today, live", "Monthly report", "Employee number", "Password"]),
    "/t/no-such-ticket": (["未找到此号票"], ["This ticket was not found"]),
}
BOTH = {"/kiosk": {"社会保障"}}  # the kiosk names each service in both languages


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages") / "hall"
    config.write_demo(folder, always_open=True)
    s = LiveServer(folder).start()
    s.kiosk = s.device_token("kiosk-pages", "kiosk")
    yield s
    s.kill()


@pytest.mark.parametrize("path", list(PAGES))
def test_each_page_shows_its_content_in_chinese_and_in_english(server, page, path):
    chinese, english = PAGES[path]
    query = f"?token={server.kiosk}" if path == "/kiosk" else ""
    page.goto(server.url + path + query)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    body = page.locator("body")
    for text in chinese:
        expect(body).to_contain_text(text)
    page.goto(server.url + path + "?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    for text in english:
        expect(body).to_contain_text(text)
    for text in set(chinese) - BOTH.get(path, set()):
        expect(body).not_to_contain_text(text)


def test_lobby_clock_shows_the_halls_time_whatever_the_screen_pc_is_set_to(live, browser):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo
    context = browser.new_context(timezone_id="America/New_York", locale="zh-CN")
    try:
        pg = context.new_page()
        pg.goto(live.url + "/display")
        pg.wait_for_function("document.getElementById('clock').textContent.length === 5")
        shown = pg.inner_text("#clock")
        now = datetime.now(ZoneInfo("Asia/Shanghai"))
        assert shown in {(now - timedelta(minutes=m)).strftime("%H:%M") for m in (0, 1)}
    finally:
        context.close()
