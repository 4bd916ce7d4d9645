"""Follow-up of bad ratings (差评): a case with deadlines on the Chinese working-day calendar,
steps with notes, one re-rating after the reply, and appeals a manager upholds."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import Accounts
from server.app import create_app
from server.workdays import WorkCalendar, deadline

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock(clock):
    clock.set(datetime(2026, 9, 25, 10, 0, tzinfo=TZ))  # the Mid-Autumn Festival holiday of 2026
    return clock


@pytest.fixture
def app(hall_dir, clock):
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock, "HALL_OVERRIDES": {
        "ratings": {"press_burst": 50, "presses_per_minute": 600},
        "followup": {"owner": "9001", "callback": "1wd", "verify": "3wd", "rectify": "15wd",
                     "reply": "15wd", "due_soon_hours": 24},
        "calendar": {"workdays": ["2026-10-31"]}}})
    yield app
    app.extensions["qrate"].close()


@pytest.fixture
def desk(app, client):
    acc = Accounts(app.extensions["qrate"], client)
    return {"kiosk": acc.device("kiosk"), "clerk": acc.clerk(3), "pad": acc.device("pad", 3),
            "manager": acc.manager()}


def rate(client, desk, score, reasons=(), comment=""):
    t = client.post("/api/tickets", json={"service": "B"}, headers=desk["kiosk"]).get_json()
    client.post("/api/windows/3/call-next", headers=desk["clerk"])
    client.post(f"/api/tickets/{t['id']}/finish", headers=desk["clerk"])
    r = client.post("/api/ratings", json={"ticket": t["id"], "score": score, "reasons": list(reasons),
                                          "comment": comment}, headers=desk["pad"])
    assert r.status_code == 201, r.get_json()
    return r.get_json()


@pytest.mark.unit
def test_calendar_knows_holidays_and_make_up_workdays():
    cal = WorkCalendar(workdays=["2026-10-31"], holidays=["2026-09-29"])
    assert cal.is_workday(date(2026, 9, 20))  # Sunday, a make-up workday for National Day 2026
    assert not cal.is_workday(date(2026, 10, 2))  # National Day holiday
    assert not cal.is_workday(date(2026, 9, 29))  # the hall's own day off
    assert cal.is_workday(date(2026, 10, 31))  # the hall's own extra workday (a Saturday)
    opened = datetime(2026, 9, 30, 16, 0, tzinfo=TZ)
    # 1 working day after 30 September skips the National Day week
    assert deadline(opened, "1wd", cal).date() == date(2026, 10, 8)
    assert deadline(opened, "24h", cal) == datetime(2026, 10, 1, 16, 0, tzinfo=TZ)
    assert deadline(opened, "2d", cal).date() == date(2026, 10, 2)


@pytest.mark.api
def test_bad_rating_opens_a_case_with_deadlines_from_the_hall_file(client, desk):
    good = rate(client, desk, 4)
    bad = rate(client, desk, 2, ["attitude", "long_wait"], "态度冷淡")
    cases = client.get("/api/cases", headers=desk["manager"]).get_json()
    assert len(cases["cases"]) == 1 and cases["calendar"]["official"] is True
    case = cases["cases"][0]
    assert (case["rating"], case["ticket"], case["window"], case["clerk"], case["service"], case["score"]) ==\
        (bad["id"], bad["ticket"], 3, "1003", "B", 2)
    assert good["id"] != case["rating"]
    assert case["owner"] == "9001" and case["status"] == "open" and case["next_step"] == "callback"
    # opened on the Mid-Autumn holiday (Fri 25 Sept 2026): callback by Monday 28th; verify 3 wd -> 30th;
    # 15 working days skip National Day (1-7 Oct) and count the make-up Saturday 10 Oct -> 22 Oct
    assert case["callback_due"].startswith("2026-09-28T23:59:59")
    assert case["verify_due"].startswith("2026-09-30")
    assert case["rectify_due"].startswith("2026-10-22")
    one = client.get(f"/api/cases/{case['id']}", headers=desk["manager"]).get_json()
    # the opening note in readable Chinese, not internal codes
    note = one["notes"][0]["text"]
    assert note.startswith("差评 2 分（不满意）") and "态度冷淡" in note and "attitude" not in note


@pytest.mark.api
def test_due_soon_overdue_then_steps_reply_rerate_close(client, desk, clock):
    rate(client, desk, 1)
    m = desk["manager"]
    case_id = client.get("/api/cases", headers=m).get_json()["cases"][0]["id"]
    clock.set(datetime(2026, 9, 28, 9, 0, tzinfo=TZ))
    assert [c["id"] for c in client.get("/api/cases?state=due_soon", headers=m).get_json()["cases"]] == [case_id]
    clock.set(datetime(2026, 9, 29, 9, 0, tzinfo=TZ))
    overdue = client.get("/api/cases?state=overdue", headers=m).get_json()["cases"]
    assert overdue[0]["overdue"] == ["callback"]
    # a reply needs a callback first
    r = client.post(f"/api/cases/{case_id}/steps/reply", json={"note": "已答复"}, headers=m)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "case_step_refused"
    for step in ("callback", "verify", "rectify"):
        r = client.post(f"/api/cases/{case_id}/steps/{step}", json={"note": f"{step} 完成"}, headers=m)
        assert r.status_code == 200, r.get_json()
    r = client.post(f"/api/cases/{case_id}/rerate", json={"score": 4}, headers=m)
    assert r.status_code == 409  # only after the reply
    r = client.post(f"/api/cases/{case_id}/steps/reply", json={"note": "已电话反馈整改结果"}, headers=m)
    assert r.get_json()["status"] == "replied"
    r = client.post(f"/api/cases/{case_id}/rerate", json={"score": 4, "comment": "改进了"}, headers=m)
    body = r.get_json()
    assert body["status"] == "closed" and body["rerating_score"] == 4
    assert client.post(f"/api/cases/{case_id}/rerate", json={"score": 5}, headers=m).status_code == 409
    assert [n["step"] for n in body["notes"]] == ["opened", "callback", "verify", "rectify", "reply", "rerate"]
    assert client.get("/api/cases?state=closed", headers=m).get_json()["cases"][0]["id"] == case_id
    assert client.get("/api/cases", headers=m).get_json()["cases"] == []


@pytest.mark.api
def test_an_upheld_appeal_excludes_the_rating_with_its_reason(client, desk):
    rate(client, desk, 5)
    rate(client, desk, 1, ["other"], "故意乱评")
    m = desk["manager"]
    case_id = client.get("/api/cases", headers=m).get_json()["cases"][0]["id"]
    r = client.post(f"/api/cases/{case_id}/appeal", json={"reason": "群众误触，监控可证"}, headers=desk["clerk"])
    assert r.status_code == 200 and r.get_json()["appeal_status"] == "pending"
    r = client.post(f"/api/cases/{case_id}/appeal/decision", json={"uphold": True, "reason": "经复核属误评"},
                    headers=desk["clerk"])
    assert r.status_code == 403
    r = client.post(f"/api/cases/{case_id}/appeal/decision", json={"uphold": True, "reason": "经复核属误评"},
                    headers=m)
    body = r.get_json()
    assert body["excluded"] is True and body["exclude_reason"] == "经复核属误评" and body["status"] == "closed"
    ratings = client.get("/api/ratings", headers=m).get_json()["ratings"]
    assert [(x["score"], x["excluded"], x["exclude_reason"]) for x in ratings] ==\
        [(5, False, None), (1, True, "经复核属误评")]
    sat = client.get("/api/pad/state", headers=desk["pad"]).get_json()["satisfaction"]
    assert sat["ratings"] == 1 and sat["satisfied_rate"] == 1.0


@pytest.mark.api
def test_case_api_errors_are_json(app, client, desk):
    m = desk["manager"]
    assert client.get("/api/cases/999", headers=m).get_json()["error"]["code"] == "unknown_case"
    assert client.get("/api/cases?state=nope", headers=m).status_code == 422
    assert client.get("/api/cases", headers=desk["clerk"]).status_code == 403
    assert app.test_client().get("/api/cases").status_code == 401  # no session cookie, no token
