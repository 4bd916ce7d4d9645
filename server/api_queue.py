"""The queue's HTTP API under /api: tickets, windows, ratings, sign-in. Thin views that
check who calls, parse the body and call the service layer (server.operations)."""
from __future__ import annotations

from typing import Literal, Optional

from flask import current_app, session
from pydantic import BaseModel, Field, model_validator

from . import auth, security
from .engine import N_
from .openapi import document
from .web import (
    ApiError,
    Routes,
    Strict,
    Text200,
    acting_window,
    keep_in_session,
    ops,
    require,
    require_window,
)

routes = Routes()
route = routes.route


class TicketIn(Strict):
    service: str = Field(min_length=1, max_length=8, description="Service code, e.g. A")
    priority: bool = False
    priority_kind: Optional[Literal["elderly", "disabled", "appointment", "other"]] = None


class TicketOut(BaseModel):
    id: int
    number: str
    service: str
    service_name: str
    service_name_en: str
    status: Literal["waiting", "called", "parked", "done", "no_show", "cancelled"]
    priority: bool
    priority_kind: Optional[str] = None
    issued_at: str
    called_at: Optional[str] = None
    finished_at: Optional[str] = None
    window: Optional[int] = None
    target_window: Optional[int] = None
    recalls: int
    day: str
    waiting_ahead: int
    estimated_wait_s: Optional[int] = None
    status_url: Optional[str] = Field(None, description="Only in the answer to the kiosk that issued it")
    appointment: bool = Field(False, description="Issued by an appointment's check-in (约)")
    checked_in: bool = Field(True, description="False for a phone's remote ticket until the kiosk checks it in")
    remote: bool = Field(False, description="Taken from the phone page")
    queue_at: Optional[str] = Field(None, description="The time it queues by: the issue time, or an appointment's slot start")


class CallIn(Strict):
    ticket: int = Field(description="A waiting ticket to call out of order, or a parked one to call back")
    reason: str = Text200


class NoteIn(Strict):
    note: str = Text200


class ReasonIn(Strict):
    reason: str = Text200


class TransferIn(Strict):
    service: Optional[str] = Field(None, max_length=8)
    window: Optional[int] = None
    note: str = Text200

    @model_validator(mode="after")
    def one_target(self):
        if (self.service is None) == (self.window is None):
            raise ValueError("give exactly one of service or window")
        return self


class DimensionsIn(Strict):
    """The optional sub-scores of the on-site evaluation (docs/ratings.md)."""
    efficiency: Optional[int] = Field(None, ge=1, le=5, description="服务效率")
    level: Optional[int] = Field(None, ge=1, le=5, description="服务水平")
    attitude: Optional[int] = Field(None, ge=1, le=5, description="服务态度")


class RatingIn(Strict):
    ticket: Optional[int] = Field(None, description="the ticket; null for a case asked without one")
    request: Optional[int] = Field(None, description="the rating request of the case (一次一评)")
    score: int = Field(ge=1, le=5)
    reasons: list[str] = Field(default_factory=list, max_length=10)
    comment: str = Field(default="", max_length=500)
    # after a 1 or 2, optional: the number the hall may call back (a mobile, or a landline
    # with its area code); kept only until the case closes plus the hall's retention
    phone: Optional[str] = Field(default=None, pattern=r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
    dimensions: Optional[DimensionsIn] = None


class RatingOut(BaseModel):
    id: int
    ticket: Optional[int] = None
    number: Optional[str] = None
    case_no: Optional[str] = None
    matter_code: Optional[str] = None
    matter_name: Optional[str] = None
    dimensions: Optional[dict] = None
    content_version: Optional[str] = None
    score: int
    reasons: list[str]
    comment: str
    window: int
    clerk: Optional[str] = None
    service: Optional[str] = None
    source: str
    created_at: str


class LoginIn(Strict):
    user: str = Field(min_length=1, max_length=32)
    password: str = Field(min_length=1, max_length=200)
    window: Optional[int] = None
    take_over: bool = False  # a window another clerk holds: sign that clerk out


class LoginOut(BaseModel):
    token: str
    role: str
    user: str
    name: str
    window: Optional[int] = None


class MeOut(BaseModel):
    kind: Literal["user", "device"]
    role: str
    subject: str
    name: str
    window: Optional[int] = None


class OkOut(BaseModel):
    ok: bool


class WindowOut(BaseModel):
    number: int
    name: str
    services: list[str]
    status: Literal["open", "paused", "closed"]
    clerk: Optional[dict] = None
    current: Optional[dict] = None


class ServiceOut(BaseModel):
    code: str
    name: str
    name_en: str
    waiting: int
    issued: int
    daily_cap: Optional[int] = None
    remaining: Optional[int] = None
    warning: bool
    open: bool
    closed_reason: Optional[str] = None
    hours: str
    estimated_wait_s: Optional[int] = None
    target_wait_s: int
    windows: list[int]


class ServicesOut(BaseModel):
    services: list[ServiceOut]


class WindowsOut(BaseModel):
    windows: list[WindowOut]


class QueueOut(BaseModel):
    seq: int = Field(description="The last event's sequence number; events after it follow")
    at: str
    day: str
    hall: dict
    services: list[ServiceOut]
    windows: list[WindowOut]
    tickets: list[dict] = Field(description="Every waiting, called and parked ticket of today")
    calls: list[dict] = Field(description="The latest calls, newest first")


@route("/openapi.json", "GET", "This document", "anyone", tags=("meta",))
def openapi():
    # the document is fixed for the life of the process: built once, not per request
    ext = current_app.extensions
    if "qrate_openapi" not in ext:
        ext["qrate_openapi"] = document(ext["qrate_api_docs"], "qrate", current_app.config["VERSION"])
    return ext["qrate_openapi"]


@route("/services", "GET", "Services with their queues and estimates", "anyone",
       response=ServicesOut, tags=("queue",))
def services():
    return {"services": ops().snapshot()["services"]}


@route("/windows", "GET", "Windows with their state and current ticket", "anyone",
       response=WindowsOut, tags=("queue",))
def windows():
    return {"windows": ops().snapshot()["windows"]}


@route("/queue", "GET", "The live snapshot (the same body as the Socket.IO snapshot)", "anyone",
       response=QueueOut, tags=("queue",))
def queue_snapshot():
    return ops().snapshot()


@route("/tickets", "POST", "Issue a ticket", "kiosk", body=TicketIn, response=TicketOut,
       status=201, tags=("tickets",))
def issue_ticket(body: TicketIn):
    require("kiosk", "manager")
    return ops().issue(body.service, body.priority, body.priority_kind)


@route("/tickets/<int:id>", "GET", "One ticket", "any valid token", response=TicketOut,
       tags=("tickets",))
def get_ticket(id: int):
    require()
    return ops().public_ticket(id)


@route("/status/<key>", "GET", "A citizen's own ticket, by the key in its status_url", "anyone",
       response=TicketOut, tags=("tickets",))
def ticket_status(key: str):
    view = ops().ticket_by_key(key) if len(key) < 64 else None
    if view is None:
        raise ApiError(404, "unknown_ticket", N_("No ticket has this address."))
    return view


@route("/windows/<int:window>/call-next", "POST", "Call the next ticket", "clerk at the window, its keypad, manager",
       response=TicketOut, extra_status={204: "Nothing waits"}, tags=("window",))
def call_next(window: int):
    require_window(window)
    ticket = ops().call_next(window)
    if ticket is None:
        return "", 204
    return ticket


@route("/windows/<int:window>/call", "POST", "Call one ticket out of order, or call back a parked one",
       "clerk at the window, its keypad, manager", body=CallIn, response=TicketOut, tags=("window",))
def call_ticket(window: int, body: CallIn):
    require_window(window)
    return ops().call_ticket(window, body.ticket, body.reason)


def _ticket_action(ticket_id: int, method: str, **kw):
    p = require("clerk", "keypad", "manager")
    return getattr(ops(), method)(ticket_id, acting_window(p), **kw)


@route("/tickets/<int:id>/recall", "POST", "Call the ticket again", "clerk at its window, keypad, manager",
       response=TicketOut, tags=("window",))
def recall(id: int):
    return _ticket_action(id, "recall")


@route("/tickets/<int:id>/no-show", "POST", "The citizen did not come", "clerk at its window, keypad, manager",
       response=TicketOut, tags=("window",))
def no_show(id: int):
    return _ticket_action(id, "no_show")


@route("/tickets/<int:id>/finish", "POST", "The service is done", "clerk at its window, keypad, manager",
       response=TicketOut, tags=("window",))
def finish(id: int):
    return _ticket_action(id, "finish")


@route("/tickets/<int:id>/park", "POST", "Park (挂起) the ticket being served", "clerk at its window, keypad, manager",
       body=NoteIn, response=TicketOut, tags=("window",))
def park(id: int, body: NoteIn):
    return _ticket_action(id, "park", note=body.note)


@route("/tickets/<int:id>/transfer", "POST", "Send the ticket to another service or window",
       "clerk, manager", body=TransferIn, response=TicketOut, tags=("window",))
def transfer(id: int, body: TransferIn):
    p = require("clerk", "manager")
    return ops().transfer(id, service=body.service, window=body.window, note=body.note,
                          acting_window=p.window if p.role == "clerk" else None)


@route("/tickets/<int:id>/cancel", "POST", "Cancel a waiting or parked ticket", "clerk, manager",
       body=ReasonIn, response=TicketOut, tags=("window",))
def cancel(id: int, body: ReasonIn):
    p = require("clerk", "manager")
    return ops().cancel(id, body.reason, acting_window=p.window if p.role == "clerk" else None)


@route("/windows/<int:window>/pause", "POST", "Pause the window", "clerk at the window, its keypad, manager",
       body=ReasonIn, response=WindowOut, tags=("window",))
def pause(window: int, body: ReasonIn):
    require_window(window)
    return ops().pause(window, body.reason)


@route("/windows/<int:window>/resume", "POST", "Open the window again", "clerk at the window, its keypad, manager",
       response=WindowOut, tags=("window",))
def resume(window: int):
    require_window(window)
    return ops().resume(window)


@route("/ratings", "POST", "Rate a service just finished", "the window's pad",
       body=RatingIn, response=RatingOut, status=201, extra_status={409: "Already rated"},
       tags=("ratings",))
def rate(body: RatingIn):
    p = require("pad")
    if p.window is None:
        raise ApiError(403, "pad_without_window", N_("This pad is not bound to a window."))
    if body.ticket is None and body.request is None:
        raise ApiError(422, "ticket_or_request", N_("Give the ticket or the rating request to rate."))
    dims = body.dimensions.model_dump(exclude_none=True) if body.dimensions else None
    return ops().rate(body.ticket, p.window, body.score, body.reasons, body.comment,
                       source="touch", device=p.name, request=body.request, dimensions=dims,
                       phone=body.phone if body.score <= 2 else None)


@route("/login", "POST", "Sign in; a clerk signs in at a window", "anyone", body=LoginIn,
       response=LoginOut, extra_status={401: "Wrong employee number or password",
                                     409: "window_occupied: another clerk holds the window (send take_over)",
                                     429: "Too many failed sign-ins: wait (Retry-After)"},
       tags=("auth",))
def login(body: LoginIn):
    h = ops()
    key = security.login_guard(body.user)  # 429 while this (account, address) must wait
    with h.store() as s:
        try:
            user = auth.check_login(s.db, body.user, body.password)
        except auth.BadLogin:
            security.login_failed(key)
            raise
        security.login_succeeded(key)
        if user["role"] == "clerk" and body.window is None:
            raise ApiError(422, "window_required", N_("A clerk signs in at a window; give its number."))
        if body.window is not None:
            h.known_window(body.window)
    moved = None
    if user["role"] == "clerk":  # one clerk, one window: 409 window_occupied, or take it over
        moved = h.sign_in_clerk(body.window, user["employee_no"], body.take_over)
    with h.store() as s:
        token = auth.new_token(s.db, "user", user["employee_no"], user["role"], body.window,
                               expires_in_s=h.cfg.raw["auth"]["user_token_hours"] * 3600)
        if moved is not None:
            auth.end_other_sign_ins(s.db, user["employee_no"], body.window, token, moved["displaced"])
    keep_in_session(token)
    return {"token": token, "role": user["role"], "user": user["employee_no"],
            "name": user["name"], "window": body.window}


@route("/logout", "POST", "Sign out; a clerk's window closes", "any signed-in user", response=OkOut,
       tags=("auth",))
def logout():
    p = require("clerk", "manager")
    h = ops()
    with h.store() as s:
        auth.revoke(s.db, p.token_hash)
    if p.role == "clerk" and p.window is not None:
        h.sign_out(p.window, p.subject)
    session.pop("token", None)
    session.pop("th", None)
    return {"ok": True}


@route("/me", "GET", "Who this token belongs to", "any valid token", response=MeOut, tags=("auth",))
def me():
    p = require()
    return {"kind": p.kind, "role": p.role, "subject": p.subject, "name": p.name,
            "window": p.window}


