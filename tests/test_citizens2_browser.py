"""Elder mode speaks English to a citizen who chose English; a clerk's console opened
later lists the helper calls still unanswered near it (the hall's kiosks and its own
window's pad), and a clerk may choose English for their own console, kept with their
account."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from conftest import PASSWORD, LiveServer, bearer
from server import config
from server.voice import guide_clips


@pytest.mark.unit
def test_english_guidance_is_english_clips():
    assert guide_clips("tap_service", lang="en") == ["en/guide_tap_service"]
    assert guide_clips("number", "AB023", lang="en") == [
        "chime", "en/guide_your_number", "en/letter_A", "en/letter_B", "en/digit_0", "en/digit_2", "en/digit_3"]
    assert guide_clips("number", "A023")[-1] == "zh/hao"  # Mandarin as before
    with pytest.raises(ValueError):
        guide_clips("tap_service", lang="fr")


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    folder = tmp_path_factory.mktemp("citizens2b") / "hall"
    config.write_demo(folder, always_open=True)
    server = LiveServer(folder).start()
    yield server
    server.kill()


@pytest.mark.browser
def test_elder_mode_guides_in_english_when_the_citizen_chose_english(hall, browser):
    ctx = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{hall.url}/kiosk?token={hall.device_token('kiosk-en', 'kiosk')}")
    page.wait_for_function("document.querySelectorAll('.service').length === 5")
    page.click("#lang")  # the citizen's English button
    page.wait_for_function("document.documentElement.lang === 'en' && document.querySelectorAll('.service').length === 5")
    page.click("#elder-btn")
    assert page.evaluate("window.qrateGuide") == ["/api/voice/guide/tap_service.wav?lang=en"]
    page.click(".service[data-code='B']")
    page.wait_for_selector("#done:not(.hidden)")
    number = page.inner_text("#d-number")
    url = f"/api/voice/guide/number.wav?number={number}&lang=en"
    assert page.evaluate("window.qrateGuide")[-1] == url
    wav = requests.get(hall.url + url, timeout=60)
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
    zh = requests.get(hall.url + f"/api/voice/guide/number.wav?number={number}", timeout=60)
    assert zh.status_code == 200 and zh.content != wav.content  # not the Mandarin clip
    assert requests.get(hall.url + "/api/voice/guide/tap_service.wav?lang=fr", timeout=10).status_code == 404
    ctx.close()


def sign_in(page, url, user, window):
    page.goto(url + "/console")
    page.fill("#login-user", user)
    page.fill("#login-password", PASSWORD)
    page.select_option("#login-window", str(window))
    page.click("#login-submit")
    page.wait_for_selector("#desk:not([hidden])")


@pytest.mark.browser
def test_a_console_opened_later_lists_unanswered_help_and_keeps_the_clerks_language(hall, browser, shots):
    kiosk = bearer(hall.device_token("kiosk-hall", "kiosk"))
    asked = [requests.post(hall.url + "/api/help", json={"place": "自助取号机"}, headers=kiosk, timeout=5),
             requests.post(hall.url + "/api/help", json={}, headers=bearer(hall.device_token("pad-3", "pad", 3)), timeout=5),
             requests.post(hall.url + "/api/help", json={}, headers=bearer(hall.device_token("pad-5", "pad", 5)), timeout=5)]
    assert [r.status_code for r in asked] == [201, 201, 201]
    for user in ("1003", "1005"):
        hall.cli("user", "add", user, "--role", "clerk", input_text=f"{PASSWORD}\n{PASSWORD}\n")

    ctx = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    sign_in(page, hall.url, "1003", 3)  # opened after the calls: none was pushed to it
    page.wait_for_selector("#help-bar:not([hidden])")
    # the kiosk's and window 3's pad's, not window 5's
    expect(page.locator("#help-bar")).to_have_attribute("data-count", "2")
    for part in ("kiosk-hall", "自助取号机", "分钟"):
        expect(page.locator("#help-text")).to_contain_text(part)
    page.screenshot(path=str(shots / "citizens2-console-help.png"))
    page.click("#help-ack")
    page.wait_for_selector("#help-bar[data-count='1']")
    expect(page.locator("#help-text")).to_contain_text("pad-3")

    # the clerk's own language: English, kept with the account
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    page.click("#lang-toggle")
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.wait_for_selector("#desk:not([hidden])")
    expect(page.locator("#desk-window")).to_have_text("Window 3")
    page.wait_for_selector("#help-bar[data-count='1']")  # still listed after the reload
    expect(page.locator("#help-text")).to_contain_text("asks for a helper")
    page.screenshot(path=str(shots / "citizens2-console-english.png"))
    page.click("#logout")
    page.wait_for_selector("#signin:not([hidden])")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"  # signed out: the hall's language
    sign_in(page, hall.url, "1003", 3)
    page.wait_for_function("document.documentElement.lang === 'en'")  # signed in again: the clerk's
    page.wait_for_selector("#desk:not([hidden])")
    ctx.close()

    other = browser.new_context(viewport={"width": 1600, "height": 900}, locale="en-US").new_page()
    sign_in(other, hall.url, "1005", 5)  # another clerk: the hall's language, whatever the browser
    assert other.evaluate("document.documentElement.lang") == "zh-CN"
    expect(other.locator("#desk-window")).to_have_text("5号窗口")
    other.context.close()
