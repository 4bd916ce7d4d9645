"""Training (教育培训): suggestions from a clerk's weak indicators and the reasons of bad
ratings; training given recorded; the figures before and after (same length, same
services) per clerk, per item and for a mentee."""
import tomllib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import Accounts
from server import config
from server.app import create_app


@pytest.fixture(autouse=True)
def _english_config_errors(monkeypatch):
    """The hall file's errors are zh-CN by default; these tests read the English ones."""
    monkeypatch.setenv("QRATE_LANG", "en")

TZ = ZoneInfo("Asia/Shanghai")
DESK = {"code": "desk", "name": "综合受理岗",
        "indicators": [{"figure": "service_s.mean", "target": 300, "weight": 60, "better": "lower"},
                       {"figure": "good_rate", "target": 0.9, "weight": 40, "better": "higher"}]}
CATALOGUE = [
    {"code": "speed", "name": "业务流程精讲", "kind": "concentrated", "category": "skills",
     "figures": ["service_s.mean"]},
    {"code": "manner", "name": "窗口服务礼仪", "kind": "on_the_job", "category": "etiquette",
     "reasons": ["attitude"]},
    {"code": "law", "name": "政策法规自学", "kind": "self_study", "category": "policy",
     "figures": ["no_show_rate"], "reasons": ["knowledge"]},
]


def serve(h, clock, window, service_s, scores, service="A", reason="attitude"):
    for score in scores:
        t = h.issue(service)
        assert h.call_next(window)["id"] == t["id"]
        clock.advance(service_s)
        h.finish(t["id"])
        clock.advance(5)
        h.rate(t["id"], window, score, reasons=[reason] if score <= 2 else [])


@pytest.fixture
def hall(hall_dir, clock):
    raw = tomllib.loads((hall_dir / "hall.toml").read_text(encoding="utf-8"))
    staff = [{**s, "post": "desk"} if s["employee_no"] in ("1001", "1002") else s for s in raw["staff"]]
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock, "HALL_OVERRIDES": {
        "posts": [DESK], "staff": staff, "training": CATALOGUE}})
    h = app.extensions["qrate"]
    h.sign_in(1, "1001")
    h.sign_in(2, "1002")
    serve(h, clock, 1, 240, [5, 5, 5, 5, 5])
    serve(h, clock, 2, 600, [5, 5, 5, 2, 1])            # slow, and two 差评 for attitude
    clock.set(datetime(2026, 3, 3, 9, 0, tzinfo=TZ))
    client = app.test_client()
    yield {"app": app, "ops": h, "client": client, "clock": clock,
           "manager": Accounts(h, client).manager()}
    h.close()


def get(hall, path, **q):
    r = hall["client"].get(path, query_string=q, headers=hall["manager"])
    assert r.status_code == 200, r.get_json()
    return r.get_json()


@pytest.mark.api
def test_suggestions_from_weak_indicators_and_bad_rating_reasons(hall):
    body = get(hall, "/api/training/suggestions", **{"from": "2026-03-02", "to": "2026-03-02"})
    (only,) = body["staff"]                                    # 1001 meets every standard
    assert only["staff"] == "1002"
    assert [w["figure"] for w in only["weak"]] == ["service_s.mean", "good_rate"]
    assert only["low_reasons"] == [{"reason": "attitude", "count": 2}]
    assert [(i["code"], i["because"]) for i in only["items"]] == [
        ("speed", ["service_s.mean"]), ("manner", ["attitude"])]   # nothing for policy: not weak there
    assert only["items"][1]["kind_name"] == "实岗锻炼" and only["items"][1]["category_name"] == "服务礼仪"


@pytest.mark.api
def test_before_and_after_training_same_length_same_services(hall):
    h, clock = hall["ops"], hall["clock"]
    r = hall["client"].post("/api/training/records", headers=hall["manager"],
                            json={"staff": "1002", "item": "speed", "day": "2026-03-03", "note": "半天集中培训"})
    assert r.status_code == 201, r.get_json()
    h.sign_in(5, "1002")                                       # window 5 serves B and A
    serve(h, clock, 5, 900, [5], service="B")                  # a service not served before
    serve(h, clock, 5, 280, [5, 5, 5, 5, 4])
    clock.set(datetime(2026, 3, 4, 9, 0, tzinfo=TZ))
    body = get(hall, "/api/training/records", **{"from": "2026-03-01", "to": "2026-03-04"})
    (rec,) = body["records"]
    effect = rec["effect"]
    assert (effect["days"], effect["before"]["from"], effect["after"]["to"]) == (1, "2026-03-02", "2026-03-03")
    assert effect["services"] == ["A"]                         # B only after: left out
    assert (effect["before"]["served"], effect["after"]["served"]) == (5, 5)
    assert effect["before"]["service_s.mean"] == 600.0 and effect["after"]["service_s.mean"] == 280.0
    assert (effect["before"]["score"], effect["after"]["score"]) == (0.0, 100.0)
    assert body["items"] == [{"item": "speed", "name": "业务流程精讲", "given": 1, "compared": 1,
                              "score_before": 0.0, "score_after": 100.0}]
    # a mentee (结对帮扶) from the day the pair began: the same view
    same = get(hall, "/api/training/before-after", staff="1002", day="2026-03-03")
    assert same["before"] == effect["before"] and same["after"] == effect["after"]
    b_only = get(hall, "/api/training/before-after", staff="1002", day="2026-03-03", service="B")
    assert b_only["services"] == [] and b_only["before"]["served"] is None


@pytest.mark.api
def test_recording_refuses_what_is_not_in_the_catalogue(hall):
    post = lambda **b: hall["client"].post("/api/training/records", headers=hall["manager"], json=b)
    assert post(staff="1002", item="yoga", day="2026-03-03").get_json()["error"]["code"] == "unknown_training_item"
    assert post(staff="7777", item="speed", day="2026-03-03").get_json()["error"]["code"] == "unknown_staff"
    assert post(staff="1002", item="speed", day="2026-03-09").get_json()["error"]["code"] == "future_day"


@pytest.mark.unit
def test_the_catalogue_is_checked(hall_dir):
    bad = [{**CATALOGUE[0], "figures": ["speed_of_light"]}]
    with pytest.raises(config.ConfigError, match="unknown figures"):
        config.load(hall_dir, {"training": bad})
    with pytest.raises(config.ConfigError, match="kind: one of"):
        config.load(hall_dir, {"training": [{**CATALOGUE[1], "kind": "yoga"}]})
    with pytest.raises(config.ConfigError, match="unknown rating reasons"):
        config.load(hall_dir, {"training": [{**CATALOGUE[1], "reasons": ["rude"]}]})
