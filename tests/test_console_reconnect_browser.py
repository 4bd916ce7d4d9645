"""A clerk's console that was not connected when another clerk took its window over: the
push was missed, so the snapshot it gets on (re)connecting must sign it out, with the
server's word for it (never the snapshot's alone)."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from conftest import PASSWORD

pytestmark = pytest.mark.browser
ONLINE = re.compile(r"\bonline\b")


def cut_live_connection(page) -> dict:
    """The page's Socket.IO cannot get through (websocket and polling) while cut["on"]."""
    cut = {"on": True}

    def socket(ws):
        if cut["on"]:
            ws.close()
        else:
            ws.connect_to_server()

    def polling(route):
        if cut["on"]:
            route.abort()
        else:
            route.continue_()
    page.route_web_socket(re.compile(r"/socket\.io/"), socket)
    page.route(re.compile(r"/socket\.io/"), polling)
    return cut


def console_behind_a_cut(live, ctx, employee_no: str, window: int):
    """A clerk signed in at ``window`` whose console is open but whose live connection cannot
    get through (a Wi-Fi cut, a sleeping tablet): the page and its cut switch."""
    live.cli("user", "add", employee_no, "--role", "clerk", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    desk = ctx.new_page()
    desk.request.post(live.url + "/api/login", data={"user": employee_no, "password": PASSWORD, "window": window})
    cut = cut_live_connection(desk)
    desk.goto(live.url + "/console")
    expect(desk.locator("#desk")).to_be_visible()
    return desk, cut


def test_a_console_that_missed_the_take_over_signs_out_when_it_connects(live, browser):
    live.cli("user", "add", "1004", "--role", "clerk", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    try:
        desk, cut = console_behind_a_cut(live, ctx, "1003", 3)
        expect(desk.locator("html")).not_to_have_class(ONLINE)

        r = requests.post(live.url + "/api/login", json={"user": "1004", "password": PASSWORD, "window": 3,
                                                         "take_over": True}, timeout=10)
        assert r.status_code == 200, r.text
        expect(desk.locator("#desk")).to_be_visible()  # nothing reached it yet

        cut["on"] = False  # back: the snapshot shows 1004 at window 3
        expect(desk.locator("#signin")).to_be_visible(timeout=30_000)
        expect(desk.locator("#login-error")).to_contain_text("签退")
        expect(desk.locator("#login-window")).to_have_value("3")
    finally:
        ctx.close()


def test_a_console_whose_clerk_still_holds_the_window_stays_signed_in_after_a_cut(live, browser):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    try:
        desk, cut = console_behind_a_cut(live, ctx, "1005", 5)
        cut["on"] = False
        expect(desk.locator("html")).to_have_class(ONLINE, timeout=30_000)
        expect(desk.locator("#window-status")).to_have_text("办理中")
        assert desk.locator("#signin").is_hidden()
    finally:
        ctx.close()
