"""One number per figure: the pad, the lobby, the clerk's own page, the dashboard, the
exports and the monthly report show the same value for the same period (issue 16).

The scenario's rates are thirds (2/3, 11/3), so a surface that rounds on its own
(0.6667 against 0.666…) shows up. The first tests compute every surface's figures
with the read side (server/readside); the last one reads the five surfaces over HTTP
and passes once the lead's merge has switched them to the read side.
"""
import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import Accounts
from server.app import create_app
from server.readside import screens, summary, tables
from server.store import connect

TZ = ZoneInfo("Asia/Shanghai")
MONTH, FIRST, TODAY = "2026-03", "2026-03-01", "2026-03-18"
TODAY_DAY = 18
RATING_KEYS = ("ratings", "satisfied_rate", "good_rate", "mean_score")


class Clock:
    def __init__(self):
        self.now = datetime(2026, 2, 27, 9, 0, tzinfo=TZ)

    def at(self, month, day, hh, mm=0):
        self.now = datetime(2026, month, day, hh, mm, tzinfo=TZ)

    def __call__(self):
        return self.now


def serve_and_rate(h, clock, window, scores, device):
    """Serve one A ticket per score at the window, each rated at its pad."""
    ids = []
    for i, score in enumerate(scores):
        t = h.issue("A")
        clock.now = clock.now.replace(minute=clock.now.minute + 1)
        assert h.call_next(window)["id"] == t["id"]
        clock.now = clock.now.replace(minute=clock.now.minute + 4)
        h.finish(t["id"])
        h.rate(t["id"], window, score, source="pad", device=f"{device}-{i}")
        ids.append(t["id"])
    return ids


def build(h, clock) -> dict:
    clock.at(2, 27, 9)                      # last month: not in this month's figures
    h.sign_in(3, "1003")
    serve_and_rate(h, clock, 3, [1], "feb")
    clock.at(3, 2, 9)
    h.sign_in(3, "1003")
    kept, excluded = serve_and_rate(h, clock, 3, [5, 4], "m2")
    clock.at(3, TODAY_DAY, 9)
    h.sign_in(3, "1003")
    h.sign_in(2, "1002")
    serve_and_rate(h, clock, 3, [2, 4], "m18")
    serve_and_rate(h, clock, 2, [4], "w2")
    with h.store() as s, s.db.atomic():     # an upheld appeal takes 2 March's 4 out
        s.db.execute("UPDATE ratings SET excluded = 1, exclude_reason = 'appeal upheld' "
                     "WHERE ticket = ?", [excluded])
    clock.at(3, TODAY_DAY, 16)
    return {"kept": kept, "excluded": excluded}


@pytest.fixture
def world(hall_dir):
    clock = Clock()
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock})
    h = app.extensions["qrate"]
    build(h, clock)
    summary.clear_cache()
    db = connect(h.cfg.db_path)
    yield {"app": app, "ops": h, "cfg": h.cfg, "clock": clock, "db": db}
    db.close()
    h.close()


def pick(row, keys=RATING_KEYS):
    return {k: row[k] for k in keys}


# Window 3 this month, excluded rating out: 5 (2 March), 2 and 4 (today).
WINDOW_3 = {"ratings": 3, "satisfied_rate": 2 / 3, "good_rate": 2 / 3, "mean_score": 11 / 3}


@pytest.mark.api
def test_every_surface_shows_the_same_window_figures_this_month(world):
    db, cfg, now = world["db"], world["cfg"], world["clock"]()
    pad = screens.pad_satisfaction(db, cfg, now=now, window=3)
    board = screens.board(db, cfg, now=now)
    lobby = next(w["month"] for w in board["windows"] if w["number"] == 3)
    dashboard = next(r for r in tables.table(db, cfg, now=now, dim="window", start=FIRST, end=TODAY)
                     if r["window"] == 3)
    keys, _, table = tables.flat("window", [dashboard])
    export = dict(zip(keys, table[0]))
    report = tables.monthly_report(db, cfg, now=now, month=MONTH)
    reported = next(r for r in report["window"] if r["window"] == 3)

    assert pad["since"] == FIRST and board["month"] == MONTH
    assert pick(pad) == pick(lobby) == pick(dashboard) == pick(export) == pick(reported) == WINDOW_3
    # the clerk's public satisfaction on the lobby is that of /api/stats/staff this month
    clerk = next(s["month"] for s in board["staff"] if s["employee_no"] == "1003")
    staff_row = next(r for r in tables.table(db, cfg, now=now, dim="staff", start=FIRST, end=TODAY)
                     if r["staff"] == "1003")
    assert pick(clerk) == pick(staff_row) == WINDOW_3
    # and the figures of the whole month are the same everywhere too
    assert report["total"]["ratings"] == 4
    for surface in (dashboard, reported):
        assert surface["levels"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}


@pytest.mark.api
def test_a_clerks_own_figures_today_are_those_of_the_dashboard(world):
    db, cfg, now = world["db"], world["cfg"], world["clock"]()
    mine = screens.my_today(db, cfg, now=now, employee_no="1003")
    (row,) = tables.table(db, cfg, now=now, dim="staff", start=TODAY, end=TODAY, staff="1003")
    assert mine["day"] == TODAY and mine["served"] == row["served"] == 2
    assert mine["service_s"] == row["service_s"] == {"mean": 240.0, "p50": 240.0, "p90": 240.0,
                                                    "max": 240.0}
    assert pick(mine) == pick(row)
    assert mine["satisfied_rate"] == 0.5 and mine["levels"] == row["levels"]
    assert mine["no_show"] == row["no_show"] == 0


@pytest.mark.api
def test_the_lobbys_promise_today_is_the_dashboards_wait_figure(world):
    db, cfg, now = world["db"], world["cfg"], world["clock"]()
    board = screens.board(db, cfg, now=now)
    a = next(s for s in board["services"] if s["code"] == "A")
    (row,) = tables.table(db, cfg, now=now, dim="service", start=TODAY, end=TODAY, service="A")
    assert a["called"] == row["called"] == 3 and a["late_waiting"] == 0
    assert a["kept_rate"] == 1 - row["wait_over_target_rate"]
    assert a["wait_p50_s"] == row["wait_s"]["p50"]


def _report_row(html: str, window: int) -> list[str]:
    """The cells of a window's row in the report's window ranking (section 三)."""
    section = html.split("三、窗口考评排名", 1)[1].split("</table>", 1)[0]
    for tr in re.findall(r"<tr>(.*?)</tr>", section, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        if len(cells) > 1 and cells[1] == str(window):
            return cells
    raise AssertionError(f"window {window} is not in the report")


@pytest.mark.api
def test_the_five_surfaces_over_http_show_the_same_number(world):
    app, h = world["app"], world["ops"]
    client = app.test_client()
    accounts = Accounts(h, client)
    manager = accounts.manager()
    pad_token = accounts.device("pad", 3)

    def get(path, headers, **params):
        r = client.get(path, query_string=params, headers=headers)
        assert r.status_code == 200, (path, r.status_code, r.data[:300])
        return r

    pad = get("/api/pad/state", pad_token).get_json()["satisfaction"]
    lobby = next(w["month"] for w in get("/api/display/board", {}).get_json()["windows"]
                 if w["number"] == 3)
    rows = get("/api/stats/windows", manager, **{"from": FIRST, "to": TODAY}).get_json()["rows"]
    dashboard = next(r for r in rows if r["window"] == 3)
    text = get("/api/stats/windows", manager, **{"from": FIRST, "to": TODAY, "format": "csv",
                                                 "lang": "en"}).data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    keys = [k.split(" ")[-1] for k in table[0]]
    export_row = next(dict(zip(keys, line)) for line in table[1:] if line[0] == "3")
    export = {k: (int(export_row[k]) if k == "ratings" else float(export_row[k])) for k in RATING_KEYS}
    html = get("/manage/report", manager, month=MONTH).data.decode()

    assert pick(pad) == pick(lobby) == pick(dashboard) == export == WINDOW_3
    cells = _report_row(html, 3)
    # the report shows 评价数, 参评率, 平均分, 好评率, 满意率 at display precision
    ratings, _, mean, good, satisfied = cells[11:16]
    assert (int(ratings), mean, good, satisfied) == (
        3, f"{11 / 3:.2f}", f"{100 * 2 / 3:.1f}%", f"{100 * 2 / 3:.1f}%")
    # the clerk's own page: /api/me/today is /api/stats/staff of today
    clerk = accounts.clerk(3, "1003")
    mine = get("/api/me/today", clerk).get_json()
    (row,) = get("/api/stats/staff", manager, **{"from": TODAY, "to": TODAY, "staff": "1003"}
                 ).get_json()["rows"]
    assert pick(mine) == pick(row)
    assert (mine["served"], mine["service_s"]) == (row["served"], row["service_s"])
