"""Appointments end to end on a running `qrate serve` and a real browser: the phone page
books (390×844), the kiosk's check-in page takes a typed code and a scanned QR code
(keyboard input, 1080×1920), the appointment is called at its slot ahead of a walk-in
who came after the slot began, finished and rated. Screenshots in test-output/screenshots."""
from __future__ import annotations

from datetime import datetime

import pytest
import requests

from conftest import TZ, LiveServer, bearer, follow_hall_clock

pytestmark = pytest.mark.browser

START = datetime(2026, 11, 30, 8, 0, tzinfo=TZ)  # a Monday morning: book
LATER = datetime(2026, 11, 30, 9, 0, 30, tzinfo=TZ)  # the 09:00 slot has begun: come
SLOT = datetime(2026, 11, 30, 9, 0, tzinfo=TZ).isoformat()


@pytest.fixture
def servers(hall_dir):
    started = []

    def start(now):
        started.append(LiveServer(hall_dir, now=now).start())
        return started[-1]
    yield start
    for s in started:
        s.kill()


# a keyboard-wedge scanner's burst: every key, then Enter, in one go
SCAN = """code => { for (const key of [...code, "Enter"])
    document.dispatchEvent(new KeyboardEvent("keydown", {key, bubbles: true, cancelable: true})); }"""


def book(server, name, phone, id_last4="1234", slot=SLOT):
    r = requests.post(server.url + "/api/appointments", json={
        "service": "A", "slot": slot, "name": name, "phone": phone, "id_last4": id_last4}, timeout=5)
    assert r.status_code == 201, r.text
    return r.json()


def test_book_check_in_call_finish_rate(servers, hall_dir, browser, shots):
    server = servers(START)
    kiosk = server.device_token("kiosk-1", "kiosk")
    pad = server.device_token("pad-1", "pad", window=1)
    clerk = server.clerk_token("1001", 1)
    typed = book(server, "张三", "13800001234")
    scanned = book(server, "李四", "13900005678")

    # the phone page books a later slot: service, day, slot, details
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                device_scale_factor=2, is_mobile=True, has_touch=True)
    pg = phone.new_page()
    follow_hall_clock(pg, server)
    pg.goto(server.url + "/book")
    pg.get_by_role("button", name="社会保障").first.click()
    pg.locator(".slot:not([disabled])").nth(4).click()  # 10:30: too early to check in at 09:00
    pg.fill("#f-name", "王五")
    pg.fill("#f-phone", "13700009999")
    pg.fill("#f-id", "567x")
    pg.screenshot(path=shots / "appointments-phone-booking.png")
    pg.click("#f-go")
    pg.wait_for_url("**/book/b/**")
    pg.wait_for_function("document.getElementById('b-code').textContent.length === 8")
    code3 = pg.text_content("#b-code")
    assert pg.text_content("#b-state") == "已预约"
    assert pg.text_content("#b-who").startswith("王*")
    pg.screenshot(path=shots / "appointments-phone-booked.png", full_page=True)
    phone.close()

    # the hall opens again at 09:00:30 (a restart moves the hall clock on; tokens survive)
    server.kill()
    server = servers(LATER)
    # a walk-in who arrives after 09:00 began, before the appointment checks in
    walk_in = requests.post(server.url + "/api/tickets", json={"service": "A"},
                            headers=bearer(kiosk), timeout=5).json()

    # the kiosk: the typed code on the on-screen keys
    ctx = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN")
    kp = ctx.new_page()
    follow_hall_clock(kp, server)
    # the kiosk's start screen: one entry to check-in, no self-declared 预约 priority
    kp.goto(f"{server.url}/kiosk?token={kiosk}")
    kp.wait_for_selector("#services .service")
    assert kp.locator(".kind[data-kind='appointment']").count() == 0
    kp.screenshot(path=shots / "appointments-kiosk-start.png")
    kp.click("#checkin-btn")
    kp.wait_for_url("**/kiosk/check-in")
    for ch in typed["code"]:
        kp.click(f"#keys .key[data-key='{ch}']")
    kp.screenshot(path=shots / "appointments-kiosk-checkin.png")
    kp.click("#go-code")
    kp.wait_for_selector("#result:not(.hidden)")
    number = kp.text_content("#r-number")
    assert number.startswith("A") and kp.is_visible("#r-badge")
    assert kp.text_content("#r-badge") == "约" and "09:00-09:30" in kp.text_content("#r-slot")
    kp.screenshot(path=shots / "appointments-kiosk-checked-in.png")
    kp.click("#r-ok")

    # the scanner: the code's keys in one burst, then Enter, with no text box. The burst is
    # sent inside the page at once, as a keyboard-wedge scanner types it: Playwright's own
    # typing is a round trip per key, which a loaded machine can stretch past the scanner's
    # 60 ms between keys
    kp.evaluate(SCAN, scanned["code"])
    kp.wait_for_selector("#result:not(.hidden)")
    number2 = kp.text_content("#r-number")
    assert number2 != number and kp.is_visible("#r-badge")
    kp.click("#r-ok")
    # a person typing slowly on a keyboard is not a scan: no check-in is asked for it
    checkins = []
    kp.on("request", lambda r: checkins.append(r.url) if r.method == "POST" and "/check-in" in r.url else None)
    kp.keyboard.type(code3, delay=120)
    kp.keyboard.press("Enter")
    # too early: the kiosk says why
    for ch in code3:
        kp.click(f"#keys .key[data-key='{ch}']")
    # a scan would have asked at the Enter, before these clicks; the page's request is seen
    # within them (each click is a round trip through the page)
    assert checkins == [] and kp.is_visible("#entry"), checkins
    kp.click("#go-code")
    kp.wait_for_selector("#refused:not(.hidden)")
    assert "签到" in kp.text_content("#x-text")
    assert len(checkins) == 1, checkins  # the on-screen keys' only
    ctx.close()

    # the lobby snapshot marks the appointment tickets
    snap = requests.get(server.url + "/api/queue", timeout=5).json()
    marks = {t["number"]: t["appointment"] for t in snap["tickets"]}
    assert marks == {walk_in["number"]: False, number: True, number2: True}

    # called at the slot, ahead of the walk-in who came after the slot began
    order = []
    for _ in range(3):
        t = requests.post(server.url + "/api/windows/1/call-next", headers=bearer(clerk), timeout=5).json()
        order.append(t["number"])
        r = requests.post(server.url + f"/api/tickets/{t['id']}/finish", headers=bearer(clerk), timeout=5)
        assert r.status_code == 200
        if t["number"] == number:
            rated = requests.post(server.url + "/api/ratings", json={"ticket": t["id"], "score": 5},
                                  headers=bearer(pad), timeout=5)
            assert rated.status_code == 201, rated.text
    assert order == [number, number2, walk_in["number"]]
    mine = requests.get(server.url + "/api/appointments/status/" + typed["status_url"].rsplit("/", 1)[1],
                        timeout=5).json()
    assert mine["status"] == "checked_in" and mine["ticket"]["status"] == "done"
