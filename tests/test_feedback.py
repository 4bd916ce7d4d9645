"""Citizens' opinions and suggestions (群众沟通反馈): left from the status page with the
ticket's key or from a kiosk, answered by a manager within the hall's deadline in working
days, the answer on the citizen's status page, the figures counting answers on time;
bounded and rate-limited."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import Accounts
from server.app import create_app

pytestmark = pytest.mark.api
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def hall(hall_dir, clock):
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))       # a Monday
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock, "HALL_OVERRIDES": {
        "feedback": {"reply": "3wd", "per_address_per_minute": 1000}}})
    h = app.extensions["qrate"]
    client = app.test_client()
    accounts = Accounts(h, client)
    ticket = h.issue("A")
    key = ticket["status_url"].rsplit("/", 1)[-1]
    yield {"app": app, "ops": h, "client": client, "manager": accounts.manager(),
           "kiosk": accounts.device("kiosk"), "key": key, "clock": clock}
    h.close()


def leave(hall, **body):
    return hall["app"].test_client().post("/api/feedback", json=body)


def test_leave_answer_and_see_the_answer_on_the_status_page(hall):
    r = leave(hall, key=hall["key"], kind="suggestion", text="叫号声音再大一点。", phone="138 0013 8000")
    assert r.status_code == 201, r.get_json()
    left = r.get_json()
    assert left["phone"] == "138****8000"
    assert left["reply_due"].startswith("2026-03-05T23:59:59")      # three working days after Monday
    mine = hall["app"].test_client().get(f"/api/status/{hall['key']}/feedback").get_json()["feedback"]
    assert [(f["text"], f["reply"], f["phone"]) for f in mine] == [("叫号声音再大一点。", None, "138****8000")]
    assert "phone_full" not in mine[0]                                # the citizen's side: masked only
    listed = hall["client"].get("/api/feedback", headers=hall["manager"]).get_json()
    (row,) = listed["feedback"]
    # a list masks the number (docs/security.md); the manager answering it opens the one
    assert row["number"] == "A001" and row["phone"] == "138****8000" and "phone_full" not in row
    one = hall["client"].get(f"/api/feedback/{row['id']}", headers=hall["manager"])
    assert one.status_code == 200 and one.get_json()["phone_full"] == "13800138000"
    assert hall["app"].test_client().get(f"/api/feedback/{row['id']}").status_code == 401
    assert hall["client"].get("/api/feedback/999", headers=hall["manager"]).status_code == 404
    hall["clock"].advance(3600)
    r = hall["client"].post(f"/api/feedback/{row['id']}/reply", headers=hall["manager"],
                            json={"reply": "已调高大厅音量，感谢您的建议。"})
    assert r.status_code == 200 and r.get_json()["on_time"] is True
    mine = hall["app"].test_client().get(f"/api/status/{hall['key']}/feedback").get_json()["feedback"]
    assert mine[0]["reply"] == "已调高大厅音量，感谢您的建议。" and mine[0]["on_time"] is True
    again = hall["client"].post(f"/api/feedback/{row['id']}/reply", headers=hall["manager"],
                                json={"reply": "再次答复"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_replied"


def test_answers_on_time_are_counted(hall):
    ids = [leave(hall, key=hall["key"], text=f"意见 {i}").get_json()["id"] for i in range(3)]
    kiosk = hall["app"].test_client().post("/api/feedback", json={"text": "大厅座位不够。"},
                                           headers=hall["kiosk"])
    assert kiosk.status_code == 201
    reply = lambda i: hall["client"].post(f"/api/feedback/{i}/reply", headers=hall["manager"],
                                          json={"reply": "收到，谢谢。"})
    reply(ids[0])                                                   # Monday: on time
    hall["clock"].set(datetime(2026, 3, 9, 10, 0, tzinfo=TZ))      # next Monday: past Thursday's deadline
    assert reply(ids[1]).get_json()["on_time"] is False
    figures = hall["client"].get("/api/feedback?from=2026-03-01&to=2026-03-09",
                                 headers=hall["manager"]).get_json()["figures"]
    assert figures == {"received": 4, "answered": 2, "fell_due": 4, "answered_on_time": 1,
                       "overdue_open": 2, "on_time_rate": 0.25}
    overdue = hall["client"].get("/api/feedback?from=2026-03-01&to=2026-03-09&state=overdue",
                                 headers=hall["manager"]).get_json()["feedback"]
    assert sorted(f["source"] for f in overdue) == ["kiosk", "status"]


def test_bounded_and_rate_limited(hall):
    assert leave(hall, text="没有票号").status_code == 401          # neither a key nor a kiosk
    assert leave(hall, key="no-such-key", text="随便写写").status_code == 404
    assert leave(hall, key=hall["key"], text="x" * 501).get_json()["error"]["code"] == "too_long"
    assert leave(hall, key=hall["key"], text="好", phone="abc").status_code == 422
    for i in range(3):
        assert leave(hall, key=hall["key"], text=f"第 {i} 条").status_code == 201
    r = leave(hall, key=hall["key"], text="第 4 条")              # [feedback] per_ticket_per_hour = 3
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "too_much_feedback"
    hall["clock"].advance(3601)
    assert leave(hall, key=hall["key"], text="一小时后").status_code == 201


def test_one_address_is_limited_per_minute(hall_dir, clock):
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock,
                      "HALL_OVERRIDES": {"feedback": {"per_address_per_minute": 2}}})
    try:
        h = app.extensions["qrate"]
        keys = [h.issue("A")["status_url"].rsplit("/", 1)[-1] for _ in range(5)]
        codes = [app.test_client().post("/api/feedback", json={"key": k, "text": "意见"}).status_code
                 for k in keys]
        assert codes == [201, 201, 201, 429, 429]                    # a burst of 3, then 2 a minute
    finally:
        app.extensions["qrate"].close()
