"""The managers' figures under /api/stats (JSON, CSV and XLSX), from the read side.

Each query runs on its own connection in a real thread (server.readside.Reader), so
a year-long report never holds the gevent loop that pushes to screens, nor the
write lock.
"""
from __future__ import annotations

from datetime import date

from flask import request
from pydantic import BaseModel, Field

from .engine import N_
from .readside import assessment, lists, planning, tables
from .downloads import table_response
from .web import ApiError, Routes, ops, reader, require

routes = Routes()
route = routes.route


class RowsOut(BaseModel):
    """A figure table (docs/figures.md): one row per window, clerk, service, hour or day."""

    from_: str = Field(alias="from")
    to: str
    rows: list[dict]

MAX_DAYS = 3 * 366
RANGE_QUERY = (("from", "First day, YYYY-MM-DD (default today)"),
               ("to", "Last day, YYYY-MM-DD (default: from)"),
               ("window", "Only this window"), ("staff", "Only this employee number"),
               ("service", "Only this service code"),
               ("format", "json (default), csv or xlsx"),
               ("weekday", "Only the days of this weekday, 1 (Monday) to 7 (Sunday)"))


def _day(name: str, default: str) -> str:
    text = request.args.get(name) or default
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ApiError(422, "bad_date", N_("%(name)s must be a date like 2026-03-31, not '%(value)s'."),
                       name=name, value=text[:20])


def _range() -> tuple[str, str]:
    today = ops().today().isoformat()
    start = _day("from", today)
    end = _day("to", start if request.args.get("from") else today)
    if end < start:
        raise ApiError(422, "bad_range", N_("'to' (%(to)s) is before 'from' (%(from_)s)."),
                       to=end, from_=start)
    if (date.fromisoformat(end) - date.fromisoformat(start)).days > MAX_DAYS:
        raise ApiError(422, "range_too_long", N_("Ask for at most %(days)s days at once."),
                       days=MAX_DAYS)
    return start, end


def _filters() -> dict:
    out = {}
    if request.args.get("window"):
        try:
            out["window"] = int(request.args["window"])
        except ValueError:
            raise ApiError(422, "bad_window", N_("window must be a window number."))
    if request.args.get("staff"):
        out["staff"] = request.args["staff"][:32]
    if request.args.get("service"):
        out["service"] = request.args["service"][:8]
    return out


def _weekday():
    """?weekday=1..7 (ISO: 1 Monday, 7 Sunday), or None (every day)."""
    text = request.args.get("weekday")
    if not text:
        return None
    if text not in {"1", "2", "3", "4", "5", "6", "7"}:
        raise ApiError(422, "bad_weekday", N_("weekday must be 1 (Monday) to 7 (Sunday), not '%(value)s'."),
                       value=text[:10])
    return int(text)


def export(dim: str, rows: list[dict], start: str, end: str, fmt: str):
    english = request.args.get("lang") == "en"
    keys, labels, table = tables.flat(dim, rows, "en" if english else "zh_CN")
    header = keys if english else [f"{zh} {key}" for zh, key in zip(labels, keys)]
    return table_response(f"qrate-{dim}-{start}_{end}", dim, header, table, fmt)


def _table(dim_path: str):
    require("manager")
    start, end = _range()
    dim = tables.DIMENSIONS[dim_path]
    weekday = _weekday()
    if weekday is None:
        rows = reader().run(tables.table_with_feedback, dim=dim, start=start, end=end, **_filters())
    else:
        rows = reader().run(planning.weekday_figures, dim=dim, start=start, end=end,
                            weekday=weekday, **_filters())
    fmt = request.args.get("format", "json")
    if fmt in ("csv", "xlsx"):
        return export(dim, rows, start, end, fmt)
    if fmt != "json":
        raise ApiError(422, "bad_format", N_("format must be json, csv or xlsx."))
    return {"from": start, "to": end, "rows": rows}


@route("/stats/windows", "GET", "Figures per window over a date range", "manager",
       response=RowsOut, tags=("stats",), query=RANGE_QUERY)
def stats_windows():
    return _table("windows")


@route("/stats/staff", "GET", "Figures per clerk over a date range", "manager",
       response=RowsOut, tags=("stats",), query=RANGE_QUERY)
def stats_staff():
    return _table("staff")


@route("/stats/services", "GET", "Figures per service over a date range", "manager",
       response=RowsOut, tags=("stats",), query=RANGE_QUERY)
def stats_services():
    return _table("services")


@route("/stats/hours", "GET", "Figures per hour of day over a date range", "manager",
       response=RowsOut, tags=("stats",), query=RANGE_QUERY)
def stats_hours():
    return _table("hours")


@route("/stats/days", "GET", "Figures per day over a date range", "manager",
       response=RowsOut, tags=("stats",), query=RANGE_QUERY)
def stats_days():
    return _table("days")


@route("/stats/live", "GET", "Today now: queues, longest waits, windows open, latest ratings",
       "manager", tags=("stats",))
def stats_live():
    require("manager")
    return reader().run(lists.today_now)


@route("/stats/scorecard", "GET", "Daily scorecard (日常考评): windows and clerks against their services' targets",
       "manager", tags=("stats",), query=(("day", "YYYY-MM-DD (default today)"),))
def stats_scorecard():
    require("manager")
    day = _day("day", ops().today().isoformat())
    return reader().run(assessment.scorecard, day=day)


@route("/stats/rankings", "GET", "Monthly or quarterly rankings (定期考评)", "manager",
       tags=("stats",), query=(("period", "2026-03 (a month) or 2026-Q1 (a quarter); default this month"),))
def stats_rankings():
    require("manager")
    period = request.args.get("period") or ops().today().strftime("%Y-%m")
    try:
        tables.period_range(period)
    except (ValueError, TypeError):
        raise ApiError(422, "bad_period", N_("period must look like 2026-03 or 2026-Q1."))
    return reader().run(assessment.rankings, period=period)


@route("/stats/pairs", "GET", "Pairing suggestions (结对帮扶) within each post, with each pair's daily trend",
       "manager", tags=("stats",), query=RANGE_QUERY[:2])
def stats_pairs():
    require("manager")
    start, end = _range()
    return {"from": start, "to": end, "pairs": reader().run(assessment.pairs_with_trends, start=start, end=end)}


@route("/stats/trend", "GET", "Day-by-day figures and score of some clerks (a pair's progress)",
       "manager", tags=("stats",),
       query=RANGE_QUERY[:2] + (("staff", "Employee numbers, comma separated"),
                                ("service", "Only this service code")))
def stats_trend():
    require("manager")
    start, end = _range()
    staff = [s for s in (request.args.get("staff") or "").split(",") if s][:10]
    if not staff:
        raise ApiError(422, "staff_required", N_("Give staff=EMPLOYEE_NO[,EMPLOYEE_NO]."))
    return {"from": start, "to": end,
            "staff": reader().run(assessment.trend, staff=staff, start=start, end=end,
                                      service=request.args.get("service"))}
