"""Managers' lists of the read side (server/readside/lists.py, screens.notice_text):
the same rows the API serves today, read through the package."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import Accounts
from server.app import create_app
from server.readside import lists
from server.store import connect

pytestmark = pytest.mark.api

TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self):
        return self.at


@pytest.fixture
def world(hall_dir):
    clock = Clock(datetime(2026, 9, 25, 10, 0, tzinfo=TZ))
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock, "HALL_OVERRIDES": {
        "ratings": {"press_burst": 50, "presses_per_minute": 600,
                    "flags": {"min_ratings": 3, "short_service_s": 60, "burst_count": 3,
                              "burst_minutes": 10}},
        "followup": {"callback": "1wd", "verify": "3wd", "rectify": "15wd", "reply": "15wd",
                     "due_soon_hours": 24}}})
    h = app.extensions["qrate"]
    client = app.test_client()
    acc = Accounts(h, client)
    desk = {"kiosk": acc.device("kiosk"), "clerk": acc.clerk(3), "pad": acc.device("pad", 3),
            "manager": acc.manager()}
    db = connect(h.cfg.db_path)
    yield {"app": app, "ops": h, "cfg": h.cfg, "clock": clock, "client": client, "desk": desk,
           "db": db}
    db.close()
    h.close()


def rate(world, score, reasons=(), service_s=30):
    c, desk, clock = world["client"], world["desk"], world["clock"]
    t = c.post("/api/tickets", json={"service": "B"}, headers=desk["kiosk"]).get_json()
    c.post("/api/windows/3/call-next", headers=desk["clerk"])
    clock.at += timedelta(seconds=service_s)
    c.post(f"/api/tickets/{t['id']}/finish", headers=desk["clerk"])
    r = c.post("/api/ratings", json={"ticket": t["id"], "score": score, "reasons": list(reasons)},
               headers=desk["pad"])
    assert r.status_code == 201, r.get_json()
    clock.at += timedelta(seconds=30)
    return t


def api(world, path, **params):
    r = world["client"].get(path, query_string=params, headers=world["desk"]["manager"])
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_ratings_in_a_range_are_those_of_the_api(world):
    rate(world, 5)
    rate(world, 2, ["attitude"])
    day = "2026-09-25"
    got = lists.ratings_in_range(world["db"], world["cfg"], now=world["clock"](), start=day, end=day)
    assert got == api(world, "/api/ratings", **{"from": day, "to": day})["ratings"]
    assert [r["score"] for r in got] == [5, 2] and got[1]["reasons"] == ["attitude"]
    assert got[0]["excluded"] is False and "ts" not in got[0] and got[0]["number"]
    assert lists.ratings_in_range(world["db"], world["cfg"], now=world["clock"](), start=day,
                                  end=day, window=4) == []


def test_cases_are_those_of_the_api(world):
    rate(world, 1, ["efficiency"])
    rate(world, 4)
    rate(world, 2)
    db, cfg = world["db"], world["cfg"]
    for state in lists.CASE_STATES:
        got = lists.list_cases(db, cfg, now=world["clock"](), state=state)
        assert got == api(world, "/api/cases", state=state)["cases"], state
    cases = lists.list_cases(db, cfg, now=world["clock"]())
    assert [c["score"] for c in cases] == [1, 2]
    assert cases[0]["next_step"] == "callback" and cases[0]["excluded"] is False
    one = lists.get_case(db, cfg, now=world["clock"](), case_id=cases[0]["id"])
    assert one == api(world, f"/api/cases/{cases[0]['id']}")
    assert one["notes"][0]["step"] == "opened"
    assert lists.get_case(db, cfg, now=world["clock"](), case_id=999) is None
    assert lists.calendar_status(db, cfg, now=world["clock"]()) == api(world, "/api/cases")["calendar"]
    # days later the callback is overdue
    later = world["clock"]() + timedelta(days=10)
    assert lists.list_cases(db, cfg, now=later, state="overdue")[0]["overdue"][0] == "callback"


def test_rating_flags(world):
    for _ in range(3):
        rate(world, 5, service_s=20)    # every rating 5, each behind a 20 s service
    db, cfg = world["db"], world["cfg"]
    day = "2026-09-25"
    flags = lists.rating_flags(db, cfg, now=world["clock"](), start=day, end=day, refused={3: 2, 4: 0})
    assert [(f["window"], f["kind"], f["ratings"]) for f in flags] == [
        (3, "all_top_score", 3), (3, "hollow_burst", 3), (3, "refused_presses", 2)]
    assert flags[0]["detail"] == "every rating is 5 (very satisfied)"    # a message id
    api_flags = api(world, "/api/ratings/flags", **{"from": day, "to": day})["flags"]
    assert [(f["window"], f["kind"]) for f in api_flags] == [(3, "all_top_score"), (3, "hollow_burst")]


def test_print_jobs_live_and_long_waits(world):
    t = rate(world, 4)
    c, desk = world["client"], world["desk"]
    waiting = c.post("/api/tickets", json={"service": "B"}, headers=desk["kiosk"]).get_json()
    db, cfg = world["db"], world["cfg"]
    jobs = lists.print_jobs(db, cfg, now=world["clock"]())
    assert jobs == api(world, "/api/print-jobs")["jobs"]
    assert {j["ticket"] for j in jobs} == {t["id"], waiting["id"]}
    assert lists.print_jobs(db, cfg, now=world["clock"](), status="printed") ==\
        api(world, "/api/print-jobs", status="printed")["jobs"]
    world["clock"].at += timedelta(minutes=31)
    now = world["clock"]()
    live = lists.today_now(db, cfg, now=now)
    b = next(s for s in live["services"] if s["service"] == "B")
    assert b["waiting"] == 1 and b["longest_wait_s"] == pytest.approx(31 * 60)
    assert live["windows_open"] == 1 and live["latest_ratings"][0]["score"] == 4
    old = api(world, "/api/stats/live")
    assert old["windows_open"] == live["windows_open"]
    assert old["latest_ratings"] == live["latest_ratings"]
    assert lists.long_waits(db, cfg, now=now, over_s=30 * 60) == {"B": 1}
    assert lists.long_waits(db, cfg, now=now, over_s=40 * 60) == {}


def test_the_notice_set_by_a_manager_is_what_every_screen_reads(world):
    client, cfg = world["client"], world["cfg"]
    assert client.get("/api/notice").get_json()["text"] == cfg.raw["hall"].get("notice", "")
    r = client.put("/api/notice", json={"text": "今日 16:00 停止取号"},
                   headers=world["desk"]["manager"])
    assert r.status_code == 200
    assert client.get("/api/notice").get_json()["text"] == "今日 16:00 停止取号"
    assert client.get("/api/queue").get_json()["hall"]["notice"] == "今日 16:00 停止取号"
