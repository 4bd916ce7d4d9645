"""Daily and periodic assessment against each service's targets, pairing (结对帮扶) and
live alerts to managers, on a hand-made day with known answers."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import Accounts
from server import manage
from server.app import create_app

pytestmark = pytest.mark.api

TZ = ZoneInfo("Asia/Shanghai")


def serve(h, clock, window: int, service_s: int, scores) -> None:
    """Issue one ticket of service A, call it at once at the window, serve and rate it."""
    for score in scores:
        ticket = h.issue("A")
        assert h.call_next(window)["id"] == ticket["id"]
        clock.advance(service_s)
        h.finish(ticket["id"])
        clock.advance(10)
        h.rate(ticket["id"], window, score, reasons=["efficiency"] if score <= 2 else [])


@pytest.fixture
def world(hall_dir, clock):
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock})
    h = app.extensions["qrate"]
    h.sign_in(1, "1001")
    h.sign_in(2, "1002")
    serve(h, clock, 1, 240, [5, 5, 5, 4, 5])   # 4 min each: well inside A's 8 min
    serve(h, clock, 2, 600, [5, 5, 5, 2, 1])   # 10 min each, and two poor ratings
    client = app.test_client()
    manager = Accounts(h, client).manager()
    yield {"app": app, "ops": h, "client": client, "manager": manager, "clock": clock}
    h.close()


def get(world, path, **params):
    r = world["client"].get(path, query_string=params, headers=world["manager"])
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_daily_scorecard_against_the_services_targets(world):
    """Windows keep the weighted score of the services' targets; clerks (no post named:
    the general post) are scored by the share of its indicators met."""
    card = get(world, "/api/stats/scorecard", day="2026-03-02")
    staff = {r["staff"]: r for r in card["staff"]}
    good, short = staff["1001"], staff["1002"]
    assert good["service_index"] == pytest.approx(0.5)       # 240 / 480
    assert good["score"] == 100.0 and good["flags"] == [] and good["rank"] == 1
    assert good["post"] == short["post"] == "general"
    assert short["service_index"] == pytest.approx(1.25)     # 600 / 480
    assert short["good_rate"] == 0.6
    assert short["flags"] == ["slow_service", "low_good_rate"]
    # the general post: service_index <= 1 (40) no, good_rate >= 0.95 (40) no, waits
    # over target <= 10 % (20) yes: 20 of 100
    assert [i["met"] for i in short["indicators"]] == [False, False, True]
    assert short["score"] == pytest.approx(20.0)
    assert short["rank"] == 2
    assert [r["window"] for r in card["windows"]] == [1, 2]
    windows = {r["window"]: r for r in card["windows"]}
    # 40 * 1/1.25 + 40 * 0.6/0.95 + 20 * (1 - 0) over 100
    assert windows[2]["score"] == pytest.approx(32 + 40 * 0.6 / 0.95 + 20)  # 77.26..., rounded on display


def test_monthly_and_quarterly_rankings(world):
    for period, first, last in (("2026-03", "2026-03-01", "2026-03-31"),
                                ("2026-Q1", "2026-01-01", "2026-03-31")):
        body = get(world, "/api/stats/rankings", period=period)
        assert (body["from"], body["to"]) == (first, last)
        assert [(r["staff"], r["rank"]) for r in body["staff"]] == [("1001", 1), ("1002", 2)]
    r = world["client"].get("/api/stats/rankings?period=2026-13", headers=world["manager"])
    assert r.status_code == 422


def test_pairing_suggestion_and_trend(world):
    body = get(world, "/api/stats/pairs", **{"from": "2026-03-01", "to": "2026-03-02"})
    (pair,) = body["pairs"]
    # pairs are made within a post (both clerks: the general post), on the post's score
    assert pair["post"] == "general" and pair["service"] is None
    assert pair["mentor"]["staff"] == "1001" and pair["mentee"]["staff"] == "1002"
    assert pair["flags"] == ["slow_service", "low_good_rate"]
    assert [i["figure"] for i in pair["weak"]] == ["service_index", "good_rate"]
    # the trend's day score is the post score: 20 of 100 (waits on target only)
    assert pair["trend"]["1002"] == [{"day": "2026-03-02", "served": 5, "service_s": 600.0,
                                      "wait_s": 0.0, "good_rate": 0.6, "score": pytest.approx(20.0)}]
    trend = get(world, "/api/stats/trend", staff="1001,1002", **{"from": "2026-03-02"})
    assert trend["staff"]["1001"][0]["score"] == 100.0


def test_alert_to_managers_when_citizens_wait_too_long(world):
    app, h, clock = world["app"], world["ops"], world["clock"]
    sio = app.extensions["qrate_socketio"]
    token = world["manager"]["Authorization"][7:]
    managers = sio.test_client(app, auth={"token": token})
    lobby = sio.test_client(app)
    managers.get_received(), lobby.get_received()
    for _ in range(6):
        h.issue("B")
    clock.advance(29 * 60)
    assert app.extensions["qrate_alerts"].check() == []            # nobody over 30 minutes yet
    clock.advance(2 * 60)
    (sent,) = app.extensions["qrate_alerts"].check()               # 6 > 5 waited over 30 minutes
    assert sent["service"] == "B" and sent["count"] == 6 and sent["active"]
    assert "请增开窗口" in sent["message"] and "open another window" in sent["message_en"]
    alerts = [m for m in managers.get_received() if m["name"] == "alert"]
    assert [a["args"][0]["service"] for a in alerts] == ["B"]
    assert not [m for m in lobby.get_received() if m["name"] == "alert"]   # managers only
    assert app.extensions["qrate_alerts"].check() == []            # said once, not every round
    h.sign_in(4, "1004")
    h.call_next(4)                                   # 5 left: back within the promise
    (cleared,) = app.extensions["qrate_alerts"].check()
    assert cleared["active"] is False
    managers.disconnect()
    lobby.disconnect()
