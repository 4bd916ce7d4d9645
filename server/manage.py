"""The managers' side: the dashboard at /manage, the monthly report, live alerts.

The blueprint holds no figures of its own: its pages read /api/stats/... and
listen on Socket.IO; the report renders the same rows server-side, from the read
side. Alerts go to the Socket.IO `managers` room as `alert` when the hall drifts
from its promises (more than N citizens of one service waiting longer than M
minutes).
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import Blueprint, redirect, request, url_for

from .engine import N_, RATING_REASONS
from .i18n import translate
from .manage_assessment import JS as ASSESSMENT_JS
from .manage_followup import JS as FOLLOWUP_JS
from .pages import render_page
from .readside import assessment, lists
from .web import ApiError, Routes, ops, principal, reader, require
from .web_i18n import request_locale

bp = Blueprint("manage", __name__, url_prefix="/manage", template_folder="templates",
               static_folder="static/manage", static_url_path="/static")
routes = Routes()
log = logging.getLogger("qrate.manage")


def _manager_or_none():
    p = principal()
    return p if p is not None and p.role in ("manager", "admin") else None


@bp.get("")
def dashboard():
    return render_page("manage/dashboard.html", strings=js_strings(request_locale()))


@bp.get("/report")
def report():
    """The monthly report (月度报告), printable, in Chinese."""
    if _manager_or_none() is None:
        return redirect(url_for("manage.dashboard", next=request.full_path))
    h = ops()
    month = request.args.get("month") or (h.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    try:
        data = reader().run(assessment.monthly_report, month=month)
    except (ValueError, TypeError):
        raise ApiError(422, "bad_period", N_("period must look like 2026-03 or 2026-Q1."))
    labels = reason_labels("zh_CN")
    low = [(labels.get(r["reason"], r["reason"]), r["count"]) for r in data["low_reasons"]]
    return render_page("manage/report.html", locale="zh_CN", month=month,
                       start=data["from"], end=data["to"], data=data, total=data["total"],
                       services=h.cfg.services, low=low,
                       generated=h.now().strftime("%Y-%m-%d %H:%M"))


@routes.route("/manage/settings", "GET",
              "The hall's services with targets, windows, staff commitments and notice (read-only)",
              "manager", tags=("manage",))
def settings():
    require("manager")
    h = ops()
    cfg = h.cfg
    return {"hall": {"name": cfg.name, "notice": h.notice()},
            "services": [{"code": s.code, "name": s.name, "name_en": s.name_en,
                          "target_wait_s": s.target_wait_s, "target_service_s": s.target_service_s,
                          "target_good_rate": s.target_good_rate, "hours": s.hours_label(),
                          "daily_cap": s.daily_cap} for s in cfg.services.values()],
            "windows": [{"number": w.number, "name": w.name, "services": list(w.services)}
                        for w in cfg.windows.values()],
            "staff": [{"employee_no": s.employee_no, "name": s.name, "role": s.role,
                       "commitment": s.commitment} for s in cfg.staff.values()],
            "alerts": dict(cfg.raw["alerts"])}


# --- live alerts -----------------------------------------------------------------

ALERT_TEXT = N_("%(count)s citizens have waited over %(minutes)s minutes for %(service)s: "
                "open another window for it.")


class Alerts:
    """Compares the queue with the promises; emits `alert` to managers when a service drifts."""

    def __init__(self, ops_, reader_, sio):
        self.ops, self.reader, self.sio = ops_, reader_, sio
        self.active: dict[str, bool] = {}

    def check(self) -> list[dict]:
        cfg = self.ops.cfg
        conf = cfg.raw["alerts"]
        now = self.ops.now()
        counts = self.reader.run(lists.long_waits, over_s=int(conf["long_wait_min"] * 60))
        sent = []
        for code in cfg.services:
            n = counts.get(code, 0)
            over = n > conf["long_wait_count"]
            if over and not self.active.get(code):
                params = dict(count=n, service=cfg.services[code].name, minutes=conf["long_wait_min"])
                body = {"type": "long_wait", "active": True, "service": code, "count": n,
                        "over_min": conf["long_wait_min"], "at": now.isoformat(),
                        "windows": [w.number for w in cfg.windows.values() if code in w.services],
                        "message": translate(ALERT_TEXT, "zh_CN", **params),
                        "message_en": translate(ALERT_TEXT, "en", **params)}
            elif not over and self.active.get(code):
                body = {"type": "long_wait", "active": False, "service": code, "count": n,
                        "at": now.isoformat()}
            else:
                continue
            self.active[code] = over
            self.sio.emit("alert", body, to="managers")
            sent.append(body)
        return sent

    def run_forever(self) -> None:
        while True:
            self.sio.sleep(self.ops.cfg.raw["alerts"]["check_s"])
            try:
                self.check()
            except Exception:  # never let the loop die; the next round tries again
                log.exception("alert check failed")


def start_background(app, sio) -> None:
    """Under `qrate serve`: the alert loop, and the stats summary warmed up once."""
    sio.start_background_task(app.extensions["qrate_alerts"].run_forever)
    sio.start_background_task(_warm, app.extensions["qrate_reader"])


def _warm(reader_) -> None:
    try:
        reader_.warm()
    except Exception:  # a cold first query is slower, nothing worse
        log.exception("stats warm-up failed")


# --- strings for the page's JavaScript --------------------------------------------

JS = {
    "signin": N_("Sign in"), "user": N_("Employee number"), "password": N_("Password"),
    "bad_login": N_("Wrong employee number or password."),
    "not_manager": N_("This page is for managers."),
    "waiting": N_("Waiting"), "longest": N_("Longest wait now"), "open": N_("Windows open"),
    "served_today": N_("Served today"), "good_today": N_("Good-rating rate today"),
    "service": N_("Service"), "window": N_("Window"), "staff": N_("Clerk"), "hour": N_("Hour"),
    "day": N_("Day"), "time": N_("Time"), "target": N_("Target"), "issued": N_("Issued"), "served": N_("Served"),
    "no_show_rate": N_("No-show rate"), "wait_mean": N_("Wait mean"), "wait_p50": N_("Wait p50"),
    "wait_p90": N_("Wait p90"), "wait_max": N_("Wait max"), "service_mean": N_("Service mean"),
    "service_p90": N_("Service p90"), "ratings": N_("Ratings"), "participation": N_("Participation"),
    "mean_score": N_("Mean score"), "good_rate": N_("Good-rating rate"),
    "satisfied_rate": N_("Satisfied rate"), "over_target": N_("Waits over target"),
    "callback_rate": N_("Callback rate"), "followup_rate": N_("Follow-up rate"),
    "score": N_("Score"), "rank": N_("Rank"), "flags": N_("Falls short"),
    "slow_service": N_("slow service"), "low_good_rate": N_("low good-rating rate"),
    "many_no_shows": N_("many no-shows"), "mentor": N_("Mentor"), "mentee": N_("Paired with"),
    "no_pairs": N_("Nobody falls short: no pairing needed."),
    "no_mentor": N_("No colleague on this service does better yet"),
    "st_open": N_("open"), "st_paused": N_("paused"), "st_closed": N_("closed"),
    "status": N_("Status"), "serving_now": N_("Serving now"), "windows_now": N_("Windows now"), "no_data": N_("No data"),
    "waits_by_hour": N_("Waits by hour (minutes)"), "ratings_by_window": N_("Ratings by window"),
    "trend_by_day": N_("Trend by day"), "levels": N_("Levels"),
    "l1": N_("Very dissatisfied"), "l2": N_("Dissatisfied"), "l3": N_("Basically satisfied"),
    "l4": N_("Satisfied"), "l5": N_("Very satisfied"), "latest": N_("Latest ratings"),
    "alerts": N_("Alerts"), "no_alerts": N_("No alerts: the hall keeps its promises."),
    "minutes": N_("min"), "hours_unit": N_("h"), "name": N_("Name"), "commitment": N_("Public commitment"),
    "notice": N_("Notice"), "services_of_window": N_("Services"), "hours": N_("Opening hours"),
    "target_wait": N_("Target wait"), "target_service": N_("Target service time"),
    "target_good": N_("Target good-rating rate"), "trend_of_pair": N_("Trend of the pair (daily score)"),
    "open_s": N_("Open"), "idle_s": N_("Idle"), "low_reasons": N_("Top reasons for low ratings"),
    "times_in_minutes": N_("Times in minutes"),
    "waited": N_("waiting %(n)s min"), "ack": N_("Acknowledge"),
}


# Labels of the reason tags: the pad's tags (server.engine.RATING_REASONS), each a message id
# in the catalog; a hall's own tags show as they are.
def reason_labels(locale: str) -> dict:
    return {tag: translate(tag, locale) for tag in RATING_REASONS}


def js_strings(locale: str) -> dict:
    strings = {**JS, **FOLLOWUP_JS, **ASSESSMENT_JS}  # the follow-up, notice and printing tabs bring their own
    return {k: translate(v, locale) for k, v in strings.items()} | {"reasons": reason_labels(locale)}
