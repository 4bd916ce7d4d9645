"""Every page answers in Chinese first, in a real browser."""
import pytest


@pytest.mark.parametrize("path", ["/kiosk", "/display", "/display/window/3"])
def test_page_is_chinese(live, page, path):
    page.goto(live.url + path)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
