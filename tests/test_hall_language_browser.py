"""The hall's language, not the browser's: on a Chromium that asks for English
(Accept-Language: en-US), the kiosk, lobby, pad, window screen and console come up in
the hall's Chinese; a citizen's English button lasts for that citizen only, and the pad
is back in Chinese after its citizen."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from conftest import PASSWORD, SHOTS, LiveServer, bearer
from server import config

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lang") / "hall"
    path = config.write_demo(folder, always_open=True)
    path.write_text(path.read_text(encoding="utf-8") + '\n[devices.language]\n"pad-en" = "en"\n',
                    encoding="utf-8")
    live = LiveServer(folder).start()
    live.cli("user", "add", "1003", "--role", "clerk", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    yield live
    live.kill()


@pytest.fixture
def english_browser(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    yield ctx
    ctx.close()


def test_device_pages_show_the_halls_language_whatever_the_browser_asks(hall, english_browser):
    page = english_browser.new_page()
    assert "en-US" in page.evaluate("navigator.languages.join()")
    kiosk = hall.device_token("kiosk-1", "kiosk")
    pad = hall.device_token("pad-3", "pad", 3)
    for url, chinese in [(f"/kiosk?token={kiosk}", "请点击您要办理的业务"), ("/display", "正在呼叫"),
                         ("/display/window/3", "窗口"), ("/console", "登录"),
                         (f"/pad?token={pad}", "满意")]:
        page.goto(hall.url + url)
        assert page.locator("html").get_attribute("lang") == "zh-CN", url
        assert chinese in page.content(), url
    page.screenshot(path=str(SHOTS / "lang-pad-en-browser.png"))
    # the pad's reason tags come from the API: Chinese too, although the browser asks for English
    state = page.evaluate("Qrate.api('/api/pad/state')")
    assert "态度" in " ".join(r["label"] for r in state["reasons"])


def test_a_citizens_english_lasts_for_that_citizen_only(hall, english_browser):
    kiosk_token = hall.device_token("kiosk-2", "kiosk")
    clerk = requests.post(hall.url + "/api/login", json={"user": "1003", "password": PASSWORD,
                                                        "window": 3}, timeout=5).json()["token"]
    pad = english_browser.new_page()
    pad.goto(f"{hall.url}/pad?token={hall.device_token('pad-3b', 'pad', 3)}")
    pad.wait_for_selector("body[data-state=idle]")
    pad.click("a.lang")  # the citizen taps English
    pad.wait_for_selector("html[lang=en]")
    pad.wait_for_selector("body[data-state=idle]")
    t = requests.post(hall.url + "/api/tickets", json={"service": "A"}, headers=bearer(kiosk_token),
                      timeout=5).json()
    requests.post(hall.url + "/api/windows/3/call-next", headers=bearer(clerk), timeout=5)
    requests.post(hall.url + f"/api/tickets/{t['id']}/finish", headers=bearer(clerk), timeout=5)
    pad.wait_for_selector("body[data-state=ask]")
    assert "Satisfied" in pad.inner_text("#ask")
    pad.click("button.level[data-score='5']")
    pad.wait_for_selector("body[data-state=thanks]")
    # the citizen is done: the pad is back in the hall's language for the next one
    pad.wait_for_selector("html[lang=zh-CN]", timeout=15000)
    pad.wait_for_selector("body[data-state=idle]")
    assert "满意" in pad.content()

    kiosk = english_browser.new_page()
    kiosk.goto(f"{hall.url}/kiosk?token={kiosk_token}")
    kiosk.click("#lang")
    kiosk.wait_for_selector("html[lang=en]")
    # the cards are drawn from the live snapshot, a moment after the page itself
    expect(kiosk.locator("#services")).to_contain_text("Social Security")
    kiosk.click(".service[data-code='A']")
    kiosk.wait_for_selector("#done:not(.hidden)")
    kiosk.click("#d-ok")
    kiosk.wait_for_selector("html[lang=zh-CN]")
    expect(kiosk.locator("#start")).to_contain_text("请点击您要办理的业务")


def test_a_device_set_to_english_stays_english(hall, english_browser):
    page = english_browser.new_page()
    page.goto(f"{hall.url}/pad?token={hall.device_token('pad-en', 'pad', 4)}")
    assert page.locator("html").get_attribute("lang") == "en"
