"""The one definition of each figure (server/readside/figures.py), checked by hand.

Pure: no database, no app. DESIGN.md "Figures" is the spec; the assessment rule
("too little data is null, never a perfect score") is issue 16's.
"""
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from server.readside import figures as F

pytestmark = pytest.mark.unit

TZ = ZoneInfo("Asia/Shanghai")


def test_ratio_is_null_when_the_whole_is_zero():
    assert F.ratio(1, 4) == 0.25
    assert F.ratio(0, 4) == 0.0
    assert F.ratio(0, 0) is None and F.ratio(3, 0) is None


def test_rates_from_level_counts():
    levels = [1, 1, 1, 1, 1]        # one rating of each level 1..5
    assert F.good_rate(levels) == 3 / 5          # levels 3-5
    assert F.satisfied_rate(levels) == 2 / 5     # levels 4-5
    assert F.mean_score(levels) == 3.0
    assert F.rating_count(levels) == 5
    lopsided = [0, 1, 0, 1, 1]      # a 2, a 4, a 5
    assert F.mean_score(lopsided) == 11 / 3      # exact: no rounding here
    assert F.good_rate(lopsided) == 2 / 3
    assert F.satisfied_rate(lopsided) == 2 / 3


def test_rates_without_ratings_are_null():
    none = [0, 0, 0, 0, 0]
    assert F.good_rate(none) is None and F.satisfied_rate(none) is None
    assert F.mean_score(none) is None
    assert F.satisfaction(none) == {"ratings": 0, "satisfied_rate": None, "good_rate": None,
                                    "mean_score": None}


def test_participation_and_no_show_rate():
    assert F.participation(3, 4) == 0.75
    assert F.participation(0, 0) is None
    assert F.no_show_rate(1, 4) == 1 / 5         # no_show / (served + no_show)
    assert F.no_show_rate(0, 0) is None
    assert F.no_show_rate(2, 0) == 1.0


def test_levels_shapes():
    assert F.levels_dict([0, 1, 2, 3, 4]) == {"1": 0, "2": 1, "3": 2, "4": 3, "5": 4}
    assert F.levels_from({5: 2, "1": 1}) == [1, 0, 0, 0, 2]


@pytest.mark.parametrize("values", [[15, 20, 35, 40, 50], np.array([50, 40, 35, 20, 15], "<i4")])
def test_nearest_rank(values):
    # n = 5: p50 -> ceil(2.5) = 3rd smallest, p90 -> ceil(4.5) = 5th, p20 -> 1st, p40 -> 2nd
    assert F.nearest_rank(values, 50) == 35
    assert F.nearest_rank(values, 90) == 50
    assert F.nearest_rank(values, 20) == 15
    assert F.nearest_rank(values, 40) == 20
    assert F.nearest_rank(values, 100) == 50
    assert F.nearest_rank(values, 0) == 15       # the smallest, not an index error


def test_nearest_rank_does_not_reorder_its_input():
    values = np.array([3, 1, 2], "<i4")
    F.nearest_rank(values, 50)
    assert values.tolist() == [3, 1, 2]
    assert F.nearest_rank([], 50) is None


def test_spread_in_seconds_from_milliseconds():
    assert F.spread_ms(np.array([300000, 240000, 600000, 240000, 30000, 300000], "<i4")) == {
        "mean": 285.0, "p50": 240.0, "p90": 600.0, "max": 600.0}
    assert F.spread_ms([1001, 1002, 1004]) == {"mean": 3007 / 3 / 1000, "p50": 1.002,
                                               "p90": 1.004, "max": 1.004}
    assert F.spread_ms([]) == {"mean": None, "p50": None, "p90": None, "max": None}
    assert F.spread_ms(np.empty(0, "<i4"))["p90"] is None


def test_spread_mean_is_exact_not_rounded():
    s = F.spread_ms([1, 2])      # 1.5 ms
    assert s["mean"] == 0.0015
    assert F.spread([1.25, 1.5])["mean"] == 1.375


def _svc(wait_s, service_s, good):
    return SimpleNamespace(target_wait_s=wait_s, target_service_s=service_s, target_good_rate=good)


def test_targets_weighted_by_legs_of_each_service():
    services = {"A": _svc(1200, 480, 0.95), "B": _svc(600, 600, 0.9)}
    assert F.weighted_targets({"A": 3, "B": 1}, services) == {
        "wait_s": (1200 * 3 + 600) / 4, "service_s": (480 * 3 + 600) / 4,
        "good_rate": (0.95 * 3 + 0.9) / 4}
    assert F.weighted_targets({"Z": 2}, services) is None
    assert F.weighted_targets({}, services) is None


def test_promise_kept_counts_late_waiting_citizens():
    kept = F.promise_kept([300000, 1200000, 1200001], 1200, late_waiting=1)
    assert kept["called"] == 3 and kept["kept"] == 2    # at the target still keeps it
    assert kept["kept_rate"] == 2 / 4
    assert kept["wait_p50_s"] == 1200.0
    assert F.promise_kept([], 1200, 0)["kept_rate"] is None
    assert F.promise_kept([], 1200, 2)["kept_rate"] == 0.0


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def case(**kw):
    base = {"callback_due": at("2026-03-03T09:31"), "callback_done": None,
            "rectify_due": at("2026-03-20T09:31"), "rectified": None, "replied": None,
            "reply_due": at("2026-03-20T09:31")}
    return base | kw


def test_case_rates():
    now = at("2026-03-03T00:20")
    assert F.case_rates([case()], now) == (None, None)                    # nothing fell due
    assert F.case_rates([case(callback_done=at("2026-03-02T15:00"))], now) == (1.0, None)
    later = now + timedelta(days=3)
    assert F.case_rates([case()], later) == (0.0, None)                   # due, not done
    assert F.case_rates([case(callback_done=at("2026-03-06T10:00"))], later) == (0.0, None)
    done = case(callback_done=at("2026-03-02T15:00"), rectified=at("2026-03-02T16:00"),
                replied=at("2026-03-02T16:30"))
    assert F.case_rates([done], now) == (1.0, 1.0)                        # both done early
    assert F.case_rates([done, case()], at("2026-03-21T00:00")) == (0.5, 0.5)
    assert F.case_rates([], now) == (None, None)


def row(served=5, ratings=5, good_rate=1.0, service_index=0.5, wait_over=0.0, no_show=0,
        no_show_rate=0.0, target_good=0.95):
    return {"served": served, "ratings": ratings, "good_rate": good_rate,
            "service_index": service_index, "wait_over_target_rate": wait_over,
            "no_show": no_show, "no_show_rate": no_show_rate,
            "targets": {"wait_s": 1200.0, "service_s": 480.0, "good_rate": target_good}}


def test_score_against_the_rows_targets():
    assert F.score(row()) == 100.0
    # 40 * 1/1.25 + 40 * 0.6/0.95 + 20 * 1, over 100; exact, rounded only on display
    short = F.score(row(service_index=1.25, good_rate=0.6))
    assert short == pytest.approx(32 + 40 * 0.6 / 0.95 + 20)
    assert short != round(short, 1)


def test_too_little_data_gives_no_score():
    # a clerk whose only rating is 不满意 (2): today's code gave 100.0
    only_bad = row(served=1, ratings=1, good_rate=0.0, service_index=0.5)
    assert F.score(only_bad) is None
    assert F.score(row(served=4)) is None and F.score(row(ratings=4)) is None
    assert F.score(row(served=5, ratings=5)) is not None
    assert F.score(row(served=2, ratings=2), min_count=2) is not None
    assert F.score(row(served=2, ratings=2), min_count=3) is None


def test_min_count_comes_from_the_hall_file():
    assert F.min_count(SimpleNamespace(raw={})) == 5
    assert F.min_count(SimpleNamespace(raw={"assessment": {"min_count": 12}})) == 12


def test_flags():
    assert F.flags(row()) == []
    assert F.flags(row(service_index=1.25, good_rate=0.6)) == ["slow_service", "low_good_rate"]
    assert F.flags(row(served=4, service_index=2.0, ratings=4, good_rate=0.0)) == []
    assert F.flags(row(no_show=3, no_show_rate=0.2)) == ["many_no_shows"]
    assert F.flags(row(no_show=2, no_show_rate=0.5)) == []


def test_judge_ranks_only_rows_with_a_score_and_ties_share():
    rows = [dict(row(), staff="a"), dict(row(service_index=1.25, good_rate=0.6), staff="b"),
            dict(row(), staff="c"), dict(row(served=1, ratings=1, good_rate=0.0), staff="d")]
    judged = F.judge(rows)
    assert [(r["staff"], r["rank"]) for r in judged] == [("a", 1), ("c", 1), ("b", 3), ("d", None)]
    assert judged[-1]["score"] is None and judged[-1]["flags"] == []
