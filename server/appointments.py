"""Appointments (预约): slots, booking rules and check-in rules.

Plain Python like the engine: no Flask, no SQLite. A service's slots follow its
opening hours, the Chinese working-day calendar (server.workdays, with the hall's
``[calendar]`` overrides) and the hall's ``[appointments] closures``. Each rule
either returns what to do or raises a QueueError the edge turns into JSON.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Iterable, Optional

import chinese_calendar

from .engine import N_, QueueError, Service, Slot
from .workdays import WorkCalendar

BOOKED_STATES = ("booked", "checked_in", "late")  # a slot's place is taken by these
DEFAULT_HOURS = (Slot(time(9, 0), time(17, 0), 0),)  # a service without opening hours


class AppointmentsOff(QueueError):
    code, status = "appointments_off", 404
    message = N_("%(name)s takes no appointments.")


class SlotUnknown(QueueError):
    code, status = "slot_unknown", 422
    message = N_("%(slot)s is not a slot of %(name)s; ask GET /api/slots for the day's slots.")


class SlotFull(QueueError):
    code = "slot_full"
    message = N_("The slot %(slot)s of %(name)s is fully booked; please choose another time.")


class DayClosed(QueueError):
    code = "service_closed"
    message = N_("%(name)s takes no appointments on %(day)s (%(why)s).")


class PastHorizon(QueueError):
    code, status = "past_horizon", 422
    message = N_("Appointments can be booked at most %(days)s days ahead (until %(until)s).")


class SlotPast(QueueError):
    code, status = "slot_past", 422
    message = N_("The slot %(slot)s has already begun; please choose a later time.")


class AlreadyBooked(QueueError):
    code = "already_booked"
    message = N_("You already hold an appointment for %(name)s on %(day)s (%(slot)s).")


class UnknownBooking(QueueError):
    code, status = "unknown_booking", 404
    message = N_("No appointment has this code; please check the code on your booking.")


class BookingClosed(QueueError):
    code = "booking_not_active"
    message = N_("This appointment is %(status)s; it cannot be used now.")


class CheckInTooEarly(QueueError):
    code = "too_early"
    message = N_("Check-in for your appointment at %(slot)s opens at %(opens)s; please come back then.")


class NotToday(QueueError):
    code = "not_today"
    message = N_("This appointment is for %(day)s, not today.")


class AlreadyCheckedIn(QueueError):
    code = "already_checked_in"
    message = N_("This appointment has been checked in already; your number is %(number)s.")


class NoMatch(QueueError):
    code, status = "no_match", 404
    message = N_("No appointment for today matches this name and phone number.")


class RemoteOff(QueueError):
    code, status = "remote_off", 404
    message = N_("This hall does not issue tickets to phones for %(name)s.")


class RemoteQuotaReached(QueueError):
    code = "remote_quota_reached"
    message = N_("All %(quota)s phone tickets of %(name)s for today are taken; please take one at the kiosk.")


class NotRemote(QueueError):
    code = "not_remote"
    message = N_("Ticket %(number)s needs no check-in.")


class DoorCodeWrong(QueueError):
    code, status = "door_code_wrong", 403
    message = N_("This is not the code at the hall's door today; please scan the code at the door again.")


class DoorCodeOld(QueueError):
    code, status = "door_code_old", 403
    message = N_("This is the door's code of an earlier day; check-in needs today's code at the hall's door.")


class DoorDayOut(QueueError):
    code, status = "bad_day", 422
    message = N_("The door's code can be shown for today and the next %(days)s days, not %(day)s.")


class TooMany(QueueError):
    code, status = "rate_limited", 429
    message = N_("Too many requests; please wait a minute and try again.")


# The reasons a day takes no appointments, shown in messages.
DAY_WORDS = (N_("a closure of the hall"), N_("not a working day"), N_("the service is closed that day"))


@dataclass(frozen=True)
class Rules:
    """A service's appointment settings ([[services]] appointments = {...})."""

    slot_min: int = 30
    capacity: Optional[int] = None  # per slot; None: derived
    walk_in_share: float = 0.5
    horizon_days: int = 7
    checkin_before_min: int = 30
    checkin_after_min: int = 15
    remote_quota: int = 0  # phone walk-in tickets per day (0: none)


def parse_rules(raw: Optional[dict], where: str) -> Optional[Rules]:
    """A service's Rules from its ``appointments`` table, or None when it takes none.

    The table's keys, types and ranges are checked once, by the hall's one schema
    (hallschema.Appointments: hall.toml, PUT /api/config, the stored configuration)
    before any build; absent keys take Rules' defaults, which are the schema's."""
    if raw is None:
        return None
    known = {f.name for f in fields(Rules)}
    if not isinstance(raw, dict) or set(raw) - known:
        raise ValueError(f"{where}: appointments must be a table of {sorted(known)}")
    return Rules(**{k: (None if v is None else float(v) if k == "walk_in_share" else int(v))
                    for k, v in raw.items()})


def parse_closures(items: Iterable, where: str = "[appointments] closures") -> frozenset:
    days = set()
    for item in items:
        try:
            days.add(date.fromisoformat(str(item)))
        except ValueError as exc:
            raise ValueError(f"{where}: '{item}' is not a day like 2026-12-24") from exc
    return frozenset(days)


def slot_capacity(rules: Rules, service: Service, windows: int) -> int:
    """Places per slot: as set, or the windows serving the service times the services
    that fit in a slot, less the share kept for walk-ins."""
    if rules.capacity is not None:
        return rules.capacity
    per_window = rules.slot_min * 60 / max(service.target_service_s, 60)
    return max(0, int(windows * per_window * (1 - rules.walk_in_share)))


def day_closed_reason(service: Service, day: date, calendar: WorkCalendar,
                      closures: frozenset) -> Optional[str]:
    """Why the day takes no appointments (a message id), or None when it does."""
    if day in closures:
        return DAY_WORDS[0]
    if day.isoweekday() <= 5:
        if not calendar.is_workday(day):
            return DAY_WORDS[1]
        return None if day.isoweekday() in service.days else DAY_WORDS[2]
    if calendar.is_workday(day):  # a make-up working day (调休)
        return None
    if day.isoweekday() in service.days and not _legal_holiday(day) and day not in calendar.holidays:
        return None
    return DAY_WORDS[1] if day.isoweekday() not in service.days else DAY_WORDS[2]


def _legal_holiday(day: date) -> bool:
    try:
        return chinese_calendar.get_holiday_detail(day)[1] is not None
    except NotImplementedError:
        return False


def slot_starts(service: Service, rules: Rules, day: date, tz) -> list[datetime]:
    """Every slot start of the day, inside the service's opening periods."""
    step = timedelta(minutes=rules.slot_min)
    out = []
    for period in service.hours or DEFAULT_HOURS:
        at, stop = period.on(day, tz)
        while at + step <= stop:
            out.append(at)
            at += step
    return out


def slot_label(at: datetime, rules: Rules) -> str:
    end = at + timedelta(minutes=rules.slot_min)
    return Slot(at.time(), end.time() if end.date() == at.date() else time.max, 0).label()


def parse_slot(text: str, tz) -> Optional[datetime]:
    """An ISO 8601 slot start with its offset, in the hall's zone; None when malformed."""
    if not isinstance(text, str) or not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?([+-]\d\d:\d\d|Z)$", text):
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at.astimezone(tz)


def check_booking(service: Service, rules: Rules, slot: datetime, *, now: datetime, cap: int,
                  taken: int, calendar: WorkCalendar, closures: frozenset,
                  same_person: Optional[dict]) -> None:
    """Refuse a booking that the hall's rules do not allow; nothing when it is fine."""
    day = slot.date()
    limit = now.date() + timedelta(days=rules.horizon_days)
    if day > limit:
        raise PastHorizon(days=rules.horizon_days, until=limit.isoformat())
    why = day_closed_reason(service, day, calendar, closures)
    if why is not None:
        raise DayClosed(name=service.name, name_en=service.name_en, day=day.isoformat(), why=why)
    if slot not in slot_starts(service, rules, day, slot.tzinfo):
        raise SlotUnknown(slot=slot.isoformat(), name=service.name, name_en=service.name_en)
    if slot <= now:
        raise SlotPast(slot=slot_label(slot, rules))
    if same_person is not None:
        raise AlreadyBooked(name=service.name, name_en=service.name_en, day=day.isoformat(),
                            slot=same_person["slot_label"])
    if taken >= cap:
        raise SlotFull(slot=slot_label(slot, rules), name=service.name, name_en=service.name_en)


def check_in_verdict(booking: dict, rules: Rules, *, now: datetime) -> str:
    """'on_time' (an appointment ticket) or 'late' (a walk-in ticket); raises when refused."""
    status = booking["status"]
    if status == "checked_in" or status == "late":
        raise AlreadyCheckedIn(number=booking.get("number") or "")
    if status != "booked":
        raise BookingClosed(status=status)
    slot = datetime.fromisoformat(booking["slot_at"]).astimezone(now.tzinfo)
    if slot.date() != now.date():
        raise NotToday(day=slot.date().isoformat())
    opens = slot - timedelta(minutes=rules.checkin_before_min)
    if now < opens:
        raise CheckInTooEarly(slot=slot.strftime("%H:%M"), opens=opens.strftime("%H:%M"))
    if now > slot + timedelta(minutes=rules.checkin_after_min):
        return "late"
    return "on_time"


def mask_name(name: Optional[str]) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: Optional[str]) -> str:
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "*" * (len(phone) - 2) + phone[-2:]


def normal_phone(phone: str) -> str:
    return re.sub(r"[\s-]", "", phone or "")
