"""The queue engine: tickets, windows and the rules that move them.

Plain Python, no Flask and no sqlite. Every change is made in two steps: a rule
checks the request against the current state and returns an ``Event``; then
``apply`` folds that event into the state. The service layer stores both in one
transaction, and replaying the event log through ``apply`` rebuilds the state,
which the property tests check.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Iterable, Optional


def N_(msgid: str) -> str:
    """Mark a message for translation; it is translated at the edge."""
    return msgid


# --- errors -----------------------------------------------------------------

class QueueError(Exception):
    """A request the hall's rules refuse; carries a code, a status and a message."""

    code = "queue_error"
    status = 409
    message = N_("The request cannot be carried out.")

    def __init__(self, **params):
        super().__init__(self.message % params if params else self.message)
        self.params = params


class UnknownService(QueueError):
    code, status = "unknown_service", 404
    message = N_("Service '%(service)s' does not exist; known: %(known)s.")


class UnknownWindow(QueueError):
    code, status = "unknown_window", 404
    message = N_("Window %(window)s does not exist; known: %(known)s.")


class UnknownTicket(QueueError):
    code, status = "unknown_ticket", 404
    message = N_("Ticket %(ticket)s does not exist.")


class WrongState(QueueError):
    code = "wrong_state"
    message = N_("Ticket %(number)s is %(status)s; this needs a ticket that is %(needed)s.")


class NotAtWindow(QueueError):
    code = "not_at_window"
    message = N_("Ticket %(number)s is not being served at window %(window)s.")


class ServiceClosed(QueueError):
    code = "service_closed"
    message = N_("%(name)s is not open now; opening hours: %(hours)s.")


class DailyCapReached(QueueError):
    code = "daily_cap_reached"
    message = N_("%(name)s has issued all %(cap)s tickets for today.")


class SlotCapReached(QueueError):
    code = "slot_cap_reached"
    message = N_("%(name)s has issued all %(cap)s tickets for %(slot)s; please come back in the next time slot.")


class TooFewRecalls(QueueError):
    code = "too_few_recalls"
    message = N_("Ticket %(number)s has been recalled %(recalls)s times; a no-show needs %(needed)s recalls first.")


class WindowNotOpen(QueueError):
    code = "window_not_open"
    message = N_("Window %(window)s is %(status)s; resume it first.")


class WindowBusy(QueueError):
    code = "window_busy"
    message = N_("Window %(window)s is still serving %(number)s; finish, park or mark it no-show first.")


class ServiceNotAtWindow(QueueError):
    code = "service_not_at_window"
    message = N_("Window %(window)s does not serve %(service)s.")


class AlreadyRated(QueueError):
    code = "already_rated"
    message = N_("Ticket %(number)s has been rated already.")


class NotRateable(QueueError):
    code = "not_rateable"
    message = N_("Ticket %(number)s cannot be rated here: %(why)s.")


class NotLatest(QueueError):
    code = "not_latest"
    message = N_("Ticket %(number)s is not the last one finished at window %(window)s; only that one can be rated now.")


class RateLimited(QueueError):
    code, status = "rate_limited", 429
    message = N_("Too many ratings from this pad; wait a moment and try again.")


class UnknownReason(QueueError):
    code, status = "unknown_reason", 422
    message = N_("Reason '%(reason)s' is not one of: %(known)s.")


class UnknownCase(QueueError):
    code, status = "unknown_case", 404
    message = N_("Case %(case)s does not exist.")


class CaseStepRefused(QueueError):
    code = "case_step_refused"
    message = N_("Case %(case)s: %(why)s.")


class OtherWindow(QueueError):
    code, status = "other_window", 403
    message = N_("You act for window %(mine)s, not window %(window)s.")


class BadPriorityKind(QueueError):
    code, status = "bad_priority_kind", 422
    message = N_("Priority kind '%(kind)s' is not one of: %(known)s.")


class SameService(QueueError):
    code = "same_target"
    message = N_("Ticket %(number)s is already in that queue.")


# --- configuration ----------------------------------------------------------

# State names appear inside messages; listed here so the catalog carries them.
STATE_WORDS = (N_("waiting"), N_("called"), N_("parked"), N_("done"), N_("no_show"),
               N_("cancelled"), N_("open"), N_("paused"), N_("closed"))
PRIORITY_KINDS = ("elderly", "disabled", "appointment", "other")
RATING_REASONS = ("attitude", "efficiency", "knowledge", "long_wait", "other")
# The pad's reason tags appear on pages and in reports; listed so the catalog carries them.
REASON_WORDS = (N_("attitude"), N_("efficiency"), N_("knowledge"), N_("long_wait"), N_("other"))
CASE_STEPS = ("callback", "verify", "rectify", "reply")


@dataclass(frozen=True)
class Slot:
    start: time
    end: time  # exclusive; time.max stands for 24:00
    cap: int

    def holds(self, t: time) -> bool:
        return self.start <= t < self.end

    def label(self) -> str:
        end = "24:00" if self.end == time.max else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"

    def on(self, day: date, tz) -> tuple[datetime, datetime]:
        """The period on one day as two datetimes in ``tz`` (time.max ends at midnight)."""
        end = datetime.combine(day + timedelta(days=1), time(0), tz) if self.end == time.max \
            else datetime.combine(day, self.end, tz)
        return datetime.combine(day, self.start, tz), end


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    name_en: str
    target_wait_s: int = 1200
    target_service_s: int = 600
    target_good_rate: float = 0.95
    hours: tuple[Slot, ...] = ()  # opening periods; cap unused
    days: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)  # ISO weekdays
    daily_cap: Optional[int] = None
    warn_at: float = 0.9  # share of a cap at which the kiosk warns
    slots: tuple[Slot, ...] = ()  # time-slot quotas
    materials: str = ""
    materials_en: str = ""

    def is_open(self, at: datetime) -> bool:
        if at.isoweekday() not in self.days:
            return False
        if not self.hours:
            return True
        t = at.time()
        return any(p.holds(t) for p in self.hours)

    def hours_label(self) -> str:
        return ", ".join(p.label() for p in self.hours) or "00:00-24:00"

    def slot_at(self, at: datetime) -> Optional[Slot]:
        t = at.time()
        return next((s for s in self.slots if s.holds(t)), None)


@dataclass
class Window:
    number: int
    name: str
    services: tuple[str, ...]
    status: str = "closed"  # open | paused | closed
    clerk: Optional[str] = None
    order: str = "fifo"  # fifo: oldest first across services; ranked: services in listed order


# --- tickets and events -----------------------------------------------------

@dataclass
class Event:
    """One state change, as stored in ``ticket_events`` and pushed to screens."""

    type: str
    at: datetime
    ticket: Optional[int] = None
    window: Optional[int] = None
    clerk: Optional[str] = None
    data: dict = field(default_factory=dict)
    seq: Optional[int] = None


@dataclass
class Ticket:
    id: Optional[int]
    day: date
    service: str
    seq: int
    priority: bool
    priority_kind: Optional[str]
    issued_at: datetime
    status: str = "waiting"
    number: str = ""
    leg_at: Optional[datetime] = None  # issue, or the last transfer/call-back queueing
    target_window: Optional[int] = None  # set when transferred to a window
    window: Optional[int] = None  # the window that called it
    clerk: Optional[str] = None
    called_at: Optional[datetime] = None
    finished_at: Optional[datetime] = None
    recalls: int = 0
    calls: int = 0
    transfers: int = 0
    note: str = ""
    appointment: bool = False  # issued by an appointment's check-in (约)
    checked_in: bool = True  # a phone's remote ticket is not, until the kiosk checks it in
    remote: bool = False  # taken from the phone page
    queue_at: Optional[datetime] = None  # the time it queues by: the slot start of an appointment

    def __post_init__(self):
        if not self.number:
            self.number = ticket_number(self.service, self.seq)
        if self.leg_at is None:
            self.leg_at = self.issued_at
        if self.queue_at is None:
            self.queue_at = self.issued_at

    def queue_key(self, rank: int = 0):
        """Where the ticket stands: priority first, then the time it queues by (the
        original issue time; an appointment's slot start, docs/appointments.md)."""
        return (not self.priority, self.queue_at, rank, self.id or 0)

    def need(self, *statuses: str) -> None:
        if self.status not in statuses:
            raise WrongState(number=self.number, status=self.status,
                             needed=" / ".join(statuses))

    def need_at(self, window: int) -> None:
        self.need("called")
        if self.window != window:
            raise NotAtWindow(number=self.number, window=window)


def ticket_number(service: str, seq: int) -> str:
    """A023: the service prefix and three digits (more past 999)."""
    return f"{service}{seq:03d}"


# --- rules: each returns the event that carries the change ------------------

def issue(service: Service, *, day: date, now: datetime, issued_today: int,
          issued_in_slot: int, priority: bool = False,
          priority_kind: Optional[str] = None, enforce_hours: bool = True,
          marks: Optional[dict] = None) -> Event:
    """Issue the next ticket of a service, within its hours and caps.

    ``marks``: an appointment's or a remote ticket's fields (appointment, booking,
    queue_at, checked_in, remote), carried in the event so a replay rebuilds them."""
    if enforce_hours and not service.is_open(now):
        raise ServiceClosed(name=service.name, name_en=service.name_en, hours=service.hours_label())
    if service.daily_cap is not None and issued_today >= service.daily_cap:
        raise DailyCapReached(name=service.name, name_en=service.name_en, cap=service.daily_cap)
    slot = service.slot_at(now)
    if slot is not None and issued_in_slot >= slot.cap:
        raise SlotCapReached(name=service.name, name_en=service.name_en, cap=slot.cap,
                             slot=slot.label())
    seq = issued_today + 1
    if priority and priority_kind is None:
        priority_kind = "other"
    return Event("ticket.issued", now, data={
        "service": service.code, "seq": seq, "number": ticket_number(service.code, seq),
        "day": day.isoformat(), "priority": bool(priority),
        "priority_kind": priority_kind if priority else None, **(marks or {}),
    })


def pick_next(window: Window, waiting: Iterable[Ticket]) -> Optional[Ticket]:
    """The ticket a window should call next, or None.

    Priority tickets first, then by original issue time across every service
    the window serves (ranked windows take their services in listed order).
    Tickets transferred to another window are not taken.
    """
    best, best_key = None, None
    for t in waiting:
        if t.status != "waiting" or not t.checked_in:
            continue  # a remote ticket not checked in yet is passed over
        if t.target_window is not None:
            if t.target_window != window.number:
                continue
            rank = -1  # sent here on purpose
        elif t.service in window.services:
            rank = window.services.index(t.service) if window.order == "ranked" else 0
        else:
            continue
        key = (not t.priority, rank, t.queue_at, t.id or 0) if window.order == "ranked" \
            else t.queue_key(rank)
        if best_key is None or key < best_key:
            best, best_key = t, key
    return best


def check_window_can_call(window: Window, current: Optional[Ticket]) -> None:
    if window.status != "open":
        raise WindowNotOpen(window=window.number, status=window.status)
    if current is not None:
        raise WindowBusy(window=window.number, number=current.number)


def call(ticket: Ticket, window: Window, *, now: datetime, how: str = "next",
         reason: str = "") -> Event:
    """Call a waiting ticket (next, out of order) or a parked one (call back)."""
    if how == "callback":
        ticket.need("parked")
        if ticket.window != window.number:
            raise NotAtWindow(number=ticket.number, window=window.number)
    else:
        ticket.need("waiting")
        if how == "direct" and ticket.target_window not in (None, window.number):
            raise NotAtWindow(number=ticket.number, window=window.number)
        if how == "direct" and ticket.target_window is None and ticket.service not in window.services:
            raise ServiceNotAtWindow(window=window.number, service=ticket.service)
    data = {"how": how, "number": ticket.number, "service": ticket.service,
            "wait_s": interval_s(ticket.leg_at, now)}
    if reason:
        data["reason"] = reason
    return Event("ticket.called", now, ticket.id, window.number, window.clerk, data)


MAX_INTERVAL_S = 86_400  # a wait or a service longer than a day is a clock that jumped


def interval_s(start: datetime, end: datetime) -> Optional[float]:
    """Seconds from start to end; None when the clock jumped (negative, or over a day),
    so a jump never enters the figures."""
    seconds = round((end - start).total_seconds(), 3)
    return seconds if 0 <= seconds <= MAX_INTERVAL_S else None


def recall(ticket: Ticket, window: Window, *, now: datetime) -> Event:
    ticket.need_at(window.number)
    return Event("ticket.recalled", now, ticket.id, window.number, window.clerk,
                 {"number": ticket.number, "recalls": ticket.recalls + 1})


def no_show(ticket: Ticket, window: Window, *, now: datetime, min_recalls: int = 0) -> Event:
    """The citizen did not come, after the hall's number of recalls."""
    ticket.need_at(window.number)
    if ticket.recalls < min_recalls:
        raise TooFewRecalls(number=ticket.number, recalls=ticket.recalls, needed=min_recalls)
    return Event("ticket.no_show", now, ticket.id, window.number, window.clerk,
                 {"number": ticket.number, "service": ticket.service})


def finish(ticket: Ticket, window: Window, *, now: datetime) -> Event:
    ticket.need_at(window.number)
    return Event("ticket.finished", now, ticket.id, window.number, ticket.clerk,
                 {"number": ticket.number, "service": ticket.service,
                  "service_s": interval_s(ticket.called_at, now)})


def park(ticket: Ticket, window: Window, *, now: datetime, note: str = "") -> Event:
    ticket.need_at(window.number)
    return Event("ticket.parked", now, ticket.id, window.number, window.clerk,
                 {"number": ticket.number, "note": note})


def transfer(ticket: Ticket, *, now: datetime, service: Optional[Service] = None,
             window: Optional[Window] = None, note: str = "",
             by_window: Optional[int] = None) -> Event:
    """Send a ticket back to waiting in another service or for one window.

    It keeps its number and its place by original issue time.
    """
    ticket.need("waiting", "called", "parked")
    if service is None and window is None:
        raise SameService(number=ticket.number)
    new_service = service.code if service else ticket.service
    new_window = window.number if window else None
    if new_service == ticket.service and new_window == ticket.target_window \
            and ticket.status == "waiting":
        raise SameService(number=ticket.number)
    return Event("ticket.transferred", now, ticket.id, by_window or ticket.window, None, {
        "number": ticket.number, "from_service": ticket.service,
        "service": new_service, "to_window": new_window, "note": note,
    })


def cancel(ticket: Ticket, *, now: datetime, reason: str = "") -> Event:
    ticket.need("waiting", "parked")
    return Event("ticket.cancelled", now, ticket.id, ticket.window, None,
                 {"number": ticket.number, "reason": reason})


def rate(ticket: Ticket, window: Window, *, now: datetime, score: int, already_rated: bool,
         within_s: float, reasons=(), comment: str = "", source: str = "touch") -> Event:
    """A citizen rates the service just finished at this window."""
    if already_rated:
        raise AlreadyRated(number=ticket.number)
    if ticket.status != "done":
        raise NotRateable(number=ticket.number, why=N_("it has not been served"))
    if ticket.window != window.number:
        raise NotRateable(number=ticket.number, why=N_("it was served at another window"))
    if (now - ticket.finished_at).total_seconds() > within_s:
        raise NotRateable(number=ticket.number, why=N_("the time for rating it has passed"))
    return Event("rating.created", now, ticket.id, window.number, ticket.clerk,
                 {"number": ticket.number, "service": ticket.service, "score": int(score),
                  "reasons": list(reasons), "source": source})


def window_change(window: Window, *, now: datetime, status: Optional[str] = None,
                  clerk: Optional[str] = "", reason: str = "") -> Event:
    """Open, pause or close a window, or sign a clerk in or out ('' keeps the clerk)."""
    new_status = status or window.status
    new_clerk = window.clerk if clerk == "" else clerk
    return Event("window.changed", now, None, window.number, new_clerk,
                 {"status": new_status, "clerk": new_clerk, "reason": reason,
                  "was": window.status})


def pause(window: Window, *, now: datetime, reason: str = "") -> Event:
    if window.status != "open":
        raise WindowNotOpen(window=window.number, status=window.status)
    return window_change(window, now=now, status="paused", reason=reason)


def resume(window: Window, *, now: datetime) -> Event:
    if window.status == "open":
        raise WrongState(number=window.name, status="open", needed="paused / closed")
    return window_change(window, now=now, status="open")


# --- folding events into state ----------------------------------------------

def _ts(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def apply(event: Event, ticket: Optional[Ticket] = None,
          window: Optional[Window] = None) -> Optional[Ticket]:
    """Fold one event into the ticket (and window) it concerns; returns the ticket."""
    d, at = event.data, _ts(event.at)
    kind = event.type
    if kind == "ticket.issued":
        return Ticket(id=event.ticket, day=date.fromisoformat(d["day"]), service=d["service"],
                      seq=d["seq"], priority=d["priority"], priority_kind=d.get("priority_kind"),
                      issued_at=at, number=d["number"], appointment=bool(d.get("appointment")),
                      checked_in=d.get("checked_in", True), remote=bool(d.get("remote")),
                      queue_at=_ts(d["queue_at"]) if d.get("queue_at") else None)
    if kind == "window.changed":
        if window is not None:
            window.status, window.clerk = d["status"], d["clerk"]
        return None
    t = ticket
    if kind == "ticket.called":
        t.status, t.window, t.clerk, t.called_at = "called", event.window, event.clerk, at
        t.target_window = None
        t.calls += 1
        if d["how"] != "callback":
            t.recalls = 0
    elif kind == "ticket.recalled":
        t.recalls = d["recalls"]
    elif kind == "ticket.no_show":
        t.status, t.finished_at = "no_show", at
    elif kind == "ticket.finished":
        t.status, t.finished_at = "done", at
    elif kind == "ticket.parked":
        t.status, t.note = "parked", d.get("note", "")
    elif kind == "ticket.transferred":
        t.status, t.service, t.target_window = "waiting", d["service"], d["to_window"]
        t.window, t.clerk, t.called_at, t.leg_at = None, None, None, at
        t.transfers += 1
        t.recalls = 0
        if d.get("note"):
            t.note = d["note"]
    elif kind == "ticket.cancelled":
        t.status, t.finished_at = "cancelled", at
    elif kind == "ticket.checked_in":
        t.checked_in = True
    # other types (rating.created, device.changed, a feature's own) change no ticket
    return t


# --- the wait estimate ------------------------------------------------------

def estimate_wait(ahead: int, *, open_windows: int, idle_windows: int,
                  mean_service_s: Optional[float]) -> Optional[int]:
    """Seconds until a ticket with ``ahead`` tickets before it is likely called.

    ``open_windows`` counts the open windows that serve the service and
    ``idle_windows`` those among them serving nobody now. With no open window
    there is no honest estimate, so None. The ticket is reached when
    ``ahead - idle + 1`` services have ended across the open windows; a busy
    window is on average half way through its current service.
    """
    if open_windows <= 0 or mean_service_s is None:
        return None
    if ahead < idle_windows:
        return 0
    turns = (ahead - idle_windows) / open_windows + 0.5
    return int(math.ceil(turns * mean_service_s))


def replace(obj, **changes):
    return dataclasses.replace(obj, **changes)


class NotYourQueue(QueueError):
    code, status = "not_your_queue", 403
    message = N_("Window %(window)s does not serve %(service)s: ticket %(number)s is another window's to act on.")


def check_may_act(ticket: Ticket, window: Window) -> None:
    """A clerk acts on the tickets of the window they are signed in at, and on waiting
    tickets only of the services that window serves (or sent to that window)."""
    if ticket.status in ("called", "parked"):
        if ticket.window != window.number:
            raise OtherWindow(mine=window.number, window=ticket.window)
    elif ticket.status == "waiting":
        if ticket.target_window is not None:
            if ticket.target_window != window.number:
                raise OtherWindow(mine=window.number, window=ticket.target_window)
        elif ticket.service not in window.services:
            raise NotYourQueue(window=window.number, service=ticket.service, number=ticket.number)
