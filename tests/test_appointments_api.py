"""Appointments through the HTTP API (Flask test client, the hall clock moved by the test):
slots, booking and its refusals, check-in and its refusals, the calling order, phone tickets."""
from __future__ import annotations

from datetime import datetime

import pytest

from server.app import create_app

from conftest import TZ, Accounts, FakeClock

pytestmark = pytest.mark.api

MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=TZ)  # a working day


@pytest.fixture
def hall(hall_dir):
    clock = FakeClock(MONDAY)
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock})
    client = app.test_client()
    yield app, client, clock, Accounts(app.extensions["qrate"], client)
    app.extensions["qrate"].close()


def slot(h: int, m: int, day: int = 30) -> str:
    return datetime(2026, 11 if day > 7 else 12, day, h, m, tzinfo=TZ).isoformat()


def book(client, at: str, name="张三", phone="13800001234", id_last4="123X", service="A", **kw):
    return client.post("/api/appointments", json={"service": service, "slot": at, "name": name,
                                                   "phone": phone, "id_last4": id_last4}, **kw)


def test_slots_follow_hours_and_show_free_places(hall):
    app, client, clock, acc = hall
    r = client.get("/api/slots?service=A&day=2026-11-30")
    assert r.status_code == 200
    body = r.get_json()
    labels = [s["label"] for s in body["slots"]]
    # 08:30-12:00 and 13:30-17:30 in 30-minute slots
    assert labels[0] == "08:30-09:00" and labels[6] == "11:30-12:00" and labels[7] == "13:30-14:00"
    assert labels[-1] == "17:00-17:30" and len(labels) == 7 + 8
    assert all(s["capacity"] == 4 and s["free"] == 4 for s in body["slots"])
    book(client, slot(9, 30))
    after = {s["label"]: s for s in client.get("/api/slots?service=A&day=2026-11-30").get_json()["slots"]}
    assert after["09:30-10:00"]["free"] == 3 and after["10:00-10:30"]["free"] == 4


def test_capacity_derived_from_windows_and_service_time(hall):
    app, client, clock, acc = hall
    body = client.get("/api/slots?service=B&day=2026-11-30").get_json()
    ops = app.extensions["qrate"]
    windows = sum(1 for w in ops.cfg.windows.values() if "B" in w.services)
    # slot 30 min / 10 min service = 3 per window, half kept for walk-ins
    assert body["slots"][0]["capacity"] == int(windows * 3 * 0.5)


def test_weekend_holiday_and_closure_have_no_slots(hall_dir):
    text = (hall_dir / "hall.toml").read_text(encoding="utf-8")
    (hall_dir / "hall.toml").write_text(text.replace("closures = []", 'closures = ["2026-12-02"]'),
                                        encoding="utf-8")
    clock = FakeClock(MONDAY)
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock})
    client = app.test_client()
    for day in ("2026-12-05", "2026-12-02"):  # a Saturday; the hall's closure
        body = client.get(f"/api/slots?service=A&day={day}").get_json()
        assert body["open"] is False and body["slots"] == []
    r = book(client, datetime(2026, 12, 2, 9, 0, tzinfo=TZ).isoformat())
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "service_closed"
    assert "2026-12-02" in r.get_json()["error"]["message"]
    app.extensions["qrate"].close()


def test_booking_answers_code_and_status_url_and_masks_the_person(hall):
    app, client, clock, acc = hall
    r = book(client, slot(9, 30))
    assert r.status_code == 201, r.get_json()
    b = r.get_json()
    assert len(b["code"]) == 8 and b["status_url"].startswith("http://127.0.0.1:5000/book/b/")
    assert b["name"] == "张*" and b["phone"] == "138****1234" and b["id_last4"] == "**3X"
    assert b["status"] == "booked" and b["slot_label"] == "09:30-10:00"
    mine = client.get("/api/appointments/status/" + b["status_url"].rsplit("/", 1)[1]).get_json()
    assert mine["code"] == b["code"] and mine["phone"] == "138****1234"
    listing = client.get("/api/appointments?day=2026-11-30", headers=acc.manager()).get_json()
    assert [x["name"] for x in listing["appointments"]] == ["张*"]
    assert "code" not in listing["appointments"][0]
    assert app.test_client().get("/api/appointments?day=2026-11-30").status_code == 401


def test_booking_refusals_say_why(hall):
    app, client, clock, acc = hall
    for i in range(4):
        assert book(client, slot(10, 0), phone=f"1390000000{i}", name=f"李{i}").status_code == 201
    full = book(client, slot(10, 0), phone="13911112222", name="王五")
    assert full.status_code == 409 and full.get_json()["error"]["code"] == "slot_full"
    assert "10:00-10:30" in full.get_json()["error"]["message"]
    assert book(client, slot(11, 0)).status_code == 201
    twice = book(client, slot(14, 0))  # same phone, same service, same day
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "already_booked"
    assert book(client, slot(14, 0), service="B").status_code == 201  # another service is fine
    far = book(client, datetime(2026, 12, 8, 9, 0, tzinfo=TZ).isoformat(), phone="13700000000")
    assert far.status_code == 422 and far.get_json()["error"]["code"] == "past_horizon"
    odd = book(client, slot(9, 10), phone="13700000000")
    assert odd.status_code == 422 and odd.get_json()["error"]["code"] == "slot_unknown"
    past = book(client, slot(7, 30), phone="13700000000")
    assert past.status_code == 422
    bad = client.post("/api/appointments", json={"service": "A", "slot": slot(9, 0), "name": "x",
                                                 "phone": "12", "id_last4": "12"})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid"


def test_cancelled_booking_frees_its_place_and_cannot_check_in(hall):
    app, client, clock, acc = hall
    b = book(client, slot(9, 0)).get_json()
    r = client.delete(f"/api/appointments/{b['code']}")
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    free = {s["label"]: s["free"] for s in client.get("/api/slots?service=A&day=2026-11-30").get_json()["slots"]}
    assert free["09:00-09:30"] == 4
    again = client.delete(f"/api/appointments/{b['code']}")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "booking_not_active"
    clock.set(datetime(2026, 11, 30, 8, 50, tzinfo=TZ))
    kiosk = acc.device("kiosk")
    r = client.post(f"/api/appointments/{b['code']}/check-in", headers=kiosk)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "booking_not_active"
    assert client.delete("/api/appointments/NOSUCH22").status_code == 404


def test_check_in_window_early_on_time_and_late(hall):
    app, client, clock, acc = hall
    kiosk = acc.device("kiosk")
    early = book(client, slot(10, 0)).get_json()
    late = book(client, slot(9, 0), phone="13600000000", name="赵六", service="B").get_json()
    clock.set(datetime(2026, 11, 30, 9, 20, tzinfo=TZ))
    r = client.post(f"/api/appointments/{early['code']}/check-in", headers=kiosk)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "too_early"
    assert "09:30" in r.get_json()["error"]["message"]  # check-in opens 30 min before 10:00
    assert client.post(f"/api/appointments/{early['code']}/check-in").status_code == 401
    # 9:20 is after 9:00 + 15 min: the late one becomes a walk-in, and is told so
    r = client.post(f"/api/appointments/{late['code'].lower()}/check-in", headers=kiosk)
    assert r.status_code == 201
    t = r.get_json()
    assert t["late"] is True and t["appointment"] is False and t["number"] == "B001"
    clock.set(datetime(2026, 11, 30, 9, 35, tzinfo=TZ))
    r = client.post("/api/appointments/check-in", json={"phone_last4": "1234", "name": "张三"},
                    headers=kiosk)
    assert r.status_code == 201, r.get_json()
    t = r.get_json()
    assert t["appointment"] is True and t["late"] is False and t["number"] == "A001"
    # the ticket printed at check-in names its windows and the 过号 rule, as a walk-in's does
    assert t["windows"] == [1, 2, 3, 5] and t["calls_before_no_show"] == 3
    again = client.post(f"/api/appointments/{early['code']}/check-in", headers=kiosk)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_checked_in"
    assert "A001" in again.get_json()["error"]["message"]
    nobody = client.post("/api/appointments/check-in", json={"phone_last4": "9999", "name": "张三"},
                         headers=kiosk)
    assert nobody.status_code == 404 and nobody.get_json()["error"]["code"] == "no_match"


def test_appointment_called_at_its_slot_ahead_of_later_walk_ins(hall):
    app, client, clock, acc = hall
    kiosk = acc.device("kiosk")
    b = book(client, slot(9, 30)).get_json()
    clock.set(datetime(2026, 11, 30, 9, 25, tzinfo=TZ))
    before = client.post("/api/tickets", json={"service": "A"}, headers=kiosk).get_json()
    clock.set(datetime(2026, 11, 30, 9, 28, tzinfo=TZ))
    t = client.post(f"/api/appointments/{b['code']}/check-in", headers=kiosk).get_json()
    clock.set(datetime(2026, 11, 30, 9, 32, tzinfo=TZ))
    after = client.post("/api/tickets", json={"service": "A"}, headers=kiosk).get_json()
    elderly = client.post("/api/tickets", json={"service": "A", "priority": True,
                                                 "priority_kind": "elderly"}, headers=kiosk).get_json()
    queue = client.get("/api/queue").get_json()
    assert [x["appointment"] for x in queue["tickets"] if x["id"] == t["id"]] == [True]
    clerk = acc.clerk(1)
    order = []
    for _ in range(4):
        called = client.post("/api/windows/1/call-next", headers=clerk).get_json()
        order.append(called["number"])
        client.post(f"/api/tickets/{called['id']}/finish", headers=clerk)
    # priority first; then the walk-in who came before the slot; then the appointment; then later walk-ins
    assert order == [elderly["number"], before["number"], t["number"], after["number"]]


def test_remote_ticket_waits_for_check_in_then_keeps_its_place(hall):
    app, client, clock, acc = hall
    kiosk = acc.device("kiosk")
    remote = client.post("/api/remote-tickets", json={"service": "A"})
    assert remote.status_code == 201, remote.get_json()
    rt = remote.get_json()
    assert rt["remote"] is True and rt["checked_in"] is False
    clock.advance(60)
    walk = client.post("/api/tickets", json={"service": "A"}, headers=kiosk).get_json()
    clerk = acc.clerk(1)
    first = client.post("/api/windows/1/call-next", headers=clerk).get_json()
    assert first["number"] == walk["number"]  # the unchecked remote ticket is passed over
    client.post(f"/api/tickets/{first['id']}/finish", headers=clerk)
    assert client.post("/api/windows/1/call-next", headers=clerk).status_code == 204
    key = rt["status_url"].rsplit("/", 1)[1]
    r = client.post(f"/api/status/{key}/check-in", headers=kiosk)
    assert r.status_code == 201 and r.get_json()["checked_in"] is True
    assert client.post("/api/windows/1/call-next", headers=clerk).get_json()["id"] == rt["id"]
    again = client.post(f"/api/status/{key}/check-in", headers=kiosk)
    assert again.status_code == 409


def test_unchecked_remote_ticket_expires(hall):
    app, client, clock, acc = hall
    rt = client.post("/api/remote-tickets", json={"service": "A"}).get_json()
    clock.advance(minutes=61)
    assert app.extensions["qrate_appointments"].expire_remote() == 1
    t = client.get(f"/api/status/{rt['status_url'].rsplit('/', 1)[1]}").get_json()
    assert t["status"] == "cancelled"


def test_anonymous_booking_is_bounded(hall_dir):
    text = (hall_dir / "hall.toml").read_text(encoding="utf-8")
    (hall_dir / "hall.toml").write_text(text.replace("bookings_per_minute = 20", "bookings_per_minute = 3"),
                                        encoding="utf-8")
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": FakeClock(MONDAY)})
    client = app.test_client()
    codes = [client.get("/api/slots?service=A&day=2026-11-30").status_code] + \
        [book(client, slot(9, 0), phone=f"1380000{i:04d}", name=f"人{i}").status_code for i in range(4)]
    assert codes == [200, 201, 201, 201, 429]
    app.extensions["qrate"].close()


def test_figures_count_outcomes_and_put_waits_side_by_side(hall):
    app, client, clock, acc = hall
    kiosk = acc.device("kiosk")
    came = book(client, slot(9, 30)).get_json()
    gone = book(client, slot(9, 30), phone="13900000000", name="李四").get_json()
    book(client, slot(10, 0), phone="13700000000", name="王五")  # never comes
    client.delete(f"/api/appointments/{gone['code']}")
    clock.set(datetime(2026, 11, 30, 9, 20, tzinfo=TZ))
    client.post(f"/api/appointments/{came['code']}/check-in", headers=kiosk)
    clock.set(datetime(2026, 11, 30, 9, 25, tzinfo=TZ))
    client.post("/api/tickets", json={"service": "A"}, headers=kiosk)
    clerk = acc.clerk(1)
    clock.set(datetime(2026, 11, 30, 9, 35, tzinfo=TZ))
    first = client.post("/api/windows/1/call-next", headers=clerk).get_json()  # the walk-in (09:25 < 09:30)
    client.post(f"/api/tickets/{first['id']}/finish", headers=clerk)
    clock.set(datetime(2026, 11, 30, 9, 40, tzinfo=TZ))
    second = client.post("/api/windows/1/call-next", headers=clerk).get_json()
    assert second["appointment"] is True
    manager = acc.manager()
    clock.set(datetime(2026, 11, 30, 10, 16, tzinfo=TZ))  # the 10:00 booking's check-in has closed
    body = client.get("/api/stats/appointments?from=2026-11-30", headers=manager).get_json()
    a = next(r for r in body["rows"] if r["service"] == "A")
    assert (a["booked"], a["checked_in"], a["cancelled"], a["no_show"], a["pending"]) == (3, 1, 1, 1, 0)
    assert a["show_rate"] == 0.5
    assert a["walk_in_wait_s"]["max"] == 600 and a["appointment_wait_s"]["max"] == 1200
    assert a["punctuality_s"] == {"mean": 600.0, "p50": 600.0, "p90": 600.0, "max": 600.0}
    total = body["rows"][-1]
    assert total["service"] == "*" and total["booked"] == 3
    csv = client.get("/api/stats/appointments?from=2026-11-30&format=csv", headers=manager)
    assert csv.status_code == 200 and "准时度" in csv.get_data(as_text=True)
    assert "现场号等候" in csv.get_data(as_text=True).splitlines()[0]
    xlsx = client.get("/api/stats/appointments?from=2026-11-30&format=xlsx", headers=manager)
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert app.test_client().get("/api/stats/appointments").status_code == 401


def test_the_platform_books_with_an_integration_token(hall):
    app, client, clock, acc = hall
    platform = acc.device("integration")
    r = book(client, slot(9, 0), headers=platform)
    assert r.status_code == 201 and r.get_json()["source"] == "integration"
    assert book(client, slot(9, 30), phone="13500000000", headers=acc.device("pad", 1)).status_code == 403
    assert book(client, slot(9, 30), phone="13500000000",
                headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.delete(f"/api/appointments/{r.get_json()['code']}", headers=platform).status_code == 200


def test_booking_data_is_never_pushed_and_is_forgotten_after_the_retention(hall):
    app, client, clock, acc = hall
    sio = app.extensions["qrate_socketio"].test_client(app, flask_test_client=client)
    sio.get_received()
    b = book(client, slot(9, 30)).get_json()
    clock.set(datetime(2026, 11, 30, 9, 10, tzinfo=TZ))
    client.post(f"/api/appointments/{b['code']}/check-in", headers=acc.device("kiosk"))
    pushed = repr(sio.get_received())
    assert "appointment.booked" in pushed and "appointment.checked_in" in pushed
    for secret in ("张三", "13800001234", "123X", b["code"]):
        assert secret not in pushed
    sio.disconnect()
    clock.set(datetime(2026, 12, 31, 9, 0, tzinfo=TZ))  # 31 days later; the hall keeps 30
    assert app.extensions["qrate_appointments"].purge() == 1
    listing = client.get("/api/appointments?day=2026-11-30", headers=acc.manager()).get_json()
    assert [(x["name"], x["phone"], x["id_last4"]) for x in listing["appointments"]] == [("", "", "")]
    with app.extensions["qrate"].store() as s:
        row = s.db.execute("SELECT name, phone, id_last4, status FROM appointments").fetchone()
    assert row == (None, None, None, "checked_in")


def test_the_printed_ticket_of_an_appointment_carries_its_mark():
    from devices.printer import Layout, ticket_bytes
    ticket = {"id": 7, "number": "A012", "service": "A", "service_name": "社会保障",
              "service_name_en": "Social Security", "waiting_ahead": 0, "estimated_wait_s": 0,
              "issued_at": "2026-11-30T09:20:00+08:00", "priority": False,
              "status_url": "http://10.0.0.5:5000/t/abc123"}
    walk_in = ticket_bytes(ticket, Layout())
    appointment = ticket_bytes({**ticket, "appointment": True}, Layout())
    assert "【约】".encode("gb18030") in appointment and "【约】".encode("gb18030") not in walk_in
    assert b"A012" in appointment  # the number stays the service code and digits
