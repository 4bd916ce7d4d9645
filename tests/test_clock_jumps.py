"""The PC's clock jumps (NTP after a dead CMOS battery, a person setting it by hand):
no negative or absurd interval enters the figures, and a jump back over midnight does
not hide the day's waiting tickets."""
from __future__ import annotations

from datetime import timedelta

import pytest

from server.app import create_app

pytestmark = pytest.mark.api


@pytest.fixture
def hall(hall_dir, clock):
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock})
    yield app
    app.extensions["qrate"].close()


def test_a_backward_jump_gives_no_negative_service_time(hall, clock):
    from conftest import Accounts
    client = hall.test_client()
    acc = Accounts(hall.extensions["qrate"], client)
    kiosk, clerk, manager = acc.device("kiosk"), acc.clerk(2), acc.manager()
    day = clock.now.date().isoformat()
    for jump in (300, -600, 120):  # a normal service, the clock set back 10 min, normal
        client.post("/api/tickets", json={"service": "A"}, headers=kiosk)
        t = client.post("/api/windows/2/call-next", headers=clerk).get_json()
        clock.advance(jump)
        assert client.post(f"/api/tickets/{t['id']}/finish", headers=clerk).status_code == 200
        clock.advance(30)
    stats = client.get(f"/api/stats/windows?from={day}&to={day}", headers=manager).get_json()
    row = next(r for r in stats["rows"] if r["window"] == 2)
    assert row["served"] == 3  # counted as served; its time left out of the figures
    assert row["service_s"]["max"] == 300 and row["service_s"]["mean"] == 210
    assert row["wait_s"]["max"] >= 0


def test_an_interval_over_a_day_or_negative_is_no_interval():
    from datetime import datetime
    from server.engine import interval_s
    t0 = datetime(2026, 11, 27, 9, 0)
    assert interval_s(t0, t0 + timedelta(seconds=75.5)) == 75.5
    assert interval_s(t0, t0 - timedelta(seconds=1)) is None
    assert interval_s(t0, t0 + timedelta(days=1, seconds=1)) is None


def test_a_jump_back_over_midnight_keeps_the_waiting_tickets(hall, clock):
    from conftest import Accounts
    client = hall.test_client()
    acc = Accounts(hall.extensions["qrate"], client)
    kiosk = acc.device("kiosk")
    clock.set(clock.now.replace(hour=0, minute=5))
    numbers = [client.post("/api/tickets", json={"service": "A"}, headers=kiosk).get_json()["number"]
               for _ in range(3)]
    clock.advance(minutes=-10)  # back to yesterday, 23:55
    snap = client.get("/api/queue").get_json()
    assert sorted(t["number"] for t in snap["tickets"] if t["status"] == "waiting") == numbers
    assert snap["day"] == (clock.now + timedelta(minutes=10)).date().isoformat()
    # a new ticket continues today's numbers, not a new day's
    assert client.post("/api/tickets", json={"service": "A"}, headers=kiosk).get_json()["number"] == "A004"
