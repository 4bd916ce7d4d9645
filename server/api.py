"""The HTTP API under /api: thin views that check who calls, parse the body
and call the service layer. Every error leaves as JSON with a code and a message."""
from __future__ import annotations

import functools
from typing import Literal, Optional

from flask import Blueprint, current_app, g, jsonify, request, session
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from werkzeug.exceptions import HTTPException

from . import auth, engine
from .engine import N_, QueueError
from .i18n import translate
from .openapi import REGISTRY, RouteDoc, document

bp = Blueprint("api", __name__, url_prefix="/api")

Text200 = Field(default="", max_length=200)


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


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


class RatingIn(Strict):
    ticket: int
    score: int = Field(ge=1, le=5)
    reasons: list[str] = Field(default_factory=list, max_length=10)
    comment: str = Field(default="", max_length=500)


class RatingOut(BaseModel):
    id: int
    ticket: int
    number: str
    score: int
    reasons: list[str]
    comment: str
    window: int
    clerk: Optional[str] = None
    service: str
    source: str
    created_at: str


class LoginIn(Strict):
    user: str = Field(min_length=1, max_length=32)
    password: str = Field(min_length=1, max_length=200)
    window: Optional[int] = None


class LoginOut(BaseModel):
    token: str
    role: str
    user: str
    name: str
    window: Optional[int] = None


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


# --- errors -----------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details=None, /, **params):
        self.status, self.code, self.msgid, self.details, self.params = \
            status, code, message, details, params


def error_response(http_status: int, error_code: str, msgid: str, details=None, /, **params):
    body = {"code": error_code, "message": translate(msgid, **params),
            "message_en": translate(msgid, "en", **params)}
    if details is not None:
        body["details"] = details
    return jsonify({"error": body}), http_status


def register_errors(app) -> None:
    """Turn every failure into the JSON error shape, the whole app over."""

    @app.errorhandler(QueueError)
    def queue_error(exc: QueueError):
        return error_response(exc.status, exc.code, exc.message, None, **exc.params)

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.msgid, exc.details, **exc.params)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        codes = {404: ("not_found", N_("There is nothing at this address.")),
                 405: ("method_not_allowed", N_("This address does not take that method.")),
                 413: ("too_large", N_("The request is too large.")),
                 400: ("bad_request", N_("The request is malformed."))}
        code, msgid = codes.get(exc.code, ("http_error", N_("The request failed.")))
        return error_response(exc.code or 500, code, msgid, None)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        return error_response(500, "internal", N_("Something went wrong on the server; it has been logged."), None)


# --- who calls --------------------------------------------------------------

def principal() -> Optional[auth.Principal]:
    if "principal" not in g:
        raw = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            raw = header[7:].strip()
        elif session.get("token"):
            raw = session["token"]
        with current_app.extensions["qrate"].store() as s:
            g.principal = auth.resolve(s.db, raw)
    return g.principal


def need(*roles: str) -> auth.Principal:
    p = principal()
    if p is None:
        raise ApiError(401, "unauthorized", N_("Sign in or send a valid token."))
    if roles and p.role not in roles:
        raise ApiError(403, "forbidden", N_("Your role (%(role)s) may not do this; it needs: %(roles)s."),
                       role=p.role, roles=", ".join(roles))
    return p


def need_window(window: int) -> auth.Principal:
    """A clerk signed in at this window, its keypad, or a manager."""
    p = need("clerk", "keypad", "manager")
    _known_window(window)
    if p.role != "manager" and p.window != window:
        raise ApiError(403, "other_window", N_("You act for window %(mine)s, not window %(window)s."),
                       mine=p.window, window=window)
    return p


def acting_window(p: auth.Principal) -> Optional[int]:
    """The window a principal acts for (None for managers: the ticket's own window)."""
    return None if p.role == "manager" else p.window


def parse(model: type[BaseModel]):
    data = request.get_json(silent=True, force=True) if request.data else {}
    if data is None:
        raise ApiError(400, "bad_json", N_("The body is not valid JSON."))
    if not isinstance(data, dict):
        raise ApiError(422, "invalid", N_("The body must be a JSON object."))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"field": ".".join(str(x) for x in e["loc"]), "problem": e["msg"]}
                   for e in exc.errors(include_url=False, include_input=False)]
        raise ApiError(422, "invalid", N_("Some fields are wrong: %(fields)s."), details,
                       fields=", ".join(d["field"] or "body" for d in details))


def hall():
    return current_app.extensions["qrate"]


def route(rule: str, method: str, summary: str, auth_: str, *, body=None, response=None,
          status: int = 200, extra_status=None, tags=(), query=()):
    """Register a view on the blueprint and in the OpenAPI registry."""
    def wrap(fn):
        REGISTRY.append(RouteDoc(rule, method, summary, auth_, body, response, status,
                                 extra_status or {}, tags, query))

        @functools.wraps(fn)
        def view(**kw):
            if body is not None:
                kw["body"] = parse(body)
            result = fn(**kw)
            if isinstance(result, tuple) or not isinstance(result, (dict, list)):
                return result
            return jsonify(result), status
        bp.add_url_rule(rule, fn.__name__, view, methods=[method])
        return view
    return wrap


# --- views ------------------------------------------------------------------

@route("/openapi.json", "GET", "This document", "anyone", tags=("meta",))
def openapi():
    return document("qrate", current_app.config["VERSION"])


@route("/services", "GET", "Services with their queues and estimates", "anyone",
       response=ServicesOut, tags=("queue",))
def services():
    return {"services": hall().snapshot()["services"]}


@route("/windows", "GET", "Windows with their state and current ticket", "anyone",
       response=WindowsOut, tags=("queue",))
def windows():
    return {"windows": hall().snapshot()["windows"]}


@route("/queue", "GET", "The live snapshot (the same body as the Socket.IO snapshot)", "anyone",
       response=QueueOut, tags=("queue",))
def queue_snapshot():
    return hall().snapshot()


@route("/tickets", "POST", "Issue a ticket", "kiosk", body=TicketIn, response=TicketOut,
       status=201, tags=("tickets",))
def issue_ticket(body: TicketIn):
    need("kiosk", "manager")
    return hall().issue(body.service, body.priority, body.priority_kind)


@route("/tickets/<int:id>", "GET", "One ticket", "any valid token", response=TicketOut,
       tags=("tickets",))
def get_ticket(id: int):
    need()
    return hall().public_ticket(id)


@route("/status/<key>", "GET", "A citizen's own ticket, by the key in its status_url", "anyone",
       response=TicketOut, tags=("tickets",))
def ticket_status(key: str):
    view = hall().ticket_by_key(key) if len(key) < 64 else None
    if view is None:
        raise ApiError(404, "unknown_ticket", N_("No ticket has this address."))
    return view


@route("/windows/<int:window>/call-next", "POST", "Call the next ticket", "clerk at the window, its keypad, manager",
       response=TicketOut, extra_status={204: "Nothing waits"}, tags=("window",))
def call_next(window: int):
    need_window(window)
    ticket = hall().call_next(window)
    if ticket is None:
        return "", 204
    return ticket


@route("/windows/<int:window>/call", "POST", "Call one ticket out of order, or call back a parked one",
       "clerk at the window, its keypad, manager", body=CallIn, response=TicketOut, tags=("window",))
def call_ticket(window: int, body: CallIn):
    need_window(window)
    return hall().call_ticket(window, body.ticket, body.reason)


def _known_window(window: int) -> None:
    if window not in hall().cfg.windows:
        raise engine.UnknownWindow(window=window, known=", ".join(str(n) for n in hall().cfg.windows))


def _ticket_action(ticket_id: int, method: str, **kw):
    p = need("clerk", "keypad", "manager")
    return getattr(hall(), method)(ticket_id, acting_window(p), **kw)


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
    p = need("clerk", "manager")
    h = hall()
    with h.store() as s:
        current = h.ticket(s, id)  # the row alone: who holds it decides who may move it
    if p.role == "clerk" and current.status in ("called", "parked") and current.window != p.window:
        raise ApiError(403, "other_window", N_("You act for window %(mine)s, not window %(window)s."),
                       mine=p.window, window=current.window)
    return h.transfer(id, service=body.service, window=body.window, note=body.note)


@route("/tickets/<int:id>/cancel", "POST", "Cancel a waiting or parked ticket", "clerk, manager",
       body=ReasonIn, response=TicketOut, tags=("window",))
def cancel(id: int, body: ReasonIn):
    need("clerk", "manager")
    return hall().cancel(id, body.reason)


@route("/windows/<int:window>/pause", "POST", "Pause the window", "clerk at the window, its keypad, manager",
       body=ReasonIn, response=WindowOut, tags=("window",))
def pause(window: int, body: ReasonIn):
    need_window(window)
    return hall().pause(window, body.reason)


@route("/windows/<int:window>/resume", "POST", "Open the window again", "clerk at the window, its keypad, manager",
       response=WindowOut, tags=("window",))
def resume(window: int):
    need_window(window)
    return hall().resume(window)


@route("/ratings", "POST", "Rate a service just finished", "the window's pad",
       body=RatingIn, response=RatingOut, status=201, extra_status={409: "Already rated"},
       tags=("ratings",))
def rate(body: RatingIn):
    p = need("pad")
    if p.window is None:
        raise ApiError(403, "pad_without_window", N_("This pad is not bound to a window."))
    return hall().rate(body.ticket, p.window, body.score, body.reasons, body.comment,
                       source="touch", device=p.name)


@route("/login", "POST", "Sign in; a clerk signs in at a window", "anyone", body=LoginIn,
       response=LoginOut, tags=("auth",))
def login(body: LoginIn):
    h = hall()
    with h.store() as s:
        user = auth.check_login(s.db, body.user, body.password)
        if user["role"] == "clerk":
            if body.window is None:
                raise ApiError(422, "window_required", N_("A clerk signs in at a window; give its number."))
            _known_window(body.window)
        elif body.window is not None:
            _known_window(body.window)
        token = auth.new_token(s.db, "user", user["employee_no"], user["role"], body.window)
    if user["role"] == "clerk":
        h.sign_in(body.window, user["employee_no"])
    session["token"] = token
    return {"token": token, "role": user["role"], "user": user["employee_no"],
            "name": user["name"], "window": body.window}


@route("/logout", "POST", "Sign out; a clerk's window closes", "any signed-in user", tags=("auth",))
def logout():
    p = need("clerk", "manager")
    h = hall()
    with h.store() as s:
        auth.revoke(s.db, p.token_hash)
    if p.role == "clerk" and p.window is not None:
        with h.store() as s:
            still = h.window(s, p.window).clerk == p.subject
        if still:
            h.sign_out(p.window)
    session.pop("token", None)
    return {"ok": True}


@route("/me", "GET", "Who this token belongs to", "any valid token", tags=("auth",))
def me():
    p = need()
    return {"kind": p.kind, "role": p.role, "subject": p.subject, "name": p.name,
            "window": p.window}


from . import ratings_api  # noqa: E402,F401  (rating pad, flags, cases: routes join the blueprint)
from devices import routes as _device_routes  # noqa: E402,F401  (printer health, reprint)
# Screens, voice calls and the clerk console's read side (own modules, own routes).
from . import screens, voice  # noqa: E402,F401
voice.register_routes()
# Feature route modules register on bp when imported (after the names above exist).
from . import manage, stats_api  # noqa: E402,F401
