"""Assessment by post (岗位考评): each clerk judged by the standards of their post, daily
and periodic results combined by the hall's weights, ranked within each post, null on
too little data, exported; the configuration refuses indicators it cannot compute."""
import csv
import io
import tomllib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from conftest import Accounts
from server import config
from server.app import create_app


@pytest.fixture(autouse=True)
def _english_config_errors(monkeypatch):
    """The hall file's errors are zh-CN by default; these tests read the English ones."""
    monkeypatch.setenv("QRATE_LANG", "en")

TZ = ZoneInfo("Asia/Shanghai")

DESK = {"code": "desk", "name": "综合受理岗", "name_en": "General intake",
        "indicators": [{"figure": "service_s.mean", "target": 300, "weight": 60, "better": "lower"},
                       {"figure": "good_rate", "target": 0.9, "weight": 40, "better": "higher"}]}
EXPERT = {"code": "expert", "name": "专业窗口岗", "name_en": "Specialist window",
          "indicators": [{"figure": "service_s.mean", "target": 900, "weight": 50, "better": "lower"},
                         {"figure": "good_rate", "target": 0.95, "weight": 50, "better": "higher"}]}


def staff_with_posts(hall_dir, posts: dict) -> list[dict]:
    raw = tomllib.loads((hall_dir / "hall.toml").read_text(encoding="utf-8"))
    return [{**s, **({"post": posts[s["employee_no"]]} if s["employee_no"] in posts else {})}
            for s in raw["staff"]]


def open_hall(hall_dir, clock, posts: dict, **assessment):
    overrides = {"posts": [DESK, EXPERT], "staff": staff_with_posts(hall_dir, posts),
                 "assessment": {"min_count": 5, "daily_weight": 0.4, "periodic_weight": 0.6,
                                **assessment}}
    return create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock,
                       "HALL_OVERRIDES": overrides})


def serve(h, clock, window: int, service_s: int, scores) -> None:
    """Issue tickets of service A, call each at once at the window, serve and rate it."""
    for score in scores:
        ticket = h.issue("A")
        assert h.call_next(window)["id"] == ticket["id"]
        clock.advance(service_s)
        h.finish(ticket["id"])
        clock.advance(10)
        h.rate(ticket["id"], window, score, reasons=["efficiency"] if score <= 2 else [])


POSTS = {"1001": "desk", "1002": "desk", "1003": "expert", "1004": "expert"}


@pytest.fixture
def hall(hall_dir, clock):
    """Two days of March 2026: 1001 fast on the 2nd and slower on the 3rd; 1002 slow
    with poor ratings; 1003 slow but within the specialist standard; 1004 two tickets."""
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    app = open_hall(hall_dir, clock, POSTS)
    h = app.extensions["qrate"]
    for window, no in ((1, "1001"), (2, "1002"), (3, "1003"), (5, "1004")):
        h.sign_in(window, no)
    serve(h, clock, 1, 240, [5, 5, 5, 5, 5])
    serve(h, clock, 2, 600, [5, 5, 5, 2, 1])
    serve(h, clock, 3, 600, [5, 5, 5, 3, 2])
    serve(h, clock, 5, 200, [5, 5])
    clock.set(datetime(2026, 3, 3, 9, 0, tzinfo=TZ))
    serve(h, clock, 1, 400, [5, 5, 5, 5, 5])
    h.close()
    yield hall_dir


def manager_of(app) -> tuple:
    """A test client and a manager's headers (one manager account per hall)."""
    client = app.test_client()
    if "manager" not in app.config:
        app.config["manager"] = Accounts(app.extensions["qrate"], client).manager(
            f"9{len(MANAGERS):03d}")
        MANAGERS.append(1)
    return client, app.config["manager"]


MANAGERS: list = []


def assess(app, **params):
    client, manager = manager_of(app)
    r = client.get("/api/stats/assessment", query_string=params, headers=manager)
    assert r.status_code == 200, r.get_json()
    return r


@pytest.fixture
def reopen(hall, clock):
    apps = []

    def make(posts=POSTS, **assessment):
        app = open_hall(hall, clock, posts, **assessment)
        apps.append(app)
        return app
    yield make
    for app in apps:
        app.extensions["qrate"].close()


def rows_of(body) -> dict:
    return {r["staff"]: r for r in body["rows"]}


@pytest.mark.api
def test_the_same_clerk_meets_a_standard_under_one_post_and_not_the_other(reopen):
    as_desk = rows_of(assess(reopen(), period="2026-03").get_json())["1002"]
    as_expert = rows_of(assess(reopen({**POSTS, "1002": "expert"}),
                               period="2026-03").get_json())["1002"]
    (desk_time, desk_good), (expert_time, expert_good) = as_desk["indicators"], as_expert["indicators"]
    assert desk_time["figure"] == expert_time["figure"] == "service_s.mean"
    assert desk_time["value"] == expert_time["value"] == 600.0      # the same figure ...
    assert (desk_time["target"], desk_time["met"]) == (300, False)  # ... judged by each post
    assert (expert_time["target"], expert_time["met"]) == (900, True)
    assert desk_good["met"] is expert_good["met"] is False          # 0.6 below 0.9 and 0.95
    assert as_desk["post"] == "desk" and as_expert["post"] == "expert"
    assert as_desk["score"] == 0.0
    assert as_expert["score"] == pytest.approx(50.0)                 # half the weight met


@pytest.mark.api
def test_ranked_within_each_post_never_across(reopen):
    body = assess(reopen(), period="2026-03").get_json()
    order = [(r["post"], r["staff"], r["rank"]) for r in body["rows"]]
    assert order[:5] == [("desk", "1001", 1), ("desk", "1002", 2),
                         ("expert", "1003", 1), ("expert", "1004", None),
                         ("general", "1005", None)]   # no post named: the general one, no data
    assert {(p, rank) for p, _, rank in order[5:]} <= {("general", None)}
    rows = rows_of(body)
    # 1003 scores below 1001 but is first of the specialists: posts are never mixed
    assert rows["1003"]["score"] < rows["1001"]["score"]
    only = assess(reopen(), period="2026-03", post="expert").get_json()
    assert [(r["staff"], r["rank"]) for r in only["rows"]] == [("1003", 1), ("1004", None)]


@pytest.mark.api
def test_too_little_data_gives_no_score_never_a_perfect_one(reopen):
    rows = rows_of(assess(reopen(), period="2026-03").get_json())
    few = rows["1004"]
    assert few["served"] == 2 and few["score"] is None and few["rank"] is None
    # both its indicators would be met: figures are shown, but not turned into a score
    assert [i["met"] for i in few["indicators"]] == [True, True]
    assert few["daily_score"] is None and few["periodic_score"] is None
    dist = {d["post"]: d for d in assess(reopen(), period="2026-03").get_json()["distribution"]}
    assert dist["expert"]["unscored"] == 1 and dist["expert"]["scored"] == 1
    assert [b["count"] for b in dist["desk"]["buckets"]] == [2, 0, 0, 0, 0] or \
        sum(b["count"] for b in dist["desk"]["buckets"]) == 2
    # a hall that asks for less data scores the same clerk
    assert rows_of(assess(reopen(min_count=2), period="2026-03").get_json())["1004"]["score"] == 100.0


@pytest.mark.api
def test_daily_and_periodic_results_combined_by_the_halls_weights(reopen):
    body = assess(reopen(), period="2026-03").get_json()
    assert body["weights"] == {"daily": 0.4, "periodic": 0.6, "min_count": 5}
    r = rows_of(body)["1001"]
    # day 1: 240 s and all 5s: both met, 100; day 2: 400 s over the 300 s standard: 40
    assert r["days_scored"] == 2 and r["daily_score"] == pytest.approx(70.0)
    # the month: mean 320 s is over 300 s, good rate 1.0 is met: 40
    assert r["indicators"][0]["value"] == pytest.approx(320.0)
    assert r["periodic_score"] == pytest.approx(40.0)
    assert r["score"] == pytest.approx(0.4 * 70 + 0.6 * 40)          # 52
    other = rows_of(assess(reopen(daily_weight=1, periodic_weight=0), period="2026-03")
                    .get_json())["1001"]
    assert other["score"] == pytest.approx(70.0)
    # the quarter and the year hold the same two days
    for period in ("2026-Q1", "2026"):
        assert rows_of(assess(reopen(), period=period).get_json())["1001"]["score"] == \
            pytest.approx(52.0)


@pytest.mark.api
def test_scorecard_and_rankings_carry_the_post_scores(reopen):
    app = reopen()
    client, manager = manager_of(app)
    card = client.get("/api/stats/scorecard?day=2026-03-03", headers=manager).get_json()
    (mine,) = [r for r in card["staff"] if r["staff"] == "1001"]
    assert (mine["post"], mine["score"], mine["rank"]) == ("desk", 40.0, 1)
    ranks = client.get("/api/stats/rankings?period=2026-03", headers=manager).get_json()
    by = {r["staff"]: r for r in ranks["staff"]}
    assert by["1001"]["score"] == pytest.approx(52.0) and by["1003"]["rank"] == 1


@pytest.mark.api
def test_exports_for_awards(reopen):
    app = reopen()
    r = assess(app, period="2026-03", format="csv")
    lines = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0][:5] == ["工号 staff", "姓名 name", "岗位 post", "岗位名称 post_name", "综合得分 score"]
    rows = {line[0]: line for line in lines[1:]}
    assert rows["1001"][2] == "desk" and float(rows["1001"][4]) == pytest.approx(52.0)
    assert rows["1004"][4] == ""          # no score: an empty cell, never 0 or 100
    x = assess(app, period="2026-03", format="xlsx")
    sheet = load_workbook(io.BytesIO(x.data)).active
    assert [c.value for c in sheet[1]][:2] == ["工号 staff", "姓名 name"]
    assert sheet.max_row == 1 + len(lines[1:])


@pytest.mark.api
def test_bad_period_and_unknown_post_are_clear_errors(reopen):
    app = reopen()
    client, manager = manager_of(app)
    for params, code in (({"period": "2026-13"}, "bad_period"), ({"period": "2026-03-05"}, "bad_period"),
                         ({"period": "2026-03", "post": "nope"}, "unknown_post"),
                         ({"period": "2026-03", "format": "pdf"}, "bad_format")):
        r = client.get("/api/stats/assessment", query_string=params, headers=manager)
        assert r.status_code == 422 and r.get_json()["error"]["code"] == code
    assert app.test_client().get("/api/stats/assessment").status_code == 401


@pytest.mark.unit
@pytest.mark.parametrize("indicator, says", [
    ({"figure": "wait_s.avg", "target": 1}, "unknown figure 'wait_s.avg'; known: issued"),
    ({"figure": "helper_calls_answered", "target": 1}, "no help-call records"),
    ({"figure": "good_rate", "target": 0.9, "better": "up"}, "better: one of 'lower' or 'higher'"),
    ({"figure": "good_rate"}, "target: missing"),
    ({"figure": "good_rate", "target": 0.9, "weight": 0}, "weight: more than 0"),
    ({"figure": "good_rate", "target": 0.9, "weigth": 2}, "weigth: unknown key; did you mean 'weight'?"),
])
def test_an_indicator_the_hall_cannot_compute_is_a_configuration_error(hall_dir, indicator, says):
    post = {"code": "desk", "name": "综合受理岗", "indicators": [indicator]}
    with pytest.raises(config.ConfigError) as err:
        config.load(hall_dir, {"posts": [post]})
    # the hall file's checks (server/hallschema.py) or the figure catalogue's: either way the
    # message names the post, the indicator and what to write
    text = str(err.value)
    assert "[[posts]] #1" in text and "indicators #1" in text and says in text


@pytest.mark.unit
def test_staff_naming_an_unknown_post_is_a_configuration_error(hall_dir):
    staff = [{"employee_no": "1001", "name": "王丽", "post": "desk"}]
    with pytest.raises(config.ConfigError, match=r"\[\[staff\]\] #1 post: unknown post 'desk'"):
        config.load(hall_dir, {"staff": staff})
    cfg = config.load(hall_dir, {"staff": staff, "posts": [DESK]})
    assert cfg.staff["1001"].post == "desk" and config.post_of(cfg, "1001").name == "综合受理岗"
    assert config.post_of(cfg, "9999").code == "general"
