"""A callback that can be made: after a 1 or 2 the pad may send the citizen's phone; it is
masked in every list, whole only in the case owner's view, never pushed to screens, and
deleted once the case has been closed for the hall's retention."""
from datetime import datetime, timedelta
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
        "ratings": {"press_burst": 50, "presses_per_minute": 600},
        "followup": {"owner": "9001", "contact_retention_days": 7}}})
    yield app
    app.extensions["qrate"].close()


@pytest.fixture
def desk(app, client):
    acc = Accounts(app.extensions["qrate"], client)
    return {"kiosk": acc.device("kiosk"), "clerk": acc.clerk(3), "pad": acc.device("pad", 3),
            "owner": acc.manager("9001"), "other": acc.manager("9002")}


def rate(client, desk, score, **extra):
    t = client.post("/api/tickets", json={"service": "B"}, headers=desk["kiosk"]).get_json()
    client.post("/api/windows/3/call-next", headers=desk["clerk"])
    client.post(f"/api/tickets/{t['id']}/finish", headers=desk["clerk"])
    return client.post("/api/ratings", json={"ticket": t["id"], "score": score, **extra},
                       headers=desk["pad"])


def test_phone_masked_in_lists_whole_to_the_owner_gone_after_retention(app, client, desk, clock):
    pushed = []
    app.extensions["qrate"].subscribe(lambda body: pushed.append(repr(body)))
    r = rate(client, desk, 2, reasons=["attitude"], phone="13812345678")
    assert r.status_code == 201, r.get_json()
    listed = client.get("/api/cases", headers=desk["owner"]).get_json()["cases"][0]
    assert listed["contact"] == {"given": True, "phone": "138****5678"}
    case_id = listed["id"]
    other = client.get(f"/api/cases/{case_id}", headers=desk["other"]).get_json()
    assert other["contact"]["phone"] == "138****5678"
    mine = client.get(f"/api/cases/{case_id}", headers=desk["owner"]).get_json()
    assert mine["contact"]["phone"] == "13812345678"
    note = mine["notes"][0]["text"]
    assert "留了回访电话" in note and "13812345678" not in note
    assert not any("13812345678" in p for p in pushed)
    # the phone is never in the notes, the queue or a rating list
    assert "13812345678" not in client.get("/api/queue").get_data(as_text=True)
    assert "13812345678" not in client.get("/api/ratings", headers=desk["owner"]).get_data(as_text=True)

    m = desk["owner"]
    for step in ("callback", "verify", "rectify", "reply"):
        assert client.post(f"/api/cases/{case_id}/steps/{step}", json={"note": "ok"}, headers=m).status_code == 200
    assert client.post(f"/api/cases/{case_id}/close", json={"text": "结案"}, headers=m).status_code == 200
    clock.advance(days=6)
    assert client.get(f"/api/cases/{case_id}", headers=m).get_json()["contact"]["given"] is True
    clock.advance(days=2)  # closed 8 days ago, retention 7: deleted
    assert client.get(f"/api/cases/{case_id}", headers=m).get_json()["contact"] == {"given": False, "phone": None}
    with app.extensions["qrate"].store() as s:
        assert s.db.execute("SELECT count(*) FROM case_contacts").fetchone()[0] == 0


def test_without_a_number_the_case_says_no_contact_given(client, desk):
    assert rate(client, desk, 1).status_code == 201
    case = client.get("/api/cases", headers=desk["owner"]).get_json()["cases"][0]
    assert case["contact"] == {"given": False, "phone": None}
    note = client.get(f"/api/cases/{case['id']}", headers=desk["owner"]).get_json()["notes"][0]["text"]
    assert note == "差评 1 分（非常不满意）；未留联系方式。"


def test_a_malformed_phone_is_refused_and_no_rating_is_half_written(client, desk):
    r = rate(client, desk, 2, phone="12345")
    assert r.status_code == 422 and r.get_json()["error"]["code"]
    assert client.get("/api/cases", headers=desk["owner"]).get_json()["cases"] == []
