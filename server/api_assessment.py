"""Assessment by post (岗位考评) under /api/stats/assessment: JSON, CSV and XLSX."""
from __future__ import annotations

import re
import threading
import time
from datetime import date, timedelta

from flask import request
from pydantic import Field

from .config import post_of
from .engine import N_
from .i18n import translate
from .operations import PressGuard
from .readside import assessment, feedback, pledges, training
from .downloads import table_response
from .web import ApiError, Routes, Strict, ops, principal, reader, require

routes = Routes()
route = routes.route

PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$")


def _period() -> str:
    period = (request.args.get("period") or ops().today().strftime("%Y-%m")).strip().upper()
    if not PERIOD.match(period):
        raise ApiError(422, "bad_period",
                       N_("period must be a month (2026-03), a quarter (2026-Q1) or a year (2026)."))
    return period


@route("/stats/assessment", "GET",
       "Assessment by post (岗位考评): each clerk's indicators, daily and periodic results "
       "combined, ranked within the post; the distribution of scores", "manager",
       tags=("stats",),
       query=(("period", "2026-03 (a month), 2026-Q1 (a quarter) or 2026 (a year); default this month"),
              ("post", "Only this post code"), ("format", "json (default), csv or xlsx")))
def stats_assessment():
    require("manager")
    period = _period()
    post = request.args.get("post") or None
    cfg = ops().cfg
    known = set(cfg.posts) | {post_of(cfg, "").code}
    if post is not None and post not in known:
        raise ApiError(422, "unknown_post", N_("post '%(post)s' does not exist; known: %(known)s."),
                       post=post[:16], known=", ".join(sorted(known)))
    body = reader().run(assessment.assessment, period=period, post=post)
    fmt = request.args.get("format", "json")
    if fmt in ("csv", "xlsx"):
        english = request.args.get("lang") == "en"
        keys, labels, lines = assessment.flat(body["rows"], "en" if english else "zh_CN")
        header = keys if english else [f"{zh} {key}" for zh, key in zip(labels, keys)]
        return table_response(f"qrate-assessment-{period}", "assessment", header, lines, fmt, freeze="C2")
    if fmt != "json":
        raise ApiError(422, "bad_format", N_("format must be json, csv or xlsx."))
    return body


# --- yearly public commitments (公开承诺) ---------------------------------------------

class TargetIn(Strict):
    figure: str = Field(min_length=1, max_length=40)
    target: float


class CommitmentIn(Strict):
    staff: str = Field(min_length=1, max_length=32)
    year: int = Field(ge=2000, le=2100)
    text: str = Field(min_length=1, max_length=300)
    text_en: str = Field(default="", max_length=300)
    targets: list[TargetIn] = Field(min_length=1, max_length=5)


def _year() -> int:
    text = request.args.get("year") or str(ops().today().year)
    if not re.fullmatch(r"\d{4}", text) or not 2000 <= int(text) <= 2100:
        raise ApiError(422, "bad_year", N_("year must be a year like 2026."))
    return int(text)


@route("/commitments", "POST", "Set a clerk's public commitment (公开承诺) for a year: text and "
       "targets from the post's indicators; the earlier one is kept as history", "manager",
       roles=("manager",), body=CommitmentIn, status=201, tags=("assessment",))
def commitment_set(body: CommitmentIn):
    p = require("manager")
    _pledge_cache.clear()
    return ops().set_commitment(body.staff, body.year, body.text, body.text_en,
                                [t.model_dump() for t in body.targets], p.subject)


@route("/commitments", "GET", "The commitments of a year, with their history", "manager",
       tags=("assessment",), query=(("year", "YYYY (default this year)"), ("staff", "Only this clerk")))
def commitment_list():
    require("manager")
    year = _year()
    return {"year": year, "commitments": reader().run(
        pledges.commitments, year=year, staff=(request.args.get("staff") or "")[:32] or None,
        history=True)}


@route("/commitments/report", "GET", "The year-end report of the commitments: which were kept",
       "manager", tags=("assessment",), query=(("year", "YYYY (default this year)"),
                                               ("format", "json (default), csv or xlsx")))
def commitment_report():
    require("manager")
    year = _year()
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv", "xlsx"):
        raise ApiError(422, "bad_format", N_("format must be json, csv or xlsx."))
    body = reader().run(pledges.year_report, year=year)
    if fmt == "json":
        return body
    english = request.args.get("lang") == "en"
    keys, labels, lines = pledges.report_flat(body, "en" if english else "zh_CN")
    header = keys if english else [f"{zh} {key}" for zh, key in zip(labels, keys)]
    return table_response(f"qrate-commitments-{year}", "commitments", header, lines, fmt, freeze="C2")


class _TTLCache:
    """The public pledges of a (year, clerk) for a minute: the lobby and every pad ask
    often, and the route needs no sign-in, so its cost is bounded by the cache."""

    def __init__(self, seconds: float = 60, size: int = 256):
        self.seconds, self.size, self._data, self._lock = seconds, size, {}, threading.Lock()

    def get(self, key, make):
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit and now - hit[0] < self.seconds:
                return hit[1]
        value = make()
        with self._lock:
            if len(self._data) >= self.size:
                self._data.clear()
            self._data[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_pledge_cache = _TTLCache()
_WORDS = {"at_most": N_("Commitment: %(label)s at most %(target)s"),
          "at_least": N_("Commitment: %(label)s at least %(target)s"),
          "so_far": N_("this year %(value)s"), "no_data": N_("this year: no data yet"),
          "minutes": N_("%(n)s min"), "per_hour": N_("%(n)s per hour")}
PLEDGE_WORDS = {lang: {k: translate(v, loc) for k, v in _WORDS.items()}
                for lang, loc in (("zh", "zh_CN"), ("en", "en"))}


@route("/pledges", "GET", "The public commitments of this year with their progress (the lobby's "
       "阳光政务 panel, the idle pad)", "anyone", tags=("assessment",),
       query=(("staff", "Only this clerk"),))
def pledges_public():
    year = ops().today().year
    # 阳光政务: a clerk's commitments and their progress are public only when the hall's
    # [publish] figures lists "clerk_commitments" (docs/security.md); managers see them
    published = ops().cfg.raw.get("publish", {}).get("figures", [])
    caller = principal()
    if "clerk_commitments" not in published and not (caller and caller.role in ("manager", "admin")):
        return {"year": year, "published": False, "words": PLEDGE_WORDS, "commitments": []}
    staff = (request.args.get("staff") or "")[:32] or None
    if staff is not None and staff not in ops().cfg.staff:
        staff = "?"
    body = _pledge_cache.get((year, staff, ops().today().isoformat()),
                             lambda: reader().run(pledges.progress, year=year, staff=staff))
    return {"year": body["year"], "published": True, "from": body["from"], "to": body["to"],
            "words": PLEDGE_WORDS,
            "commitments": [{k: c[k] for k in ("staff", "name", "text", "text_en", "targets")}
                            for c in body["commitments"]]}


# --- citizens' feedback (群众沟通反馈) --------------------------------------------------

class FeedbackIn(Strict):
    kind: str = Field(default="opinion", pattern="^(opinion|suggestion|complaint|praise)$")
    text: str = Field(min_length=2, max_length=2000)
    phone: str = Field(default="", max_length=20)
    key: str = Field(default="", max_length=64)


class ReplyIn(Strict):
    reply: str = Field(min_length=2, max_length=1000)


_guards: dict = {}


def _guard() -> PressGuard:
    """One token bucket per client address: [feedback] per_address_per_minute, a burst of
    half that (at least 3)."""
    cfg = ops().cfg
    per_minute = int((cfg.raw.get("feedback") or {}).get("per_address_per_minute", 6))
    guard = _guards.get(id(cfg))
    if guard is None:
        guard = _guards[id(cfg)] = PressGuard(per_minute, max(3, per_minute // 2), time.monotonic)
    return guard


@route("/feedback", "POST", "A citizen's opinion or suggestion (意见建议) from the status page "
       "(with the ticket's key) or a kiosk; optional phone, masked; rate-limited",
       "anyone with a ticket key, or a kiosk", body=FeedbackIn, status=201, tags=("feedback",),
       extra_status={429: "Too many opinions from this address or ticket"})
def feedback_leave(body: FeedbackIn):
    cfg = ops().cfg
    limit = int((cfg.raw.get("feedback") or {}).get("max_chars", 500))
    if len(body.text.strip()) > limit:
        raise ApiError(422, "too_long", N_("Please keep it under %(n)s characters."), n=limit)
    if not body.key:
        p = principal()
        if p is None or p.role != "kiosk":
            raise ApiError(401, "unauthorized", N_("Leave an opinion from your ticket's page or a kiosk."))
        source = "kiosk"
    else:
        source = "status"
    if not _guard().take(request.remote_addr or "?"):
        raise ApiError(429, "too_many", N_("Too many opinions from here in a short time; please try again in a while."))
    if body.phone and not body.phone.replace(" ", "").replace("-", "").isdigit():
        raise ApiError(422, "bad_phone", N_("A phone number has digits only."))
    return ops().leave_feedback(body.kind, body.text, body.phone, source, body.key or None)


@route("/feedback", "GET", "Citizens' opinions and the figures: answered on time", "manager",
       tags=("feedback",),
       query=(("from", "First day (default 30 days ago)"), ("to", "Last day (default today)"),
              ("state", "open, overdue, answered or all (default)"),
              ("window", "Only opinions on tickets served at this window"),
              ("staff", "Only opinions on tickets served by this clerk"),
              ("service", "Only opinions on tickets of this service")))
def feedback_list():
    require("manager")
    today = ops().today()
    try:
        start = date.fromisoformat(request.args.get("from") or (today - timedelta(days=29)).isoformat())
        end = date.fromisoformat(request.args.get("to") or today.isoformat())
    except ValueError:
        raise ApiError(422, "bad_date", N_("from and to must be dates like 2026-03-31."))
    if end < start or (end - start).days > 3 * 366:
        raise ApiError(422, "bad_range", N_("from must be before to, at most three years apart."))
    state = request.args.get("state", "all")
    if state not in feedback.STATES:
        raise ApiError(422, "bad_state", N_("state must be open, overdue, answered or all."))
    only: dict = {}
    if request.args.get("window"):
        if not request.args["window"].isdigit():
            raise ApiError(422, "bad_window", N_("window must be a window number."))
        only["window"] = int(request.args["window"])
    if request.args.get("staff"):
        only["staff"] = request.args["staff"][:32]
    if request.args.get("service"):
        only["service"] = request.args["service"][:8]
    return reader().run(feedback.listing, start=start.isoformat(), end=end.isoformat(), state=state,
                        **only)


@route("/feedback/<int:id>", "GET", "One opinion as the manager answering it sees it, with "
       "the whole phone number to call back (lists mask it)", "manager", tags=("feedback",))
def feedback_one(id: int):  # noqa: A002 -- the contract's name: /api/feedback/{id}
    require("manager")
    found = reader().run(feedback.one, id=id) if id < 2 ** 63 else None
    if found is None:
        raise ApiError(404, "unknown_feedback", N_("No opinion has this number."))
    return found


@route("/feedback/<int:id>/reply", "POST", "A manager's answer to an opinion; it shows "
       "on the citizen's status page", "manager", roles=("manager",), body=ReplyIn, tags=("feedback",))
def feedback_reply(id: int, body: ReplyIn):  # noqa: A002 -- the contract's name: /api/feedback/{id}/reply
    p = require("manager")
    return ops().reply_feedback(id, body.reply, p.subject)


@route("/status/<key>/feedback", "GET", "The opinions left with this ticket and their answers",
       "anyone with the ticket's key", tags=("feedback",))
def feedback_of_ticket(key: str):
    found = reader().run(feedback.of_ticket, key=key) if len(key) < 64 else None
    if found is None:
        raise ApiError(404, "unknown_ticket", N_("No ticket has this address."))
    return {"feedback": found}


# --- training (教育培训) ----------------------------------------------------------------

class TrainingIn(Strict):
    staff: str = Field(min_length=1, max_length=32)
    item: str = Field(min_length=1, max_length=32)
    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    note: str = Field(default="", max_length=500)


def _days_range(default_days: int = 30) -> tuple[str, str]:
    today = ops().today()
    try:
        start = date.fromisoformat(request.args.get("from") or (today - timedelta(days=default_days - 1)).isoformat())
        end = date.fromisoformat(request.args.get("to") or today.isoformat())
    except ValueError:
        raise ApiError(422, "bad_date", N_("from and to must be dates like 2026-03-31."))
    if end < start or (end - start).days > 3 * 366:
        raise ApiError(422, "bad_range", N_("from must be before to, at most three years apart."))
    return start.isoformat(), end.isoformat()


def _length() -> int:
    text = request.args.get("days") or "30"
    if not text.isdigit() or not 1 <= int(text) <= 366:
        raise ApiError(422, "bad_days", N_("days must be a whole number from 1 to 366."))
    return int(text)


@route("/training/catalogue", "GET", "The hall's training catalogue ([[training]])", "manager",
       tags=("training",))
def training_catalogue():
    require("manager")
    return {"items": training.catalogue(ops().cfg)}


@route("/training/suggestions", "GET", "Training suggested per clerk from weak indicators and "
       "the reasons of bad ratings", "manager", tags=("training",),
       query=(("from", "First day (default 30 days ago)"), ("to", "Last day (default today)")))
def training_suggestions():
    require("manager")
    start, end = _days_range()
    return {"from": start, "to": end, "catalogue": len(training.catalogue(ops().cfg)),
            "staff": reader().run(training.suggestions, start=start, end=end)}


@route("/training/records", "POST", "Record training given: who, which item, when", "manager",
       roles=("manager",), body=TrainingIn, status=201, tags=("training",))
def training_record(body: TrainingIn):
    p = require("manager")
    try:
        day = date.fromisoformat(body.day)
    except ValueError:
        raise ApiError(422, "bad_date", N_("day must be a date like 2026-03-31."))
    if day > ops().today():
        raise ApiError(422, "future_day", N_("Training can be recorded once it has been given."))
    return ops().record_training(body.staff, body.item, day, body.note, p.subject)


@route("/training/records", "GET", "Training given, each with the clerk's figures before and "
       "after (same length, same services), and per item", "manager", tags=("training",),
       query=(("from", "First day (default 365 days ago)"), ("to", "Last day (default today)"),
              ("staff", "Only this clerk"), ("days", "Length of each side in days (default 30)")))
def training_records():
    require("manager")
    start, end = _days_range(365)
    return reader().run(training.records, start=start, end=end, days=_length(),
                        staff=(request.args.get("staff") or "")[:32] or None)


@route("/training/before-after", "GET", "A clerk's figures before and after a day (training "
       "given, or the start of a mentoring pair, 结对帮扶, for the mentee)", "manager",
       tags=("training",),
       query=(("staff", "Employee number"), ("day", "The day, YYYY-MM-DD"),
              ("days", "Length of each side in days (default 30)"), ("service", "Only this service")))
def training_before_after():
    require("manager")
    staff = (request.args.get("staff") or "")[:32]
    if not staff:
        raise ApiError(422, "staff_required", N_("Give staff=EMPLOYEE_NO."))
    try:
        day = date.fromisoformat(request.args.get("day") or "")
    except ValueError:
        raise ApiError(422, "bad_date", N_("day must be a date like 2026-03-31."))
    service = request.args.get("service") or None
    if service is not None and service not in ops().cfg.services:
        raise ApiError(422, "unknown_service", N_("Give a service code of this hall."))
    return reader().run(training.before_after, staff=staff, day=day.isoformat(), days=_length(),
                        service=service)
