"""The staffing planner: `GET /api/plan?day=` (managers) and its page /manage/plan.

The plan is computed by the read side (server.readside.planning) on its own
connection, from the hall's own history; this module only checks the day and
renders the page (docs/planning.md).
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, redirect, request, url_for

from .engine import N_
from .pages import render_page
from .readside import planning
from .web import ApiError, Routes, ops, principal, reader, require
from .web_i18n import request_locale
from .i18n import translate

routes = Routes()
route = routes.route
bp = Blueprint("plan", __name__, url_prefix="/manage/plan", template_folder="templates",
               static_folder="static/plan", static_url_path="/static")

MAX_AHEAD_DAYS = 92


def plan_day(text: str | None) -> str:
    today = ops().today()
    if not text:
        return today.isoformat()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ApiError(422, "bad_date", N_("%(name)s must be a date like 2026-03-31, not '%(value)s'."),
                       name="day", value=text[:20])
    if abs((day - today).days) > MAX_AHEAD_DAYS:
        raise ApiError(422, "day_out_of_range",
                       N_("Plan a day within %(days)s days of today."), days=MAX_AHEAD_DAYS)
    return day.isoformat()


@route("/plan", "GET", "The staffing plan of a day: windows needed per service and hour", "manager",
       tags=("planning",), query=(("day", "YYYY-MM-DD (default today)"),))
def get_plan():
    require("manager")
    return reader().run(planning.plan, day=plan_day(request.args.get("day")))


PAGE_STRINGS = {
    "hour": N_("Hour"), "needed": N_("Needed"), "scheduled": N_("Scheduled"),
    "at_risk": N_("Promise at risk"), "ok": N_("Promise kept"), "no_rota": N_("No rota"),
    "windows": N_("Windows"), "wait": N_("Expected wait"), "share": N_("Within target"),
    "service": N_("Service or group"), "method": N_("Method"), "min": N_("min"),
    "what_if": N_("What if"), "add": N_("Add a window"), "remove": N_("Remove a window"),
    "no_data": N_("No history for this day yet."), "erlang_c": N_("Erlang C"),
    "erlang_a": N_("Erlang A"), "simulation": N_("Simulation"), "basis": N_("Based on"),
    "days": N_("days"), "arrivals": N_("Arrivals per hour"), "service_time": N_("Mean service"),
    "unstable": N_("Queue grows"), "sign_in": N_("Sign in as a manager on the dashboard first."),
    "weekday_1": N_("Mon"), "weekday_2": N_("Tue"), "weekday_3": N_("Wed"), "weekday_4": N_("Thu"),
    "weekday_5": N_("Fri"), "weekday_6": N_("Sat"), "weekday_7": N_("Sun"),
    "day_off": N_("day off"), "target_share": N_("Promise: %(share)s of citizens within the target"),
}


@bp.get("")
def page():
    p = principal()
    if p is None or p.role not in ("manager", "admin"):
        return redirect(url_for("manage.dashboard", next=request.full_path))
    locale = request_locale()
    today = ops().today()
    days = [(today + timedelta(days=i)).isoformat() for i in range(1, 8)]
    first = request.args.get("day") or days[0]
    return render_page("plan/plan.html", strings={k: translate(v, locale) for k, v in PAGE_STRINGS.items()},
                       page={"days": days, "day": first})
