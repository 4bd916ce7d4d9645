"""Yearly public commitments (公开承诺): a clerk's text and targets chosen from the post's
indicators, kept with their history, their progress this year shown publicly, and the
year-end report saying which were kept."""
import tomllib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import Accounts
from server.app import create_app

pytestmark = pytest.mark.api
TZ = ZoneInfo("Asia/Shanghai")
DESK = {"code": "desk", "name": "综合受理岗", "name_en": "General intake",
        "indicators": [{"figure": "service_s.mean", "target": 600, "weight": 60, "better": "lower"},
                       {"figure": "good_rate", "target": 0.9, "weight": 40, "better": "higher"}]}


@pytest.fixture
def hall(hall_dir, clock):
    raw = tomllib.loads((hall_dir / "hall.toml").read_text(encoding="utf-8"))
    staff = [{**s, "post": "desk"} if s["employee_no"] in ("1001", "1002") else s for s in raw["staff"]]
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock,
                      "HALL_OVERRIDES": {"posts": [DESK], "staff": staff, "publish": {
                          "figures": ["window_satisfaction", "clerk_commitments"]}}})
    h = app.extensions["qrate"]
    h.sign_in(1, "1001")
    h.sign_in(2, "1002")
    for window, service_s, scores in ((1, 552, [5, 5, 4, 5]), (2, 700, [5, 2, 1, 5])):
        for score in scores:
            t = h.issue("A")
            h.call_next(window)
            clock.advance(service_s)
            h.finish(t["id"])
            clock.advance(5)
            h.rate(t["id"], window, score, reasons=["efficiency"] if score <= 2 else [])
    client = app.test_client()
    yield {"app": app, "client": client, "manager": Accounts(h, client).manager(), "clock": clock}
    h.close()


def commit(hall, **body):
    return hall["client"].post("/api/commitments", json=body, headers=hall["manager"])


PLEDGE = {"year": 2026, "text": "热情服务，限时办结，平均办理不超过 10 分钟。",
          "text_en": "Friendly service, average under 10 minutes.",
          "targets": [{"figure": "service_s.mean", "target": 600}]}


def test_a_commitment_with_progress_this_year_is_public(hall):
    r = commit(hall, staff="1001", **PLEDGE)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["targets"] == [{"figure": "service_s.mean", "target": 600.0, "better": "lower"}]
    assert commit(hall, staff="1002", **{**PLEDGE, "targets": [
        {"figure": "service_s.mean", "target": 600}, {"figure": "good_rate", "target": 0.95}]}).status_code == 201
    public = hall["app"].test_client().get("/api/pledges?staff=1001")   # no sign-in: posted in the hall
    assert public.status_code == 200
    (mine,) = public.get_json()["commitments"]
    assert mine["text"].startswith("热情服务")
    (target,) = mine["targets"]
    assert target["label"] == "平均办理" and target["label_en"] == "average service time"
    assert target["value"] == pytest.approx(552.0) and target["kept"] is True   # 9.2 minutes
    words = public.get_json()["words"]
    assert words["zh"]["at_most"] == "承诺%(label)s不超过 %(target)s"
    assert words["zh"]["so_far"] == "本年 %(value)s"
    everyone = hall["app"].test_client().get("/api/pledges").get_json()["commitments"]
    assert {c["staff"] for c in everyone} == {"1001", "1002"}


def test_targets_come_from_the_posts_indicators(hall):
    r = commit(hall, staff="1001", **{**PLEDGE, "targets": [{"figure": "wait_s.mean", "target": 300}]})
    assert r.status_code == 422
    assert r.get_json()["error"]["code"] == "not_an_indicator"
    assert "service_s.mean, good_rate" in r.get_json()["error"]["message_en"]
    assert commit(hall, staff="7777", **PLEDGE).get_json()["error"]["code"] == "unknown_staff"
    assert commit(hall, staff="1001", **{**PLEDGE, "targets": []}).status_code == 422
    assert hall["app"].test_client().post("/api/commitments", json={"staff": "1001", **PLEDGE}).status_code == 401


def test_a_new_commitment_keeps_the_old_one_as_history(hall):
    commit(hall, staff="1001", **PLEDGE)
    hall["clock"].advance(3600)
    commit(hall, staff="1001", **{**PLEDGE, "text": "平均办理不超过 9 分钟。",
                                  "targets": [{"figure": "service_s.mean", "target": 540}]})
    body = hall["client"].get("/api/commitments?year=2026&staff=1001", headers=hall["manager"]).get_json()
    new, old = body["commitments"]
    assert new["text"] == "平均办理不超过 9 分钟。" and new["replaced_at"] is None
    assert old["text"].startswith("热情服务") and old["replaced_at"] == new["made_at"]
    (public,) = hall["app"].test_client().get("/api/pledges?staff=1001").get_json()["commitments"]
    assert public["targets"][0]["target"] == 540.0 and public["targets"][0]["kept"] is False


def test_the_year_end_report_says_which_were_kept(hall):
    commit(hall, staff="1001", **PLEDGE)
    commit(hall, staff="1002", **{**PLEDGE, "targets": [{"figure": "service_s.mean", "target": 600},
                                                      {"figure": "good_rate", "target": 0.9}]})
    hall["clock"].set(datetime(2027, 1, 4, 9, 0, tzinfo=TZ))
    report = hall["client"].get("/api/commitments/report?year=2026", headers=hall["manager"]).get_json()
    assert report["complete"] is True and report["to"] == "2026-12-31"
    kept = {c["staff"]: c for c in report["commitments"]}
    assert kept["1001"]["kept"] is True
    assert kept["1002"]["kept"] is False                      # 700 s and a good rate of 0.5
    assert [t["kept"] for t in kept["1002"]["targets"]] == [False, False]
    assert (report["kept_count"], report["not_kept_count"]) == (1, 1)


def test_the_progress_is_public_only_when_the_hall_publishes_it(hall_dir, clock):
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock})   # [publish] as by default
    try:
        client = app.test_client()
        manager = Accounts(app.extensions["qrate"], client).manager()
        r = client.post("/api/commitments", headers=manager, json={
            **PLEDGE, "staff": "1001", "targets": [{"figure": "good_rate", "target": 0.95}]})
        assert r.status_code == 201, r.get_json()                  # the general post's indicator
        body = app.test_client().get("/api/pledges").get_json()
        assert body["published"] is False and body["commitments"] == []
        mine = client.get("/api/pledges", headers=manager).get_json()   # a manager sees it
        assert [c["staff"] for c in mine["commitments"]] == ["1001"]
    finally:
        app.extensions["qrate"].close()
