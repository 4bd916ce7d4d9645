"""Bad input gets a 4xx JSON error with a code and a message, and changes nothing."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.api


def state(client):
    snap = client.get("/api/queue").get_json()
    return snap["seq"], [(t["number"], t["status"]) for t in snap["tickets"]]


@pytest.fixture
def setup(client, accounts):
    kiosk = accounts.device("kiosk")
    clerk = accounts.clerk(3)
    waiting = client.post("/api/tickets", json={"service": "A"}, headers=kiosk).get_json()
    return kiosk, clerk, waiting


def check(r, status, code):
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.is_json
    body = r.get_json()["error"]
    assert body["code"] == code
    assert body["message"] and body["message_en"]
    return body


def test_unknown_service(client, setup):
    kiosk, _, _ = setup
    before = state(client)
    body = check(client.post("/api/tickets", json={"service": "Z"}, headers=kiosk), 404, "unknown_service")
    assert "Z" in body["message"] and "A, B, C, D, E" in body["message"]
    assert "业务" in body["message"]  # Chinese first
    assert state(client) == before


def test_unknown_window(client, setup):
    _, clerk, _ = setup
    before = state(client)
    check(client.post("/api/windows/99/call-next", headers=clerk), 404, "unknown_window")
    check(client.post("/api/windows/99/pause", json={}, headers=clerk), 404, "unknown_window")
    assert state(client) == before


def test_unknown_ticket(client, setup):
    _, clerk, _ = setup
    check(client.post("/api/tickets/424242/finish", headers=clerk), 404, "unknown_ticket")


def test_finish_a_waiting_ticket_is_refused(client, setup):
    _, clerk, waiting = setup
    before = state(client)
    body = check(client.post(f"/api/tickets/{waiting['id']}/finish", headers=clerk), 409, "wrong_state")
    assert "A001" in body["message"]
    check(client.post(f"/api/tickets/{waiting['id']}/recall", headers=clerk), 409, "wrong_state")
    check(client.post(f"/api/tickets/{waiting['id']}/no-show", headers=clerk), 409, "wrong_state")
    assert state(client) == before


def test_wrong_transitions_after_finish(client, setup):
    _, clerk, waiting = setup
    client.post("/api/windows/3/call-next", headers=clerk)
    client.post(f"/api/tickets/{waiting['id']}/finish", headers=clerk)
    before = state(client)
    check(client.post(f"/api/tickets/{waiting['id']}/finish", headers=clerk), 409, "wrong_state")
    check(client.post(f"/api/tickets/{waiting['id']}/cancel", json={}, headers=clerk), 409, "wrong_state")
    check(client.post(f"/api/tickets/{waiting['id']}/transfer", json={"service": "B"}, headers=clerk),
          409, "wrong_state")
    assert state(client) == before


def test_second_call_while_serving_is_refused(client, setup):
    kiosk, clerk, _ = setup
    client.post("/api/tickets", json={"service": "A"}, headers=kiosk)
    client.post("/api/windows/3/call-next", headers=clerk)
    before = state(client)
    check(client.post("/api/windows/3/call-next", headers=clerk), 409, "window_busy")
    assert state(client) == before


@pytest.mark.parametrize("body", ["{not json", "[1, 2", "\xff\xfe", "null"])
def test_malformed_json(client, setup, body):
    kiosk, _, _ = setup
    before = state(client)
    r = client.post("/api/tickets", data=body, headers={**kiosk, "Content-Type": "application/json"})
    assert r.status_code in (400, 422) and r.get_json()["error"]["code"] in ("bad_json", "invalid")
    assert state(client) == before


@pytest.mark.parametrize("body", [
    {"service": 5}, {"service": ["A"]}, {"service": None}, {"service": "A", "priority": "yes"},
    {"service": "A", "priority": 1}, {}, {"service": "A", "extra": 1},
    {"service": "A", "priority_kind": "vip"},
])
def test_wrong_types_and_fields(client, setup, body):
    kiosk, _, _ = setup
    before = state(client)
    body_err = check(client.post("/api/tickets", json=body, headers=kiosk), 422, "invalid")
    assert body_err["details"]
    assert state(client) == before


def test_a_list_body_is_refused(client, setup):
    kiosk, _, _ = setup
    check(client.post("/api/tickets", json=["A"], headers=kiosk), 422, "invalid")


def test_huge_strings(client, setup):
    kiosk, clerk, waiting = setup
    before = state(client)
    check(client.post("/api/tickets", json={"service": "A" * 5000}, headers=kiosk), 422, "invalid")
    check(client.post(f"/api/tickets/{waiting['id']}/cancel", json={"reason": "很" * 5000},
                      headers=clerk), 422, "invalid")
    r = client.post("/api/tickets", data="x" * (2 * 1024 * 1024), headers=kiosk)
    check(r, 413, "too_large")
    check(client.post("/api/login", json={"user": "1" * 10000, "password": "x"}), 422, "invalid")
    assert state(client) == before


def test_transfer_needs_exactly_one_target(client, setup):
    _, clerk, waiting = setup
    check(client.post(f"/api/tickets/{waiting['id']}/transfer", json={}, headers=clerk), 422, "invalid")
    check(client.post(f"/api/tickets/{waiting['id']}/transfer", json={"service": "B", "window": 4},
                      headers=clerk), 422, "invalid")
    check(client.post(f"/api/tickets/{waiting['id']}/transfer", json={"service": "Q"},
                      headers=clerk), 404, "unknown_service")


def test_missing_and_wrong_tokens(client, setup):
    kiosk, clerk, waiting = setup
    before = state(client)
    client = client.application.test_client()  # no session cookie from the clerk's sign-in
    check(client.post("/api/tickets", json={"service": "A"}), 401, "unauthorized")
    check(client.post("/api/tickets", json={"service": "A"}, headers={"Authorization": "Bearer nope"}),
          401, "unauthorized")
    check(client.post("/api/tickets", json={"service": "A"}, headers={"Authorization": "Basic eA=="}),
          401, "unauthorized")
    check(client.post("/api/windows/3/call-next"), 401, "unauthorized")
    check(client.get(f"/api/tickets/{waiting['id']}"), 401, "unauthorized")
    # wrong role: a kiosk may not call, a clerk may not issue, a clerk of window 3 not act for window 4
    check(client.post("/api/windows/3/call-next", headers=kiosk), 403, "forbidden")
    check(client.post("/api/tickets", json={"service": "A"}, headers=clerk), 403, "forbidden")
    check(client.post("/api/windows/4/call-next", headers=clerk), 403, "other_window")
    check(client.post("/api/ratings", json={"ticket": waiting["id"], "score": 5}, headers=kiosk),
          403, "forbidden")
    assert state(client) == before


def test_bad_login(client, accounts):
    accounts.user("1001")
    check(client.post("/api/login", json={"user": "1001", "password": "wrong", "window": 1}),
          401, "bad_login")
    check(client.post("/api/login", json={"user": "1001", "password": "secret-pw"}), 422,
          "window_required")
    check(client.post("/api/login", json={"user": "1001", "password": "secret-pw", "window": 77}),
          404, "unknown_window")


def test_unknown_paths_and_methods_are_json(client):
    check(client.get("/api/nothing-here"), 404, "not_found")
    check(client.get("/api/tickets"), 405, "method_not_allowed")


def test_english_on_request(client, setup):
    kiosk, _, _ = setup
    r = client.post("/api/tickets", json={"service": "Z"}, headers={**kiosk, "Accept-Language": "en"})
    assert r.get_json()["error"]["message"].startswith("Service 'Z' does not exist")


def test_rating_rules(client, setup, accounts):
    _, clerk, waiting = setup
    pad3, pad4 = accounts.device("pad", 3), accounts.device("pad", 4)
    check(client.post("/api/ratings", json={"ticket": waiting["id"], "score": 5}, headers=pad3),
          409, "not_rateable")
    client.post("/api/windows/3/call-next", headers=clerk)
    client.post(f"/api/tickets/{waiting['id']}/finish", headers=clerk)
    check(client.post("/api/ratings", json={"ticket": waiting["id"], "score": 5}, headers=pad4),
          409, "not_rateable")
    check(client.post("/api/ratings", json={"ticket": waiting["id"], "score": 6}, headers=pad3),
          422, "invalid")
    r = client.post("/api/ratings", json={"ticket": waiting["id"], "score": 4}, headers=pad3)
    assert r.status_code == 201 and r.get_json()["score"] == 4 and r.get_json()["clerk"] == "1003"
    check(client.post("/api/ratings", json={"ticket": waiting["id"], "score": 5}, headers=pad3),
          409, "already_rated")
