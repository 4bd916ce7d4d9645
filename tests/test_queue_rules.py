"""The hall's queue rules, through the API, on a clock the test controls (conftest's
`clock`: Friday 27 November 2026, 09:00)."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.app import create_app

pytestmark = pytest.mark.api

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def make(hall_dir, clock):
    apps = []

    def build(overrides=None):
        app = create_app({"HALL": hall_dir, "CLOCK": clock, "HALL_OVERRIDES": overrides or {}})
        apps.append(app)
        return app
    yield build
    for a in apps:
        a.extensions["qrate"].close()


@pytest.fixture
def hallapp(make):
    return make()


@pytest.fixture
def api(hallapp, accounts_for):
    return accounts_for(hallapp)


@pytest.fixture
def accounts_for():
    from conftest import Accounts

    def build(app):
        client = app.test_client()
        acc = Accounts(app.extensions["qrate"], client)
        acc.kiosk = acc.device("kiosk")
        return acc
    return build


def issue(acc, service="A", **kw):
    r = acc.client.post("/api/tickets", json={"service": service, **kw}, headers=acc.kiosk)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def call(acc, clerk, window):
    r = acc.client.post(f"/api/windows/{window}/call-next", headers=clerk)
    return r.get_json() if r.status_code == 200 else r.status_code


def post(acc, clerk, path, **body):
    r = acc.client.post(path, json=body, headers=clerk)
    return r.get_json()


def test_numbers_per_service_count_up_and_reset_at_the_halls_midnight(api, clock, hall_now):
    """Across the midnight nearest each instant: a new year, a new month after February, April."""
    midnight = datetime.combine((hall_now + timedelta(hours=12)).date(), time(), TZ)
    clock.set(midnight - timedelta(hours=15))
    assert [issue(api, "A")["number"] for _ in range(3)] == ["A001", "A002", "A003"]
    assert issue(api, "B")["number"] == "B001"
    clock.set(midnight - timedelta(seconds=1))
    assert issue(api, "A")["number"] == "A004"
    clock.set(midnight + timedelta(seconds=1))  # 16:00 UTC: a new hall day
    t = issue(api, "A")
    assert t["number"] == "A001" and t["day"] == midnight.date().isoformat()
    # yesterday's leftovers were closed at day start and are not in the live queue
    snap = api.client.get("/api/queue").get_json()
    assert [x["number"] for x in snap["tickets"]] == ["A001"]


def test_priority_first_then_oldest_across_services(api, clock):
    clerk = api.clerk(3)  # window 3 serves A and B
    a1 = issue(api, "A"); clock.advance(seconds=10)
    b1 = issue(api, "B"); clock.advance(seconds=10)
    a2 = issue(api, "A", priority=True, priority_kind="elderly"); clock.advance(seconds=10)
    order = []
    for _ in range(3):
        t = call(api, clerk, 3)
        order.append(t["number"])
        post(api, clerk, f"/api/tickets/{t['id']}/finish")
    assert order == [a2["number"], a1["number"], b1["number"]]
    assert call(api, clerk, 3) == 204


def test_ranked_window_takes_its_services_in_order(make, accounts_for, clock, hall_dir):
    import tomllib
    raw = tomllib.loads((hall_dir / "hall.toml").read_text())
    windows = raw["windows"]
    for w in windows:
        if w["number"] == 5:
            w["order"] = "ranked"  # serves B first, then A
    acc = accounts_for(make({"windows": windows}))
    clerk = acc.clerk(5)
    a1 = issue(acc, "A"); clock.advance(seconds=5)
    b1 = issue(acc, "B")
    assert call(acc, clerk, 5)["number"] == b1["number"]
    post(acc, clerk, f"/api/tickets/{b1['id']}/finish")
    assert call(acc, clerk, 5)["number"] == a1["number"]


def test_transfer_keeps_number_and_place_and_starts_a_new_leg(api, clock):
    clerk3, clerk4 = api.clerk(3), api.clerk(4)  # 4 serves B only
    a1 = issue(api, "A"); clock.advance(minutes=1)
    b1 = issue(api, "B"); clock.advance(minutes=1)
    t = call(api, clerk3, 3)
    assert t["number"] == "A001"
    clock.advance(minutes=2)
    moved = post(api, clerk3, f"/api/tickets/{a1['id']}/transfer", service="B", note="医保问题")
    assert moved["number"] == "A001" and moved["service"] == "B" and moved["status"] == "waiting"
    assert moved["waiting_ahead"] == 0  # issued before B001, so it stands first
    assert call(api, clerk4, 4)["number"] == "A001"
    post(api, clerk4, f"/api/tickets/{a1['id']}/finish")
    assert call(api, clerk4, 4)["number"] == b1["number"]


def test_transfer_to_a_window_only_that_window_takes_it(api, clock):
    clerk1, clerk2 = api.clerk(1), api.clerk(2)
    a1 = issue(api, "A"); clock.advance(seconds=5)
    a2 = issue(api, "A")
    post(api, clerk1, f"/api/tickets/{a1['id']}/transfer", window=2)
    assert call(api, clerk1, 1)["number"] == a2["number"]
    assert call(api, clerk2, 2)["number"] == a1["number"]


def test_park_and_call_back(api, clock):
    clerk = api.clerk(2)
    a1, a2 = issue(api, "A"), issue(api, "A")
    call(api, clerk, 2)
    parked = post(api, clerk, f"/api/tickets/{a1['id']}/park", note="去复印材料")
    assert parked["status"] == "parked" and parked["window"] == 2
    assert call(api, clerk, 2)["number"] == a2["number"]
    post(api, clerk, f"/api/tickets/{a2['id']}/finish")
    back = post(api, clerk, "/api/windows/2/call", ticket=a1["id"], reason="材料已复印")
    assert back["status"] == "called" and back["number"] == "A001"
    assert post(api, clerk, f"/api/tickets/{a1['id']}/finish")["status"] == "done"


def test_call_out_of_order_and_other_windows_parked_tickets(api, clock):
    clerk1, clerk2 = api.clerk(1), api.clerk(2)
    a1, a2, a3 = issue(api, "A"), issue(api, "A"), issue(api, "A")
    t = post(api, clerk1, "/api/windows/1/call", ticket=a3["id"], reason="预约")
    assert t["number"] == "A003" and t["window"] == 1
    assert call(api, clerk2, 2)["number"] == "A001"
    # window 2 cannot call back a ticket parked at window 1
    post(api, clerk1, f"/api/tickets/{a3['id']}/park")
    post(api, clerk2, f"/api/tickets/{a1['id']}/finish")
    r = api.client.post("/api/windows/2/call", json={"ticket": a3["id"]}, headers=clerk2)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_at_window"
    # window 10 (E only) cannot call an A ticket out of order
    clerk10 = api.clerk(10)
    r = api.client.post("/api/windows/10/call", json={"ticket": a2["id"]}, headers=clerk10)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "service_not_at_window"


def test_recall_counts_and_no_show(api):
    clerk = api.clerk(2)
    a1 = issue(api, "A")
    call(api, clerk, 2)
    r = api.client.post(f"/api/tickets/{a1['id']}/no-show", headers=clerk)  # the hall asks 2 recalls
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "too_few_recalls"
    assert "重呼" in r.get_json()["error"]["message"]
    assert post(api, clerk, f"/api/tickets/{a1['id']}/recall")["recalls"] == 1
    r = api.client.post(f"/api/tickets/{a1['id']}/no-show", headers=clerk)
    assert r.status_code == 409
    assert post(api, clerk, f"/api/tickets/{a1['id']}/recall")["recalls"] == 2
    assert post(api, clerk, f"/api/tickets/{a1['id']}/no-show")["status"] == "no_show"


def test_pause_stops_calls_until_resumed(api):
    clerk = api.clerk(2)
    issue(api, "A")
    assert post(api, clerk, "/api/windows/2/pause", reason="午休")["status"] == "paused"
    r = api.client.post("/api/windows/2/call-next", headers=clerk)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "window_not_open"
    assert api.client.post("/api/windows/2/resume", headers=clerk).get_json()["status"] == "open"
    assert call(api, clerk, 2)["number"] == "A001"


def test_sign_out_closes_the_window(api):
    clerk = api.clerk(2)
    assert api.client.post("/api/logout", headers=clerk).status_code == 200
    w = next(w for w in api.client.get("/api/windows").get_json()["windows"] if w["number"] == 2)
    assert w["status"] == "closed" and w["clerk"] is None
    assert api.client.post("/api/windows/2/call-next", headers=clerk).status_code == 401


def test_opening_hours_days_and_caps(make, accounts_for, clock):
    acc = accounts_for(make({"hall": {"enforce_hours": True}}))
    clock.set(datetime(2026, 11, 27, 12, 30, tzinfo=TZ))  # lunch break for A
    r = acc.client.post("/api/tickets", json={"service": "A"}, headers=acc.kiosk)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "service_closed"
    assert "13:30" in r.get_json()["error"]["message"]
    clock.set(datetime(2026, 11, 29, 10, 0, tzinfo=TZ))  # Sunday: only E is open
    assert acc.client.post("/api/tickets", json={"service": "A"}, headers=acc.kiosk).status_code == 409
    assert issue(acc, "E")["number"] == "E001"
    summary = {s["code"]: s for s in acc.client.get("/api/services").get_json()["services"]}
    assert summary["A"]["open"] is False and summary["A"]["closed_reason"] == "closed"
    assert summary["E"]["open"] is True


def test_daily_cap_warning_and_slot_quota(make, accounts_for, clock):
    services = [{"code": "A", "name": "社会保障", "name_en": "Social Security", "daily_cap": 5,
                 "warn_at": 0.6, "slots": [{"from": "08:00", "to": "10:00", "cap": 3}]},
                {"code": "B", "name": "医疗保障"}]
    windows = [{"number": 1, "services": ["A", "B"]}]
    acc = accounts_for(make({"services": services, "windows": windows, "staff": []}))
    for _ in range(3):
        issue(acc, "A")
    r = acc.client.post("/api/tickets", json={"service": "A"}, headers=acc.kiosk)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "slot_cap_reached"
    a = next(s for s in acc.client.get("/api/services").get_json()["services"] if s["code"] == "A")
    assert a["warning"] is True and a["remaining"] == 2
    clock.set(datetime(2026, 11, 27, 10, 30, tzinfo=TZ))  # next slot: no slot quota, daily cap left 2
    issue(acc, "A"); issue(acc, "A")
    r = acc.client.post("/api/tickets", json={"service": "A"}, headers=acc.kiosk)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "daily_cap_reached"
    a = next(s for s in acc.client.get("/api/services").get_json()["services"] if s["code"] == "A")
    assert a["open"] is False and a["closed_reason"] == "daily_cap" and a["remaining"] == 0


def test_wait_estimate_follows_service_times_and_open_windows(api, clock):
    # no open window serving D: no honest estimate
    assert issue(api, "D")["estimated_wait_s"] is None
    clerk8 = api.clerk(8)  # serves D
    # two services of 4 and 6 minutes make the mean 5 minutes
    for minutes in (4, 6):
        t = call(api, clerk8, 8)
        clock.advance(minutes=minutes)
        post(api, clerk8, f"/api/tickets/{t['id']}/finish")
        issue(api, "D") if minutes == 4 else None
    # window 8 idle, nothing waiting: the next ticket is called at once
    fresh = issue(api, "D")
    assert fresh["waiting_ahead"] == 0 and fresh["estimated_wait_s"] == 0
    call(api, clerk8, 8)  # busy now
    third = issue(api, "D")
    fourth = issue(api, "D")
    assert third["waiting_ahead"] == 0 and third["estimated_wait_s"] == 150  # half a service
    assert fourth["waiting_ahead"] == 1 and fourth["estimated_wait_s"] == 450
    clerk9 = api.clerk(9)  # a second, idle window for D takes the third at once
    got = api.client.get(f"/api/tickets/{fourth['id']}", headers=clerk9).get_json()
    assert got["estimated_wait_s"] == 150  # the fourth waits for window 8, half way through


def test_status_url_shows_only_the_ticket(api):
    t = issue(api, "A")
    key = t["status_url"].rsplit("/", 1)[1]
    r = api.client.get(f"/api/status/{key}")
    assert r.status_code == 200 and r.get_json()["number"] == "A001"
    assert "status_url" not in r.get_json()
    assert api.client.get("/api/status/not-a-key").status_code == 404
