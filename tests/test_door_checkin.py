"""Check-in by the code at the hall's door, from the citizen's phone (docs/appointments.md):
today's code checks a phone ticket or a booking in; another day's code, a wrong code or
guessing from home does not. The manager's poster and the phone's door page."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from server.app import create_app

from conftest import TZ, Accounts, FakeClock, PageClient

pytestmark = pytest.mark.api

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)


@pytest.fixture
def hall(hall_dir):
    clock = FakeClock(MONDAY)
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock})
    client = PageClient(app, app.response_class, use_cookies=True)  # as the hall's own pages: they name their origin
    acc = Accounts(app.extensions["qrate"], client)
    manager = acc.manager()
    client.delete_cookie("session")
    yield app, client, clock, acc, manager
    app.extensions["qrate"].close()


def phone_ticket(client, service="A", addr="10.0.0.7"):
    r = client.post("/api/remote-tickets", json={"service": service}, environ_base={"REMOTE_ADDR": addr})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    return body, body["status_url"].rsplit("/", 1)[1]


def door(client, manager, day=None):
    r = client.get("/api/door" + (f"?day={day}" if day else ""), headers=manager)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def check_in(client, code, key, addr="10.0.0.7"):
    return client.post("/api/door/check-in", json={"door": code, "key": key},
                       environ_base={"REMOTE_ADDR": addr})


def test_todays_door_code_checks_a_phone_ticket_in_and_it_is_called(hall):
    app, client, clock, acc, manager = hall
    clerk = acc.clerk(1)
    ticket, key = phone_ticket(client)
    today = door(client, manager)
    assert today["day"] == "2026-11-30" and len(today["code"]) == 6 and today["code"].isdigit()
    assert today["url"].endswith("/door/" + today["code"])
    # not checked in: passed over
    assert client.post("/api/windows/1/call-next", headers=clerk).status_code == 204
    r = check_in(client, today["code"], key)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["number"] == ticket["number"] and r.get_json()["checked_in"] is True
    assert r.get_json()["status_url"].endswith("/t/" + key)
    assert client.get(f"/api/status/{key}").get_json()["checked_in"] is True
    called = client.post("/api/windows/1/call-next", headers=clerk).get_json()
    assert called["number"] == ticket["number"]
    # a second scan says so, it never issues anything
    again = check_in(client, today["code"], key)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_remote"


def test_a_photo_of_yesterdays_code_checks_nobody_in(hall):
    app, client, clock, acc, manager = hall
    yesterday = door(client, manager)["code"]
    clock.set(MONDAY + timedelta(days=1))
    today = door(client, manager)["code"]
    assert today != yesterday  # the code changes each day
    ticket, key = phone_ticket(client)
    r = check_in(client, yesterday, key)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "door_code_old"
    assert "今天" in r.get_json()["error"]["message"] or "当天" in r.get_json()["error"]["message"]
    wrong = "000000" if today != "000000" else "111111"
    r = check_in(client, wrong, key)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "door_code_wrong"
    assert client.get(f"/api/status/{key}").get_json()["checked_in"] is False
    # the codes come from the hall's own secret key: another hall's day code differs
    assert len({today, yesterday}) == 2


def test_guessing_the_code_from_home_runs_out_of_tries(hall):
    app, client, clock, acc, manager = hall
    today = door(client, manager)["code"]
    ticket, key = phone_ticket(client)
    guesses = [f"{n:06d}" for n in range(200) if f"{n:06d}" != today][:10]
    # from ten different addresses: the bound is the ticket's, not the address's
    codes = [check_in(client, g, key, addr=f"10.9.0.{i}").status_code for i, g in enumerate(guesses)]
    assert codes == [403] * 10
    r = check_in(client, today, key, addr="10.9.1.1")
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited"
    assert client.get(f"/api/status/{key}").get_json()["checked_in"] is False


def test_a_booking_checks_in_at_the_door_within_its_window(hall):
    app, client, clock, acc, manager = hall
    clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=TZ))
    booked = client.post("/api/appointments", json={
        "service": "A", "slot": datetime(2026, 11, 30, 10, 0, tzinfo=TZ).isoformat(),
        "name": "张三", "phone": "13800001234", "id_last4": "1234"}).get_json()
    key = booked["status_url"].rsplit("/", 1)[1]
    code = door(client, manager)["code"]
    early = check_in(client, code, key)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "too_early"
    clock.set(datetime(2026, 11, 30, 9, 45, tzinfo=TZ))
    r = check_in(client, code, key)
    assert r.status_code == 201, r.get_json()
    t = r.get_json()
    assert t["appointment"] is True and t["late"] is False and t["slot_label"] == "10:00-10:30"
    mine = client.get("/api/appointments/status/" + key).get_json()
    assert mine["status"] == "checked_in" and mine["ticket"]["number"] == t["number"]
    # unknown keys and malformed bodies: clear errors, no ticket
    assert check_in(client, code, "nokey").get_json()["error"]["code"] == "unknown_booking"
    bad = client.post("/api/door/check-in", json={"door": "12ab", "key": key})
    assert bad.status_code == 422


def test_the_manager_prints_the_poster_days_ahead(hall):
    app, client, clock, acc, manager = hall
    ahead = door(client, manager, "2026-12-07")
    assert ahead["code"] != door(client, manager)["code"]
    too_far = client.get("/api/door?day=2026-12-08", headers=manager)
    assert too_far.status_code == 422 and too_far.get_json()["error"]["code"] == "bad_day"
    assert client.get("/api/door").status_code == 401
    # the poster page: signed in as a manager (its cookie), zh-CN first, the code and its QR
    assert client.get("/manage/door").status_code == 302  # not signed in: to the sign-in
    acc.manager("9002")  # signs in: the session cookie
    page = client.get("/manage/door?day=2026-12-07").get_data(as_text=True)
    assert "到厅签到" in page and f"{ahead['code'][:3]} {ahead['code'][3:]}" in page
    assert "<svg" in page and "2026-12-07" in page


def test_the_door_page_on_the_phone(hall):
    app, client, clock, acc, manager = hall
    code = door(client, manager)["code"]
    page = client.get(f"/door/{code}").get_data(as_text=True)
    assert "door.js" in page and "门口签到" in page
    assert client.get("/door/12345").status_code == 404
