"""Ratings tied to a case (一次一评): the business system asks a window's pad to rate a case."""
import json

import pytest

from conftest import Accounts
from server.app import create_app

pytestmark = pytest.mark.api

CASE = {"case_no": "BJ2026112700017", "matter_code": "11440100MB2C91234X-001",
        "matter_name": "个体工商户设立登记"}


@pytest.fixture
def app(hall_dir):
    app = create_app({"HALL": hall_dir, "TESTING": True,
                      "HALL_OVERRIDES": {"ratings": {"press_burst": 50, "presses_per_minute": 600}}})
    yield app
    app.extensions["qrate"].close()


@pytest.fixture
def desk(app, client):
    acc = Accounts(app.extensions["qrate"], client)
    return {"kiosk": acc.device("kiosk"), "clerk": acc.clerk(3), "pad": acc.device("pad", 3),
            "pad4": acc.device("pad", 4), "integration": acc.device("integration"),
            "manager": acc.manager(), "accounts": acc}


def serve_one(client, desk) -> dict:
    t = client.post("/api/tickets", json={"service": "A"}, headers=desk["kiosk"]).get_json()
    client.post("/api/windows/3/call-next", headers=desk["clerk"])
    client.post(f"/api/tickets/{t['id']}/finish", headers=desk["clerk"])
    return t


def ask(client, desk, window=3, body=None, who="integration"):
    return client.post(f"/api/windows/{window}/rating-request", json=body or CASE, headers=desk[who])


def test_a_case_without_a_ticket_is_rated_with_its_number_and_dimensions(app, client, desk):
    r = ask(client, desk)
    assert r.status_code == 201, r.get_json()
    req = r.get_json()
    assert req["ticket_id"] is None and req["case_no"] == CASE["case_no"] and req["window"] == 3
    state = client.get("/api/pad/state", headers=desk["pad"]).get_json()
    assert state["pending"]["case_no"] == CASE["case_no"] and state["pending"]["ticket"] is None
    assert [d["code"] for d in state["dimensions"]] == ["efficiency", "level", "attitude"]
    # the other window's pad has nothing to ask
    assert client.get("/api/pad/state", headers=desk["pad4"]).get_json()["pending"] is None
    r = client.post("/api/ratings", json={"request": req["request"], "score": 4,
                                          "dimensions": {"efficiency": 5, "level": 4, "attitude": 3}},
                    headers=desk["pad"])
    assert r.status_code == 201, r.get_json()
    rating = r.get_json()
    assert rating["ticket"] is None and rating["case_no"] == CASE["case_no"]
    assert rating["matter_name"] == "个体工商户设立登记" and rating["clerk"] == "1003"
    assert rating["dimensions"] == {"efficiency": 5, "level": 4, "attitude": 3}
    assert rating["content_version"] == "onsite-2019.1"
    # asked once, rated once
    assert client.get("/api/pad/state", headers=desk["pad"]).get_json()["pending"] is None
    again = client.post("/api/ratings", json={"request": req["request"], "score": 5}, headers=desk["pad"])
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "no_rating_due"
    with app.extensions["qrate"].store() as s:
        row = s.db.execute("SELECT ticket, case_no, matter_code, dimensions, content_version "
                           "FROM ratings").fetchone()
        event = json.loads(s.db.execute("SELECT data FROM ticket_events WHERE type = 'rating.created'")
                           .fetchone()[0])
    assert row[0] is None and row[1] == CASE["case_no"] and row[2] == CASE["matter_code"]
    assert json.loads(row[3]) == {"attitude": 3, "efficiency": 5, "level": 4} and row[4] == "onsite-2019.1"
    assert event["case_no"] == CASE["case_no"] and event["rating"] == rating["id"]


def test_the_ticket_just_served_carries_the_case(client, desk):
    t = serve_one(client, desk)
    req = ask(client, desk).get_json()
    assert req["ticket_id"] == t["id"] and req["number"] == "A001"
    state = client.get("/api/pad/state", headers=desk["pad"]).get_json()
    assert state["pending"]["ticket"] == t["id"] and state["pending"]["case_no"] == CASE["case_no"]
    # an older pad page posts the ticket only: the rating still keeps the case
    rating = client.post("/api/ratings", json={"ticket": t["id"], "score": 2, "reasons": ["attitude"]},
                         headers=desk["pad"]).get_json()
    assert rating["ticket"] == t["id"] and rating["case_no"] == CASE["case_no"]
    cases = client.get("/api/cases", headers=desk["manager"]).get_json()["cases"]
    assert [c["number"] for c in cases] == ["A001"]


def test_a_bad_case_rating_without_ticket_opens_a_followup_case(client, desk):
    req = ask(client, desk).get_json()
    r = client.post("/api/ratings", json={"request": req["request"], "score": 1}, headers=desk["pad"])
    assert r.status_code == 201
    cases = client.get("/api/cases", headers=desk["manager"]).get_json()["cases"]
    assert len(cases) == 1 and cases[0]["ticket"] is None and cases[0]["case_no"] == CASE["case_no"]
    listed = client.get("/api/ratings", headers=desk["manager"]).get_json()["ratings"]
    assert [x["case_no"] for x in listed] == [CASE["case_no"]]


def test_only_integration_and_managers_may_ask(app, client, desk):
    assert ask(client, desk, who="manager").status_code == 201
    for who in ("kiosk", "clerk", "pad"):
        r = ask(client, desk, who=who)
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden", who
    r = app.test_client().post("/api/windows/3/rating-request", json=CASE)  # no token, no session
    assert r.status_code == 401


@pytest.mark.parametrize("body, field", [
    ({"matter_code": "X1", "matter_name": "事项"}, "case_no"),
    ({**CASE, "case_no": "A" * 65}, "case_no"),
    ({**CASE, "case_no": "BJ 2026"}, "case_no"),
    ({**CASE, "matter_name": ""}, "matter_name"),
    ({**CASE, "matter_name": "名" * 201}, "matter_name"),
    ({**CASE, "extra": 1}, "extra"),
])
def test_bad_bodies_are_refused_with_the_field(client, desk, body, field):
    r = ask(client, desk, body=body)
    assert r.status_code == 422, r.get_json()
    err = r.get_json()["error"]
    assert any(d["field"] == field for d in err["details"]), err


def test_an_unknown_window_is_a_404(client, desk):
    r = ask(client, desk, window=99)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_window"


def test_bad_dimensions_and_no_request_are_refused(client, desk):
    req = ask(client, desk).get_json()
    r = client.post("/api/ratings", json={"request": req["request"], "score": 4,
                                          "dimensions": {"efficiency": 6}}, headers=desk["pad"])
    assert r.status_code == 422
    r = client.post("/api/ratings", json={"score": 4}, headers=desk["pad4"])
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "ticket_or_request"
    r = client.post("/api/ratings", json={"request": req["request"], "score": 4}, headers=desk["pad4"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "no_rating_due"


def test_a_newer_request_replaces_the_open_one(client, desk):
    first = ask(client, desk).get_json()
    second = ask(client, desk, body={**CASE, "case_no": "BJ2026112700018"}).get_json()
    r = client.post("/api/ratings", json={"request": first["request"], "score": 5}, headers=desk["pad"])
    assert r.status_code == 409
    r = client.post("/api/ratings", json={"request": second["request"], "score": 5}, headers=desk["pad"])
    assert r.status_code == 201 and r.get_json()["case_no"] == "BJ2026112700018"


def test_a_case_rating_counts_in_the_window_figures_but_not_in_participation(client, desk):
    t = serve_one(client, desk)
    client.post("/api/ratings", json={"ticket": t["id"], "score": 5}, headers=desk["pad"])
    req = ask(client, desk).get_json()
    client.post("/api/ratings", json={"request": req["request"], "score": 3}, headers=desk["pad"])
    rows = client.get("/api/stats/windows", headers=desk["manager"]).get_json()["rows"]
    row = next(r for r in rows if r["window"] == 3)
    assert row["ratings"] == 2 and row["levels"]["3"] == 1 and row["levels"]["5"] == 1
    assert row["served"] == 1 and row["participation"] == 1.0
    staff = client.get("/api/stats/staff", headers=desk["manager"]).get_json()["rows"]
    mine = next(r for r in staff if r.get("clerk", r.get("staff")) == "1003")
    assert mine["ratings"] == 2 and mine["participation"] == 1.0
