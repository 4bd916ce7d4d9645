"""The city service's Flask app: sign-in, the halls' event intake, the figures, the dashboard.

``create_city_app(url)`` opens the one connection pool; every request borrows a
connection for its length. Errors are JSON ``{"error": {"code", "message",
"message_en"}}`` as at the hall.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from ..downloads import table_response
from ..engine import N_
from ..i18n import translate
from ..version import __version__
from .. import evaluation
from . import db, stats

CITY_TZ = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 3 * 366
MAX_BATCH = 5000
DIM_PATHS = {"windows": "window", "staff": "staff", "services": "service"}
EXPORT_COLUMNS = [("issued", N_("Issued")), ("called", N_("Called")), ("served", N_("Served")),
                  ("no_show", N_("No-shows")), ("transferred", N_("Transferred")),
                  ("no_show_rate", N_("No-show rate")), ("wait_s.mean", N_("Wait mean")),
                  ("wait_s.p50", N_("Wait p50")), ("wait_s.p90", N_("Wait p90")),
                  ("wait_s.max", N_("Wait max")), ("service_s.mean", N_("Service mean")),
                  ("service_s.p50", N_("Service p50")), ("service_s.p90", N_("Service p90")),
                  ("service_s.max", N_("Service max")), ("ratings", N_("Ratings")),
                  ("participation", N_("Participation")), ("mean_score", N_("Mean score")),
                  ("good_rate", N_("Good-rating rate")), ("satisfied_rate", N_("Satisfied rate")),
                  ("levels.1", "1"), ("levels.2", "2"), ("levels.3", "3"), ("levels.4", "4"),
                  ("levels.5", "5"), ("callback_rate", N_("Callback rate")),
                  ("followup_rate", N_("Follow-up rate"))]


PAGE_TEXT = {
    "title": N_("City service figures"), "signin": N_("Sign in"), "user": N_("Employee number"),
    "password": N_("Password"), "bad_login": N_("Wrong employee number or password."),
    "from": N_("From"), "to": N_("To"), "show": N_("Show"), "rank": N_("Rank"),
    "hall": N_("Hall"), "score": N_("City score"), "served": N_("Served"),
    "no_show_rate": N_("No-show rate"), "wait_p50": N_("Wait p50"), "wait_p90": N_("Wait p90"),
    "service_mean": N_("Service mean"), "ratings": N_("Ratings"),
    "participation": N_("Participation"), "satisfied_rate": N_("Satisfied rate"),
    "good_rate": N_("Good-rating rate"), "callback_rate": N_("Callback rate"),
    "followup_rate": N_("Follow-up rate"), "trend": N_("Satisfied rate by day"),
    "windows": N_("Windows"), "staff": N_("Clerks"), "window": N_("Window"), "clerk": N_("Clerk"),
    "weights": N_("Ranked by the city's weights: satisfied rate 40, good-rating rate 20, "
                  "wait p90 20, participation 20; fewer than 5 served or rated: no score."),
    "none": N_("No hall has sent figures for these days yet."), "back": N_("All halls"),
    "export": N_("Export"), "halls_n": N_("Halls"), "served_total": N_("Served, all halls"),
    "sat_total": N_("Satisfied rate, all halls"), "last_seen": N_("Last heard from"),
    # promises kept (docs/city.md)
    "promises": N_("Promises kept"), "promise_kept_rate": N_("Called within the promised wait"),
    "wait_over": N_("Waits over target"), "service_over": N_("Service times over target"),
    "idle_share": N_("Idle share"), "open_h": N_("Open hours"),
    "low_reasons": N_("Top reasons for low ratings"),
    "promise_note": N_("Each wait and service time is judged by the target its service had when it "
                       "happened; idle share is open time without a citizen being served; reasons "
                       "are those of ratings 1–2, as national reasons (the hall's own tags below)."),
}


def reason_text() -> dict:
    """Names of the national reasons and of the hall's default reason tags, zh-CN and English."""
    out = {code: {"zh": zh, "en": en} for code, (zh, en) in evaluation.NATIONAL_NAMES.items()}
    tags = {code: {"zh": translate(code, "zh_CN"), "en": code.replace("_", " ")}
            for code in ("attitude", "efficiency", "knowledge", "long_wait", "other")}
    return {"national": out, "tags": tags}


def page_text() -> dict:
    """The dashboard's strings, zh-CN first and English second."""
    return {k: {"zh": translate(v, "zh_CN"), "en": translate(v, "en")} for k, v in PAGE_TEXT.items()}


def _error(status: int, code: str, msgid: str, **params):
    body = {"code": code, "message": translate(msgid, "zh_CN", **params),
            "message_en": translate(msgid, "en", **params)}
    return jsonify({"error": body}), status


def create_city_app(url: str, *, pool_size: int = 8, clock=None) -> Flask:
    """The city app over the PostgreSQL at ``url`` (migrated first)."""
    app = Flask(__name__)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = 32 * 1024 * 1024
    pool = db.open_pool(url, max_size=pool_size)
    app.extensions["city_pool"] = pool
    now = clock or (lambda: datetime.now(CITY_TZ))

    def conn():
        if "city_conn" not in g:
            g.city_cm = pool.connection()
            g.city_conn = g.city_cm.__enter__()
        return g.city_conn

    @app.teardown_request
    def _give_back(exc):
        cm = g.pop("city_cm", None)
        g.pop("city_conn", None)
        if cm is not None:
            cm.__exit__(None, None, None)

    @app.errorhandler(db.CityError)
    def _city_error(exc: db.CityError):
        resp, status = _error(exc.status, exc.code, exc.message, **exc.params)
        return resp, status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return _error(exc.code or 500, "http_%s" % exc.code, N_("The request was refused (%(what)s)."),
                      what=exc.name)

    @app.errorhandler(Exception)
    def _crash(exc):  # pragma: no cover - logged, never a 500 page
        app.logger.exception("city request failed")
        return _error(500, "internal", N_("Something went wrong on the server; it has been logged."))

    def bearer() -> str:
        header = request.headers.get("Authorization", "")
        return header[7:].strip() if header.startswith("Bearer ") else request.args.get("token", "")

    def manager() -> dict:
        raw = bearer() or request.cookies.get("city_token", "")
        if not raw:
            raise db.CityError(401, "unauthorized", N_("Sign in first."))
        user = db.user_of_token(conn(), raw)
        if user is None:
            raise db.CityError(401, "unauthorized", N_("Sign in first."))
        if user["role"] != "manager":
            raise db.CityError(403, "forbidden", N_("This needs a city manager."))
        return user

    def body() -> dict:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise db.CityError(400, "bad_json", N_("The body must be a JSON object."))
        return data

    def day_arg(name: str, default: str) -> str:
        text = request.args.get(name) or default
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise db.CityError(422, "bad_date", N_("%(name)s must be a date like 2026-03-31, not '%(value)s'."),
                               name=name, value=text[:20])

    def date_range() -> tuple[str, str]:
        today = now().date().isoformat()
        start = day_arg("from", today)
        end = day_arg("to", start if request.args.get("from") else today)
        if end < start:
            raise db.CityError(422, "bad_range", N_("'to' (%(to)s) is before 'from' (%(from_)s)."),
                               to=end, from_=start)
        if (date.fromisoformat(end) - date.fromisoformat(start)).days > MAX_DAYS:
            raise db.CityError(422, "range_too_long", N_("Ask for at most %(days)s days at once."),
                               days=MAX_DAYS)
        return start, end

    def table(dim: str, rows: list[dict], start: str, end: str):
        fmt = request.args.get("format", "json")
        if fmt == "json":
            return {"from": start, "to": end, "rows": rows}
        if fmt not in ("csv", "xlsx"):
            raise db.CityError(422, "bad_format", N_("format must be json, csv or xlsx."))
        english = request.args.get("lang") == "en"
        header = [dim] + [k if english else f"{translate(label, 'zh_CN')} {k}"
                          for k, label in EXPORT_COLUMNS]
        lines = []
        for row in rows:
            line = [row[dim]]
            for key, _ in EXPORT_COLUMNS:
                value = row
                for part in key.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                line.append(value)
            lines.append(line)
        return table_response(f"qrate-city-{dim}-{start}_{end}", dim, header, lines, fmt,
                              freeze="A2")

    @app.get("/healthz")
    def healthz():
        return {"ok": True, "version": __version__, "service": "city"}

    @app.post("/api/login")
    def login():
        data = body()
        user, password = data.get("user"), data.get("password")
        if not isinstance(user, str) or not isinstance(password, str):
            raise db.CityError(422, "bad_body", N_("user and password are needed."))
        return db.login(conn(), user, password)

    @app.post("/api/city/ingest")
    def ingest():
        hall_id = db.hall_of_token(conn(), bearer())
        if hall_id is None:
            raise db.CityError(401, "unauthorized", N_("This needs a hall's token."))
        data = body()
        if data.get("hall_id") not in (None, hall_id):
            raise db.CityError(403, "wrong_hall", N_("This token belongs to hall %(hall)s."), hall=hall_id)
        try:
            epoch, after = int(data.get("epoch", 1)), int(data.get("after", 0))
            events = list(data.get("events") or [])
            for e in events:
                int(e["seq"]), str(e["type"]), float(e["ts"]), date.fromisoformat(e["day"])
        except (TypeError, ValueError, KeyError):
            raise db.CityError(422, "bad_batch", N_("Each event needs seq, type, at, ts and day."))
        if len(events) > MAX_BATCH:
            raise db.CityError(413, "batch_too_large", N_("Send at most %(n)s events at once."), n=MAX_BATCH)
        tz = data.get("tz") if isinstance(data.get("tz"), str) else None
        out = db.ingest(conn(), hall_id, epoch, after, events, tz=tz)
        if out["gap"]:
            resp, _ = _error(409, "gap", N_("The city holds hall %(hall)s up to seq %(ack)s; send from there."),
                             hall=hall_id, ack=out["ack"])
            payload = resp.get_json()
            payload["ack"] = out["ack"]
            return jsonify(payload), 409
        return {"hall_id": hall_id, "epoch": epoch, **out}

    @app.get("/api/city/progress")
    def hall_progress():
        hall_id = db.hall_of_token(conn(), bearer())
        if hall_id is None:
            raise db.CityError(401, "unauthorized", N_("This needs a hall's token."))
        return {"hall_id": hall_id, "epochs": db.progress(conn(), hall_id)}

    @app.get("/api/city/halls")
    def halls():
        manager()
        return {"halls": db.halls(conn())}

    @app.get("/api/city/stats/halls")
    def stats_halls():
        manager()
        start, end = date_range()
        rows = stats.halls_table(conn(), start=start, end=end, now=now())
        return table("hall", rows, start, end)

    @app.get("/api/city/stats/halls/<hall_id>/<dim_path>")
    def stats_in_hall(hall_id: str, dim_path: str):
        manager()
        if dim_path not in DIM_PATHS:
            raise db.CityError(404, "not_found", N_("There is nothing at this address."))
        if not any(h["hall_id"] == hall_id for h in db.halls(conn())):
            raise db.CityError(404, "unknown_hall", N_("Hall %(hall)s is not registered."), hall=hall_id)
        start, end = date_range()
        dim = DIM_PATHS[dim_path]
        rows = stats.rows(conn(), dim=dim, start=start, end=end, now=now(), hall=hall_id)
        return table(dim, rows, start, end)

    @app.get("/api/city/stats/days")
    def stats_days():
        manager()
        start, end = date_range()
        return {"from": start, "to": end,
                "rows": stats.days(conn(), start=start, end=end, hall=request.args.get("hall"))}

    @app.get("/api/city/stats/promises")
    def stats_promises():
        """Promises kept (docs/city.md): per hall, or ?hall=&by=window|staff|service within one."""
        manager()
        start, end = date_range()
        hall_id = request.args.get("hall") or None
        by = request.args.get("by") or ("window" if hall_id else "hall")
        if by not in stats.PROMISE_DIMS or (by != "hall") != bool(hall_id):
            raise db.CityError(422, "bad_by", N_("by must be hall (without hall=) or window, staff "
                                                 "or service (with hall=)."))
        if hall_id and not any(h["hall_id"] == hall_id for h in db.halls(conn())):
            raise db.CityError(404, "unknown_hall", N_("Hall %(hall)s is not registered."), hall=hall_id)
        rows = stats.promises(conn(), dim=by, start=start, end=end, now=now(), hall=hall_id)
        return {"from": start, "to": end, "by": by, "hall": hall_id, "rows": rows}

    @app.get("/city")
    def dashboard():
        return render_template("city/dashboard.html", version=__version__, text=page_text(),
                               reasons=reason_text(),
                               today=now().date().isoformat())

    return app
