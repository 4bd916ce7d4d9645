"""Help and alerts: a kiosk asks for a helper, managers see it listed (with how long it
has waited) until staff acknowledge it; a bad rating stays an alert until the citizen is
called back; a service with citizens waiting and no open window is an alert."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import Accounts
from server.app import create_app

pytestmark = pytest.mark.api
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def app(hall_dir, clock):
    clock.set(datetime(2026, 11, 27, 10, 0, tzinfo=TZ))
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock, "HALL_OVERRIDES": {
        "followup": {"owner": "9001"}}})
    yield app
    app.extensions["qrate"].close()


@pytest.fixture
def desk(app, client):
    acc = Accounts(app.extensions["qrate"], client)
    return {"kiosk": acc.device("kiosk"), "pad": acc.device("pad", 3), "manager": acc.manager()}


def alerts(client, desk):
    r = client.get("/api/alerts", headers=desk["manager"])
    assert r.status_code == 200, r.get_json()
    return r.get_json()["alerts"]


def test_a_helper_call_stays_listed_until_acknowledged(app, client, desk, clock):
    pushed = []
    app.extensions["qrate"].subscribe(lambda body: pushed.append(body))
    r = client.post("/api/help", json={"place": "自助取号机"}, headers=desk["kiosk"])
    assert r.status_code == 201
    call = r.get_json()
    assert call["kind"] == "kiosk" and call["acked_at"] is None
    assert [b["type"] for b in pushed] == ["help.asked"]
    clock.advance(seconds=95)
    listed = [a for a in alerts(client, desk) if a["type"] == "help"]
    assert len(listed) == 1 and listed[0]["id"] == call["id"] and listed[0]["waited_s"] == 95
    assert "请求工作人员帮助" in listed[0]["message"]
    # a kiosk cannot acknowledge, nor an unknown call be acknowledged
    assert client.post(f"/api/help/{call['id']}/ack", headers=desk["kiosk"]).status_code == 403
    assert client.post("/api/help/999/ack", headers=desk["manager"]).get_json()["error"]["code"] == \
        "unknown_help_call"
    clerk = Accounts(app.extensions["qrate"], client).clerk(3)
    acked = client.post(f"/api/help/{call['id']}/ack", headers=clerk).get_json()
    assert acked["acked_by"] == "1003" and acked["waited_s"] == 95
    assert pushed[-1]["type"] == "help.acked" and pushed[-1]["help"]["waited_s"] == 95
    assert [a for a in alerts(client, desk) if a["type"] == "help"] == []
    assert client.post("/api/help", json={"place": "x" * 41}, headers=desk["kiosk"]).status_code == 422
    assert client.post("/api/help", json={}, headers=desk["manager"]).status_code == 403


def test_waiting_without_an_open_window_and_bad_ratings_are_alerts_in_force(app, client, desk, clock):
    client.post("/api/tickets", json={"service": "D"}, headers=desk["kiosk"])
    clock.advance(seconds=300)
    no_window = [a for a in alerts(client, desk) if a["type"] == "no_window"]
    assert [(a["service"], a["waiting"], a["waited_s"]) for a in no_window] == [("D", 1, 300)]
    acc = Accounts(app.extensions["qrate"], client)
    clerk = acc.clerk(3)  # window 3 serves A and B; D still has no open window
    t = client.post("/api/tickets", json={"service": "B"}, headers=desk["kiosk"]).get_json()
    client.post("/api/windows/3/call-next", headers=clerk)
    client.post(f"/api/tickets/{t['id']}/finish", headers=clerk)
    assert client.post("/api/ratings", json={"ticket": t["id"], "score": 1},
                       headers=desk["pad"]).status_code == 201
    bad = [a for a in alerts(client, desk) if a["type"] == "bad_rating"]
    assert len(bad) == 1 and bad[0]["number"] == t["number"]
    client.post(f"/api/cases/{bad[0]['case']}/steps/callback", json={"note": "已回访"},
                headers=desk["manager"])
    kinds = {a["type"] for a in alerts(client, desk)}
    assert "bad_rating" not in kinds and "no_window" in kinds
