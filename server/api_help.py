"""Help and alerts: a citizen at a kiosk or pad calls a helper (请工作人员帮助), staff
acknowledge it, and managers list every alert in force (docs/citizens.md)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from flask import current_app
from pydantic import BaseModel, Field

from .engine import N_
from .i18n import translate
from .readside import alerts
from .web import ApiError, Routes, Strict, ops, reader, require

routes = Routes()
route = routes.route


class HelpIn(Strict):
    place: str = Field(default="", max_length=40,
                       description="Where the citizen is, in the device's words (optional)")


class HelpOut(BaseModel):
    id: int
    device: Optional[str] = None
    kind: str
    window: Optional[int] = None
    place: str = ""
    asked_at: str
    acked_at: Optional[str] = None
    acked_by: Optional[str] = None
    waited_s: Optional[float] = None


class AlertsOut(BaseModel):
    at: str
    alerts: list[dict] = Field(description="Every alert in force, longest waiting first: "
                               "help, bad_rating, no_window, long_wait, device (a USB or serial device gone)")


@route("/help", "POST", "A citizen at a kiosk or pad asks for a helper", "a kiosk or pad",
       roles=("kiosk", "pad"), body=HelpIn, response=HelpOut, status=201, tags=("help",))
def ask_help(body: HelpIn):
    p = require("kiosk", "pad")
    return ops().ask_help(p.name, p.role, p.window, body.place)


class HelpListOut(BaseModel):
    calls: list[HelpOut] = Field(description="Helper calls not yet acknowledged, oldest first")


@route("/help", "GET", "Helper calls not yet acknowledged: a clerk gets the hall's (kiosks) and "
       "their window's, a manager every one", "clerk, manager", response=HelpListOut, tags=("help",))
def open_help_calls():
    p = require("clerk", "manager")
    rows = reader().run(alerts.help_calls_open)
    if p.role == "clerk":  # a console opened later lists what is still unanswered near it
        rows = [r for r in rows if r["window"] is None or r["window"] == p.window]
    return {"calls": [{"id": r["id"], "device": r["device"], "kind": r["kind"], "window": r["window"],
                       "place": r["place"], "asked_at": r["since"], "waited_s": r["waited_s"]}
                      for r in rows]}


@route("/help/<int:call_id>/ack", "POST", "Staff acknowledge a helper call", "clerk, manager",
       response=HelpOut, tags=("help",))
def ack_help(call_id: int):
    p = require("clerk", "manager")
    return ops().ack_help(call_id, p.subject)


@route("/alerts", "GET", "Every alert in force, with how long it has waited", "manager",
       response=AlertsOut, tags=("help",))
def list_alerts():
    require("manager")
    h = ops()
    now = h.now()
    out = reader().run(alerts.help_calls_open) + reader().run(alerts.bad_ratings_open)
    oldest = reader().run(alerts.oldest_waiting)
    for svc in h.services_without_window():
        n, since = oldest.get(svc["service"], (svc["waiting"], None))
        out.append({"type": "no_window", "service": svc["service"], "name": svc["name"],
                    "name_en": svc["name_en"], "waiting": n, "windows": svc["windows"],
                    "since": since, "waited_s": _age(now, since)})
    watcher = current_app.extensions.get("qrate_alerts")
    for code, on in (getattr(watcher, "active", {}) or {}).items():
        if on and code in h.cfg.services:
            out.append({"type": "long_wait", "service": code, "since": None, "waited_s": None})
    for source in current_app.extensions.get("qrate_alert_sources", ()):
        out += source(now)  # e.g. devices unplugged (server/api_devices.py), already worded
    for a in out:
        if a["type"] not in _TEXT:
            continue
        a["message"], a["message_en"] = (translate(text, lang, **a) for text, lang in
                                         ((_TEXT[a["type"]], "zh_CN"), (_TEXT[a["type"]], "en")))
    out.sort(key=lambda a: -(a["waited_s"] or 0))
    return {"at": now.isoformat(), "alerts": out}


@route("/status/<key>/cancel", "POST", "The citizen cancels their own ticket (by its status key)",
       "anyone with the ticket's key", tags=("tickets",))
def cancel_own(key: str):
    view = ops().cancel_by_key(key) if len(key) < 64 else None
    if view is None:
        raise ApiError(404, "unknown_ticket", N_("No ticket has this address."))
    return view


def _age(now: datetime, since: Optional[str]) -> Optional[float]:
    return round((now - datetime.fromisoformat(since)).total_seconds(), 1) if since else None


_TEXT = {
    "help": N_("A citizen at %(device)s asks for a helper"),
    "bad_rating": N_("Bad rating %(score)s for ticket %(number)s at window %(window)s: call back by %(callback_due)s"),
    "no_window": N_("%(waiting)s citizens wait for %(service)s and no window serving it is open"),
    "long_wait": N_("Citizens of %(service)s have waited too long"),
}
