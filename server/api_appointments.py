"""Appointments' HTTP API under /api: slots, bookings, check-in and phone tickets.

Callers: the citizen's phone page (anonymous, bounded per address), the city's
booking platform (an ``integration`` device token), the kiosk (check-in) and
managers (the masked list, the notifier's log). The rules are in
server/appointments.py, the changes in server/appointment_ops.py.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Optional

from flask import current_app, request
from pydantic import BaseModel, Field

from .engine import N_
from .i18n import translate
from .readside import appointments as figures
from . import appointments as appt
from .security import Buckets, address
from .downloads import table_response
from .web import ApiError, Routes, Strict, ops, principal, reader, require

routes = Routes()
route = routes.route

ID_LAST4 = r"^[0-9]{3}[0-9Xx]$"


def appointments():
    """The appointments' service layer (server.appointment_ops.Appointments)."""
    return current_app.extensions["qrate_appointments"]


def _anonymous_or(*roles: str) -> Optional[str]:
    """A bearer token: one of ``roles`` (the platform, a manager). Otherwise an anonymous
    citizen, bounded per address, whatever session cookie the browser happens to hold."""
    if request.headers.get("Authorization"):
        return require(*roles).role
    p = principal()
    if p is not None and p.role in roles:
        return p.role
    bound()
    return None


def bound() -> None:
    """The phone page's bound: a burst, then [appointments] bookings_per_minute per address,
    in security's token buckets (bounded in memory), inside its hall-wide anonymous limit."""
    per_min = int(appointments().section["bookings_per_minute"])
    if per_min > 0 and _buckets("addr", per_min, max(1, per_min)).take(address()):
        raise appt.TooMany()


def _buckets(name: str, per_min: float, burst: float) -> Buckets:
    """This app's buckets ``name``, made again when the hall changes the rate (PUT /api/config)."""
    held = current_app.extensions.setdefault("qrate_appointments_buckets", {})
    if name not in held or held[name][0] != (per_min, burst):
        held[name] = ((per_min, burst), Buckets(per_min, burst, clock=lambda: ops().now().timestamp()))
    return held[name][1]


def _day(text: Optional[str]) -> date:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        raise ApiError(422, "bad_day", N_("day must be a date like 2026-12-02, not '%(day)s'."),
                       day=(text or "")[:20])


class BookingIn(Strict):
    service: str = Field(min_length=1, max_length=8, description="Service code, e.g. A")
    slot: str = Field(min_length=16, max_length=40, description="A slot start from GET /api/slots, ISO 8601 with offset")
    name: str = Field(min_length=1, max_length=30, pattern=r"\S")
    phone: str = Field(min_length=7, max_length=20, pattern=r"^\+?[0-9][0-9 -]{5,18}[0-9]$")
    id_last4: str = Field(pattern=ID_LAST4, description="The last 4 characters of the ID card number")


class BookingOut(BaseModel):
    id: int
    code: Optional[str] = Field(None, description="The booking code (typed or scanned at the kiosk)")
    status_url: Optional[str] = None
    service: str
    service_name: str
    service_name_en: str
    slot: str
    slot_label: str
    day: str
    status: str = Field(description="booked, checked_in, late (came after check-in closed), cancelled")
    source: str
    name: str = Field(description="Masked")
    phone: str = Field(description="Masked")
    id_last4: str = Field(description="Masked")
    checkin_opens: str
    checkin_closes: str
    ticket: Optional[dict] = None


class SlotsOut(BaseModel):
    service: str
    day: str
    open: bool
    closed_reason: Optional[str] = None
    horizon_until: str
    slot_min: int
    slots: list[dict] = Field(description="{slot, label, capacity, taken, free, bookable}")


class CheckInByPhoneIn(Strict):
    phone_last4: str = Field(pattern=r"^[0-9]{4}$")
    name: str = Field(min_length=1, max_length=30, pattern=r"\S")


class RemoteIn(Strict):
    service: str = Field(min_length=1, max_length=8)


@route("/appointments/services", "GET", "Services that take appointments (and phone tickets)",
       "anyone", tags=("appointments",))
def appointment_services():
    return {"services": appointments().services(),
            "remote_tickets": bool(appointments().section["remote_tickets"])}


@route("/slots", "GET", "A day's appointment slots of a service, with free places", "anyone",
       response=SlotsOut, tags=("appointments",),
       query=(("service", "Service code"), ("day", "YYYY-MM-DD")))
def slots():
    service = request.args.get("service", "")
    return appointments().slots(service[:8], _day(request.args.get("day")))


@route("/appointments", "POST", "Book an appointment", "anyone (the phone page, bounded) or an integration token",
       body=BookingIn, response=BookingOut, status=201, tags=("appointments",),
       extra_status={409: "slot_full, already_booked, service_closed", 422: "past_horizon, slot_unknown, slot_past",
                     429: "rate_limited"})
def book(body: BookingIn):
    role = _anonymous_or("integration", "manager")
    return appointments().book(body.service, body.slot, body.name, body.phone, body.id_last4,
                               source=role or "phone",
                               device=principal().subject if role else None)


@route("/appointments", "GET", "A day's bookings, masked", "manager", tags=("appointments",),
       query=(("day", "YYYY-MM-DD"),))
def booking_list():
    require("manager")
    return {"appointments": appointments().listing(_day(request.args.get("day")))}


@route("/appointments/status/<key>", "GET", "A citizen's own booking, by the key in its status_url",
       "anyone", response=BookingOut, tags=("appointments",))
def booking_status(key: str):
    view = appointments().status(key) if len(key) < 64 else None
    if view is None:
        raise ApiError(404, "unknown_booking", N_("No appointment has this address."))
    return view


@route("/appointments/<code>", "DELETE", "Cancel a booking", "anyone holding the code (bounded), integration, manager",
       response=BookingOut, tags=("appointments",))
def cancel_booking(code: str):
    _anonymous_or("integration", "manager")
    return appointments().cancel(code)


@route("/appointments/<code>/check-in", "POST", "Check in by the booking code (typed or scanned)",
       "kiosk", status=201, tags=("appointments",),  # answer: api_models (a ticket, late, booking_code)
       extra_status={409: "too_early, not_today, already_checked_in, booking_not_active"})
def check_in(code: str):
    require("kiosk", "manager")
    return appointments().check_in(code)


@route("/appointments/check-in", "POST", "Check in by the phone number's last 4 digits and the name",
       "kiosk", roles=("kiosk", "manager"), body=CheckInByPhoneIn, status=201, tags=("appointments",))
def check_in_by_phone(body: CheckInByPhoneIn):
    require("kiosk", "manager")
    return appointments().check_in(phone_last4=body.phone_last4, name=body.name)


@route("/remote-tickets", "POST", "Take today's ticket from a phone (where the hall allows it)",
       "anyone (bounded), within the service's quota", body=RemoteIn, status=201,
       tags=("appointments",), extra_status={404: "remote_off", 409: "remote_quota_reached"})
def remote_ticket(body: RemoteIn):
    _anonymous_or("integration", "manager")
    return appointments().remote_ticket(body.service)


@route("/status/<key>/check-in", "POST", "Check in a phone ticket at the kiosk (its QR scanned)",
       "kiosk", status=201, tags=("appointments",))
def check_in_remote(key: str):
    require("kiosk", "manager")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,63}", key):
        raise ApiError(404, "unknown_ticket", N_("No ticket has this address."))
    return appointments().check_in_remote(key)


class DoorIn(Strict):
    door: str = Field(pattern=r"^[0-9]{6}$", description="The code on the hall's door (its QR or its digits)")
    key: str = Field(pattern=r"^[A-Za-z0-9_-]{1,63}$",
                     description="The key of the phone ticket's or the booking's status page")


@route("/door/check-in", "POST", "Check in a phone ticket or a booking from the phone, with the code at the hall's door",
       "anyone holding the ticket's or booking's key (bounded)", body=DoorIn, status=201,
       tags=("appointments",),
       extra_status={403: "door_code_wrong, door_code_old",
                     409: "not_remote, too_early, not_today, already_checked_in", 429: "rate_limited"})
def door_check_in(body: DoorIn):
    bound()
    # a ticket's key has 10 tries, then one a minute: today's 6 digits cannot be guessed from home
    if _buckets("door", 1, 10).take(body.key):
        raise appt.TooMany()
    return appointments().check_in_at_door(body.door, body.key)


@route("/door", "GET", "The code at the hall's door of a day (today by default) and the URL its QR holds",
       "manager", tags=("appointments",), query=(("day", "YYYY-MM-DD (today .. 7 days ahead)"),))
def door_code():
    require("manager")
    text = request.args.get("day")
    return appointments().door(_day(text) if text else None)


@route("/appointments/notices", "GET", "The log of \"your turn is near\" notices sent to the hall's webhook",
       "manager", tags=("appointments",), query=(("day", "YYYY-MM-DD (default today)"),))
def notice_log():
    require("manager")
    day = _day(request.args.get("day") or ops().today().isoformat())
    return reader().run(figures.notice_log, day=day.isoformat())


# Column labels of the export (zh first in the header; keys as in the JSON).
LABELS = {"service": N_("Service"), "name": N_("Name"), "booked": N_("Booked"),
          "checked_in": N_("Checked in"), "late": N_("Came late"), "no_show": N_("No-show"),
          "cancelled": N_("Cancelled"), "pending": N_("Not due yet"), "show_rate": N_("Show rate"),
          "walk_in_calls": N_("Walk-in calls"), "appointment_calls": N_("Appointment calls"),
          "walk_in_wait_s": N_("Walk-in wait (s)"), "appointment_wait_s": N_("Appointment wait (s)"),
          "punctuality_s": N_("Punctuality (s)")}


def _label(key: str, locale: str) -> str:
    head, _, tail = key.partition(".")
    text = translate(LABELS[head], locale)
    return f"{text} {tail}" if tail else text


@route("/stats/appointments", "GET", "Appointments booked, checked in, no-show, cancelled; walk-in and appointment waits side by side; punctuality",
       "manager", tags=("stats", "appointments"),
       query=(("from", "First day, YYYY-MM-DD (default today)"), ("to", "Last day (default: from)"),
              ("format", "json (default), csv or xlsx")))
def stats_appointments():
    require("manager")
    today = ops().today().isoformat()
    start = _day(request.args.get("from") or today).isoformat()
    end = _day(request.args.get("to") or start).isoformat()
    if end < start or (date.fromisoformat(end) - date.fromisoformat(start)).days > 3 * 366:
        raise ApiError(422, "bad_range", N_("'to' (%(to)s) is before 'from' (%(from_)s)."),
                       to=end, from_=start)
    rows = reader().run(figures.appointment_figures, start=start, end=end)
    fmt = request.args.get("format", "json")
    if fmt == "json":
        return {"from": start, "to": end, "rows": rows}
    if fmt not in ("csv", "xlsx"):
        raise ApiError(422, "bad_format", N_("format must be json, csv or xlsx."))
    english = request.args.get("lang") == "en"
    header = [k if english else f"{_label(k, 'zh_CN')} {k}" for k in figures.COLUMNS]
    table = figures.flat(rows)
    return table_response(f"qrate-appointments-{start}_{end}", "appointments", header, table, fmt)
