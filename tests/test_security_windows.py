"""Cross-window permissions: a clerk acts on the tickets of the window they are signed in
at, and on waiting tickets only of the services that window serves (demo hall: window 1
serves A and E, window 2 serves A, window 4 serves B)."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.api


@pytest.fixture
def hall(client, accounts):
    kiosk = accounts.device("kiosk")
    w1, w2, w4 = accounts.clerk(1), accounts.clerk(2), accounts.clerk(4)
    manager = accounts.manager()

    def issue(code: str) -> dict:
        r = client.post("/api/tickets", json={"service": code}, headers=kiosk)
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    return {"issue": issue, 1: w1, 2: w2, 4: w4, "manager": manager}


def code(r) -> str:
    return r.get_json()["error"]["code"]


def test_a_clerk_cannot_cancel_another_windows_parked_ticket(client, hall):
    a = hall["issue"]("A")
    assert client.post("/api/windows/1/call-next", headers=hall[1]).get_json()["id"] == a["id"]
    assert client.post(f"/api/tickets/{a['id']}/park", json={"note": ""}, headers=hall[1]).status_code == 200
    r = client.post(f"/api/tickets/{a['id']}/cancel", json={"reason": "x"}, headers=hall[2])
    assert r.status_code == 403 and code(r) == "other_window"
    r = client.post(f"/api/tickets/{a['id']}/transfer", json={"service": "B"}, headers=hall[2])
    assert r.status_code == 403 and code(r) == "other_window"
    r = client.post("/api/windows/2/call", json={"ticket": a["id"], "reason": "callback"}, headers=hall[2])
    assert r.status_code >= 400
    assert client.get(f"/api/tickets/{a['id']}", headers=hall[1]).get_json()["status"] == "parked"
    r = client.post(f"/api/tickets/{a['id']}/cancel", json={"reason": "left"}, headers=hall[1])
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"


def test_a_clerk_cannot_touch_the_ticket_another_window_serves(client, hall):
    a = hall["issue"]("A")
    client.post("/api/windows/1/call-next", headers=hall[1])
    for action in ("recall", "finish", "no-show"):
        r = client.post(f"/api/tickets/{a['id']}/{action}", headers=hall[2])
        assert r.status_code in (403, 409), (action, r.get_json())
    r = client.post(f"/api/tickets/{a['id']}/park", json={"note": ""}, headers=hall[2])
    assert r.status_code in (403, 409)
    assert client.get(f"/api/tickets/{a['id']}", headers=hall[1]).get_json()["status"] == "called"
    assert client.post("/api/windows/1/pause", json={"reason": ""}, headers=hall[2]).status_code == 403
    assert client.post("/api/windows/1/call-next", headers=hall[2]).status_code == 403


def test_waiting_tickets_only_of_the_services_the_window_serves(client, hall):
    b = hall["issue"]("B")
    for path, body in ((f"/api/tickets/{b['id']}/cancel", {"reason": "x"}),
                       (f"/api/tickets/{b['id']}/transfer", {"service": "A"})):
        r = client.post(path, json=body, headers=hall[2])  # window 2 serves A only
        assert r.status_code == 403 and code(r) == "not_your_queue", r.get_json()
    r = client.post("/api/windows/2/call", json={"ticket": b["id"], "reason": "vip"}, headers=hall[2])
    assert r.status_code >= 400 and code(r) == "service_not_at_window"
    assert client.get(f"/api/tickets/{b['id']}", headers=hall[4]).get_json()["status"] == "waiting"
    # window 4 serves B: it may move it, cancel it or call it
    r = client.post(f"/api/tickets/{b['id']}/transfer", json={"service": "A"}, headers=hall[4])
    assert r.status_code == 200 and r.get_json()["service"] == "A"
    r = client.post(f"/api/tickets/{b['id']}/cancel", json={"reason": "gone"}, headers=hall[2])
    assert r.status_code == 200, r.get_json()  # now an A ticket: window 2's to act on


def test_a_ticket_sent_to_one_window_is_only_that_windows(client, hall):
    a = hall["issue"]("A")
    r = client.post(f"/api/tickets/{a['id']}/transfer", json={"window": 1}, headers=hall["manager"])
    assert r.status_code == 200 and r.get_json()["target_window"] == 1
    r = client.post(f"/api/tickets/{a['id']}/cancel", json={"reason": "x"}, headers=hall[2])
    assert r.status_code == 403 and code(r) == "other_window"
    r = client.post("/api/windows/2/call", json={"ticket": a["id"], "reason": "x"}, headers=hall[2])
    assert r.status_code >= 400
    assert client.post("/api/windows/1/call", json={"ticket": a["id"], "reason": "x"},
                       headers=hall[1]).status_code == 200


def test_a_manager_acts_on_any_window(client, hall):
    b = hall["issue"]("B")
    r = client.post(f"/api/tickets/{b['id']}/cancel", json={"reason": "duplicate"}, headers=hall["manager"])
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
