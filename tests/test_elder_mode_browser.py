"""Elder mode (适老化) at the kiosk, 1080x1920: one tap from the start screen (and on for
the priority path), targets of at least 80 CSS px (about 20 mm on a 21.5" kiosk), spoken
guidance from the hall's clips, and a 请工作人员帮助 button whose call reaches the managers'
alerts and is acknowledged."""
from __future__ import annotations

import pytest
import requests

from conftest import PASSWORD, SHOTS, bearer

pytestmark = pytest.mark.browser

SIZES = """() => Array.from(document.querySelectorAll('button, a')).filter(b => b.offsetParent)
  .map(b => { const r = b.getBoundingClientRect(); return {id: b.id || b.dataset.code || b.textContent.trim(),
              w: r.width, h: r.height}; })"""


def test_elder_mode_guides_speaks_and_calls_a_helper(live, browser):
    ctx = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{live.url}/kiosk?token={live.device_token('kiosk-elder', 'kiosk')}")
    page.wait_for_function("document.querySelectorAll('.service').length === 5")
    page.click("#elder-btn")  # one tap from the start screen
    assert page.evaluate("document.body.classList.contains('elder')")
    assert page.evaluate("window.qrateGuide") == ["/api/voice/guide/tap_service.wav"]
    small = [b for b in page.evaluate(SIZES) if b["w"] < 80 or b["h"] < 80]
    assert small == [], f"targets under 80 px in elder mode: {small}"
    page.screenshot(path=str(SHOTS / "kiosk-elder-portrait.png"))
    wav = requests.get(live.url + "/api/voice/guide/tap_service.wav", timeout=60)
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF" and len(wav.content) > 20000
    assert requests.get(live.url + "/api/voice/guide/nothing.wav", timeout=10).status_code == 404

    page.click(".service[data-code='A']")
    page.wait_for_selector("#done:not(.hidden)")
    number = page.inner_text("#d-number")
    assert page.evaluate("window.qrateGuide")[-1] == f"/api/voice/guide/number.wav?number={number}"
    page.click("#d-ok")
    assert not page.evaluate("document.body.classList.contains('elder')")  # the next citizen starts plain

    page.click("#priority-btn")  # the priority path starts in elder mode
    assert page.evaluate("document.body.classList.contains('elder')")
    page.click("#help-btn")
    page.wait_for_selector("#help-note:not(.hidden)")
    assert "工作人员" in page.inner_text("#help-note")

    live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    manager = requests.post(live.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                            timeout=5).json()["token"]
    alerts = requests.get(live.url + "/api/alerts", headers=bearer(manager), timeout=5).json()["alerts"]
    help_calls = [a for a in alerts if a["type"] == "help"]
    assert [a["device"] for a in help_calls] == ["kiosk-elder"]
    acked = requests.post(live.url + f"/api/help/{help_calls[0]['id']}/ack", headers=bearer(manager),
                          timeout=5).json()
    assert acked["acked_by"] == "9001"
    alerts = requests.get(live.url + "/api/alerts", headers=bearer(manager), timeout=5).json()["alerts"]
    assert [a for a in alerts if a["type"] == "help"] == []
    ctx.close()
