"""What depends on the hall's date, at the instants that break date code: 1 January, the
1st of a month and the last second of a month (conftest.HALL_INSTANTS), on a real
`qrate serve` whose hall clock starts there (QRATE_TEST_NOW) with 10 days of history up
to the day before. Whatever the machine's date: the figures default to the hall's today,
"this month" starts on the hall's 1st, the report's default is last month, follow-up
deadlines count the working days after today, and the day rolls over at the hall's midnight.

At the month's last second the server starts on the old day and the checks run in the
new month (settled_hall_day waits for it), as in a hall that stays open past midnight."""
from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
import requests

from conftest import (HALL_INSTANTS, PASSWORD, Listener, LiveServer, bearer, month_bounds, seed_history,
                      settled_hall_day)
from server import config

pytestmark = pytest.mark.live

# Follow-up deadlines of a case opened on each of these hall days, by the demo hall's
# [followup] (callback 1wd, verify 3wd, rectify 15wd), on China's official 2026 calendar.
DEADLINES = {
    date(2026, 1, 1): ("2026-01-04", "2026-01-06", "2026-01-22"),  # New Year off 1-3 Jan; Sun 4 Jan is a workday
    date(2026, 3, 1): ("2026-03-02", "2026-03-04", "2026-03-20"),  # a Sunday
    date(2026, 4, 1): ("2026-04-02", "2026-04-07", "2026-04-23"),  # Qingming: 4-6 April off
}


def fast_pads(folder) -> None:
    path = folder / "hall.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "window_minutes = 10\n", "window_minutes = 10\npresses_per_minute = 600\npress_burst = 50\n"),
        encoding="utf-8")


@pytest.fixture(scope="module")
def dated(tmp_path_factory, hall_now):
    """A server at each instant: history, a manager, a kiosk, a clerk at window 3 and its pad."""
    folder = tmp_path_factory.mktemp("dated") / "hall"
    config.write_demo(folder, always_open=True)
    fast_pads(folder)
    server = LiveServer(folder, now=hall_now)
    seed_history(server, 10)
    for user, role in (("9001", "manager"), ("1003", "clerk")):
        server.cli("user", "add", user, "--role", role, input_text=f"{PASSWORD}\n{PASSWORD}\n")
    kiosk, pad = server.device_token("kiosk-1", "kiosk"), server.device_token("pad-3", "pad", 3)
    server.start()
    try:
        def login(user, **extra):
            r = requests.post(server.url + "/api/login", json={"user": user, "password": PASSWORD, **extra},
                              timeout=5)
            assert r.status_code == 200, r.text
            return bearer(r.json()["token"])
        server.who = {"manager": login("9001"), "clerk": login("1003", window=3),
                      "kiosk": bearer(kiosk), "pad": bearer(pad)}
        server.today = settled_hall_day(server)
        yield server
    finally:
        server.kill()


def call(server, method, path, who, **kw):
    r = requests.request(method, server.url + path, headers=server.who[who], timeout=30, **kw)
    assert r.status_code in (200, 201), f"{method} {path}: {r.status_code} {r.text}"
    return r.json()


def serve_and_rate(server, score: int, service: str = "B", **extra) -> dict:
    t = call(server, "POST", "/api/tickets", "kiosk", json={"service": service})
    assert t["day"] == server.today.isoformat()
    assert call(server, "POST", "/api/windows/3/call", "clerk", json={"ticket": t["id"]})["id"] == t["id"]
    call(server, "POST", f"/api/tickets/{t['id']}/finish", "clerk")
    call(server, "POST", "/api/ratings", "pad", json={"ticket": t["id"], "score": score, **extra})
    return t


def test_the_figures_default_to_the_halls_today_and_month(dated):
    today = dated.today.isoformat()
    assert call(dated, "GET", "/api/queue", "manager")["day"] == today
    assert call(dated, "GET", "/api/stats/live", "manager")["day"] == today
    days = call(dated, "GET", "/api/stats/days", "manager")
    assert (days["from"], days["to"]) == (today, today)
    assert call(dated, "GET", "/api/stats/scorecard", "manager")["day"] == today
    first, last = month_bounds(dated.today)
    ranking = call(dated, "GET", "/api/stats/rankings", "manager")
    assert (ranking["period"], ranking["from"], ranking["to"]) == \
        (today[:7], first.isoformat(), last.isoformat())
    # the first ticket of the hall's day is number 001
    t = call(dated, "POST", "/api/tickets", "kiosk", json={"service": "D"})
    assert (t["number"], t["day"]) == ("D001", today)
    call(dated, "POST", f"/api/tickets/{t['id']}/cancel", "manager", json={"reason": "test"})  # window 3 does not serve D


def test_this_months_satisfaction_starts_on_the_halls_first(dated):
    """Every instant falls on a 1st: this month is today alone, last month's history is not in it."""
    first, _ = month_bounds(dated.today)
    serve_and_rate(dated, 4)
    sat = call(dated, "GET", "/api/pad/state", "pad")["satisfaction"]
    assert sat["since"] == first.isoformat()
    w3 = next(r for r in call(dated, "GET", "/api/stats/windows", "manager",
                              params={"from": first.isoformat(), "to": dated.today.isoformat()})["rows"]
              if r["window"] == 3)
    assert sat["ratings"] == w3["ratings"] >= 1
    assert sat["satisfied_rate"] == pytest.approx(w3["satisfied_rate"], abs=1e-3)
    board = call(dated, "GET", "/api/display/board", "manager")
    assert board["month"] == first.isoformat()[:7]
    month = next(w for w in board["windows"] if w["number"] == 3)["month"]
    assert month["ratings"] == w3["ratings"]
    yesterday = (dated.today - timedelta(days=1)).isoformat()
    before = [r for r in call(dated, "GET", "/api/stats/windows", "manager",
                              params={"from": (dated.today - timedelta(days=7)).isoformat(), "to": yesterday})["rows"]
              if r["window"] == 3]
    assert before and before[0]["ratings"] > 0  # there was history: it is last month's


def test_a_bad_ratings_deadlines_count_the_working_days_after_today(dated):
    t = serve_and_rate(dated, 1, reasons=["attitude"])
    cases = call(dated, "GET", "/api/cases", "manager")
    assert cases["calendar"]["year"] == dated.today.year and cases["calendar"]["official"] is True
    case = next(c for c in cases["cases"] if c["ticket"] == t["id"])
    callback, verify, rectify = DEADLINES[dated.today]
    assert case["callback_due"].startswith(callback + "T23:59:59")
    assert case["verify_due"].startswith(verify + "T23:59:59")
    assert case["rectify_due"].startswith(rectify + "T23:59:59")


def test_the_monthly_report_defaults_to_last_month(dated):
    browser = requests.Session()
    r = browser.post(dated.url + "/api/login", json={"user": "9001", "password": PASSWORD}, timeout=5)
    assert r.status_code == 200
    first, _ = month_bounds(dated.today)
    lfirst, llast = month_bounds(first - timedelta(days=1))
    page = browser.get(dated.url + "/manage/report", timeout=60)
    assert page.status_code == 200
    assert f"{lfirst.year} 年 {lfirst.month} 月 窗口服务质量月度报告" in page.text
    assert f"统计期间：{lfirst} 至 {llast}" in page.text
    assert f"生成时间：{dated.today}" in page.text
    this_month = browser.get(dated.url + f"/manage/report?month={dated.today:%Y-%m}", timeout=60)
    assert this_month.status_code == 200 and f"统计期间：{first} 至 " in this_month.text


@pytest.mark.dates
def test_the_day_rolls_over_at_the_halls_midnight(tmp_path):
    """The hall clock starts 20 s before the end of 31 March (time for the server to start on
    the old day, on a loaded machine too): yesterday's open tickets close at the first change of the new day, numbers
    start again at 001, and the window is free for the new day's first call."""
    end_of_march = HALL_INSTANTS["month-end"]
    folder = tmp_path / "hall"
    config.write_demo(folder, always_open=True)
    server = LiveServer(folder, now=end_of_march - timedelta(seconds=20))
    server.cli("user", "add", "1003", "--role", "clerk", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    server.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    kiosk = bearer(server.device_token("kiosk-1", "kiosk"))
    server.start()
    listener = None
    try:
        url = server.url
        clerk = bearer(requests.post(url + "/api/login", json={"user": "1003", "password": PASSWORD, "window": 3},
                                     timeout=5).json()["token"])
        manager = bearer(requests.post(url + "/api/login", json={"user": "9001", "password": PASSWORD},
                                       timeout=5).json()["token"])
        listener = Listener(url)
        issue = lambda: requests.post(url + "/api/tickets", json={"service": "A"}, headers=kiosk,  # noqa: E731
                                      timeout=5).json()
        waiting, served = issue(), issue()
        assert (waiting["day"], waiting["number"], served["number"]) == ("2026-03-31", "A001", "A002"), \
            "the server took more than 20 s to start: the test needs tickets of 31 March"
        assert requests.post(url + "/api/windows/3/call-next", headers=clerk, timeout=5).json()["id"] == waiting["id"]

        deadline = time.monotonic() + 60
        while server.hall_time().date() != date(2026, 4, 1):
            assert time.monotonic() < deadline, "the hall clock did not reach 1 April"
            time.sleep(0.2)
        new = issue()
        assert (new["day"], new["number"]) == ("2026-04-01", "A001")
        snap = requests.get(url + "/api/queue", timeout=5).json()
        assert snap["day"] == "2026-04-01"
        assert [t["number"] for t in snap["tickets"]] == ["A001"] and snap["tickets"][0]["id"] == new["id"]
        for old in (waiting, served):
            got = requests.get(url + f"/api/tickets/{old['id']}", headers=clerk, timeout=5).json()
            assert got["status"] == "cancelled", got
        # window 3's ticket of yesterday was closed: it takes the new day's first at once
        r = requests.post(url + "/api/windows/3/call-next", headers=clerk, timeout=5)
        assert r.status_code == 200 and r.json()["id"] == new["id"], r.text
        days = requests.get(url + "/api/stats/days", params={"from": "2026-03-31", "to": "2026-04-01"},
                            headers=manager, timeout=30).json()["rows"]
        assert [(d["day"], d["issued"], d["called"]) for d in days] == [("2026-03-31", 2, 1), ("2026-04-01", 1, 1)]

        # every change reaches every client: no gap in the pushed seq, each once (in any
        # arrival order: each message's handler runs in a thread of its own)
        last = requests.get(url + "/api/queue", timeout=5).json()["seq"]
        expected = list(range(listener.snapshot["seq"] + 1, last + 1))
        listener.wait_until(lambda: set(expected) <= set(listener.seqs()))
        seqs = listener.seqs()
        assert sorted(s for s in seqs if s <= last) == expected and len(set(seqs)) == len(seqs), \
            "day-end cancellations are pushed like every change"
    finally:
        if listener:
            listener.close()
        server.kill()
