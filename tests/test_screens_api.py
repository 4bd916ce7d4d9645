"""The screens' read side and the managers' notice line."""
from __future__ import annotations

from datetime import datetime

import pytest

from server.app import create_app
from conftest import TZ, Accounts

pytestmark = pytest.mark.api


@pytest.fixture
def clocked(hall_dir, clock):
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))  # a Monday
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock})
    client = app.test_client()
    yield app, client, clock, Accounts(app.extensions["qrate"], client)
    app.extensions["qrate"].close()


def test_a_manager_sets_the_notice_and_every_screen_is_told(app, client, accounts):
    sio = app.extensions["qrate_socketio"]
    screen = sio.test_client(app)
    screen.get_received()
    mgr = accounts.manager()
    r = client.put("/api/notice", json={"text": "  今日 16:00 停止取号  "}, headers=mgr)
    assert r.status_code == 200 and r.get_json()["text"] == "今日 16:00 停止取号"
    pushed = [m for m in screen.get_received() if m["name"] == "notice"]
    assert pushed and pushed[0]["args"][0]["text"] == "今日 16:00 停止取号"
    assert client.get("/api/notice").get_json() == {"text": "今日 16:00 停止取号"}
    assert client.get("/api/queue").get_json()["hall"]["notice"] == "今日 16:00 停止取号"
    # a screen that connects later gets it in its snapshot
    late = sio.test_client(app)
    snap = [m for m in late.get_received() if m["name"] == "snapshot"][0]["args"][0]
    assert snap["hall"]["notice"] == "今日 16:00 停止取号"
    screen.disconnect()
    late.disconnect()


def test_the_notice_defaults_to_the_hall_file_and_only_managers_set_it(client, accounts):
    assert client.get("/api/notice").get_json()["text"].startswith("请携带本人身份证件")
    assert client.put("/api/notice", json={"text": "x"}).status_code == 401
    clerk = accounts.clerk(3)
    r = client.put("/api/notice", json={"text": "x"}, headers=clerk)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    r = client.put("/api/notice", json={"text": "x" * 501}, headers=accounts.manager())
    assert r.status_code == 422


def test_the_promise_kept_today_counts_real_waits_and_late_waiting_tickets(clocked):
    app, client, clock, acc = clocked
    kiosk = acc.device("kiosk")
    clerk = acc.clerk(2)  # window 2 serves A (target wait 20 min)
    ids = [client.post("/api/tickets", json={"service": "A"}, headers=kiosk).get_json()["id"]
           for _ in range(3)]
    clock.advance(minutes=5)
    first = client.post("/api/windows/2/call-next", headers=clerk).get_json()
    assert first["id"] == ids[0]
    client.post(f"/api/tickets/{first['id']}/finish", headers=clerk)
    clock.advance(minutes=25)  # 30 min after issue: the second call breaks the promise
    client.post("/api/windows/2/call-next", headers=clerk)
    a = next(s for s in client.get("/api/display/board").get_json()["services"] if s["code"] == "A")
    # called: 5 min (kept), 30 min (broken); still waiting 30 min (broken already)
    assert (a["called"], a["kept"], a["late_waiting"]) == (2, 1, 1)
    assert a["kept_rate"] == pytest.approx(1 / 3, abs=1e-3)
    b = next(s for s in client.get("/api/display/board").get_json()["services"] if s["code"] == "B")
    assert b["kept_rate"] is None  # no calls yet: no figure, not 100 %


def test_a_clerk_sees_own_figures_today_and_the_board_this_months_satisfaction(clocked):
    app, client, clock, acc = clocked
    kiosk, pad = acc.device("kiosk"), acc.device("pad", 3)
    clerk = acc.clerk(3, "1003")
    for minutes, score in ((4, 5), (6, 3)):
        client.post("/api/tickets", json={"service": "B"}, headers=kiosk)
        t = client.post("/api/windows/3/call-next", headers=clerk).get_json()
        clock.advance(minutes=minutes)
        client.post(f"/api/tickets/{t['id']}/finish", headers=clerk)
        assert client.post("/api/ratings", json={"ticket": t["id"], "score": score},
                           headers=pad).status_code == 201
    mine = client.get("/api/me/today", headers=clerk).get_json()
    assert mine["served"] == 2 and mine["no_show"] == 0
    assert mine["service_s"]["mean"] == 300 and mine["service_s"]["max"] == 360
    assert mine["ratings"] == 2 and mine["mean_score"] == 4 and mine["satisfied_rate"] == 0.5
    assert mine["levels"] == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}
    assert app.test_client().get("/api/me/today").status_code == 401
    board = client.get("/api/display/board").get_json()
    w3 = next(w for w in board["windows"] if w["number"] == 3)
    assert w3["month"]["ratings"] == 2 and w3["month"]["satisfied_rate"] == 0.5
    staff = next(s for s in board["staff"] if s["employee_no"] == "1003")
    # per-clerk satisfaction is staff-only unless the hall's [publish] figures lists it
    assert staff["name"] == "张敏" and "month" not in staff
    staff = next(s for s in client.get("/api/display/board", headers=acc.manager()).get_json()["staff"]
                 if s["employee_no"] == "1003")
    assert staff["month"]["good_rate"] == 1.0


def test_the_pages_are_served_in_chinese_with_english_on_request(client):
    for path in ("/display", "/display/window/3", "/console"):
        zh = client.get(path).get_data(as_text=True)
        assert 'lang="zh-CN"' in zh
        en = client.get(path + "?lang=en").get_data(as_text=True)
        assert 'lang="en"' in en
    assert "正在呼叫" in client.get("/display").get_data(as_text=True)
    assert "窗口叫号控制台" in client.get("/console").get_data(as_text=True)
    assert client.get("/display/window/99").status_code == 404
    for static in ("/static/vendor/socket.io.min.js", "/console/static/console.js"):
        with client.get(static) as r:
            assert r.status_code == 200
