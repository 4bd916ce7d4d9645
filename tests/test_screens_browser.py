"""The lobby, the window screen and the clerk console in a real browser
(headless Chromium) against a real `qrate serve`."""
from __future__ import annotations

import math
import re

import pytest
import requests
from playwright.sync_api import expect

from server import config
from server.operations import Operations
from tests.conftest import PASSWORD, LiveServer, bearer

pytestmark = pytest.mark.browser

BLINK = 15_000  # ms: a generous bound for "it shows up" on a loaded machine, not a speed target (bench/bench_display.py measures speed)


@pytest.fixture
def server(hall_dir):
    live = LiveServer(hall_dir).start()
    yield live
    live.kill()


def new_page(browser, url, viewport=(1920, 1080)):
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                              locale="zh-CN")
    page = ctx.new_page()
    page.goto(url)
    return page


def sign_in_console(browser, live, employee_no: str, window: int):
    live.cli("user", "add", employee_no, "--role", "clerk",
             input_text=f"{PASSWORD}\n{PASSWORD}\n")
    page = new_page(browser, live.url + "/console", (1600, 900))
    page.fill("#login-user", employee_no)
    page.fill("#login-password", PASSWORD)
    page.select_option("#login-window", str(window))
    page.click("#login-submit")
    expect(page.locator("#desk")).to_be_visible()
    page.wait_for_selector("html.online")
    return page


def issue(live, kiosk, *codes):
    out = []
    for code in codes:
        r = requests.post(live.url + "/api/tickets", json={"service": code}, headers=kiosk, timeout=5)
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def test_a_call_from_the_console_appears_on_the_lobby_and_the_window_screen(server, browser):
    kiosk = bearer(server.device_token("kiosk-1", "kiosk"))
    lobby = new_page(browser, server.url + "/display?voice=0")
    screen = new_page(browser, server.url + "/display/window/5")
    console = sign_in_console(browser, server, "1005", 5)
    a1, a2, b1 = issue(server, kiosk, "A", "A", "B")
    expect(console.locator("#queue li")).to_have_count(3)

    console.keyboard.press("n")
    expect(console.locator("#current-number")).to_have_text("A001", timeout=BLINK)
    expect(lobby.locator("#newest-number")).to_have_text("A001", timeout=BLINK)
    expect(lobby.locator("#newest-window")).to_have_text("5号窗口", timeout=BLINK)
    expect(screen.locator("#current")).to_have_text("A001", timeout=BLINK)
    expect(lobby.locator('#services li[data-code="A"] .count')).to_have_text("1 人等候")

    # no-show only after [queue] no_show_after_recalls (2) recalls
    expect(console.locator('[data-act="noshow"]')).to_be_disabled()
    console.keyboard.press("x")
    expect(console.locator("#message")).to_contain_text("重呼 2 次后可过号")
    console.keyboard.press("r")
    expect(console.locator("#current-info")).to_contain_text("已重呼 1 次", timeout=BLINK)
    console.keyboard.press("r")
    expect(console.locator("#current-info")).to_contain_text("已重呼 2 次", timeout=BLINK)
    expect(console.locator('[data-act="noshow"]')).to_be_enabled()
    console.keyboard.press("x")
    expect(screen.locator("#current")).to_have_text("—", timeout=BLINK)
    # each page hears the hall on its own connection: the clerk acts on what the console shows
    expect(console.locator("#current-number")).to_have_text("—", timeout=BLINK)

    # call out of order with a reason: B001 before A002
    console.keyboard.press("ArrowDown")
    console.keyboard.press("ArrowDown")
    expect(console.locator("#queue li.sel b")).to_have_text("B001")
    console.keyboard.press("c")
    console.fill("#callthis-reason", "预约办理")
    console.keyboard.press("Enter")
    expect(screen.locator("#current")).to_have_text("B001", timeout=BLINK)
    expect(lobby.locator("#newest-number")).to_have_text("B001", timeout=BLINK)
    expect(console.locator("#current-number")).to_have_text("B001", timeout=BLINK)

    # park it, call the next, finish, call the parked one back
    console.keyboard.press("h")
    console.keyboard.press("Enter")
    expect(console.locator("#parked li")).to_have_text("B001", timeout=BLINK)
    expect(console.locator("#current-number")).to_have_text("—", timeout=BLINK)
    console.keyboard.press("n")
    expect(screen.locator("#current")).to_have_text("A002", timeout=BLINK)
    expect(console.locator("#current-number")).to_have_text("A002", timeout=BLINK)
    console.keyboard.press("f")
    expect(screen.locator("#current")).to_have_text("—", timeout=BLINK)
    expect(console.locator("#current-number")).to_have_text("—", timeout=BLINK)
    console.keyboard.press("b")
    console.keyboard.press("Enter")
    expect(screen.locator("#current")).to_have_text("B001", timeout=BLINK)
    expect(console.locator("#current-number")).to_have_text("B001", timeout=BLINK)

    # transfer to window 4 with a note: it leaves this window
    console.keyboard.press("t")
    console.check('input[name=to][value=window]')
    console.select_option("#transfer-window", "4")
    console.fill("#transfer-note", "需要医保窗口复核")
    console.keyboard.press("Enter")
    expect(screen.locator("#current")).to_have_text("—", timeout=BLINK)
    expect(console.locator("#current-number")).to_have_text("—", timeout=BLINK)
    t = requests.get(f"{server.url}/api/tickets/{b1['id']}", headers=kiosk, timeout=5).json()
    assert (t["status"], t["target_window"]) == ("waiting", 4)

    # pause and resume: the window screen says so
    console.keyboard.press("p")
    expect(screen.locator("#status")).to_contain_text("暂停服务，请稍候", timeout=BLINK)
    expect(console.locator("#window-status")).to_have_text("暂停", timeout=BLINK)
    console.keyboard.press("p")
    expect(screen.locator("#status")).to_contain_text("请等候叫号", timeout=BLINK)

    # today's own figures: one served, one no-show
    expect(console.locator("#today")).to_contain_text("已办结1")
    expect(console.locator("#today")).to_contain_text("过号1")
    for p in (lobby, screen, console):
        p.context.close()


def test_a_server_restart_leaves_every_page_showing_the_true_state(hall_dir, browser):
    live = LiveServer(hall_dir).start()
    try:
        kiosk = bearer(live.device_token("kiosk-1", "kiosk"))
        lobby = new_page(browser, live.url + "/display?voice=0")
        screen = new_page(browser, live.url + "/display/window/5")
        console = sign_in_console(browser, live, "1005", 5)
        a1, a2, a3 = issue(live, kiosk, "A", "A", "A")
        console.keyboard.press("n")
        expect(lobby.locator("#newest-number")).to_have_text("A001", timeout=BLINK)

        live.kill()  # SIGKILL: no goodbye to the sockets
        for p in (lobby, screen, console):
            expect(p.locator("html")).to_have_class(re.compile(r"\boffline\b"), timeout=15_000)
            expect(p.locator("#offline")).to_be_visible()
        # the truth moves on while the screens cannot see it
        h = Operations(config.load(hall_dir))
        h.finish(a1["id"], 5)
        h.call_next(5)
        h.close()

        live = LiveServer(hall_dir, port=live.port).start()
        for p in (lobby, screen, console):
            expect(p.locator("html")).to_have_class(re.compile(r"\bonline\b"), timeout=15_000)
            expect(p.locator("#offline")).to_be_hidden()
        expect(lobby.locator("#newest-number")).to_have_text("A002")
        expect(screen.locator("#current")).to_have_text("A002")
        expect(console.locator("#current-number")).to_have_text("A002")
        expect(console.locator("#queue li")).to_have_count(1)
        expect(lobby.locator('#services li[data-code="A"] .count')).to_have_text("1 人等候")
        # and the console acts again at once
        console.keyboard.press("f")
        expect(screen.locator("#current")).to_have_text("—", timeout=BLINK)
        for p in (lobby, screen, console):
            p.context.close()
    finally:
        live.kill()


def test_the_voice_queue_plays_calls_in_order_one_at_a_time(server, browser):
    kiosk = bearer(server.device_token("kiosk-1", "kiosk"))
    clerk1 = bearer(server.clerk_token("1001", 1))
    clerk2 = bearer(server.clerk_token("1002", 2))
    lobby = new_page(browser, server.url + "/display")
    lobby.wait_for_selector("html.online")
    asked, answered = [], []
    lobby.on("request", lambda r: asked.append(r.url) if "/api/voice/call/" in r.url else None)
    lobby.on("response", lambda r: answered.append((r.url, r.status, r.headers.get("content-type")))
             if "/api/voice/call/" in r.url else None)
    a1, a2 = issue(server, kiosk, "A", "A")
    # three calls in quick succession: they must not talk over each other
    assert requests.post(server.url + "/api/windows/1/call-next", headers=clerk1, timeout=5).ok
    assert requests.post(server.url + "/api/windows/2/call-next", headers=clerk2, timeout=5).ok
    assert requests.post(f"{server.url}/api/tickets/{a1['id']}/recall", headers=clerk1, timeout=5).ok

    lobby.wait_for_function("window.qrateVoice.log.filter(c => c.ended).length >= 3", timeout=60_000)
    log = lobby.evaluate("window.qrateVoice.log")
    paths = [re.sub(r"^https?://[^/]+", "", u) for u in asked]
    assert paths == ["/api/voice/call/A001/1.wav", "/api/voice/call/A002/2.wav",
                     "/api/voice/call/A001/1.wav"]
    assert all(status == 200 and ctype == "audio/wav" for _, status, ctype in answered), answered
    assert [c["how"] for c in log] == ["ended"] * 3, log
    assert [c["type"] for c in log] == ["ticket.called", "ticket.called", "ticket.recalled"]
    for before, after in zip(log, log[1:]):
        assert after["started"] >= before["ended"]  # never over each other
    # each played for about as long as the call is (a real play, not an error)
    wav = requests.get(server.url + "/api/voice/call/A001/1.wav", timeout=10).content
    seconds = (len(wav) - 44) / (22050 * 2)
    for c in log:
        assert (c["ended"] - c["started"]) / 1000 > seconds * 0.8, (c, seconds)
    lobby.context.close()


# Reading from 10 m (docs/display.md): a glyph must subtend at least 22 arcminutes
# for Latin digits and letters and 25 for Chinese, on the smallest hall TV we
# plan for: 55" 16:9, 1218 mm wide for 1920 px.
MM_PER_PX = 1218 / 1920


def arcmin(px: float, distance_mm: float = 10_000) -> float:
    return math.degrees(math.atan(px * MM_PER_PX / distance_mm)) * 60


INK = """([sel, text]) => {
  const el = document.querySelector(sel);
  const ctx = document.createElement('canvas').getContext('2d');
  const cs = getComputedStyle(el);
  ctx.font = cs.fontWeight + ' ' + cs.fontSize + ' ' + cs.fontFamily;
  const m = ctx.measureText(text);
  const k = el.getBoundingClientRect().height / el.offsetHeight || 1;  // stage scale
  return (m.actualBoundingBoxAscent + m.actualBoundingBoxDescent) * k;
}"""


def test_the_calls_on_the_lobby_are_readable_from_10_m(server, browser):
    kiosk = bearer(server.device_token("kiosk-1", "kiosk"))
    clerks = {n: bearer(server.clerk_token(f"10{n:02d}", n)) for n in (1, 2, 3, 10)}
    issue(server, kiosk, "A", "A", "A", "E")
    for n in (1, 2, 3, 10):
        requests.post(f"{server.url}/api/windows/{n}/call-next", headers=clerks[n], timeout=5)
    lobby = new_page(browser, server.url + "/display?voice=0")
    expect(lobby.locator("#newest-window")).to_have_text("10号窗口")
    expect(lobby.locator("#recent li")).to_have_count(3)
    sizes = {
        "newest number": (arcmin(lobby.evaluate(INK, ["#newest-number", "E001"])), 22),
        "newest window (Chinese)": (arcmin(lobby.evaluate(INK, ["#newest-window", "号窗口"])), 25),
        "earlier number": (arcmin(lobby.evaluate(INK, ["#recent li .num", "A003"])), 22),
        "earlier window (Chinese)": (arcmin(lobby.evaluate(INK, ["#recent li .win", "号窗口"])), 25),
    }
    for what, (got, need) in sizes.items():
        assert got >= need, f"{what}: {got:.1f}' at 10 m, needs {need}'"
    # nothing of the call is cut off: the newest card fits its text
    box = lobby.locator("#newest").bounding_box()
    fit = lobby.locator("#newest-fit").bounding_box()
    assert fit["x"] >= box["x"] and fit["x"] + fit["width"] <= box["x"] + box["width"] + 1
    lobby.context.close()


def test_a_gap_in_the_event_sequence_makes_the_screen_take_a_new_snapshot(server, browser):
    kiosk = bearer(server.device_token("kiosk-1", "kiosk"))
    clerk = bearer(server.clerk_token("1003", 3))
    lobby = new_page(browser, server.url + "/display?voice=0")
    lobby.wait_for_function("window.qrateLive && window.qrateLive.snapshots === 1")
    issue(server, kiosk, "A")
    expect(lobby.locator('#services li[data-code="A"] .count')).to_have_text("1 人等候")
    # an event from the future (seq jumps by 5) with a false call: it must not be shown,
    # and the page must ask for the whole state again
    lobby.evaluate("""() => qrateLive._event({seq: qrateLive.seq + 5, type: 'ticket.called', window: 9,
        ticket: {id: 999, number: 'Z999', service: 'A', status: 'called', window: 9}})""")
    lobby.wait_for_function("window.qrateLive.snapshots === 2")
    expect(lobby.locator("#newest-number")).to_have_text("—")
    # and it carries on with real events after the new snapshot
    requests.post(server.url + "/api/windows/3/call-next", headers=clerk, timeout=5)
    expect(lobby.locator("#newest-number")).to_have_text("A001", timeout=BLINK)
    lobby.context.close()
