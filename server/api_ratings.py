"""HTTP API of the rating pad, rating flags, follow-up cases and serial device health.
Changes go through the service layer; lists and figures come from the read side."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Literal, Optional

from flask import current_app, request, url_for
from pydantic import BaseModel, Field

from .engine import N_, UnknownCase
from .evaluation import CURRENT, DIMENSION_LABELS, DIMENSIONS
from .i18n import translate
from .readside import lists, screens
from .web import ApiError, Routes, Strict, ops, principal, reader, require

routes = Routes()
route = routes.route


class StepIn(Strict):
    note: str = Field(min_length=1, max_length=1000)
    finding: str = Field(default="", max_length=200,
                         description="verify only: what the check found (e.g. upheld, not upheld)")


class NoteTextIn(Strict):
    text: str = Field(min_length=1, max_length=1000)


class OwnerIn(Strict):
    owner: str = Field(min_length=1, max_length=32)


class RerateIn(Strict):
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=500)


class AppealIn(Strict):
    reason: str = Field(min_length=1, max_length=500)


class DecisionIn(Strict):
    uphold: bool
    reason: str = Field(min_length=1, max_length=500)


class CaseOut(BaseModel):
    id: int
    rating: int
    ticket: Optional[int] = None
    number: Optional[str] = None
    case_no: Optional[str] = None
    window: Optional[int] = None
    clerk: Optional[str] = None
    service: Optional[str] = None
    score: int
    owner: Optional[str] = None
    status: Literal["open", "replied", "closed"]
    opened_at: str
    callback_due: str
    callback_done_at: Optional[str] = None
    verify_due: str
    verified_at: Optional[str] = None
    rectify_due: str
    rectified_at: Optional[str] = None
    reply_due: str
    replied_at: Optional[str] = None
    rerating_score: Optional[int] = None
    appeal_status: Literal["none", "pending", "upheld", "rejected"]
    excluded: bool
    exclude_reason: Optional[str] = None
    next_step: Optional[str] = None
    overdue: list[str]
    due_soon: list[str]
    notes: Optional[list[dict]] = None
    contact: Optional[dict] = Field(None, description="The callback number: {given, phone}; "
                                    "masked except for the case's owner")


class CasesOut(BaseModel):
    state: str
    cases: list[CaseOut]
    calendar: dict


class PadStateOut(BaseModel):
    window: dict
    clerk: Optional[dict] = None
    satisfaction: dict
    pending: Optional[dict] = Field(None, description="The ticket to ask about now, if any")
    reasons: list[dict]
    prompt_seconds: int
    dimensions: list[dict] = Field(description="the optional sub-scores the pad may ask after the level")
    content_version: str
    ticket_dimensions: bool = Field(False, description="ask the sub-scores after a ticket's level too "
                                                       "([ratings] ticket_dimensions); a case always")


def _case(case_id: int) -> dict:
    """One case with its notes, as the read side shows it."""
    ops().purge_contacts()
    case = reader().run(lists.get_case, case_id=case_id)
    if case is None:
        raise UnknownCase(case=case_id)
    viewer = principal()
    if case["contact"]["given"] and viewer is not None and case["owner"] \
            and viewer.subject == case["owner"]:
        case["contact"]["phone"] = reader().run(lists.case_phone, case_id=case_id)
        case["contact"]["whole"] = True
    return case


def _day(text: Optional[str], default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(422, "bad_date", N_("'%(value)s' is not a date like 2026-05-01."), value=text[:20])


# --- the pad -----------------------------------------------------------------

@route("/pad/state", "GET", "What the window's pad shows: clerk, commitment, this month's satisfaction, a pending question",
       "the window's pad", response=PadStateOut, tags=("ratings",))
def pad_state():
    p = require("pad")
    if p.window is None:
        raise ApiError(403, "pad_without_window", N_("This pad is not bound to a window."))
    h = ops()
    window = h.window_view(p.window)
    clerk = None
    if window["clerk"]:
        no = window["clerk"]["employee_no"]
        staff = h.cfg.staff.get(no)
        clerk = {"employee_no": no, "name": window["clerk"]["name"],
                 "commitment": staff.commitment if staff else "",
                 "commitment_en": staff.commitment_en if staff else "",
                 "photo_url": url_for("pad.photo", employee_no=no)}
    conf = h.cfg.raw["ratings"]
    satisfaction = reader().run(screens.pad_satisfaction, window=p.window)
    if "window_satisfaction" not in h.cfg.raw["publish"]["figures"]:  # 阳光政务: the hall decides
        satisfaction = {"since": satisfaction["since"], "ratings": 0, "satisfied_rate": None,
                        "good_rate": None, "mean_score": None, "published": False}
    return {"window": {"number": window["number"], "name": window["name"], "status": window["status"]},
            "clerk": clerk, "satisfaction": satisfaction,
            "pending": h.rating_due(p.window),
            "reasons": [{"code": c, "label": translate(c)} for c in conf["reasons"]],
            "prompt_seconds": int(conf["prompt_seconds"]),
            "dimensions": [{"code": c, "label": translate(DIMENSION_LABELS[c])} for c in DIMENSIONS],
            "content_version": CURRENT,
            "ticket_dimensions": bool(conf.get("ticket_dimensions", False))}


# --- managers: ratings, flags, cases ----------------------------------------------

@route("/ratings", "GET", "Ratings in a date range (excluded ones marked)", "manager",
       tags=("ratings",), query=(("from", "YYYY-MM-DD, default today"), ("to", "YYYY-MM-DD, default today"),
                                 ("window", "only this window")))
def list_ratings():
    require("manager")
    h = ops()
    start = _day(request.args.get("from"), h.today())
    end = _day(request.args.get("to"), start)
    window = int(request.args["window"]) if request.args.get("window", "").isdigit() else None
    return {"from": start.isoformat(), "to": end.isoformat(),
            "ratings": reader().run(lists.ratings_in_range, start=start.isoformat(),
                                        end=end.isoformat(), window=window)}


@route("/ratings/flags", "GET", "Rating patterns that cannot be honest, per window", "manager",
       tags=("ratings",), query=(("from", "YYYY-MM-DD, default 30 days ago"), ("to", "YYYY-MM-DD, default today")))
def rating_flags():
    require("manager")
    h = ops()
    end = _day(request.args.get("to"), h.today())
    start = _day(request.args.get("from"), end - timedelta(days=30))
    flags = reader().run(lists.rating_flags, start=start.isoformat(), end=end.isoformat(),
                         refused=dict(h.press_guard.refused))
    for f in flags:
        f["detail"] = translate(f["detail"])
    return {"from": start.isoformat(), "to": end.isoformat(), "flags": flags}


@route("/cases", "GET", "Follow-up cases of bad ratings", "manager", response=CasesOut,
       tags=("cases",), query=(("state", "open (default), due_soon, overdue, closed or all"),))
def list_cases():
    require("manager")
    state = request.args.get("state", "open")
    if state not in ("open", "due_soon", "overdue", "closed", "all"):
        raise ApiError(422, "bad_state", N_("state must be one of: %(known)s."),
                       known="open, due_soon, overdue, closed, all")
    ops().purge_contacts()  # a phone past its retention is gone before anyone reads the list
    return {"state": state, "cases": reader().run(lists.list_cases, state=state),
            "calendar": reader().run(lists.calendar_status)}


@route("/cases/<int:case_id>", "GET", "One case with its notes", "manager", response=CaseOut, tags=("cases",))
def get_case(case_id: int):
    require("manager")
    return _case(case_id)


@route("/cases/<int:case_id>/steps/<step>", "POST",
       "Record a step done: callback (回访), verify (核实), rectify (整改) or reply (反馈)", "manager",
       roles=("manager",), body=StepIn, response=CaseOut, tags=("cases",))
def case_step(case_id: int, step: str, body: StepIn):
    p = require("manager")
    return _case(ops().case_step(case_id, step, p.subject, body.note, body.finding))


@route("/cases/<int:case_id>/notes", "POST", "Add a note to a case", "manager", roles=("manager",), body=NoteTextIn,
       response=CaseOut, tags=("cases",))
def case_note(case_id: int, body: NoteTextIn):
    p = require("manager")
    return _case(ops().case_note(case_id, p.subject, body.text))


@route("/cases/<int:case_id>/owner", "POST", "Hand a case to another owner", "manager", roles=("manager",), body=OwnerIn,
       response=CaseOut, tags=("cases",))
def case_owner(case_id: int, body: OwnerIn):
    p = require("manager")
    return _case(ops().case_owner(case_id, p.subject, body.owner))


@route("/cases/<int:case_id>/rerate", "POST", "The citizen's one re-rating (追评) after the reply; closes the case",
       "manager (recording the citizen's answer)", roles=("manager",), body=RerateIn, response=CaseOut, tags=("cases",))
def case_rerate(case_id: int, body: RerateIn):
    p = require("manager")
    return _case(ops().case_rerate(case_id, p.subject, body.score, body.comment))


@route("/cases/<int:case_id>/close", "POST", "Close a replied case without a re-rating", "manager",
       roles=("manager",), body=NoteTextIn, response=CaseOut, tags=("cases",))
def case_close(case_id: int, body: NoteTextIn):
    p = require("manager")
    return _case(ops().case_close(case_id, p.subject, body.text))


@route("/cases/<int:case_id>/appeal", "POST", "Appeal (申诉) a rating as mistaken or malicious",
       "the clerk of the rated window, manager", roles=("clerk", "manager"), body=AppealIn, response=CaseOut, tags=("cases",))
def case_appeal(case_id: int, body: AppealIn):
    p = require("clerk", "manager")
    if p.role == "clerk":
        case = _case(case_id)
        if case["window"] != p.window and case["clerk"] != p.subject:
            raise ApiError(403, "other_window", N_("You act for window %(mine)s, not window %(window)s."),
                           mine=p.window, window=case["window"])
    return _case(ops().case_appeal(case_id, p.subject, body.reason))


@route("/cases/<int:case_id>/appeal/decision", "POST",
       "Decide an appeal (复核): upheld excludes the rating from the figures, reason kept", "manager",
       roles=("manager",), body=DecisionIn, response=CaseOut, tags=("cases",))
def case_appeal_decision(case_id: int, body: DecisionIn):
    p = require("manager")
    return _case(ops().case_decide_appeal(case_id, p.subject, body.uphold, body.reason))


@route("/devices/serial", "GET", "Serial pads and keypads: port, connected, frames read, dropped, last error",
       "manager", tags=("devices",))
def serial_health():
    require("manager")
    hub = current_app.extensions.get("qrate_devices")
    serial = getattr(hub, "serial", None)
    return {"ports": serial.health() if serial else []}
