"""Phone tickets and appointments in a real browser against a running `qrate serve`:
the phone page at 390×844 takes today's ticket and checks it in by the code at the hall's
door (scanned: the door's URL opened on the same phone; typed: on the ticket's page when
the camera opened another browser); the kiosk's phone + name check-in; the 约 marks on the
console's queue and the lobby, read once the pages have drawn them from the live snapshot.
Screenshots in test-output/screenshots."""
from __future__ import annotations

from datetime import datetime

import pytest
import requests
from playwright.sync_api import expect

from server import auth, config, store

from conftest import PASSWORD, TZ, LiveServer, bearer, follow_hall_clock
from test_appointments_notifier import Gateway

pytestmark = pytest.mark.browser

START = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)  # a Monday
SHOW = 15_000  # ms: a generous bound for "it shows up" on a loaded machine, not a speed target


def accounts(hall_dir) -> str:
    cfg = config.load(hall_dir)
    store.open_and_migrate(cfg.db_path)
    db = store.connect(cfg.db_path)
    try:
        _, kiosk = auth.add_device(db, "kiosk-1", "kiosk", None)
        for user, role in (("1001", "clerk"), ("1002", "clerk"), ("9001", "manager")):
            auth.add_user(db, user, role, PASSWORD)
    finally:
        db.close()
    return kiosk


def login(server, user, window=None) -> dict:
    r = requests.post(server.url + "/api/login", json={"user": user, "password": PASSWORD, "window": window},
                      timeout=5)
    assert r.status_code == 200, r.text
    return bearer(r.json()["token"])


@pytest.fixture
def gateway():
    g = Gateway(fail=1)  # an SMS gateway that fails its first request
    yield g
    g.close()


@pytest.fixture
def server(hall_dir, gateway):
    kiosk = accounts(hall_dir)
    path = hall_dir / "hall.toml"
    old = 'webhook = { url = "", retries = 5, timeout_s = 5, backoff_s = 2 }'
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, f'webhook = {{ url = "{gateway.url}", retries = 5, timeout_s = 3, '
                                      'backoff_s = 0 }'), encoding="utf-8")
    live = LiveServer(hall_dir, now=START).start()
    live.kiosk = kiosk
    yield live
    live.kill()


def phone_context(browser, server):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                              device_scale_factor=2, is_mobile=True, has_touch=True)
    pg = ctx.new_page()
    follow_hall_clock(pg, server)
    return ctx, pg


def take_phone_ticket(pg, server) -> str:
    pg.goto(server.url + "/book")
    pg.wait_for_selector("#s-remote:not(.hidden) #remote .choice")
    pg.locator("#remote .choice", has_text="社会保障").click()
    pg.wait_for_url("**/t/**")
    pg.wait_for_selector("#checkin:not(.hidden)")  # drawn from the ticket's status
    number = pg.text_content("#number")
    assert number.startswith("A")
    return number


def test_phone_ticket_door_check_in_kiosk_phone_tab_and_appt_marks(server, browser, shots, gateway):
    manager = login(server, "9001")
    door = requests.get(server.url + "/api/door", headers=manager, timeout=5).json()
    booked = requests.post(server.url + "/api/appointments", json={
        "service": "A", "slot": datetime(2026, 11, 30, 9, 30, tzinfo=TZ).isoformat(),
        "name": "张三", "phone": "13800001234", "id_last4": "1234"}, timeout=5)
    assert booked.status_code == 201, booked.text

    # phone 1 takes today's ticket; scanning the door opens the door's URL on the same phone
    ctx1, p1 = phone_context(browser, server)
    first = take_phone_ticket(p1, server)
    assert "签到" in p1.text_content("#checkin")
    p1.screenshot(path=shots / "appointments2-phone-ticket.png", full_page=True)
    assert door["url"].endswith("/door/" + door["code"])
    p1.goto(server.url + "/door/" + door["code"])  # what the camera opens
    ok = p1.wait_for_selector(".result.ok .r-title")
    assert ok.text_content() == f"已签到：{first}"
    p1.screenshot(path=shots / "appointments2-door-checked-in.png", full_page=True)
    p1.click(".result.ok a.go")
    p1.wait_for_url("**/t/**")
    p1.wait_for_selector("#ticket:not(.hidden)")
    expect(p1.locator("#checkin")).to_be_hidden()

    # phone 2 takes one too; its camera opens another browser, which holds no ticket
    ctx2, p2 = phone_context(browser, server)
    second = take_phone_ticket(p2, server)
    ctx3, p3 = phone_context(browser, server)
    p3.goto(server.url + "/door/" + door["code"])
    p3.wait_for_selector("#none:not(.hidden)")
    assert door["code"][:3] in p3.text_content("#none")
    ctx3.close()

    # the kiosk: phone digits + name
    kctx = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN")
    kp = kctx.new_page()
    follow_hall_clock(kp, server)
    kp.goto(f"{server.url}/kiosk/check-in?token={server.kiosk}")
    kp.click("#tab-phone")
    for ch in "1234":
        kp.click(f"#digits .key[data-key='{ch}']")
    kp.fill("#name", "张三")
    kp.screenshot(path=shots / "appointments2-kiosk-phone-tab.png")
    kp.click("#go-phone")
    kp.wait_for_selector("#result:not(.hidden)")
    appt = kp.text_content("#r-number")
    assert kp.is_visible("#r-badge") and kp.text_content("#r-badge") == "约"
    assert "09:30-10:00" in kp.text_content("#r-slot")
    kctx.close()

    # the clerk console at window 1: 约 on the appointment, 未签到 on the unchecked phone ticket
    cctx = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    console = cctx.new_page()
    follow_hall_clock(console, server)
    console.goto(server.url + "/console")
    console.fill("#login-user", "1001")
    console.fill("#login-password", PASSWORD)
    console.select_option("#login-window", "1")
    console.click("#login-submit")
    console.wait_for_selector("html.online")
    row = console.locator("#queue li", has_text=appt)
    expect(row.locator(".tags")).to_contain_text("约", timeout=SHOW)
    unchecked = console.locator("#queue li", has_text=second)
    expect(unchecked.locator(".tags")).to_contain_text("未签到", timeout=SHOW)
    expect(console.locator("#queue li", has_text=first).locator(".tags")).not_to_contain_text("约")
    console.screenshot(path=shots / "appointments2-console.png")

    # phone 2 types the door's code on its ticket's page: the console's tag goes
    p2.fill("#door-code", door["code"][:3] + " " + door["code"][3:])
    p2.click("#door-go")
    expect(p2.locator("#checkin")).to_be_hidden(timeout=SHOW)
    expect(unchecked.locator(".tags")).not_to_contain_text("未签到", timeout=SHOW)
    ctx1.close()
    ctx2.close()

    # the lobby: the appointment called (out of order) carries 约, then in the recent calls
    lctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    lobby = lctx.new_page()
    follow_hall_clock(lobby, server)
    lobby.goto(server.url + "/display?voice=0")
    lobby.wait_for_selector("html.online")
    clerk2 = login(server, "1002", window=2)
    tickets = {t["number"]: t for t in requests.get(server.url + "/api/queue", timeout=5).json()["tickets"]}
    r = requests.post(server.url + "/api/windows/2/call", json={"ticket": tickets[appt]["id"], "reason": "预约到号"},
                      headers=clerk2, timeout=5)
    assert r.status_code == 200, r.text
    expect(lobby.locator("#newest-number")).to_contain_text(appt, timeout=SHOW)
    expect(lobby.locator("#newest-number sup.appt")).to_have_text("约")
    requests.post(server.url + f"/api/tickets/{tickets[appt]['id']}/finish", headers=clerk2, timeout=5)
    nxt = requests.post(server.url + "/api/windows/2/call-next", headers=clerk2, timeout=5).json()
    assert nxt["number"] == first  # the phone ticket checked in at the door queues by when it was taken
    expect(lobby.locator("#newest-number")).to_have_text(first, timeout=SHOW)  # no 约 on it
    expect(lobby.locator("#recent li .num", has_text=appt).locator("sup.appt")).to_have_text("约", timeout=SHOW)
    lobby.screenshot(path=shots / "appointments2-lobby.png")
    cctx.close()
    lctx.close()

    # the manager's pages at 1366×768: the notice log (the webhook's first answer was a 500)
    mctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    assert mctx.request.post(server.url + "/api/login", data={"user": "9001", "password": PASSWORD}).ok
    mp = mctx.new_page()
    follow_hall_clock(mp, server)

    def log_settled():
        mp.goto(server.url + "/manage/notices")
        return mp.locator("#counts [data-state=pending] b").text_content() == "0" and \
            mp.locator("#log tbody tr").count() >= 4

    for _ in range(40):
        if log_settled():
            break
        mp.wait_for_timeout(500)
    assert log_settled(), mp.text_content("main")
    assert mp.text_content("#counts [data-state=failed] b") == "0"
    retried = mp.locator("#log tbody tr", has=mp.locator("td:nth-child(4)", has_text="2"))
    expect(retried.first.locator(".st")).to_have_text("已发送")
    expect(retried.first.locator(".err")).to_have_text("HTTP 500")  # the first attempt's answer
    assert "127.0.0.1" in mp.text_content("#hook") and "/notify" not in mp.text_content("#hook")
    assert mp.locator("#log th").first.text_content().startswith("生成时间")
    mp.screenshot(path=shots / "appointments2-notices.png")
    # the door's poster, printable
    mp.goto(server.url + "/manage/door")
    mp.wait_for_selector("#door-qr svg")
    assert mp.text_content("#door-code").replace(" ", "") == door["code"]
    mp.screenshot(path=shots / "appointments2-door-poster.png", full_page=True)
    mctx.close()
