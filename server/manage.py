"""The managers' side: the dashboard at /manage, the monthly report, live alerts.

The blueprint holds no figures of its own: its pages read /api/stats/... and
listen on Socket.IO; the report renders the same rows server-side. Alerts go to
the Socket.IO `managers` room as `alert` when the hall drifts from its promises
(more than N citizens of one service waiting longer than M minutes).
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, current_app, redirect, request, url_for

from . import auth, stats
from .api import ApiError, need, route
from .engine import N_
from .i18n import translate
from .pages import render_page
from .runtime import run_blocking
from .store import connect

bp = Blueprint("manage", __name__, url_prefix="/manage", template_folder="templates",
               static_folder="static/manage", static_url_path="/static")

ALERT_DEFAULTS = {"long_wait_min": 30, "long_wait_count": 5, "check_s": 30}


def _hall():
    return current_app.extensions["qrate"]


def _manager_or_none():
    from .api import principal
    p = principal()
    return p if p is not None and p.role == "manager" else None


@bp.get("")
def dashboard():
    return render_page("manage/dashboard.html", strings=js_strings())


@bp.get("/report")
def report():
    """The monthly report (月度报告), printable, in Chinese."""
    if _manager_or_none() is None:
        return redirect(url_for("manage.dashboard", next=request.full_path))
    h = _hall()
    month = request.args.get("month") or (h.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    try:
        start, end = stats.period_range(month)
        if month.count("-") != 1:
            raise ValueError(month)
    except (ValueError, TypeError):
        raise ApiError(422, "bad_period", N_("period must look like 2026-03 or 2026-Q1."))
    cfg, now = h.cfg, h.now()
    today = now.date().isoformat()

    def job():
        db = connect(cfg.db_path)
        try:
            summary = stats.load(db, start, end, cfg.tz, today, now)
            kw = dict(today=today, now=now, summary=summary)
            return {dim: stats.figures(db, cfg, dim, start, end, **kw)
                    for dim in ("window", "staff", "service", "hour", "day")} | {
                "pairs": stats.pairs(db, cfg, start, end, **kw)}
        finally:
            db.close()
    data = run_blocking(job)
    data["window"] = stats.judge(data["window"])
    data["staff"] = stats.judge(data["staff"])
    hall_row = _hall_total(data["day"])
    reasons: dict = {}
    for row in data["service"]:
        for r in row["low_reasons"]:
            reasons[r["reason"]] = reasons.get(r["reason"], 0) + r["count"]
    labels = reason_labels("zh_CN")
    low = sorted(((labels.get(k, k), n) for k, n in reasons.items()), key=lambda x: -x[1])
    return render_page("manage/report.html", locale="zh_CN", month=month, start=start,
                       end=end, data=data, total=hall_row, services=cfg.services, low=low,
                       generated=now.strftime("%Y-%m-%d %H:%M"))


def _hall_total(day_rows: list[dict]) -> dict:
    served = sum(r["served"] for r in day_rows)
    ratings = sum(r["ratings"] for r in day_rows)
    levels = {str(i): sum(r["levels"][str(i)] for r in day_rows) for i in range(1, 6)}
    issued = sum(r["issued"] for r in day_rows)
    no_show = sum(r["no_show"] for r in day_rows)
    return {"issued": issued, "served": served, "no_show": no_show, "ratings": ratings,
            "good_rate": (levels["3"] + levels["4"] + levels["5"]) / ratings if ratings else None,
            "satisfied_rate": (levels["4"] + levels["5"]) / ratings if ratings else None,
            "participation": ratings / served if served else None,
            "no_show_rate": no_show / (served + no_show) if served + no_show else None}


@route("/manage/settings", "GET", "The hall's services with targets, windows, staff commitments and notice (read-only)",
       "manager", tags=("manage",))
def settings():
    need("manager")
    cfg = _hall().cfg
    from .screens import current_notice
    with _hall().store() as s:  # the notice a manager set on the dashboard, else hall.toml's
        notice = current_notice(s.db, cfg.raw["hall"].get("notice", ""))
    return {"hall": {"name": cfg.name, "notice": notice},
            "services": [{"code": s.code, "name": s.name, "name_en": s.name_en,
                          "target_wait_s": s.target_wait_s, "target_service_s": s.target_service_s,
                          "target_good_rate": s.target_good_rate, "hours": s.hours_label(),
                          "daily_cap": s.daily_cap} for s in cfg.services.values()],
            "windows": [{"number": w.number, "name": w.name, "services": list(w.services)}
                        for w in cfg.windows.values()],
            "staff": [{"employee_no": s.employee_no, "name": s.name, "role": s.role,
                       "commitment": s.commitment} for s in cfg.staff.values()],
            "alerts": alert_settings(cfg)}


# --- live alerts -----------------------------------------------------------------

def alert_settings(cfg) -> dict:
    return {**ALERT_DEFAULTS, **cfg.raw.get("alerts", {})}


def check_alerts(app) -> list[dict]:
    """Compare the queue with the promises; emit `alert` to managers when a service drifts."""
    hall, sio = app.extensions["qrate"], app.extensions["qrate_socketio"]
    cfg = hall.cfg
    conf = alert_settings(cfg)
    now = hall.now()
    with hall.store() as s:
        counts = stats.long_waits(s.db, cfg, now, int(conf["long_wait_min"] * 60))
    active: dict = app.extensions.setdefault("qrate_alerts", {})
    sent = []
    for code in cfg.services:
        n = counts.get(code, 0)
        over = n > conf["long_wait_count"]
        if over and not active.get(code):
            name = cfg.services[code].name
            windows = [w.number for w in cfg.windows.values() if code in w.services]
            params = dict(count=n, service=name, minutes=conf["long_wait_min"])
            body = {"type": "long_wait", "active": True, "service": code, "count": n,
                    "over_min": conf["long_wait_min"], "at": now.isoformat(), "windows": windows,
                    "message": translate(N_("%(count)s citizens have waited over %(minutes)s minutes "
                                            "for %(service)s: open another window for it."),
                                         "zh_CN", **params),
                    "message_en": translate(N_("%(count)s citizens have waited over %(minutes)s minutes "
                                               "for %(service)s: open another window for it."),
                                            "en", **params)}
            sio.emit("alert", body, to="managers")
            sent.append(body)
        elif not over and active.get(code):
            body = {"type": "long_wait", "active": False, "service": code, "count": n,
                    "at": now.isoformat()}
            sio.emit("alert", body, to="managers")
            sent.append(body)
        active[code] = over
    return sent


def _alert_loop(app) -> None:
    sio = app.extensions["qrate_socketio"]
    while True:
        sio.sleep(alert_settings(app.extensions["qrate"].cfg)["check_s"])
        try:
            with app.app_context():
                check_alerts(app)
        except Exception:  # never let the loop die; the next round tries again
            app.logger.exception("alert check failed")


def _warm_stats(app) -> None:
    from .runtime import run_blocking
    h = app.extensions["qrate"]
    try:
        run_blocking(stats.warm, h.cfg.db_path, h.tz, h.now())
    except Exception:  # a cold first query is slower, nothing worse
        app.logger.exception("stats warm-up failed")


def init_app(app, sio) -> None:
    app.register_blueprint(bp)
    if sio.async_mode == "gevent":
        sio.start_background_task(_alert_loop, app)
        sio.start_background_task(_warm_stats, app)


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
}


# Labels of the reason tags: the pad's tags (server/ratings.py), each a message id
# in the catalog; a hall's own tags show as they are.
def reason_labels(locale: str) -> dict:
    from .ratings import REASONS
    return {tag: translate(tag, locale) for tag in REASONS}


def js_strings() -> dict:
    from .i18n import request_locale
    locale = request_locale()
    return {k: translate(v, locale) for k, v in JS.items()} | {"reasons": reason_labels(locale)}


# The follow-up, notice and printing tabs (server/manage_followup.py) bring their own strings.
from .manage_followup import JS as _FOLLOWUP_JS  # noqa: E402
JS.update(_FOLLOWUP_JS)
