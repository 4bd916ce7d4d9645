"""Every page answers in Chinese first, in a real browser."""
import pytest

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["/kiosk", "/display", "/display/window/3"])
def test_page_is_chinese(live, page, path):
    page.goto(live.url + path)
    assert page.locator("html").get_attribute("lang") == "zh-CN"


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
