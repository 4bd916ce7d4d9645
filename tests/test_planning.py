"""The staffing planner (docs/planning.md) on a hall seeded with `qrate seed-history`:
its inputs are the hall's own figures for the same weekdays, its window counts are
Erlang C's, and its page, API and command answer as a manager expects."""
import json
import math
import subprocess
import sys
from datetime import date, timedelta

import pytest

from conftest import ROOT, Accounts
from server import config
from server.app import create_app

pytestmark = pytest.mark.api

PLAN_DAY = "2026-11-30"            # a Monday; the history has no holiday in it
SEED_END = "2026-11-29"
MONDAYS = ["2026-11-16", "2026-11-23"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plan") / "hall"
    config.write_demo(folder, always_open=True)
    # every row by Erlang C here (Erlang A is checked apart): no no-show share reaches 1.0
    with (folder / "hall.toml").open("a", encoding="utf-8") as f:
        f.write("\n[planning]\nweeks = 2\ntarget_share = 0.8\nerlang_a_from = 1.0\n")
    out = subprocess.run([sys.executable, "-m", "server.entry", "seed-history", "--hall", str(folder),
                          "--days", "14", "--end", SEED_END, "--seed", "5"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    return folder


@pytest.fixture(scope="module")
def hall(seeded):
    app = create_app({"HALL": seeded, "TESTING": True})
    client = app.test_client()
    accounts = Accounts(app.extensions["qrate"], client)
    yield app, client, accounts.manager(), accounts
    app.extensions["qrate"].close()


def erlang_c_textbook(c, a):
    """P(wait) for M/M/c from the textbook sum (not server.queueing's recursion)."""
    if a >= c:
        return 1.0
    top = a ** c / math.factorial(c) * c / (c - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)


def needed_textbook(lam_h, mean_s, target_s, share):
    lam = lam_h / 3600
    c = 1
    while True:
        a = lam * mean_s
        if c > a and 1 - erlang_c_textbook(c, a) * math.exp(-(c / mean_s - lam) * target_s) >= share:
            return c
        c += 1


def test_plan_inputs_are_the_halls_own_figures_and_counts_are_erlang_c(hall):
    app, client, manager, _ = hall
    plan = client.get(f"/api/plan?day={PLAN_DAY}", headers=manager).get_json()
    assert plan["basis_days"] == MONDAYS and plan["basis"] == "weekday" and plan["workday"]
    assert plan["target_share_key"] == "planning.target_share"
    services = app.extensions["qrate"].cfg.services
    checked = 0
    for code in services:
        stats = client.get(f"/api/stats/hours?from={MONDAYS[0]}&to={SEED_END}&weekday=1&service={code}",
                           headers=manager).get_json()["rows"]
        by_hour = {r["hour"]: r for r in stats}
        rows = [r for r in plan["rows"] if r["service"] == code]
        assert rows, code
        assert {r["hour"] for r in rows} == {h for h, r in by_hour.items() if r["issued"]}
        for r in rows:
            s = by_hour[r["hour"]]
            assert r["arrivals_per_h"] == pytest.approx(s["issued"] / len(MONDAYS), rel=1e-12)
            assert r["mean_service_s"] == pytest.approx(s["service_s"]["mean"], rel=1e-9)
            assert r["method"] == "erlang_c"
            assert r["target_wait_s"] == services[code].target_wait_s and r["target_share"] == 0.8
            want = needed_textbook(r["arrivals_per_h"], r["mean_service_s"], r["target_wait_s"], 0.8)
            assert r["windows_needed"] == want, r
            # options around it; the row's own figures are those at windows_needed
            counts = [o["windows"] for o in r["options"]]
            assert want in counts and counts == sorted(counts)
            mine = next(o for o in r["options"] if o["windows"] == want)
            assert (mine["expected_wait_s"], mine["share_within_target"]) == \
                (r["expected_wait_s"], r["share_within_target"])
            assert r["share_within_target"] >= 0.8
            fewer = [o for o in r["options"] if o["windows"] == want - 1]
            if fewer:
                assert fewer[0]["share_within_target"] < 0.8
            checked += 1
    assert checked >= 30


def test_weekday_keeps_only_that_weekday(hall):
    _, client, manager, _ = hall
    q = f"/api/stats/hours?from=2026-11-16&to={SEED_END}"
    every = {r["hour"]: r["issued"] for r in client.get(q, headers=manager).get_json()["rows"]}
    parts = [{r["hour"]: r["issued"] for r in
              client.get(q + f"&weekday={d}", headers=manager).get_json()["rows"]} for d in range(1, 8)]
    assert {h: sum(p.get(h, 0) for p in parts) for h in every} == every
    assert 0 < sum(parts[0].values()) < sum(every.values())
    bad = client.get(q + "&weekday=8", headers=manager)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "bad_weekday"


def test_groups_sharing_windows_and_the_rota(hall):
    _, client, manager, _ = hall
    plan = client.get(f"/api/plan?day={PLAN_DAY}", headers=manager).get_json()
    # the demo hall's windows 1-5 and 9-10 share A, B, D, E; C has windows 6 and 7 alone
    (group,) = {g["service"] for g in plan["groups"]}
    assert group == "A+B+D+E"
    for g in plan["groups"]:
        assert g["method"] == "simulation"
        assert g["share_within_target"] >= 0.8
        members = [r for r in plan["rows"] if r["service"] in g["services"] and r["hour"] == g["hour"]]
        assert g["arrivals_per_h"] == pytest.approx(sum(r["arrivals_per_h"] for r in members))
    # the demo rota: ten windows on a Monday morning, window 5 only in the morning
    h10 = next(h for h in plan["hours"] if h["hour"] == 10)
    h15 = next(h for h in plan["hours"] if h["hour"] == 15)
    assert h10["scheduled_windows"] == 10 and h15["scheduled_windows"] == 9
    assert h10["at_risk"] == (h10["scheduled_windows"] < h10["windows_needed"])
    assert h10["windows_needed"] == sum(p["windows_needed"] for p in h10["parts"])


def test_who_may_plan_and_bad_days(hall):
    app, client, manager, _ = hall
    assert app.test_client().get(f"/api/plan?day={PLAN_DAY}").status_code == 401
    other = app.test_client()
    clerk = Accounts(app.extensions["qrate"], other).clerk(6, "1106")
    assert other.get(f"/api/plan?day={PLAN_DAY}", headers=clerk).status_code == 403
    r = client.get("/api/plan?day=2026-13-01", headers=manager)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "bad_date"
    r = client.get("/api/plan?day=2031-01-01", headers=manager)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "day_out_of_range"
    # a day without history (the seeded days are its last 14): an empty plan, not an error
    r = client.get(f"/api/plan?day={(date(2026, 11, 2)).isoformat()}", headers=manager)
    assert r.status_code == 200 and r.get_json()["rows"] == []


def test_qrate_plan_prints_the_same_plan(hall, seeded):
    _, client, manager, _ = hall
    api = client.get(f"/api/plan?day={PLAN_DAY}", headers=manager).get_json()
    out = subprocess.run([sys.executable, "-m", "server.entry", "plan", "--hall", str(seeded),
                          "--day", PLAN_DAY, "--json"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == api
    text = subprocess.run([sys.executable, "-m", "server.entry", "plan", "--hall", str(seeded),
                           "--day", PLAN_DAY], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "2026-11-16, 2026-11-23" in text.stdout and "erlang_c" in text.stdout
    bad = subprocess.run([sys.executable, "-m", "server.entry", "plan", "--hall", str(seeded),
                          "--day", "monday"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "monday" in bad.stderr and "Traceback" not in bad.stderr
