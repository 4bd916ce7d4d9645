"""Issue 15, the second part: the monthly report, pairs and trends on the post score (the
report ranks as GET /api/stats/assessment does), citizens' feedback as a block of the
/api/stats rows (the same numbers as GET /api/feedback), the year-end commitment report
as CSV / XLSX and a printable page."""
import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from conftest import Accounts
from server.app import create_app
from test_posts_assessment import DESK, EXPERT, staff_with_posts

pytestmark = pytest.mark.api
TZ = ZoneInfo("Asia/Shanghai")
POSTS = {"1001": "desk", "1002": "desk", "1003": "expert", "1004": "expert"}


def serve(h, clock, window: int, service_s: int, scores, service: str = "A") -> list[str]:
    """Serve and rate one ticket per score at the window; the tickets' status keys."""
    keys = []
    for score in scores:
        ticket = h.issue(service)
        assert h.call_next(window)["id"] == ticket["id"]
        clock.advance(service_s)
        h.finish(ticket["id"])
        clock.advance(10)
        h.rate(ticket["id"], window, score, reasons=["efficiency"] if score <= 2 else [])
        keys.append(ticket["status_url"].rsplit("/", 1)[-1])
    return keys


@pytest.fixture
def hall(hall_dir, clock):
    """March 2026: four clerks of two posts; 1005 at window 4 on service B; opinions on
    some tickets (and one from the kiosk), some answered in time, one late."""
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    overrides = {"posts": [DESK, EXPERT], "staff": staff_with_posts(hall_dir, POSTS),
                 "assessment": {"min_count": 5, "daily_weight": 0.4, "periodic_weight": 0.6},
                 "feedback": {"reply": "3wd", "per_address_per_minute": 1000}}
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock,
                      "HALL_OVERRIDES": overrides})
    h = app.extensions["qrate"]
    for window, no in ((1, "1001"), (2, "1002"), (3, "1003"), (5, "1004")):
        h.sign_in(window, no)
    keys = {"1001": serve(h, clock, 1, 240, [5, 5, 5, 5, 5]),
            "1002": serve(h, clock, 2, 600, [5, 5, 5, 2, 1]),
            "1003": serve(h, clock, 3, 600, [5, 5, 5, 3, 2]),
            "1004": serve(h, clock, 5, 200, [5, 5])}
    clock.set(datetime(2026, 3, 3, 9, 0, tzinfo=TZ))
    keys["1001"] += serve(h, clock, 1, 400, [5, 5, 5, 5, 5])
    client = app.test_client()
    accounts = Accounts(h, client)
    world = {"app": app, "ops": h, "client": client, "manager": accounts.manager(),
             "kiosk": accounts.device("kiosk"), "keys": keys, "clock": clock}
    yield world
    h.close()


def get(world, path, **params):
    r = world["client"].get(path, query_string=params, headers=world["manager"])
    assert r.status_code == 200, (path, r.get_data(as_text=True)[:300])
    return r


def leave(world, key=None, text="请把叫号声音调大一些。"):
    body = {"text": text, **({"key": key} if key else {})}
    r = world["app"].test_client().post("/api/feedback", json=body,
                                        headers={} if key else world["kiosk"])
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def reply(world, fid):
    r = world["client"].post(f"/api/feedback/{fid}/reply", headers=world["manager"],
                             json={"reply": "已处理，谢谢您的意见。"})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


# --- the monthly report on the post score ---------------------------------------------

def report_rows(html: str) -> dict:
    """{staff: (post name, rank, score)} of the report's clerk table as printed."""
    table = html[html.index('id="staff-ranking"'):]
    table = table[:table.index("</table>")]
    out = {}
    for staff, row in re.findall(r'<tr data-staff="(\w+)">(.*?)</tr>', table, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        out[staff] = (cells[0], cells[1], re.search(r'class="score">([^<]*)<', row).group(1))
    return out


def test_the_monthly_report_ranks_clerks_as_the_assessment_does(hall):
    clock = hall["clock"]
    clock.set(datetime(2026, 4, 2, 9, 0, tzinfo=TZ))                 # March is over
    api = get(hall, "/api/stats/assessment", period="2026-03").get_json()
    html = get(hall, "/manage/report", month="2026-03").get_data(as_text=True)
    printed = report_rows(html)
    expected = {r["staff"]: (r["post_name"], str(r["rank"] or "—"),
                             "—" if r["score"] is None else f"{r['score']:.1f}")
                for r in api["rows"] if r["served"]}
    assert printed == expected
    # two posts, each ranked on its own: 1 within 综合受理岗 and 1 within 专业窗口岗
    assert {v[0] for v in printed.values()} == {"综合受理岗", "专业窗口岗"}
    assert sorted(v[1] for v in printed.values() if v[1] != "—") == ["1", "1", "2"]
    # the desk clerk 1002 misses both indicators of the desk post: the report names them
    row = html[html.index('<tr data-staff="1002">'):]
    row = row[:row.index("</tr>")]
    missed = [i["label"] for r in api["rows"] if r["staff"] == "1002"
              for i in r["indicators"] if i["met"] is False]
    assert len(missed) == 2 and re.findall(r'class="flag">([^<]*)<', row) == missed
    # the report's pairs are the pairs of /api/stats/pairs over the month, within posts
    pairs = get(hall, "/api/stats/pairs", **{"from": "2026-03-01", "to": "2026-03-31"}).get_json()
    assert pairs["pairs"], "somebody misses an indicator"
    for p in pairs["pairs"]:
        assert p["post"] == {"1001": "desk", "1002": "desk", "1003": "expert"}[p["mentee"]["staff"]]
        assert p["mentor"] is None or POSTS[p["mentor"]["staff"]] == p["post"]
        assert p["weak"] and all(i["met"] is False for i in p["weak"])
        assert f'{p["mentee"]["staff"]} ' in html[html.index('id="pairs"'):]


def test_the_trend_scores_each_day_by_the_post(hall):
    trend = get(hall, "/api/stats/trend", staff="1001,1003",
                **{"from": "2026-03-02", "to": "2026-03-03"}).get_json()["staff"]
    # 1001 (desk: service ≤ 300 s, good ≥ 0.9): day 1 at 240 s meets both (100), day 2 at
    # 400 s misses the 60-weight time (40)
    assert [(d["day"], d["score"]) for d in trend["1001"]] == [("2026-03-02", 100.0),
                                                                ("2026-03-03", 40.0)]
    # 1003 (expert: service ≤ 900 s, good ≥ 0.95): 600 s met (50), good rate 0.8 not (50)
    assert [(d["day"], d["score"]) for d in trend["1003"]] == [("2026-03-02", 50.0)]


# --- feedback figures as a block of the /api/stats rows ---------------------------------

def test_feedback_figures_per_window_clerk_and_service_match_the_feedback_list(hall):
    keys, clock = hall["keys"], hall["clock"]
    a = leave(hall, keys["1001"][0])
    b = leave(hall, keys["1001"][6])
    c = leave(hall, keys["1002"][3], "办理太慢了。")
    leave(hall, keys["1003"][4])
    leave(hall)                                                        # the kiosk: no ticket
    reply(hall, a)                                                     # Tuesday: on time
    clock.set(datetime(2026, 3, 10, 10, 0, tzinfo=TZ))                # past Friday's deadline
    assert reply(hall, c)["on_time"] is False
    q = {"from": "2026-03-01", "to": "2026-03-10"}
    total = get(hall, "/api/feedback", **q).get_json()["figures"]
    assert total["received"] == 5
    for path, dim, param in (("windows", "window", "window"), ("staff", "staff", "staff"),
                             ("services", "service", "service")):
        rows = get(hall, f"/api/stats/{path}", **q).get_json()["rows"]
        for row in rows:
            listed = get(hall, "/api/feedback", **q, **{param: row[dim]}).get_json()["figures"]
            assert row["feedback"] == listed, (dim, row[dim])
        # every opinion left on a ticket is in exactly one row; the kiosk's in none
        assert sum(r["feedback"]["received"] for r in rows) == total["received"] - 1
    staff = {r["staff"]: r["feedback"] for r in get(hall, "/api/stats/staff", **q).get_json()["rows"]}
    assert staff["1001"] == {"received": 2, "answered": 1, "fell_due": 2, "answered_on_time": 1,
                             "overdue_open": 1, "on_time_rate": 0.5}
    assert staff["1002"]["on_time_rate"] == 0.0 and staff["1004"]["received"] == 0
    assert staff["1004"]["on_time_rate"] is None
    assert b                                                           # 1001's second, still open
    # the export carries the columns (English header keys with ?lang=en)
    text = get(hall, "/api/stats/staff", **q, format="csv", lang="en").get_data(as_text=True)
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    line = dict(zip(table[0], next(x for x in table[1:] if x[0] == "1001")))
    assert (line["feedback.received"], line["feedback.answered_on_time"],
            line["feedback.on_time_rate"]) == ("2", "1", "0.5")
    zh = get(hall, "/api/stats/windows", **q, format="csv").get_data(as_text=True)
    assert "答复及时率" in zh.splitlines()[0]


def test_the_feedback_list_masks_phones_and_one_opinion_shows_the_number(hall):
    r = hall["app"].test_client().post("/api/feedback", json={
        "key": hall["keys"]["1002"][4], "text": "希望回电。", "phone": "13800138000"})
    fid = r.get_json()["id"]
    (row,) = get(hall, "/api/feedback").get_json()["feedback"]
    assert row["phone"] == "138****8000" and "phone_full" not in row
    assert row["staff"] == "1002" and row["window"] == 2 and row["service"] == "A"
    assert get(hall, f"/api/feedback/{fid}").get_json()["phone_full"] == "13800138000"
    bad = hall["client"].get("/api/feedback?window=x", headers=hall["manager"])
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "bad_window"


# --- the year-end commitment report: CSV / XLSX and the printable page ---------------------

def commit(world, staff, text, targets, year=2026):
    r = world["client"].post("/api/commitments", headers=world["manager"], json={
        "staff": staff, "year": year, "text": text, "targets": targets})
    assert r.status_code == 201, r.get_json()


def test_the_year_end_report_as_csv_xlsx_and_a_printable_page(hall):
    commit(hall, "1001", "限时办结", [{"figure": "service_s.mean", "target": 600}])
    hall["clock"].advance(60)
    commit(hall, "1001", "限时办结，热情服务", [{"figure": "service_s.mean", "target": 300},
                                              {"figure": "good_rate", "target": 0.9}])
    commit(hall, "1003", "专业高效", [{"figure": "good_rate", "target": 0.95}])
    hall["clock"].set(datetime(2027, 1, 5, 9, 0, tzinfo=TZ))              # 2026 is over
    body = get(hall, "/api/commitments/report", year="2026").get_json()
    assert body["complete"] and (body["kept_count"], body["not_kept_count"]) == (0, 2)
    # CSV: one line per target; the English header keys with ?lang=en; kept as 1 / 0
    text = get(hall, "/api/commitments/report", year="2026", format="csv", lang="en").get_data(as_text=True)
    lines = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    got = [(x["staff"], x["figure"], float(x["target"]), x["target_kept"], x["kept"]) for x in lines]
    # 1001 over the year: 320 s mean (> 300: not kept), good rate 1.0 (kept); 1003: 0.8 < 0.95
    assert got == [("1001", "service_s.mean", 300.0, "0", "0"), ("1001", "good_rate", 0.9, "1", "0"),
                   ("1003", "good_rate", 0.95, "0", "0")]
    assert float(lines[0]["value"]) == pytest.approx(320.0)
    zh = get(hall, "/api/commitments/report", year="2026", format="csv").get_data(as_text=True)
    assert zh.splitlines()[0].lstrip("\ufeff").startswith("工号 staff,")
    xlsx = get(hall, "/api/commitments/report", year="2026", format="xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.max_row == 4 and sheet["H2"].value == 300               # numbers stay numbers
    bad = hall["client"].get("/api/commitments/report?format=pdf", headers=hall["manager"])
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "bad_format"
    # the printable page: each clerk's commitment, targets, values, kept; the earlier version
    html = get(hall, "/manage/commitments/report", year="2026").get_data(as_text=True)
    assert "2026 年度窗口工作人员公开承诺兑现情况" in html and "@media print" not in html
    part = html[html.index('data-staff="1001"'):html.index('data-staff="1003"')]
    assert "限时办结，热情服务" in part and "不超过 5.0 分钟" in part and "5.3 分钟" in part
    assert part.count("✓ 兑现") == 1 and part.count("✗ 未兑现") == 2
    assert "承诺调整记录" in html and "限时办结</td>" in html
    assert "commitments_report.css" in html
    # without a manager: back to the dashboard to sign in
    anon = hall["app"].test_client().get("/manage/commitments/report")
    assert anon.status_code == 302 and "/manage" in anon.headers["Location"]
    bad = hall["client"].get("/manage/commitments/report?year=20x6", headers=hall["manager"])
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "bad_year"


def test_the_commitments_and_training_pages_need_a_manager(hall):
    anon = hall["app"].test_client()
    for path in ("/manage/commitments", "/manage/training"):
        page = anon.get(path).get_data(as_text=True)
        assert 'id="signin"' in page and "1001" not in page              # no staff list
        mine = get(hall, path).get_data(as_text=True)
        assert 'id="signin"' not in mine and '"staff": "1001"' in mine
