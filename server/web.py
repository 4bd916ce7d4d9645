"""What every HTTP route module shares: JSON errors, strict bodies, who calls, and the
route decorator that also documents the route for /api/openapi.json.

A leaf of the web layer: route modules import from here; ``create_app`` registers
each module's ``routes`` on the API blueprint. Nothing here imports a route module.
"""
from __future__ import annotations

import errno
import functools
import sqlite3
import time
from datetime import datetime, timezone
from typing import Optional

from flask import current_app, g, jsonify, request, session
from flask.sessions import SecureCookieSessionInterface
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from werkzeug.exceptions import HTTPException

from . import auth
from .engine import N_, QueueError
from .i18n import translate
from .openapi import RouteDoc

Text200 = Field(default="", max_length=200)


class Strict(BaseModel):
    """A request body: strict types, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


# --- errors -----------------------------------------------------------------

class ApiError(Exception):
    """An HTTP-level refusal (auth, bad query) with a code and a message id."""

    def __init__(self, status: int, code: str, message: str, details=None, /, **params):
        self.status, self.code, self.msgid, self.details, self.params = \
            status, code, message, details, params


def error_response(http_status: int, error_code: str, msgid: str, details=None, /, **params):
    body = {"code": error_code, "message": translate(msgid, **params),
            "message_en": translate(msgid, "en", **params)}
    if details is not None:
        body["details"] = details
    return jsonify({"error": body}), http_status


HTTP_CODES = {404: ("not_found", N_("There is nothing at this address.")),
              405: ("method_not_allowed", N_("This address does not take that method.")),
              413: ("too_large", N_("The request is too large.")),
              400: ("bad_request", N_("The request is malformed."))}


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
        code, msgid = HTTP_CODES.get(exc.code, ("http_error", N_("The request failed.")))
        return error_response(exc.code or 500, code, msgid, None)

    @app.errorhandler(sqlite3.OperationalError)
    @app.errorhandler(OSError)
    def storage_error(exc: Exception):
        """A full disk: 507 with a code, reads go on serving; nothing half-written (the
        transaction rolled back), and the next write after space is freed succeeds."""
        if disk_full(exc):
            app.logger.warning("disk full: %s", exc)
            return error_response(507, "disk_full", N_("The hall PC's disk is full: nothing was "
                                                       "saved. Free some space; the hall goes on by itself."), None)
        if "database is locked" in str(exc):
            return error_response(503, "busy", N_("The database is busy; try again in a moment."), None)
        return unexpected(exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        return error_response(500, "internal", N_("Something went wrong on the server; it has been logged."), None)


def disk_full(exc: BaseException) -> bool:
    """SQLITE_FULL or ENOSPC, however it was wrapped."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# --- the session cookie -------------------------------------------------------

class PagesSessionInterface(SecureCookieSessionInterface):
    """The signed session cookie is the pages' (a device page's token, a signed-in
    clerk's); a call that carries its own bearer token never reads it, so devices and
    integrations pay nothing for a cookie they may happen to hold."""

    def open_session(self, app, request_):
        if request_.headers.get("Authorization", "").startswith("Bearer "):
            return self.session_class()
        return super().open_session(app, request_)

    def get_expiration_time(self, app, session_):
        """A device page's cookie lives as long as its token (``exp``, set by
        ``keep_in_session``), not a fixed time: the cookie dies with the token's expiry."""
        exp = session_.get("exp") if session_.permanent else None
        if isinstance(exp, (int, float)):
            return datetime.fromtimestamp(exp, timezone.utc)
        return super().get_expiration_time(app, session_)


# --- the hall's objects -----------------------------------------------------

def ops():
    """The service layer (server.operations.Operations)."""
    return current_app.extensions["qrate"]


def reader():
    """The read side (server.readside.Reader): reports on their own connection and thread."""
    return current_app.extensions["qrate_reader"]


# --- who calls --------------------------------------------------------------

def keep_in_session(raw: str) -> None:
    """A page's token goes into the signed session cookie as its SHA-256 only: the cookie
    is no bearer token, and a copied cookie's token dies with a revoke like any other."""
    session.pop("token", None)
    session["th"] = auth.token_hash(raw)
    with ops().store() as s:  # a device page's permanent cookie ends when its token does
        exp = auth.expires_at(s.db, session["th"])
    if exp is not None:
        session["exp"] = exp
    else:
        session.pop("exp", None)


def session_principal(db) -> Optional[auth.Principal]:
    """The principal of the page's session cookie: the token's hash it keeps. Cookies of
    older versions that held the raw token are no longer read (they were bearer tokens)."""
    return auth.resolve_hash(db, session.get("th")) if session.get("th") else None


def principal() -> Optional[auth.Principal]:
    """The user or device behind the bearer token or the page's session cookie, or None."""
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        with ops().store() as s:
            if header.startswith("Bearer "):
                g.principal = auth.resolve(s.db, header[7:].strip())
            else:
                g.principal = session_principal(s.db)
    return g.principal


def require(*roles: str) -> auth.Principal:
    """The caller, who must hold one of ``roles`` (any valid token when none are given)."""
    p = principal()
    if p is None:
        if _presented_expired():
            raise ApiError(401, "token_expired", N_("This sign-in has expired; sign in again."))
        raise ApiError(401, "unauthorized", N_("Sign in or send a valid token."))
    if roles and p.role not in roles and not (p.role == "admin" and "manager" in roles):
        raise ApiError(403, "forbidden", N_("Your role (%(role)s) may not do this; it needs: %(roles)s."),
                       role=p.role, roles=", ".join(roles))
    return p


def _presented_expired() -> bool:
    """Whether the caller presented a token (bearer or the cookie's hash) that has expired."""
    header = request.headers.get("Authorization", "")
    h = auth.token_hash(header[7:].strip()) if header.startswith("Bearer ") else session.get("th")
    if not isinstance(h, str) or not h:
        return False
    with ops().store() as s:
        exp = auth.expires_at(s.db, h)
    return exp is not None and exp <= time.time()


def require_window(window: int) -> auth.Principal:
    """A clerk signed in at this window, its keypad, or a manager."""
    p = require("clerk", "keypad", "manager")  # admin too: require() admits admin for manager
    ops().known_window(window)
    if p.role not in ("manager", "admin") and p.window != window:
        raise ApiError(403, "other_window", N_("You act for window %(mine)s, not window %(window)s."),
                       mine=p.window, window=window)
    return p


def acting_window(p: auth.Principal) -> Optional[int]:
    """The window a principal acts for (None for managers: the ticket's own window)."""
    return None if p.role in ("manager", "admin") else p.window


def parse(model: type[BaseModel]):
    """The request's JSON body checked against ``model``; 400/422 with the fields otherwise."""
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


# --- routes -------------------------------------------------------------------

def _gate(who: str, roles) -> Optional[tuple]:
    """Who is checked before a body is read: None (nobody: a public route), () (any valid
    token) or the declared role names."""
    if roles is not None:
        return tuple(roles)
    return None if who.strip().lower().startswith("anyone") else ()


class Routes:
    """One route module's views and their OpenAPI docs, registered by ``create_app``."""

    def __init__(self):
        self.docs: list[RouteDoc] = []
        self._views: list[tuple] = []

    def route(self, rule: str, method: str, summary: str, who: str, *, body=None,
              response=None, status: int = 200, extra_status=None, tags=(), query=(),
              roles=None):
        """Declare a view: its path, who may call it, its body and its answers.

        A route with a body checks its caller BEFORE the body, so a stranger gets 401 and a
        wrong role 403, never the body's validation details: any valid token, and the
        ``roles`` when the route declares them; a ``who`` that starts with "anyone" checks
        nothing first. The view's own ``require(...)`` stays the authority."""
        gate = _gate(who, roles)

        def wrap(fn):
            self.docs.append(RouteDoc(rule, method, summary, who, body, response, status,
                                      extra_status or {}, tags, query))

            @functools.wraps(fn)
            def view(**kw):
                if body is not None:
                    if gate is not None:
                        require(*gate)
                    kw["body"] = parse(body)
                result = fn(**kw)
                if isinstance(result, tuple) or not isinstance(result, (dict, list)):
                    return result
                return jsonify(result), status
            self._views.append((rule, fn.__name__, view, method))
            return view
        return wrap

    def register(self, blueprint) -> None:
        for rule, name, view, method in self._views:
            blueprint.add_url_rule(rule, name, view, methods=[method])

