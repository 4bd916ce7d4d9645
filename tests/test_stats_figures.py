"""The figures of DESIGN.md, checked exactly on a small history built by hand.

Two hall days in Asia/Shanghai, driven through the service layer with a fixed
clock. Every expected number below is worked out by hand in the comments.
"""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import Accounts
from server.app import create_app
from server.readside import figures, summary, tables

pytestmark = pytest.mark.api

TZ = ZoneInfo("Asia/Shanghai")


def march(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 3, day, hh, mm, ss, tzinfo=TZ)


def build_history(h, clock) -> dict:
    """The hand-made history; returns ticket ids by name."""
    t = {}
    clock.set(march(2, 9, 0))
    h.sign_in(3, "1003")
    h.sign_in(4, "1004")
    t["A001"] = h.issue("A")["id"]                       # 09:00
    clock.set(march(2, 9, 1)); t["A002"] = h.issue("A")["id"]    # 09:01
    clock.set(march(2, 9, 2)); t["B001"] = h.issue("B")["id"]    # 09:02
    clock.set(march(2, 9, 5)); assert h.call_next(3)["number"] == "A001"   # wait 300
    clock.set(march(2, 9, 6)); assert h.call_next(4)["number"] == "B001"   # wait 240 (leg 1, service B)
    clock.set(march(2, 9, 10)); h.finish(t["A001"])                          # service 300
    clock.set(march(2, 9, 10, 30)); h.rate(t["A001"], 3, 5)
    clock.set(march(2, 9, 11)); assert h.call_next(3)["number"] == "A002"  # wait 600
    clock.set(march(2, 9, 12)); h.recall(t["A002"])
    clock.set(march(2, 9, 12, 30)); h.recall(t["A002"])                     # the hall asks 2 recalls
    clock.set(march(2, 9, 13)); h.no_show(t["A002"])                         # no-show
    clock.set(march(2, 9, 16)); h.transfer(t["B001"], service="A")           # new leg from 09:16
    clock.set(march(2, 9, 20)); assert h.call_next(3)["number"] == "B001"  # wait 240 (leg 2, service A)
    clock.set(march(2, 9, 30)); h.finish(t["B001"])                          # service 600
    clock.set(march(2, 9, 31)); h.rate(t["B001"], 3, 2, reasons=["efficiency"], comment="太慢")
    clock.set(march(2, 10, 0)); t["A003"] = h.issue("A")["id"]
    clock.set(march(2, 10, 0, 30)); h.call_next(3)                           # wait 30
    clock.set(march(2, 10, 1)); h.park(t["A003"])
    clock.set(march(2, 10, 5)); h.call_ticket(3, t["A003"])                  # call back: no new wait
    clock.set(march(2, 10, 7)); h.finish(t["A003"])                          # service 120 (from the call back)
    clock.set(march(2, 10, 8)); h.rate(t["A003"], 3, 4)
    clock.set(march(2, 12, 0)); h.sign_out(3)                                # window 3 open 09:00-12:00
    # Late evening at window 1: the ticket's day is 2 March; its rating lands after midnight.
    clock.set(march(2, 23, 45)); h.sign_in(1, "1001")
    clock.set(march(2, 23, 50)); t["E001"] = h.issue("E")["id"]
    clock.set(march(2, 23, 55)); h.call_next(1)                              # wait 300
    clock.set(march(2, 23, 59)); h.finish(t["E001"])                         # service 240
    clock.set(march(3, 0, 2)); h.rate(t["E001"], 1, 3)                       # rated on 3 March, counts to 2 March
    # 3 March 00:10 in Shanghai is still 2 March in UTC: it belongs to 3 March.
    clock.set(march(3, 0, 10)); t["E001b"] = h.issue("E")["id"]
    clock.set(march(3, 0, 12)); h.call_next(1)                               # wait 120
    clock.set(march(3, 0, 15)); h.finish(t["E001b"])                         # service 180
    clock.set(march(3, 0, 20))
    return t


@pytest.fixture
def world(hall_dir, clock):
    clock.set(march(2, 8, 0))
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock})
    h = app.extensions["qrate"]
    client = app.test_client()
    ids = build_history(h, clock)
    manager = Accounts(h, client).manager()
    yield {"app": app, "ops": h, "client": client, "manager": manager, "ids": ids,
           "clock": clock}
    h.close()


def get(world, path, **params):
    r = world["client"].get(path, query_string=params, headers=world["manager"])
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def by(rows, key):
    return {r[key]: r for r in rows}


def test_hall_wide_figures_of_a_day(world):
    body = get(world, "/api/stats/days", **{"from": "2026-03-02", "to": "2026-03-02"})
    assert body["from"] == body["to"] == "2026-03-02"
    (day,) = body["rows"]
    assert day["day"] == "2026-03-02"
    assert day["issued"] == 5                     # A001 A002 B001 A003 E001
    assert day["served"] == 4 and day["no_show"] == 1
    assert day["no_show_rate"] == 1 / 5
    # six legs called: 300, 240 (B001 leg 1), 600, 240 (leg 2 after the transfer), 30, 300;
    # the call back of A003 is not a wait.
    assert day["called"] == 6 and day["transferred"] == 1
    assert day["wait_s"] == {"mean": 285.0, "p50": 240.0, "p90": 600.0, "max": 600.0}
    # served: 300, 600, 120 (A003 from its call back), 240
    assert day["service_s"] == {"mean": 315.0, "p50": 240.0, "p90": 600.0, "max": 600.0}
    assert day["ratings"] == 4 and day["participation"] == 1.0
    assert day["levels"] == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1}
    assert day["mean_score"] == 3.5
    assert day["good_rate"] == 0.75 and day["satisfied_rate"] == 0.5
    assert day["low_reasons"] == [{"reason": "efficiency", "count": 1}]
    assert day["callback_rate"] is None and day["followup_rate"] is None


def test_windows(world):
    rows = by(get(world, "/api/stats/windows", **{"from": "2026-03-02", "to": "2026-03-02"})["rows"],
              "window")
    assert set(rows) == {1, 3, 4}
    w3 = rows[3]
    assert w3["issued"] == w3["called"] == 4
    assert w3["wait_s"] == {"mean": 292.5, "p50": 240.0, "p90": 600.0, "max": 600.0}
    assert w3["served"] == 3
    assert w3["service_s"] == {"mean": 340.0, "p50": 300.0, "p90": 600.0, "max": 600.0}
    assert w3["no_show"] == 1 and w3["no_show_rate"] == 0.25
    assert w3["ratings"] == 3 and w3["levels"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert w3["mean_score"] == pytest.approx(11 / 3) and w3["good_rate"] == pytest.approx(2 / 3)
    # open 09:00-12:00; serving 300 + 600 + 120
    assert w3["open_s"] == 3 * 3600 and w3["serving_s"] == 1020 and w3["idle_s"] == 10800 - 1020
    w4 = rows[4]   # B001's first leg: called, then transferred; nothing served
    assert w4["called"] == 1 and w4["transferred"] == 1 and w4["served"] == 0
    assert w4["wait_s"]["max"] == 240.0
    assert w4["no_show_rate"] is None and w4["participation"] is None
    assert w4["service_s"] == {"mean": None, "p50": None, "p90": None, "max": None}
    assert w4["open_s"] == 15 * 3600    # signed in at 09:00, never out: open to midnight
    assert rows[1]["served"] == 1 and rows[1]["ratings"] == 1


def test_targets_are_those_of_the_services_served(world):
    rows = by(get(world, "/api/stats/windows", **{"from": "2026-03-02", "to": "2026-03-02"})["rows"],
              "window")
    # window 3 served only service A legs (B001's second leg was A): A's targets 20 min / 8 min
    assert rows[3]["targets"] == {"wait_s": 1200.0, "service_s": 480.0, "good_rate": 0.95}
    assert rows[3]["wait_over_target_rate"] == 0.0
    assert rows[3]["service_over_target_rate"] == pytest.approx(1 / 3)   # 600 s > 480 s
    assert rows[4]["targets"]["service_s"] == 600.0                      # service B: 10 min
    assert rows[1]["targets"]["wait_s"] == 600.0                         # service E: 10 min
    assert rows[1]["wait_over_target_rate"] == 0.0


def test_staff_and_services(world):
    staff = by(get(world, "/api/stats/staff", **{"from": "2026-03-02", "to": "2026-03-02"})["rows"],
               "staff")
    assert set(staff) == {"1001", "1003", "1004"}
    assert staff["1003"]["served"] == 3 and staff["1003"]["name"] == "张敏"
    services = by(get(world, "/api/stats/services", **{"from": "2026-03-02", "to": "2026-03-02"})["rows"],
                  "service")
    # issued counts the issuing service; legs count the service at the call
    assert services["A"]["issued"] == 3 and services["B"]["issued"] == 1
    assert services["A"]["called"] == 4 and services["B"]["called"] == 1
    assert services["A"]["served"] == 3 and services["B"]["served"] == 0
    assert services["B"]["transferred"] == 1
    assert services["A"]["wait_s"]["p50"] == 240.0
    assert services["A"]["ratings"] == 3 and services["E"]["ratings"] == 1
    assert set(services) == {"A", "B", "E"}  # C and D had nothing that day: no row


def test_hours(world):
    rows = by(get(world, "/api/stats/hours", **{"from": "2026-03-02", "to": "2026-03-02"})["rows"],
              "hour")
    assert rows[9]["issued"] == 3 and rows[10]["issued"] == 1 and rows[23]["issued"] == 1
    # calls in the 9 o'clock hour: 300, 240, 600, 240
    assert rows[9]["wait_s"] == {"mean": 345.0, "p50": 240.0, "p90": 600.0, "max": 600.0}
    assert rows[9]["served"] == 2 and rows[10]["served"] == 1 and rows[23]["served"] == 1
    # ratings count in the hour they were given: E001 rated at 00:02
    assert rows[0]["ratings"] == 1 and rows[9]["ratings"] == 2


def test_day_boundary_in_the_halls_time_zone(world):
    both = by(get(world, "/api/stats/days", **{"from": "2026-03-02", "to": "2026-03-03"})["rows"],
              "day")
    assert set(both) == {"2026-03-02", "2026-03-03"}
    third = both["2026-03-03"]
    assert third["issued"] == 1 and third["served"] == 1
    assert third["wait_s"]["max"] == 120.0 and third["service_s"]["max"] == 180.0
    assert third["ratings"] == 0
    # the range of two days adds up: 7 legs in all
    total = get(world, "/api/stats/services", **{"from": "2026-03-02", "to": "2026-03-03"})["rows"]
    assert sum(r["called"] for r in total) == 7


def test_excluded_ratings_leave_the_figures(world):
    q = {"from": "2026-03-02", "to": "2026-03-02"}
    before = get(world, "/api/stats/windows", **q)["rows"]   # stores the summary of 2 March
    assert by(before, "window")[3]["ratings"] == 3
    with world["ops"].store() as s, s.db.atomic():
        s.db.execute("UPDATE ratings SET excluded = 1, exclude_reason = 'appeal upheld' "
                     "WHERE ticket = ?", [world["ids"]["B001"]])
    w3 = by(get(world, "/api/stats/windows", **q)["rows"], "window")[3]
    assert w3["ratings"] == 2 and w3["levels"]["2"] == 0 and w3["good_rate"] == 1.0
    assert w3["low_reasons"] == []


def test_summary_of_a_past_day_equals_the_live_computation(world):
    q = {"from": "2026-03-02", "to": "2026-03-03"}
    first = get(world, "/api/stats/staff", **q)           # 2 March summarised from the log
    with world["ops"].store() as s:
        assert s.db.execute("SELECT count(*) FROM stats_dirty WHERE day = '2026-03-02'").fetchone()[0] == 0
        assert s.db.execute("SELECT count(*) FROM stats_cells WHERE day = '2026-03-02'").fetchone()[0] > 0
    assert get(world, "/api/stats/staff", **q) == first   # now read from the stored summary


def test_follow_up_rates_from_the_cases_table(world):
    """B001's 不满意 (2) at window 3 on Monday 2 March 09:31 opened a case (docs/ratings.md)."""
    q = {"from": "2026-03-02", "to": "2026-03-02"}

    def w3():
        return by(get(world, "/api/stats/windows", **q)["rows"], "window")[3]

    with world["ops"].store() as s:
        case = s.db.execute("SELECT id, callback_due, rectify_due, reply_due FROM rating_cases "
                            "WHERE ticket = ?", [world["ids"]["B001"]]).fetchone()
    assert case is not None
    # now is 3 March 00:20: the callback (1 working day: 3 March 09:31) has not fallen due
    assert w3()["callback_rate"] is None and w3()["followup_rate"] is None

    def update(**cols):
        sets = ", ".join(f"{k} = ?" for k in cols)
        with world["ops"].store() as s, s.db.atomic():
            s.db.execute(f"UPDATE rating_cases SET {sets} WHERE id = ?", [*cols.values(), case[0]])

    def at(text):
        return {"at": text, "ts": datetime.fromisoformat(text).timestamp()}

    cb = at("2026-03-02T15:00:00+08:00")  # called back early: due, and kept
    update(callback_done_at=cb["at"], callback_done_ts=cb["ts"])
    assert w3()["callback_rate"] == 1.0 and w3()["followup_rate"] is None
    late = at("2026-03-06T10:00:00+08:00")  # called back after its deadline instead
    update(callback_done_at=late["at"], callback_done_ts=late["ts"])
    assert w3()["callback_rate"] == 0.0
    fixed, told = at("2026-03-02T16:00:00+08:00"), at("2026-03-02T16:30:00+08:00")
    update(rectified_at=fixed["at"], rectified_ts=fixed["ts"], replied_at=told["at"], replied_ts=told["ts"])
    assert w3()["followup_rate"] == 1.0
    update(excluded=1, exclude_reason="appeal upheld")  # an upheld appeal takes the case out too
    assert w3()["callback_rate"] is None and w3()["followup_rate"] is None
    assert by(get(world, "/api/stats/windows", **q)["rows"], "window")[4]["callback_rate"] is None


def test_only_managers_and_good_dates(world):
    c = world["client"]
    assert world["app"].test_client().get("/api/stats/windows").status_code == 401
    r = c.get("/api/stats/windows?from=2026-13-01", headers=world["manager"])
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "bad_date"
    r = c.get("/api/stats/windows?from=2026-03-05&to=2026-03-01", headers=world["manager"])
    assert r.status_code == 422
    r = c.get("/api/stats/windows?format=pdf", headers=world["manager"])
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "bad_format"


def test_scorecard_rankings_and_pairs(world):
    card = get(world, "/api/stats/scorecard", day="2026-03-02")
    w = by(card["windows"], "window")
    # window 3: 3 served and 3 ratings, fewer than the hall's 5 ([assessment] min_count):
    # too little to score, so no score at all (never a perfect one)
    assert w[3]["score"] is None and w[3]["flags"] == []
    assert w[3]["rank"] is None          # 3 served: too few to be ranked (MIN_SERVED = 5)
    ranks = get(world, "/api/stats/rankings", period="2026-Q1")
    assert ranks["from"] == "2026-01-01" and ranks["to"] == "2026-03-31"
    assert get(world, "/api/stats/pairs", **{"from": "2026-03-01", "to": "2026-03-03"})["pairs"] == []


def test_month_rollup_gives_the_same_figures_and_follows_changes(world):
    world["clock"].set(datetime(2026, 4, 2, 9, 0, tzinfo=TZ))   # March is a whole past month
    q = {"from": "2026-03-01", "to": "2026-03-31"}
    h = world["ops"]

    def by_cells(dim):
        now = h.now()
        with h.store() as s:
            cells = summary.summary_rows(s.db, h.cfg, now=now, start="2026-03-01", end="2026-03-31",
                                         grain="cells")
            return tables.figures(s.db, h.cfg, now=now, dim=dim, start="2026-03-01",
                                  end="2026-03-31", summary=cells)

    first = get(world, "/api/stats/windows", **q)["rows"]          # stores March's dirty days
    assert get(world, "/api/stats/windows", **q)["rows"] == first   # rolls March up
    with h.store() as s:
        assert s.db.execute("SELECT month FROM stats_month_done").fetchall() == [("2026-03",)]
    again = get(world, "/api/stats/windows", **q)["rows"]          # read from the roll-up
    assert again == first
    # the routes' rows add the citizens' feedback block (from the feedback table, not the summary)
    plain = lambda rows: [{k: v for k, v in r.items() if k != "feedback"} for r in rows]  # noqa: E731
    assert [figures.judge([r], figures.min_count(h.cfg))[0] | {"rank": None} for r in by_cells("window")] ==\
        [r | {"rank": None} for r in plain(again)]
    for what, dim in (("hours", "hour"), ("services", "service"), ("staff", "staff")):
        assert plain(get(world, f"/api/stats/{what}", **q)["rows"]) ==\
            (figures.judge(by_cells(dim), figures.min_count(h.cfg)) if dim == "staff" else by_cells(dim))
    assert get(world, "/api/stats/days", **q)["rows"] == by_cells("day")
    # an upheld appeal on 2 March drops the roll-up; the figures follow
    with h.store() as s, s.db.atomic():
        s.db.execute("UPDATE ratings SET excluded = 1 WHERE ticket = ?", [world["ids"]["A001"]])
        assert s.db.execute("SELECT count(*) FROM stats_month_done").fetchone()[0] == 0
    w3 = by(get(world, "/api/stats/windows", **q)["rows"], "window")[3]
    assert w3["ratings"] == 2 and w3["levels"]["5"] == 0


def test_today_follows_each_new_event(world):
    q = {"from": "2026-03-03", "to": "2026-03-03"}
    (before,) = get(world, "/api/stats/days", **q)["rows"]   # today: summarised from the log
    assert before["issued"] == 1 and before["served"] == 1
    h, clock = world["ops"], world["clock"]
    clock.set(march(3, 0, 30))
    ticket = h.issue("E")
    clock.set(march(3, 0, 40))
    h.call_next(1)                                   # wait 600
    clock.set(march(3, 0, 50))
    h.finish(ticket["id"])                           # service 600
    (after,) = get(world, "/api/stats/days", **q)["rows"]    # only the new events are read
    assert after["issued"] == 2 and after["served"] == 2
    assert after["wait_s"] == {"mean": 360.0, "p50": 120.0, "p90": 600.0, "max": 600.0}
    assert after["service_s"] == {"mean": 390.0, "p50": 180.0, "p90": 600.0, "max": 600.0}
    summary.clear_cache()                            # the same figures from scratch
    assert get(world, "/api/stats/days", **q)["rows"] == [after]
