"""Figures tables of the read side (server/readside), on the hand-made history of
test_stats_figures.py: the same expectations, now through the package.

Two hall days in Asia/Shanghai driven through the app's service layer with a fixed
clock; every number is worked out by hand in the comments of build_history.
"""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from server.app import create_app
from server.readside import figures as F, summary, tables
from server.store import connect

pytestmark = pytest.mark.api

TZ = ZoneInfo("Asia/Shanghai")
DAY = {"start": "2026-03-02", "end": "2026-03-02"}


class Clock:
    def __init__(self):
        self.now = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)

    def at(self, day: int, hh: int, mm: int, ss: int = 0) -> None:
        self.now = datetime(2026, 3, day, hh, mm, ss, tzinfo=TZ)

    def __call__(self):
        return self.now


def build_history(h, clock: Clock) -> dict:
    """The history of test_stats_figures.py; returns ticket ids by name."""
    t = {}
    clock.at(2, 9, 0)
    h.sign_in(3, "1003")
    h.sign_in(4, "1004")
    t["A001"] = h.issue("A")["id"]                       # 09:00
    clock.at(2, 9, 1); t["A002"] = h.issue("A")["id"]    # 09:01
    clock.at(2, 9, 2); t["B001"] = h.issue("B")["id"]    # 09:02
    clock.at(2, 9, 5); assert h.call_next(3)["number"] == "A001"   # wait 300
    clock.at(2, 9, 6); assert h.call_next(4)["number"] == "B001"   # wait 240 (leg 1, service B)
    clock.at(2, 9, 10); h.finish(t["A001"])                          # service 300
    clock.at(2, 9, 10, 30); h.rate(t["A001"], 3, 5)
    clock.at(2, 9, 11); assert h.call_next(3)["number"] == "A002"  # wait 600
    clock.at(2, 9, 12); h.recall(t["A002"])
    clock.at(2, 9, 12, 30); h.recall(t["A002"])
    clock.at(2, 9, 13); h.no_show(t["A002"])                         # no-show
    clock.at(2, 9, 16); h.transfer(t["B001"], service="A")           # new leg from 09:16
    clock.at(2, 9, 20); assert h.call_next(3)["number"] == "B001"  # wait 240 (leg 2, service A)
    clock.at(2, 9, 30); h.finish(t["B001"])                          # service 600
    clock.at(2, 9, 31); h.rate(t["B001"], 3, 2, reasons=["efficiency"], comment="太慢")
    clock.at(2, 10, 0); t["A003"] = h.issue("A")["id"]
    clock.at(2, 10, 0, 30); h.call_next(3)                           # wait 30
    clock.at(2, 10, 1); h.park(t["A003"])
    clock.at(2, 10, 5); h.call_ticket(3, t["A003"])                  # call back: no new wait
    clock.at(2, 10, 7); h.finish(t["A003"])                          # service 120
    clock.at(2, 10, 8); h.rate(t["A003"], 3, 4)
    clock.at(2, 12, 0); h.sign_out(3)                                # window 3 open 09:00-12:00
    clock.at(2, 23, 45); h.sign_in(1, "1001")
    clock.at(2, 23, 50); t["E001"] = h.issue("E")["id"]
    clock.at(2, 23, 55); h.call_next(1)                              # wait 300
    clock.at(2, 23, 59); h.finish(t["E001"])                         # service 240
    clock.at(3, 0, 2); h.rate(t["E001"], 1, 3)                       # counts to 2 March
    clock.at(3, 0, 10); t["E001b"] = h.issue("E")["id"]
    clock.at(3, 0, 12); h.call_next(1)                               # wait 120
    clock.at(3, 0, 15); h.finish(t["E001b"])                         # service 180
    clock.at(3, 0, 20)
    return t


@pytest.fixture
def world(hall_dir):
    clock = Clock()
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock})
    h = app.extensions["qrate"]
    ids = build_history(h, clock)
    db = connect(h.cfg.db_path)
    summary.clear_cache()
    yield {"app": app, "ops": h, "cfg": h.cfg, "db": db, "ids": ids, "clock": clock}
    db.close()
    h.close()


def rows(world, dim, start="2026-03-02", end="2026-03-02", **kw):
    return tables.table(world["db"], world["cfg"], now=world["clock"](), dim=dim, start=start,
                        end=end, **kw)


def by(rows, key):
    return {r[key]: r for r in rows}


def test_hall_wide_figures_of_a_day(world):
    (day,) = rows(world, "day")
    assert day["day"] == "2026-03-02"
    assert day["issued"] == 5 and day["served"] == 4 and day["no_show"] == 1
    assert day["no_show_rate"] == 1 / 5
    assert day["called"] == 6 and day["transferred"] == 1
    assert day["wait_s"] == {"mean": 285.0, "p50": 240.0, "p90": 600.0, "max": 600.0}
    assert day["service_s"] == {"mean": 315.0, "p50": 240.0, "p90": 600.0, "max": 600.0}
    assert day["ratings"] == 4 and day["participation"] == 1.0
    assert day["levels"] == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1}
    assert day["mean_score"] == 3.5
    assert day["good_rate"] == 0.75 and day["satisfied_rate"] == 0.5
    assert day["low_reasons"] == [{"reason": "efficiency", "count": 1}]
    assert day["callback_rate"] is None and day["followup_rate"] is None


def test_the_hall_total_is_the_day_row(world):
    (day,) = rows(world, "day")
    total = tables.total(world["db"], world["cfg"], now=world["clock"](), **DAY)
    assert {k: v for k, v in day.items() if k != "day"} == total


def test_windows(world):
    w = by(rows(world, "window"), "window")
    assert set(w) == {1, 3, 4}
    w3 = w[3]
    assert w3["issued"] == w3["called"] == 4
    assert w3["wait_s"] == {"mean": 292.5, "p50": 240.0, "p90": 600.0, "max": 600.0}
    assert w3["served"] == 3
    assert w3["service_s"] == {"mean": 340.0, "p50": 300.0, "p90": 600.0, "max": 600.0}
    assert w3["no_show"] == 1 and w3["no_show_rate"] == 0.25
    assert w3["ratings"] == 3 and w3["levels"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert w3["mean_score"] == 11 / 3 and w3["good_rate"] == 2 / 3     # exact
    assert w3["open_s"] == 3 * 3600 and w3["serving_s"] == 1020 and w3["idle_s"] == 10800 - 1020
    assert w3["name"] == world["cfg"].windows[3].name
    w4 = w[4]
    assert w4["called"] == 1 and w4["transferred"] == 1 and w4["served"] == 0
    assert w4["wait_s"]["max"] == 240.0
    assert w4["no_show_rate"] is None and w4["participation"] is None
    assert w4["service_s"] == {"mean": None, "p50": None, "p90": None, "max": None}
    assert w4["open_s"] == 15 * 3600
    assert w[1]["served"] == 1 and w[1]["ratings"] == 1


def test_targets_are_those_of_the_services_served(world):
    w = by(rows(world, "window"), "window")
    assert w[3]["targets"] == {"wait_s": 1200.0, "service_s": 480.0, "good_rate": 0.95}
    assert w[3]["wait_over_target_rate"] == 0.0
    assert w[3]["service_over_target_rate"] == 1 / 3
    assert w[3]["service_index"] == (300 / 480 + 600 / 480 + 120 / 480) / 3
    assert w[4]["targets"]["service_s"] == 600.0
    assert w[1]["targets"]["wait_s"] == 600.0


def test_staff_services_and_hours(world):
    staff = by(rows(world, "staff"), "staff")
    assert set(staff) == {"1001", "1003", "1004"}
    assert staff["1003"]["served"] == 3 and staff["1003"]["name"] == "张敏"
    services = by(rows(world, "service"), "service")
    assert services["A"]["issued"] == 3 and services["B"]["issued"] == 1
    assert services["A"]["called"] == 4 and services["B"]["called"] == 1
    assert services["A"]["served"] == 3 and services["B"]["served"] == 0
    assert services["B"]["transferred"] == 1
    assert services["A"]["ratings"] == 3 and services["E"]["ratings"] == 1
    assert services["A"]["name"] == world["cfg"].services["A"].name
    hours = by(rows(world, "hour"), "hour")
    assert hours[9]["issued"] == 3 and hours[10]["issued"] == 1 and hours[23]["issued"] == 1
    assert hours[9]["wait_s"] == {"mean": 345.0, "p50": 240.0, "p90": 600.0, "max": 600.0}
    assert hours[0]["ratings"] == 1 and hours[9]["ratings"] == 2


def test_day_boundary_in_the_halls_time_zone(world):
    both = by(rows(world, "day", end="2026-03-03"), "day")
    assert set(both) == {"2026-03-02", "2026-03-03"}
    third = both["2026-03-03"]
    assert third["issued"] == 1 and third["served"] == 1
    assert third["wait_s"]["max"] == 120.0 and third["service_s"]["max"] == 180.0
    assert third["ratings"] == 0
    assert sum(r["called"] for r in rows(world, "service", end="2026-03-03")) == 7


def test_filters(world):
    (w3,) = rows(world, "day", window=3)
    assert w3["called"] == 4 and w3["issued"] == 0      # nothing is issued at a window
    (a,) = rows(world, "window", service="A", window=3)
    assert a["served"] == 3
    assert rows(world, "staff", staff="1001")[0]["served"] == 1


def test_excluded_ratings_leave_the_figures(world):
    assert by(rows(world, "window"), "window")[3]["ratings"] == 3   # stores 2 March's summary
    with world["ops"].store() as s, s.db.atomic():
        s.db.execute("UPDATE ratings SET excluded = 1, exclude_reason = 'appeal upheld' "
                     "WHERE ticket = ?", [world["ids"]["B001"]])
    w3 = by(rows(world, "window"), "window")[3]
    assert w3["ratings"] == 2 and w3["levels"]["2"] == 0 and w3["good_rate"] == 1.0
    assert w3["low_reasons"] == []


def test_a_stored_past_day_gives_the_figures_computed_from_the_log(world):
    first = rows(world, "staff", end="2026-03-03")
    db = world["db"]
    assert db.execute("SELECT count(*) FROM stats_dirty WHERE day = '2026-03-02'").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM stats_cells WHERE day = '2026-03-02'").fetchone()[0] > 0
    assert rows(world, "staff", end="2026-03-03") == first


def test_follow_up_rates_from_the_cases_table(world):
    db = world["db"]
    case = db.execute("SELECT id FROM rating_cases WHERE ticket = ?",
                      [world["ids"]["B001"]]).fetchone()
    assert case is not None

    def w3():
        return by(rows(world, "window"), "window")[3]

    def update(**cols):
        sets = ", ".join(f"{k} = ?" for k in cols)
        with db.conn:
            db.execute(f"UPDATE rating_cases SET {sets} WHERE id = ?", [*cols.values(), case[0]])

    assert w3()["callback_rate"] is None and w3()["followup_rate"] is None
    update(callback_done_at="2026-03-02T15:00:00+08:00")
    assert w3()["callback_rate"] == 1.0 and w3()["followup_rate"] is None
    update(callback_done_at="2026-03-06T10:00:00+08:00")
    assert w3()["callback_rate"] == 0.0
    update(rectified_at="2026-03-02T16:00:00+08:00", replied_at="2026-03-02T16:30:00+08:00")
    assert w3()["followup_rate"] == 1.0
    update(excluded=1)
    assert w3()["callback_rate"] is None and w3()["followup_rate"] is None


def test_scorecard_with_too_little_data_has_no_score(world):
    card = tables.scorecard(world["db"], world["cfg"], now=world["clock"](), day="2026-03-02")
    w = by(card["windows"], "window")
    # window 3 served 3 and got 3 ratings: under [assessment] min_count (5), so no score
    # (the old code gave it 100.0), no rank, and no flags it has not earned
    assert w[3]["score"] is None and w[3]["rank"] is None and w[3]["flags"] == []
    assert all(r["score"] is None for r in card["staff"])
    ranks = tables.rankings(world["db"], world["cfg"], now=world["clock"](), period="2026-Q1")
    assert ranks["from"] == "2026-01-01" and ranks["to"] == "2026-03-31"
    assert tables.pairs(world["db"], world["cfg"], now=world["clock"](), start="2026-03-01",
                        end="2026-03-03") == []


def test_min_count_is_a_hall_setting(world):
    cfg = world["cfg"]
    cfg.raw["assessment"] = {"min_count": 3}
    try:
        card = tables.scorecard(world["db"], cfg, now=world["clock"](), day="2026-03-02")
        w3 = by(card["windows"], "window")[3]
        # 3 served and 3 ratings now suffice: 40 * 1 (index 0.708) + 40 * (2/3)/0.95 + 20 * 1
        assert w3["score"] == pytest.approx(100 * (40 + 40 * (2 / 3) / 0.95 + 20) / 100)
        assert w3["rank"] == 1 and w3["flags"] == ["low_good_rate"]
    finally:
        cfg.raw.pop("assessment")


def test_month_rollup_gives_the_same_figures(world):
    world["clock"].now = datetime(2026, 4, 2, 9, 0, tzinfo=TZ)    # March is a whole past month
    db, cfg, now = world["db"], world["cfg"], world["clock"]()
    q = dict(start="2026-03-01", end="2026-03-31")

    def by_cells(dim):
        s = summary.summary_rows(db, cfg, now=now, grain="cells", **q)
        return tables.figures(db, cfg, now=now, dim=dim, summary=s, **q)

    first = rows(world, "window", **q)               # stores March's dirty days
    assert rows(world, "window", **q) == first        # rolls March up
    assert db.execute("SELECT month FROM stats_month_done").fetchall() == [("2026-03",)]
    assert rows(world, "window", **q) == first        # read from the roll-up
    n = F.min_count(cfg)
    assert F.judge(by_cells("window"), n) == first
    for dim in ("hour", "service", "day"):
        assert rows(world, dim, **q) == by_cells(dim)
    with db.conn:
        db.execute("UPDATE ratings SET excluded = 1 WHERE ticket = ?", [world["ids"]["A001"]])
    assert db.execute("SELECT count(*) FROM stats_month_done").fetchone()[0] == 0
    w3 = by(rows(world, "window", **q), "window")[3]
    assert w3["ratings"] == 2 and w3["levels"]["5"] == 0


def test_today_follows_each_new_event(world):
    q = dict(start="2026-03-03", end="2026-03-03")
    (before,) = rows(world, "day", **q)
    assert before["issued"] == 1 and before["served"] == 1
    h, clock = world["ops"], world["clock"]
    clock.at(3, 0, 30)
    ticket = h.issue("E")
    clock.at(3, 0, 40)
    h.call_next(1)                                   # wait 600
    clock.at(3, 0, 50)
    h.finish(ticket["id"])                           # service 600
    (after,) = rows(world, "day", **q)              # only the new events are read
    assert after["issued"] == 2 and after["served"] == 2
    assert after["wait_s"] == {"mean": 360.0, "p50": 120.0, "p90": 600.0, "max": 600.0}
    assert after["service_s"] == {"mean": 390.0, "p50": 180.0, "p90": 600.0, "max": 600.0}
    summary.clear_cache()                            # the same figures from scratch
    assert rows(world, "day", **q) == [after]


def test_period_range():
    assert tables.period_range("2026-03") == ("2026-03-01", "2026-03-31")
    assert tables.period_range("2026-02") == ("2026-02-01", "2026-02-28")
    assert tables.period_range("2026-Q4") == ("2026-10-01", "2026-12-31")
    assert tables.period_range("2026") == ("2026-01-01", "2026-12-31")
    assert tables.period_range("2026-03-05") == ("2026-03-05", "2026-03-05")
    for bad in ("2026-13", "2026-Q5", "nonsense", "2026-02-30"):
        with pytest.raises(ValueError):
            tables.period_range(bad)


def test_monthly_report(world):
    world["clock"].now = datetime(2026, 4, 2, 9, 0, tzinfo=TZ)
    report = tables.monthly_report(world["db"], world["cfg"], now=world["clock"](), month="2026-03")
    assert (report["from"], report["to"]) == ("2026-03-01", "2026-03-31")
    assert set(report) >= {"window", "staff", "service", "hour", "day", "pairs", "total",
                           "low_reasons"}
    total = report["total"]
    assert total["issued"] == 6 and total["served"] == 5 and total["ratings"] == 4
    assert total["good_rate"] == 0.75 and total["participation"] == 4 / 5
    assert report["low_reasons"] == [{"reason": "efficiency", "count": 1}]
    with pytest.raises(ValueError):
        tables.monthly_report(world["db"], world["cfg"], now=world["clock"](), month="2026-Q1")


def test_flat_tables_label_through_the_catalog(world):
    from server.i18n import translate
    w = rows(world, "window")
    keys, labels, table = tables.flat("window", w, "zh_CN")
    assert keys[:3] == ["window", "name", "issued"]
    assert labels[0] == translate("Window", "zh_CN") == "窗口"
    assert labels == [translate(m, "zh_CN") for m in
                      [tables.KEY_LABELS["window"], tables.NAME_LABEL] + [m for _, m in tables.COLUMNS]]
    en_keys, en_labels, _ = tables.flat("window", w, "en")
    assert en_keys == keys and en_labels[:3] == ["Window", "Name", "Tickets issued"]
    line = dict(zip(keys, table[[r["window"] for r in w].index(3)]))
    assert line["wait_s.mean"] == 292.5 and line["levels.5"] == 1 and line["name"]


# The Chinese the export headers had (server/stats.py COLUMNS): the catalog must give
# them for the new message ids once the lead adds them to the .po.
OLD_ZH = ["窗口", "名称", "取号/接待数", "叫号数", "办结数", "过号数", "转移数", "过号率",
          "等候均值(秒)", "等候中位数(秒)", "等候P90(秒)", "等候最长(秒)", "办理均值(秒)",
          "办理中位数(秒)", "办理P90(秒)", "办理最长(秒)", "等候超时占比", "办理超时占比",
          "评价数", "参评率", "平均分", "好评率", "满意率", "非常不满意", "不满意", "基本满意",
          "满意", "非常满意", "差评回访率", "差评整改率"]


def test_export_headers_in_chinese_are_those_of_before(world):
    _, labels, _ = tables.flat("window", rows(world, "window"), "zh_CN")
    assert labels == OLD_ZH
