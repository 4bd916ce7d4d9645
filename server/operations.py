"""The service layer: every change to the hall goes through here.

HTTP views, Socket.IO handlers, device threads (through server.device_port) and
the CLI call these methods. Each change takes the hall's write lock, runs one
transaction that updates the current state and appends its event to
``ticket_events``, and after the commit hands each event's body to the
listeners (still under the lock, so pushes leave in sequence order). Listeners
subscribe with ``subscribe``: Socket.IO, the print spool, the serial pads.
"""
from __future__ import annotations

import contextlib
import json
import logging
import queue
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from datetime import date, datetime, timedelta
from statistics import fmean
from typing import Callable, Iterable, Optional

from . import config as hall_config
from . import case_rating, engine, evaluation, hallschema
from . import store as hall_store
from . import assessment_rules as rules
from .config import HallConfig
from .config import post_of as hall_post_of
from .engine import (
    CASE_STEPS,
    N_,
    CaseStepRefused,
    Event,
    NotLatest,
    QueueError,
    RateLimited,
    Ticket,
    UnknownCase,
    UnknownReason,
    Window,
)
from .i18n import translate
from .store import Store, connect
from .workdays import WorkCalendar, deadline, parse_spec

ACTIVE = ("waiting", "called", "parked")
NOTICE_KEY = "notice"
STEP_DONE = {"callback": "callback_done", "verify": "verified", "rectify": "rectified",
             "reply": "replied"}
log = logging.getLogger("qrate.operations")
BACK_OVER_MIDNIGHT_S = 12 * 3600  # a jump back this far over midnight keeps the hall's day

Listener = Callable[[dict], None]


def iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value else None


class PressGuard:
    """A token bucket per pad: a burst of presses, then one per (60 / presses_per_minute) s."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float]):
        self.rate, self.burst, self.clock = per_minute / 60.0, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self.refused: dict[int, int] = defaultdict(int)  # per window, since the server started

    def take(self, key: str) -> bool:
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1, now)
            return True


class LiveCounters:
    """Today's queue as counts, kept in memory after each commit so a change needs not
    read the day again: waiting tickets per service, tickets issued per service, each
    window's state and the windows serving someone. Valid for the log up to ``seq``;
    a change whose database has moved on (another process wrote) reads them afresh."""

    __slots__ = ("seq", "day", "waiting", "issued", "states", "busy")

    def __init__(self, seq: int, day: date, waiting: dict, issued: dict, states: dict, busy: set):
        self.seq, self.day = seq, day
        self.waiting, self.issued, self.states, self.busy = waiting, issued, states, busy

    @classmethod
    def read(cls, s: Store, day: date) -> "LiveCounters":
        return cls(s.last_seq(), day, s.waiting_counts(day), s.issued_counts(day),
                   s.window_states(), s.busy_windows(day))

    def copy(self) -> "LiveCounters":
        return LiveCounters(self.seq, self.day, dict(self.waiting), dict(self.issued),
                            {n: dict(v) for n, v in self.states.items()}, set(self.busy))

    def ticket_changed(self, before: Optional[tuple], t: Ticket) -> None:
        """Count a ticket's move from ``before`` (status, service, window; None: just issued)."""
        if t.day != self.day:
            return
        if before is None:
            self.issued[t.service] = max(self.issued.get(t.service, 0), t.seq)
        else:
            status, service, window = before
            if status == "waiting":
                self.waiting[service] = self.waiting.get(service, 0) - 1
            elif status == "called":
                self.busy.discard(window)
        if t.status == "waiting":
            self.waiting[t.service] = self.waiting.get(t.service, 0) + 1
        elif t.status == "called":
            self.busy.add(t.window)

    def window_changed(self, w: Window) -> None:
        self.states[w.number] = {"number": w.number, "status": w.status, "clerk": w.clerk}


class WindowOccupied(QueueError):
    """A clerk signs in at a window another clerk holds (take it over with take_over)."""

    code, status = "window_occupied", 409
    message = N_("Window %(window)s is held by %(name)s (%(clerk)s); sign in with take-over to take it.")


class NoClerk(QueueError):
    """A manager signs out a window nobody holds."""

    code, status = "no_clerk", 409
    message = N_("No clerk is signed in at window %(window)s.")


class UnknownHelpCall(QueueError):
    code, status = "unknown_help_call", 404
    message = N_("Helper call %(help)s does not exist.")


LEVEL_WORDS = {1: N_("Very dissatisfied"), 2: N_("Dissatisfied")}


def opening_note(rating: dict, reasons: list, contact: bool) -> str:
    """A case's first note in the hall's words: the score, the reasons, the comment and
    whether the citizen left a number for the callback (never the number itself)."""
    zh = "zh_CN"
    parts = [translate(N_("Bad rating: %(score)s (%(level)s)"), zh, score=rating["score"],
                       level=translate(LEVEL_WORDS.get(int(rating["score"]), N_("Dissatisfied")), zh))]
    if reasons:
        parts.append(translate(N_("reasons: %(list)s"), zh,
                               list="、".join(translate(r, zh) for r in reasons)))
    if rating.get("comment"):
        parts.append(translate(N_("the citizen wrote: %(text)s"), zh, text=rating["comment"]))
    parts.append(translate(N_("the citizen left a phone number for the callback") if contact
                           else N_("no contact given"), zh))
    return "；".join(parts) + "。"


class UnknownKiosk(engine.QueueError):
    """No kiosk of this name (printers are bound to kiosks)."""

    status = 404
    code = "unknown_kiosk"
    message = N_("There is no kiosk named %(name)s.")


class WouldStrand(Exception):
    """A configuration change would leave waiting tickets no window can call."""

    def __init__(self, stranded: list[dict]):
        super().__init__(f"{sum(r['waiting'] for r in stranded)} waiting tickets would be stranded")
        self.stranded = stranded


class Operations:
    """One hall's changes and the live views they push, over its configuration and database."""

    def __init__(self, cfg: HallConfig, *, clock: Optional[Callable[[], datetime]] = None,
                 pool_size: int = 16):
        self.cfg = cfg
        self.tz = cfg.tz
        self.lock = threading.RLock()
        self.clock = clock or (lambda: datetime.now(self.tz))
        self.snapshot_parts: list[Callable[[], dict]] = []  # e.g. device health, merged in
        self._listeners: list[Listener] = []
        self._pool: "queue.LifoQueue[Store]" = queue.LifoQueue()
        self._pool_size = pool_size
        self._day: Optional[date] = None
        self._recent: dict[str, deque] = {}  # recent service times per service, after commits
        self._snapshot: Optional[tuple[int, str, dict]] = None  # (seq, day, body)
        self._snapshot_lock = threading.Lock()
        self._counters: Optional[LiveCounters] = None  # as of the last commit
        self._live: Optional[LiveCounters] = None  # the change in progress (under the lock)
        self._hours_labels = {code: svc.hours_label() for code, svc in cfg.services.items()}
        self._raw_services = {str(r.get("code")): r for r in cfg.raw.get("services", [])}
        self._timed_services = [svc for svc in cfg.services.values()
                                if svc.hours or svc.slots or len(svc.days) < 7]
        self._windows_of = {code: [w.number for w in cfg.windows.values() if code in w.services]
                            for code in cfg.services}
        ratings, follow = cfg.raw["ratings"], cfg.raw["followup"]
        for step in CASE_STEPS:
            parse_spec(follow[step])  # a wrong spec fails at start, not at the first 差评
        self.calendar = WorkCalendar.from_config(cfg.raw)
        self.press_guard = PressGuard(float(ratings["presses_per_minute"]), int(ratings["press_burst"]),
                                      clock=lambda: self.now().timestamp())

    # -- listeners -------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(body)`` after each commit, in sequence order, for every event."""
        self._listeners.append(listener)

    def _push(self, bodies: list[dict]) -> None:
        for body in bodies:
            if (body.get("type") == "ticket.finished" and body.get("service") in self._recent
                    and body.get("service_s") is not None):
                self._recent[body["service"]].appendleft(body["service_s"])
            for listener in list(self._listeners):
                try:
                    listener(body)
                except Exception:  # a screen or a device never undoes a committed change
                    log.exception("listener failed on %s", body.get("type"))

    # -- connections -----------------------------------------------------------
    @contextlib.contextmanager
    def store(self):
        """Borrow a storage connection from the pool (one borrower at a time)."""
        try:
            s = self._pool.get_nowait()
        except queue.Empty:
            s = Store(connect(self.cfg.db_path), self.tz)
        try:
            yield s
        finally:
            if s.db.conn.in_transaction:
                s.db.conn.rollback()
            if self._pool.qsize() < self._pool_size:
                self._pool.put(s)
            else:
                s.db.close()

    def close(self) -> None:
        while True:
            try:
                self._pool.get_nowait().db.close()
            except queue.Empty:
                return

    @contextlib.contextmanager
    def change(self):
        """The write lock, a connection and one transaction; events are pushed after commit."""
        bodies: list[dict] = []
        with self.lock, self.store() as s:
            self._roll_day(s)
            with self._transaction(s):
                yield s, bodies
            self._push(bodies)

    @contextlib.contextmanager
    def _transaction(self, s: Store):
        """One write transaction with the live counters it moves; they count once it commits."""
        with s.transaction():
            c = self._counters
            if c is None or c.day != self.today() or c.seq != s.last_seq():
                c = LiveCounters.read(s, self.today())
            self._live = c.copy()
            try:
                yield
            except BaseException:
                self._live = None
                raise
        self._counters, self._live = self._live, None

    def now(self) -> datetime:
        return self.clock().astimezone(self.tz)

    def today(self) -> date:
        """The hall day; a clock that jumps back over midnight never goes back to yesterday
        (which would hide today's waiting tickets)."""
        now = self.now()
        day = now.date()
        if self._day is not None and day < self._day:
            start = datetime.combine(self._day, datetime.min.time(), self.tz)
            if (start - now).total_seconds() <= BACK_OVER_MIDNIGHT_S:
                return self._day  # a clock set back a little: still today
        return day

    # -- lookups ---------------------------------------------------------------
    def service(self, code) -> engine.Service:
        svc = self.cfg.services.get(code) if isinstance(code, str) else None
        if svc is None:
            raise engine.UnknownService(service=code, known=", ".join(self.cfg.services))
        return svc

    def known_window(self, number) -> None:
        if not isinstance(number, int) or number not in self.cfg.windows:
            raise engine.UnknownWindow(window=number,
                                       known=", ".join(str(n) for n in self.cfg.windows))

    def window(self, s: Store, number) -> Window:
        """The window with its state: inside a change from its live counters, else from the file."""
        self.known_window(number)
        live = self._live if self.lock._is_owned() else None
        state = (live.states if live is not None else s.window_states()).get(number, {})
        return engine.replace(self.cfg.windows[number], status=state.get("status", "closed"),
                              clerk=state.get("clerk"))

    def ticket(self, s: Store, ticket_id) -> Ticket:
        t = s.ticket(ticket_id) if isinstance(ticket_id, int) and 0 < ticket_id < 2 ** 63 else None
        if t is None:
            raise engine.UnknownTicket(ticket=ticket_id)
        return t

    # -- recording: one place builds every pushed body -------------------------
    def _record(self, s: Store, bodies: list, event: Event, t: Optional[Ticket] = None,
                window: Optional[Window] = None, **extra) -> Optional[dict]:
        """Fold the event into the state, store both, queue the push.

        Returns the ticket's view as pushed, which is also the API's answer."""
        if t is not None:
            before = (t.status, t.service, t.window)
            engine.apply(event, t)
            seq = s.append(event, t.day, t.service)
            s.update_ticket(t, seq)
            self._live.ticket_changed(before, t)
        else:
            engine.apply(event, None, window)
            seq = s.append(event, self.today())
            s.save_window(window.number, window.status, window.clerk, seq)
            self._live.window_changed(window)
        self._live.seq = seq
        body = self._body(s, seq, event.type, event.at, event.window,
                          {**{k: v for k, v in event.data.items() if k != "window"}, **extra},
                          ticket=t, window_now=window)
        bodies.append(body)
        return body.get("ticket")

    def _body(self, s: Store, seq: int, kind: str, at: datetime, window: Optional[int], data: dict,
              *, ticket: Optional[Ticket] = None, window_now: Optional[Window] = None,
              inputs: Optional[dict] = None, ticket_view: Optional[dict] = None) -> dict:
        """The one shape every pushed event has (docs/contract.md): seq, type, at, window and the
        event's fields; a ticket's event also the ticket and every service's summary, a
        window's event the window as the snapshot shows it."""
        body = {"seq": seq, "type": kind, "at": iso(at), "window": window, **data}
        if ticket is not None:
            inputs = inputs or self._estimate_inputs(s)
            body["ticket"] = ticket_view or self._ticket_view(s, ticket, inputs)
            body["services"] = self._service_summaries(s, inputs)
        if window_now is not None:
            body["window_state"] = self._window_view(s, window_now)
            if ticket is None:  # a window opened, paused or closed: every estimate of its services moves
                body["services"] = self._service_summaries(s, inputs or self._estimate_inputs(s))
        return body

    def _record_hall_event(self, s: Store, bodies: list, kind: str, data: dict,
                           window: Optional[int] = None) -> int:
        """An event that changes no ticket (device, notice, case, print job): logged and pushed."""
        ev = Event(kind, self.now(), None, window, None, data)
        seq = s.append(ev, self.today())
        self._live.seq = seq
        bodies.append(self._body(s, seq, kind, ev.at, window, data))
        return seq

    def _roll_day(self, s: Store) -> None:
        """At the first change of a new hall day, cancel what the last day left open (pushed)."""
        today = self.today()
        if self._day == today:
            return
        stale = s.open_before(today)
        if stale:
            bodies: list[dict] = []
            now = self.now()
            with self._transaction(s):
                for t in stale:
                    ev = Event("ticket.cancelled", now, t.id, t.window, None,
                               {"number": t.number, "reason": "day_end"})
                    self._record(s, bodies, ev, t)
            self._push(bodies)
        self._day = today

    # -- tickets ---------------------------------------------------------------
    def issue(self, service_code, priority: bool = False,
              priority_kind: Optional[str] = None) -> dict:
        """Issue a ticket (and its print job, in the same transaction); returns its view."""
        svc = self.service(service_code)
        if priority_kind is not None and priority_kind not in engine.PRIORITY_KINDS:
            raise engine.BadPriorityKind(kind=priority_kind, known=", ".join(engine.PRIORITY_KINDS))
        with self.change() as (s, bodies):
            return self._issue_in(s, bodies, svc, priority=priority, priority_kind=priority_kind)

    def _issue_in(self, s: Store, bodies: list, svc: engine.Service, *, priority: bool = False,
                  priority_kind: Optional[str] = None, marks: Optional[dict] = None,
                  reserved: bool = False) -> dict:
        """Issue a ticket inside the open change, with its print job; returns what is printed.

        ``marks``: an appointment's or phone ticket's fields (server/appointment_ops.py).
        ``reserved``: an appointment's place was kept from walk-ins, so the day's cap, the
        walk-in slot quotas and the opening hours (its slot is in them) do not refuse it."""
        now, day = self.now(), self.today()
        slot = svc.slot_at(now)
        in_slot = 0
        if slot is not None and not reserved:
            start, end = (at.timestamp() for at in slot.on(day, self.tz))
            in_slot = s.issued_between(day, svc.code, start, end)
        rule_svc = engine.replace(svc, daily_cap=None, slots=()) if reserved else svc
        ev = engine.issue(rule_svc, day=day, now=now, issued_today=s.issued_count(day, svc.code),
                          issued_in_slot=in_slot, priority=priority, priority_kind=priority_kind,
                          enforce_hours=self.cfg.raw["hall"]["enforce_hours"] and not reserved,
                          marks=marks)
        t = engine.apply(ev)
        key = secrets.token_urlsafe(16)
        t.id = ev.ticket = s.insert_ticket(t, key)
        seq = s.append(ev, day, t.service)
        s.update_ticket(t, seq)
        self._live.ticket_changed(None, t)
        self._live.seq = seq
        inputs = self._estimate_inputs(s)
        public = self._ticket_view(s, t, inputs)
        printed = {**public, "status_url": self.status_url(key),
                   # the ticket names the windows that serve it and the hall's 过号 rule
                   "windows": list(self._windows_of.get(t.service, ())),
                   "calls_before_no_show": int(self.cfg.raw["queue"]["no_show_after_recalls"]) + 1}
        s.insert_print_job(t.id, "ticket", printed, iso(now), self.printer_for(s, self.issuing_kiosk()))
        bodies.append(self._body(s, seq, ev.type, now, None, {}, ticket=t, inputs=inputs,
                                 ticket_view=public))
        return printed

    def call_next(self, window_no: int) -> Optional[dict]:
        """Call the next ticket at a window; None when nothing waits."""
        with self.change() as (s, bodies):
            w = self.window(s, window_no)
            engine.check_window_can_call(w, s.current_at(w.number, self.today()))
            t = engine.pick_next(w, s.candidates(self.today(), w.services, w.number))
            if t is None:
                return None
            return self._record(s, bodies, engine.call(t, w, now=self.now()), t)

    def call_ticket(self, window_no: int, ticket_id: int, reason: str = "") -> dict:
        """Call one waiting ticket out of order, or call back a parked one."""
        with self.change() as (s, bodies):
            w = self.window(s, window_no)
            t = self.ticket(s, ticket_id)
            engine.check_window_can_call(w, s.current_at(w.number, self.today()))
            how = "callback" if t.status == "parked" else "direct"
            return self._record(s, bodies, engine.call(t, w, now=self.now(), how=how, reason=reason), t)

    def _at_window(self, ticket_id: int, rule, window_no: Optional[int] = None, **kw) -> dict:
        with self.change() as (s, bodies):
            t = self.ticket(s, ticket_id)
            w = self.window(s, window_no if window_no is not None else t.window)
            return self._record(s, bodies, rule(t, w, now=self.now(), **kw), t)

    def recall(self, ticket_id: int, window_no: Optional[int] = None) -> dict:
        return self._at_window(ticket_id, engine.recall, window_no)

    def no_show(self, ticket_id: int, window_no: Optional[int] = None) -> dict:
        """Mark a no-show; the hall file's [queue] no_show_after_recalls recalls come first."""
        return self._at_window(ticket_id, engine.no_show, window_no,
                               min_recalls=int(self.cfg.raw["queue"]["no_show_after_recalls"]))

    def finish(self, ticket_id: int, window_no: Optional[int] = None) -> dict:
        return self._at_window(ticket_id, engine.finish, window_no)

    def park(self, ticket_id: int, window_no: Optional[int] = None, note: str = "") -> dict:
        return self._at_window(ticket_id, engine.park, window_no, note=note)

    def transfer(self, ticket_id: int, *, service=None, window=None, note: str = "",
                 acting_window: Optional[int] = None) -> dict:
        """Send a ticket to another service's queue or to one window's queue.

        ``acting_window``: a clerk moves only their window's tickets and the waiting tickets
        of the services it serves (engine.check_may_act)."""
        with self.change() as (s, bodies):
            t = self.ticket(s, ticket_id)
            if acting_window is not None:
                engine.check_may_act(t, self.window(s, acting_window))
            svc = self.service(service) if service is not None else None
            w = self.window(s, window) if window is not None else None
            ev = engine.transfer(t, now=self.now(), service=svc, window=w, note=note,
                                 by_window=t.window)
            return self._record(s, bodies, ev, t)

    def cancel(self, ticket_id: int, reason: str = "", acting_window: Optional[int] = None) -> dict:
        """Cancel a waiting or parked ticket; ``acting_window``: a clerk's own tickets only."""
        with self.change() as (s, bodies):
            t = self.ticket(s, ticket_id)
            if acting_window is not None:
                engine.check_may_act(t, self.window(s, acting_window))
            return self._record(s, bodies, engine.cancel(t, now=self.now(), reason=reason), t)

    # -- ratings ---------------------------------------------------------------
    def rate(self, ticket_id: Optional[int], window_no: int, score: int, reasons=(), comment: str = "",
             source: str = "touch", device: Optional[str] = None,
             pad_sequence: Optional[tuple[str, str, str]] = None,
             phone: Optional[str] = None, request: Optional[int] = None,
             dimensions: Optional[dict] = None) -> dict:
        """Record the citizen's rating of the ticket just finished at this window, or of the
        case the window's business system asked about (``request``; 一次一评, docs/ratings.md).

        A 差评 (1 or 2) opens a follow-up case in the same transaction; a serial pad's
        sequence number (port, seq, reply) is stored with it, so a resend is never counted twice.
        ``dimensions``: the optional sub-scores {efficiency, level, attitude} (1–5 each)."""
        conf = self.cfg.raw["ratings"]
        with self.change() as (s, bodies):
            t = self.ticket(s, ticket_id) if ticket_id is not None else None  # before the guard
            w = self.window(s, window_no)
            now = self.now()
            if not self.press_guard.take(f"{source}:{device or w.number}"):
                self.press_guard.refused[w.number] += 1
                raise RateLimited()
            for reason in reasons:
                if reason not in conf["reasons"]:
                    raise UnknownReason(reason=reason, known=", ".join(conf["reasons"]))
            dims = case_rating.check_dimensions(dimensions)
            req = s.open_rating_request(w.number, now.timestamp())
            if request is not None and (req is None or req["id"] != request):
                raise case_rating.NoRatingDue(window=w.number)
            if ticket_id is None:
                if req is None:
                    raise case_rating.NoRatingDue(window=w.number)
                t = self.ticket(s, req["ticket"]) if req["ticket"] is not None else None
            if t is not None:
                rated = s.is_rated(t.id)
                if not rated and t.status == "done" and t.window == w.number:
                    latest = s.latest_finished(w.number, t.day)
                    if latest is not None and latest != t.id:
                        raise NotLatest(number=t.number, window=w.number)
                ev = engine.rate(t, w, now=now, score=score, already_rated=rated,
                                 within_s=conf["window_minutes"] * 60, reasons=reasons,
                                 comment=comment, source=source)
                if req is not None and req["ticket"] != t.id:
                    req = None  # the open request is of another case: this rating is the ticket's
                clerk, service, day = t.clerk, t.service, t.day
            else:  # a case rated without a ticket: the clerk signed in at the window now
                ev = Event("rating.created", now, None, w.number, w.clerk,
                           {"number": None, "service": None, "score": int(score),
                            "reasons": list(reasons), "source": source})
                clerk, service, day = w.clerk, None, self.today()
            case = case_rating.case_fields(req)
            s.store_evaluation_contents(evaluation.bodies(), iso(now))
            row = {"ticket": t.id if t else None, "score": int(score),
                   "reasons": json.dumps(list(reasons), ensure_ascii=False), "comment": comment,
                   "window": w.number, "clerk": clerk, "service": service,
                   "day": day.isoformat(), "source": source, "device": device,
                   "created_at": iso(now), "ts": now.timestamp(), **case,
                   "dimensions": json.dumps(dims, sort_keys=True) if dims else None,
                   "content_version": evaluation.CURRENT}
            rating_id = s.insert_rating(row)
            ev.data.update({"rating": rating_id, **case})
            seq = self._live.seq = s.append(ev, day, service)
            if req is not None:
                s.answer_rating_request(req["id"], rating_id, seq)
            if score <= 2:
                self._open_case(s, {**row, "id": rating_id, "number": t.number if t else None},
                                list(reasons), now, phone=phone)
            if pad_sequence is not None:
                port, pad_seq, reply = pad_sequence
                s.save_pad_sequence(port, pad_seq, reply, time.time())
            bodies.append(self._body(s, seq, ev.type, now, w.number, {
                "ticket_id": t.id if t else None, "number": t.number if t else None,
                "service": service, "score": int(score), "source": source,
                **({"request": req["id"], **case} if req else {})}))
            return {"id": rating_id, "ticket": t.id if t else None, "number": t.number if t else None,
                    "score": int(score), "reasons": list(reasons), "comment": comment,
                    "window": w.number, "clerk": clerk, "service": service, "source": source,
                    "created_at": iso(now), **case, "dimensions": dims,
                    "content_version": evaluation.CURRENT}

    def rating_due(self, window_no: int) -> Optional[dict]:
        """The ticket (or the case of the business system's request) a pad at this window
        should ask about now, or None."""
        conf = self.cfg.raw["ratings"]
        with self.store() as s:
            now = self.now()
            req = s.open_rating_request(window_no, now.timestamp())
            if req is not None:
                t = s.ticket(req["ticket"]) if req["ticket"] else None
                return {"ticket": t.id if t else None, "number": t.number if t else None,
                        "service": t.service if t else None,
                        "finished_at": iso(t.finished_at) if t else None,
                        "expires_in_s": round(req["expires_ts"] - now.timestamp(), 1),
                        "request": req["id"], **case_rating.case_fields(req)}
            tid = s.latest_finished(window_no, self.today())
            if tid is None or s.is_rated(tid):
                return None
            t = s.ticket(tid)
        age = (self.now() - t.finished_at).total_seconds()
        limit = min(float(conf["prompt_seconds"]), float(conf["window_minutes"]) * 60)
        if age > limit:
            return None
        return {"ticket": t.id, "number": t.number, "service": t.service,
                "finished_at": iso(t.finished_at), "expires_in_s": round(limit - age, 1)}

    def request_case_rating(self, window_no, case_no: str, matter_code: str, matter_name: str,
                            by: str) -> dict:
        """The window's business system (一窗式) finished a case: ask the window's pad to rate
        it. Tied to the ticket just finished there when it is still unrated and within the
        prompt time, else to no ticket. A newer request replaces an open one."""
        self.known_window(window_no)
        conf = self.cfg.raw["ratings"]
        limit = min(float(conf["prompt_seconds"]), float(conf["window_minutes"]) * 60)
        with self.change() as (s, bodies):
            now, today = self.now(), self.today()
            t = None
            tid = s.latest_finished(window_no, today)
            if tid is not None and not s.is_rated(tid):
                cand = s.ticket(tid)
                if (now - cand.finished_at).total_seconds() <= limit:
                    t = cand
            s.close_rating_requests(window_no, now.timestamp())
            rid = s.insert_rating_request({
                "window": window_no, "case_no": case_no, "matter_code": matter_code,
                "matter_name": matter_name, "ticket": t.id if t else None, "by": by,
                "requested_at": iso(now), "ts": now.timestamp(),
                "expires_ts": now.timestamp() + limit})
            data = {"request": rid, "case_no": case_no, "matter_code": matter_code,
                    "matter_name": matter_name, "ticket_id": t.id if t else None,
                    "number": t.number if t else None, "expires_in_s": limit, "by": by}
            self._record_hall_event(s, bodies, "rating.requested", data, window=window_no)
        return {**{k: v for k, v in data.items() if k != "by"}, "window": window_no,
                "content_version": evaluation.CURRENT, "requested_at": iso(now)}

    def save_pad_sequence(self, port: str, seq: str, reply: str) -> None:
        """A serial pad's refused frame: remember our answer so a resend gets the same one."""
        with self.lock, self.store() as s, s.transaction():
            s.save_pad_sequence(port, seq, reply, time.time())

    def pad_sequence(self, port: str) -> Optional[tuple[str, str, float]]:
        with self.store() as s:
            return s.pad_sequence(port)

    # -- follow-up cases of bad ratings (回访, 核实, 整改, 反馈) ----------------------
    def _open_case(self, s: Store, rating: dict, reasons: list, opened: datetime,
                   phone: Optional[str] = None) -> int:
        follow = self.cfg.raw["followup"]
        due = {step: deadline(opened, follow[step], self.calendar) for step in CASE_STEPS}
        owner = follow["owners"].get(rating["service"]) or follow["owner"] or None
        row = {"rating": rating["id"], "ticket": rating["ticket"], "number": rating["number"],
               "window": rating["window"], "clerk": rating["clerk"], "service": rating["service"],
               "score": rating["score"], "day": rating["day"], "owner": owner,
               "opened_at": rating["created_at"], "opened_ts": rating["ts"],
               "case_no": rating.get("case_no")}
        for step in CASE_STEPS:
            row[f"{step}_due"] = iso(due[step])
            row[f"{step}_due_ts"] = due[step].timestamp()
        case_id = s.insert_case(row)
        s.add_case_note(case_id, "system", "opened", opening_note(rating, reasons, bool(phone)), opened)
        if phone:
            s.save_case_contact(case_id, phone, opened)
        return case_id

    # -- citizens: calls for a helper (kiosk, pad), acknowledged by staff -------------
    def ask_help(self, device: str, kind: str, window: Optional[int], place: str = "") -> dict:
        """A citizen at a kiosk or pad asks for a helper: kept until staff acknowledge it."""
        with self.change() as (s, bodies):
            now = self.now()
            row = {"device": device, "kind": kind, "window": window, "place": place,
                   "asked_at": iso(now), "asked_ts": now.timestamp()}
            call_id = s.insert_help_call(row)
            view = {"id": call_id, "device": device, "kind": kind, "window": window,
                    "place": place, "asked_at": iso(now), "acked_at": None, "acked_by": None}
            self._record_hall_event(s, bodies, "help.asked", {"help": view}, window=window)
            return view

    def ack_help(self, call_id: int, by: str) -> dict:
        """Staff acknowledge a helper call (a second acknowledgement changes nothing)."""
        with self.change() as (s, bodies):
            row = s.help_call(call_id) if 0 < call_id < 2 ** 63 else None
            if row is None:
                raise UnknownHelpCall(help=call_id)
            if row["acked_ts"] is None:
                now = self.now()
                s.ack_help_call(call_id, by, now)
                row = s.help_call(call_id)
                view = {k: row[k] for k in ("id", "device", "kind", "window", "place", "asked_at",
                                            "acked_at", "acked_by")}
                view["waited_s"] = round(row["acked_ts"] - row["asked_ts"], 1)
                self._record_hall_event(s, bodies, "help.acked", {"help": view},
                                        window=row["window"])
                return view
            view = {k: row[k] for k in ("id", "device", "kind", "window", "place", "asked_at",
                                        "acked_at", "acked_by")}
            view["waited_s"] = round(row["acked_ts"] - row["asked_ts"], 1)
            return view

    def services_without_window(self) -> list[dict]:
        """Services with citizens waiting and no open window serving them, from the snapshot."""
        snap = self.snapshot()
        open_windows = {w["number"] for w in snap["windows"] if w["status"] == "open"}
        return [{"service": svc["code"], "name": svc["name"], "name_en": svc["name_en"],
                 "waiting": svc["waiting"], "windows": svc["windows"]}
                for svc in snap["services"]
                if svc["waiting"] and not open_windows.intersection(svc["windows"])]

    def cancel_by_key(self, key: str) -> Optional[dict]:
        """The citizen cancels their own ticket from its status page (by its key)."""
        with self.change() as (s, bodies):
            t = s.ticket_by_key(key)
            if t is None:
                return None
            self._record(s, bodies, engine.cancel(t, now=self.now(), reason="citizen"), t)
            return self._ticket_view(s, t)

    # -- citizens: callback phones kept only as long as the hall allows -------------
    def purge_contacts(self) -> int:
        """Delete the callback phones of cases closed more than the retention ago."""
        days = int(self.cfg.raw["followup"].get("contact_retention_days", 30))
        cutoff = iso(self.now() - timedelta(days=days))
        with self.lock, self.store() as s, s.transaction():
            return s.purge_case_contacts(cutoff)

    def _change_case(self, case_id: int, step: str, author: str, fn) -> int:
        """One case change: the rule (fn), its note and a `case.changed` event, in one transaction."""
        with self.change() as (s, bodies):
            row = s.case_row(case_id) if isinstance(case_id, int) and 0 < case_id < 2 ** 63 else None
            if row is None:
                raise UnknownCase(case=case_id)
            now = self.now()
            note = fn(s, row, now)
            s.add_case_note(case_id, author, step, note, now)
            after = s.case_row(case_id)
            self._record_hall_event(s, bodies, "case.changed", {
                "case": case_id, "step": step, "by": author, "status": after["status"],
                "appeal_status": after["appeal_status"], "rating": after["rating"]},
                window=after["window"])
        return case_id

    def case_step(self, case_id: int, step: str, author: str, note: str, finding: str = "") -> int:
        """Record a follow-up step done (callback, verify, rectify, reply) with a note."""
        if step not in CASE_STEPS:
            raise CaseStepRefused(case=case_id, why=N_("unknown step"))
        col = STEP_DONE[step]

        def rule(s, row, now):
            if row["status"] == "closed":
                raise CaseStepRefused(case=case_id, why=N_("it is closed"))
            if row[f"{col}_at"]:
                raise CaseStepRefused(case=case_id, why=N_("this step is done already"))
            if step == "reply" and not row["callback_done_at"]:
                raise CaseStepRefused(case=case_id, why=N_("call the citizen back before replying"))
            sets = {f"{col}_at": iso(now), f"{col}_ts": now.timestamp()}
            if step == "verify":
                sets["verify_finding"] = finding or None
            if step == "reply":
                sets["status"] = "replied"
            s.update_case(case_id, sets)
            return note
        return self._change_case(case_id, step, author, rule)

    def case_note(self, case_id: int, author: str, text: str) -> int:
        return self._change_case(case_id, "note", author, lambda s, row, now: text)

    def case_owner(self, case_id: int, author: str, owner: str) -> int:
        def rule(s, row, now):
            s.update_case(case_id, {"owner": owner})
            return owner
        return self._change_case(case_id, "owner", author, rule)

    def case_rerate(self, case_id: int, author: str, score: int, comment: str = "") -> int:
        """The one re-rating (追评) after the reply; it closes the case."""
        def rule(s, row, now):
            if not row["replied_at"]:
                raise CaseStepRefused(case=case_id, why=N_("a re-rating comes after the reply"))
            if row["rerating_score"] is not None:
                raise CaseStepRefused(case=case_id, why=N_("it has been re-rated already"))
            s.update_case(case_id, {"rerating_score": score, "rerated_at": iso(now),
                                    "status": "closed", "closed_at": iso(now),
                                    "closed_ts": now.timestamp()})
            return f"score {score}; {comment}".strip("; ")
        return self._change_case(case_id, "rerate", author, rule)

    def case_close(self, case_id: int, author: str, note: str) -> int:
        def rule(s, row, now):
            if not row["replied_at"] and row["appeal_status"] != "upheld":
                raise CaseStepRefused(case=case_id, why=N_("reply to the citizen before closing"))
            s.update_case(case_id, {"status": "closed", "closed_at": iso(now),
                                    "closed_ts": now.timestamp()}, only_open=True)
            return note
        return self._change_case(case_id, "close", author, rule)

    def case_appeal(self, case_id: int, author: str, reason: str) -> int:
        """The window's clerk (or a manager) appeals a rating as mistaken or malicious (申诉)."""
        def rule(s, row, now):
            if row["appeal_status"] != "none":
                raise CaseStepRefused(case=case_id, why=N_("it has been appealed already"))
            s.update_case(case_id, {"appeal_status": "pending", "appeal_reason": reason,
                                    "appealed_at": iso(now), "appealed_by": author})
            return reason
        return self._change_case(case_id, "appeal", author, rule)

    def case_decide_appeal(self, case_id: int, author: str, uphold: bool, reason: str) -> int:
        """A manager's review (复核): upheld excludes the rating from every figure, reason kept."""
        def rule(s, row, now):
            if row["appeal_status"] != "pending":
                raise CaseStepRefused(case=case_id, why=N_("there is no pending appeal"))
            s.update_case(case_id, {"appeal_status": "upheld" if uphold else "rejected",
                                    "appeal_decision": reason, "appeal_decided_at": iso(now),
                                    "appeal_decided_by": author})
            if uphold:
                s.update_case(case_id, {"excluded": 1, "exclude_reason": reason, "status": "closed",
                                        "closed_at": row["closed_at"] or iso(now),
                                        "closed_ts": row["closed_ts"] or now.timestamp()})
                s.exclude_rating(row["rating"], reason)
            return f"{'upheld' if uphold else 'rejected'}: {reason}"
        return self._change_case(case_id, "appeal_decision", author, rule)

    # -- windows ---------------------------------------------------------------
    def _window_event(self, window_no: int, rule, **kw) -> dict:
        with self.change() as (s, bodies):
            w = self.window(s, window_no)
            self._record(s, bodies, rule(w, now=self.now(), **kw), None, w)
            return self._window_view(s, w)

    def pause(self, window_no: int, reason: str = "") -> dict:
        return self._window_event(window_no, engine.pause, reason=reason)

    def resume(self, window_no: int) -> dict:
        return self._window_event(window_no, engine.resume)

    def sign_in(self, window_no: int, employee_no: str) -> dict:
        """A clerk takes a window; it opens for calls."""
        return self._window_event(window_no, engine.window_change, status="open",
                                  clerk=employee_no, reason="sign_in")

    def sign_in_clerk(self, window_no: int, employee_no: str, take_over: bool = False) -> dict:
        """One clerk at one window (docs/operations.md): a window another clerk holds is
        refused (409 window_occupied) unless ``take_over``, which signs that clerk out
        first; the clerk leaves any other window held. All in one transaction, each step
        its own `window.changed` event."""
        with self.change() as (s, bodies):
            w = self.window(s, window_no)
            displaced = w.clerk if w.clerk and w.clerk != employee_no and w.status != "closed" else None
            if displaced and not take_over:
                staff = self.cfg.staff.get(displaced)
                raise WindowOccupied(window=window_no, clerk=displaced,
                                     name=staff.name if staff else displaced)
            now = self.now()
            if displaced:
                self._record(s, bodies, engine.window_change(w, now=now, status="closed", clerk=None,
                                                             reason="taken_over"), None, w)
            left = []
            for n, state in sorted(self._live.states.items()):
                if n != window_no and state.get("clerk") == employee_no and n in self.cfg.windows:
                    other = self.window(s, n)
                    self._record(s, bodies, engine.window_change(other, now=now, status="closed",
                                                                 clerk=None, reason="moved"), None, other)
                    left.append(n)
            self._record(s, bodies, engine.window_change(w, now=now, status="open", clerk=employee_no,
                                                         reason="sign_in"), None, w)
            return {"window": self._window_view(s, w), "displaced": displaced, "left": left}

    def sign_out(self, window_no: int, employee_no: Optional[str] = None) -> Optional[dict]:
        """The clerk leaves; the window closes (only if that clerk still holds it)."""
        with self.change() as (s, bodies):
            w = self.window(s, window_no)
            if employee_no is not None and w.clerk != employee_no:
                return None
            self._record(s, bodies, engine.window_change(w, now=self.now(), status="closed",
                                                         clerk=None, reason="sign_out"), None, w)
            return self._window_view(s, w)

    def sign_out_by_manager(self, window_no: int, by: str, reason: str = "") -> dict:
        """A manager (or admin) signs the clerk out of a window: it closes, with a
        `window.changed` (reason ``signed_out``, ``by`` the manager), and in the same
        transaction the clerk's tokens at that window end (401 there). NoClerk when nobody
        holds it."""
        with self.change() as (s, bodies):
            w = self.window(s, window_no)
            if not w.clerk or w.status == "closed":
                raise NoClerk(window=window_no)
            clerk = w.clerk
            event = engine.window_change(w, now=self.now(), status="closed", clerk=None,
                                         reason="signed_out")
            event.data.update({"by": by, "clerk_was": clerk, "note": str(reason or "")[:200]})
            self._record(s, bodies, event, None, w)
            hall_store.revoke_window_tokens(s.db, clerk, window_no)
            return {"window": self._window_view(s, w), "signed_out": clerk}

    def sign_out_everywhere(self, employee_no: str, reason: str = "disabled") -> list[int]:
        """Close every window ``employee_no`` holds (an account disabled): the windows closed."""
        closed = []
        with self.change() as (s, bodies):
            for n, state in sorted(self._live.states.items()):
                if state.get("clerk") == employee_no and state.get("status") != "closed" \
                        and n in self.cfg.windows:
                    w = self.window(s, n)
                    event = engine.window_change(w, now=self.now(), status="closed", clerk=None,
                                                 reason=reason)
                    event.data["clerk_was"] = employee_no
                    self._record(s, bodies, event, None, w)
                    closed.append(n)
        return closed

    def window_state(self, window_no: int) -> dict:
        """A window's status and the ticket it serves now (for keypads)."""
        with self.store() as s:
            w = self.window(s, window_no)
            current = s.current_at(w.number, self.today())
        return {"status": w.status,
                "current": {"id": current.id, "number": current.number} if current else None}

    # -- the notice line ---------------------------------------------------------
    def notice(self, s: Optional[Store] = None) -> str:
        """The notice a manager set, else the hall file's [hall] notice."""
        default = self.cfg.raw["hall"].get("notice", "")
        if s is None:
            with self.store() as s:
                return self.notice(s)
        raw = s.setting(NOTICE_KEY)
        if raw is None:
            return default
        try:
            return json.loads(raw)["text"]
        except (ValueError, KeyError, TypeError):
            return default

    def set_notice(self, text: str, by: str) -> dict:
        """Set the lobby's scrolling notice ('' clears it); a `notice.changed` event."""
        text = " ".join(text.split())
        with self.change() as (s, bodies):
            at = iso(self.now())
            s.put_setting(NOTICE_KEY, json.dumps({"text": text, "by": by, "at": at},
                                                 ensure_ascii=False))
            self._record_hall_event(s, bodies, "notice.changed", {"text": text, "by": by})
        return {"text": text, "at": at, "by": by}

    # -- assessment (issue 15): commitments, citizens' feedback, training -------
    def set_commitment(self, staff: str, year: int, text: str, text_en: str,
                       targets: list, by: str) -> dict:
        """A clerk's public commitment (公开承诺) for a year: its text and targets from the
        post's indicators; the earlier one is kept as replaced. `commitment.changed`."""
        if staff not in self.cfg.staff:
            raise rules.UnknownStaff(staff=staff[:32], known=", ".join(self.cfg.staff))
        checked = rules.commitment_targets(hall_post_of(self.cfg, staff), targets)
        with self.change() as (s, bodies):
            at = iso(self.now())
            row = {"staff": staff, "year": year, "text": " ".join(text.split()),
                   "text_en": " ".join(text_en.split()),
                   "targets": json.dumps(checked, ensure_ascii=False), "made_at": at, "made_by": by}
            row["id"] = s.replace_commitment(row)
            self._record_hall_event(s, bodies, "commitment.changed",
                                    {"staff": staff, "year": year, "id": row["id"]})
        return {**row, "targets": checked, "replaced_at": None}

    def leave_feedback(self, kind: str, text: str, phone: str, source: str,
                       ticket_key: Optional[str] = None) -> dict:
        """A citizen's opinion or suggestion (意见建议), from the status page (with the
        ticket's key) or a kiosk; the reply falls due by [feedback] reply. Bounded per
        ticket and for the kiosks. `feedback.created` (managers see it; no text pushed)."""
        section = self.cfg.raw.get("feedback") or {}
        with self.change() as (s, bodies):
            ticket = s.ticket_by_key(ticket_key) if ticket_key else None
            if ticket_key and ticket is None:
                raise engine.UnknownTicket(ticket="?")
            now = self.now()
            since = iso(now - timedelta(hours=1))
            limit = int(section.get("per_ticket_per_hour", 3)) if ticket else \
                int(section.get("kiosk_per_hour", 30))
            if s.feedback_since(ticket.id if ticket else None, since) >= limit:
                raise rules.TooMuchFeedback()
            due = deadline(now, section.get("reply", "5wd"), self.calendar)
            row = {"ticket": ticket.id if ticket else None, "source": source, "kind": kind,
                   "text": text.strip(), "phone": rules.clean_phone(phone),
                   "created_at": iso(now), "day": now.date().isoformat(), "reply_due": iso(due)}
            row["id"] = s.insert_feedback(row)
            self._record_hall_event(s, bodies, "feedback.created",
                                    {"feedback": row["id"], "source": source, "kind": kind})
        return {"id": row["id"], "kind": kind, "created_at": row["created_at"],
                "reply_due": row["reply_due"], "phone": rules.mask_phone(row["phone"])}

    def reply_feedback(self, feedback_id: int, reply: str, by: str) -> dict:
        """A manager's answer to an opinion; shown on the citizen's status page. `feedback.replied`."""
        with self.change() as (s, bodies):
            row = s.feedback(feedback_id) if 0 < feedback_id < 2 ** 63 else None
            if row is None:
                raise rules.UnknownFeedback(feedback=feedback_id)
            if row["replied_at"]:
                raise rules.AlreadyReplied(feedback=feedback_id)
            at = iso(self.now())
            s.reply_feedback(feedback_id, reply.strip(), at, by)
            self._record_hall_event(s, bodies, "feedback.replied", {"feedback": feedback_id, "by": by})
        on_time = at <= row["reply_due"]
        return {"id": feedback_id, "reply": reply.strip(), "replied_at": at, "replied_by": by,
                "reply_due": row["reply_due"], "on_time": on_time}

    def record_training(self, staff: str, item: str, day: date, note: str, by: str) -> dict:
        """Training given (教育培训): who, which catalogue item, on which day. `training.recorded`."""
        if staff not in self.cfg.staff:
            raise rules.UnknownStaff(staff=staff[:32], known=", ".join(self.cfg.staff))
        catalogue = {str(t.get("code")) for t in self.cfg.raw.get("training") or []}
        if item not in catalogue:
            raise rules.UnknownTrainingItem(item=item[:32], known=", ".join(sorted(catalogue)))
        with self.change() as (s, bodies):
            row = {"staff": staff, "item": item, "day": day.isoformat(), "note": note.strip(),
                   "recorded_at": iso(self.now()), "recorded_by": by}
            row["id"] = s.insert_training(row)
            self._record_hall_event(s, bodies, "training.recorded",
                                    {"staff": staff, "item": item, "id": row["id"]})
        return row

    # -- printing ----------------------------------------------------------------
    def reprint(self, ticket_id: int) -> dict:
        """Queue the ticket's print again (a manager's request); returns the job."""
        with self.change() as (s, bodies):
            t = self.ticket(s, ticket_id)
            payload = {**self._ticket_view(s, t, self._estimate_inputs(s)),
                       "status_url": self.status_url(getattr(t, "key"))}
            job_id = s.insert_print_job(t.id, "reprint", payload, iso(self.now()),
                                        s.ticket_printer(t.id))  # where it first printed
            job = s.print_job(job_id)
            self._record_hall_event(s, bodies, "print.changed", {"job": job})
        return job

    def due_print_jobs(self, limit: int = 20, printer: Optional[str] = None, others=()) -> list[dict]:
        with self.store() as s:
            return s.due_print_jobs(time.time(), limit, printer, others)

    def pending_print_jobs(self, printer: Optional[str] = None, others=()) -> int:
        with self.store() as s:
            return s.pending_print_jobs(printer, others)

    def print_job_printed(self, job_id: int) -> None:
        with self.change() as (s, bodies):
            s.print_job_printed(job_id, iso(self.now()))
            self._record_hall_event(s, bodies, "print.changed", {"job": s.print_job(job_id)})

    def print_job_failed(self, job_id: int, error: str, retry_in_s: float) -> None:
        with self.change() as (s, bodies):
            s.print_job_failed(job_id, error, time.time() + retry_in_s)
            self._record_hall_event(s, bodies, "print.changed", {"job": s.print_job(job_id)})

    def release_print_jobs(self, printer: Optional[str] = None, others=()) -> None:
        """Jobs that waited behind an earlier failure may go now (no event: nothing is printed)."""
        with self.lock, self.store() as s, s.transaction():
            s.release_print_jobs(printer, others)

    # -- printers per kiosk (docs/printing.md, "Printers per kiosk") --
    # Who is issuing now: the web layer sets this to "the kiosk device of this request"
    # (server/api_printing.issuing_kiosk), so every issue path (a ticket, an appointment's
    # check-in) prints at the kiosk that issued it.
    issuing_kiosk: Callable[[], Optional[str]] = staticmethod(lambda: None)

    def printer_for(self, s: Store, kiosk: Optional[str]) -> str:
        """The printer a kiosk's ticket goes to: its own, or 'default' ([printer] url)."""
        return kiosk if kiosk and kiosk != "default" and s.kiosk_printer(kiosk) else "default"

    def kiosk_printers(self) -> list[dict]:
        with self.store() as s:
            return hall_store.kiosk_printers(s.db)

    def set_kiosk_printer(self, name: str, url: Optional[str], by: str) -> dict:
        """Bind a printer URL to a kiosk (None: it prints on the default printer); pushed as
        `device.changed` (kind `kiosk`), so the device hub opens or closes its spool."""
        with self.change() as (s, bodies):
            device = hall_store.device_by_name(s.db, name)
            if device is None or device["kind"] != "kiosk":
                raise UnknownKiosk(name=name)
            hall_store.set_device_printer(s.db, device["id"], url or None)
            # `kiosk` names it on every screen (`name` and the URL are for staff only:
            # server/privacy.py)
            body = {"device": f"kiosk:{name}", "kind": "kiosk", "kiosk": name, "name": name,
                    "printer": url or None, "by": by}
            self._record_hall_event(s, bodies, "device.changed", body)
        return body

    def device_changed(self, body: dict) -> None:
        """A device's health changed (printer paper out, back online): `device.changed`, pushed."""
        with self.change() as (s, bodies):
            self._record_hall_event(s, bodies, "device.changed", body)


    # -- the hall's configuration (checked by server/hallschema.py; started by config_live) --
    def change_config(self, raw: dict, by: str, source: str, *, digest: Optional[str] = None,
                      resolve: Optional[dict] = None) -> dict:
        """Replace the whole configuration: checked, stored, audited as ``config.changed``
        (who, from where, each key old → new), swapped in without a restart and pushed.

        Waiting tickets the change would strand (their service removed or served by no
        window left) refuse it with WouldStrand unless ``resolve`` says what to do:
        ``{"action": "move", "service": "B"}`` or ``{"action": "cancel", "reason": "..."}``."""
        raw = hall_config.merge(hall_config.DEFAULTS, raw)
        hall_config.check(raw, "PUT /api/config" if source == "api" else source)
        new = hall_config.build(self.cfg.folder, raw)
        fixed = []  # what only hall.toml and a restart may change: where the data is, the hall's clock
        if new.db_path != self.cfg.db_path:
            fixed.append(hallschema.Problem(("data", "folder"), N_(
                "the database lives here; change it in hall.toml with the hall stopped")))
        if raw["hall"]["timezone"] != getattr(self.tz, "key", raw["hall"]["timezone"]):
            fixed.append(hallschema.Problem(("hall", "timezone"), N_(
                "the hall's time zone changes in hall.toml, at a restart")))
        if fixed:
            lines = [f"{source}: {p.path}: {p.text()}" for p in fixed]
            raise hall_config.ConfigError("\n".join(lines), lines, fixed)
        with self.lock:
            stranded = self.stranded_by(new)
            if stranded:
                if not resolve:
                    raise WouldStrand(stranded)
                self._resolve_stranded(stranded, resolve, new)
            with self.change() as (s, bodies):
                old = self.cfg.raw
                changes = hallschema.diff(old, raw)
                now = self.now()
                seq = None
                if changes:
                    seq = self._record_hall_event(s, bodies, "config.changed",
                                                  {"by": by, "source": source, "changes": changes})
                stored = hall_store.latest_config(s.db)
                if changes or stored is None or digest:
                    hall_store.insert_config_version(s.db, iso(now), by, source, digest,
                                                     json.dumps(raw, ensure_ascii=False, default=str),
                                                     seq)
                before = {r.get("employee_no"): r for r in old.get("staff", [])} if stored else {}
                for row in raw.get("staff", []):
                    was = before.get(row.get("employee_no"), {})
                    if (row.get("commitment", ""), row.get("commitment_en", "")) != \
                            (was.get("commitment", ""), was.get("commitment_en", "")) or not stored:
                        if row.get("commitment") or row.get("commitment_en") or was:
                            hall_store.insert_commitment(s.db, row["employee_no"], iso(now), by,
                                                         row.get("commitment", ""),
                                                         row.get("commitment_en", ""))
                self.swap_config(new)
                if bodies and bodies[-1]["type"] == "config.changed":
                    bodies[-1].update(self._config_view(s))
        return raw

    def swap_config(self, new: HallConfig) -> None:
        """Run on ``new`` from now on: everyone holding the hall's HallConfig sees it."""
        with self.lock:
            folder = self.cfg.folder
            self.cfg.__dict__.update(new.__dict__)
            self.cfg.folder = folder
            cfg = self.cfg
            self._hours_labels = {code: svc.hours_label() for code, svc in cfg.services.items()}
            self._windows_of = {code: [w.number for w in cfg.windows.values() if code in w.services]
                                for code in cfg.services}
            self.calendar = WorkCalendar.from_config(cfg.raw)
            ratings = cfg.raw["ratings"]
            self.press_guard.rate = float(ratings["presses_per_minute"]) / 60.0
            self.press_guard.burst = int(ratings["press_burst"])
            self._snapshot = None

    def _config_view(self, s: Store) -> dict:
        """What screens redraw after a change: every service's summary, every window, the hall."""
        inputs = self._estimate_inputs(s)
        states = inputs["states"]
        windows = [engine.replace(conf, status=states.get(n, {}).get("status", "closed"),
                                  clerk=states.get(n, {}).get("clerk"))
                   for n, conf in self.cfg.windows.items()]
        return {"services": self._service_summaries(s, inputs),
                "windows": [self._window_view(s, w) for w in windows],
                "hall": {"name": self.cfg.name, "name_en": self.cfg.raw["hall"]["name_en"],
                         "notice": self.notice(s)}}

    def stranded_by(self, new: HallConfig) -> list[dict]:
        """Today's waiting tickets ``new`` would leave with no window to call them."""
        served = {code for w in new.windows.values() for code in w.services}
        with self.store() as s:
            waiting = s.tickets(self.today(), ("waiting",))
        out: dict[tuple, dict] = {}
        for t in waiting:
            if t.target_window is not None and t.target_window not in new.windows:
                why = "window_removed"
            elif t.target_window is None and t.service not in served:
                why = "service_removed" if t.service not in new.services else "service_unserved"
            else:
                continue
            key = (t.service, why)
            row = out.setdefault(key, {"service": t.service, "why": why, "waiting": 0, "tickets": []})
            row["waiting"] += 1
            row["tickets"].append({"id": t.id, "number": t.number})
        return list(out.values())

    def _resolve_stranded(self, stranded: list[dict], resolve: dict, new: HallConfig) -> None:
        action = resolve.get("action")
        if action == "move":
            to = resolve.get("service")
            serving = any(to in w.services for w in new.windows.values())
            if to not in self.cfg.services or to not in new.services or not serving:
                raise engine.UnknownService(service=to, known=", ".join(
                    c for c in new.services if c in self.cfg.services and
                    any(c in w.services for w in new.windows.values())))
            for row in stranded:
                for t in row["tickets"]:
                    self.transfer(t["id"], service=to, note="config.changed")
        elif action == "keep":  # hall.toml at start: they wait for the day's end or a manager
            return
        elif action == "cancel":
            for row in stranded:
                for t in row["tickets"]:
                    self.cancel(t["id"], reason=str(resolve.get("reason") or "config.changed")[:200])
        else:
            raise WouldStrand(stranded)

    # -- a past, loaded in bulk ----------------------------------------------------
    def import_history(self, days: Iterable[dict]) -> None:
        """Load generated days (qrate seed-history), one transaction per day, nothing pushed.

        Each day: {"tickets", "events", "ratings", "closed_windows"} in the store's row shapes."""
        for day in days:
            with self.lock, self.store() as s, s.transaction():
                s.load_history(day["tickets"], day["events"], day["ratings"], day["closed_windows"])

    # -- views -------------------------------------------------------------------
    def _estimate_inputs(self, s: Store) -> dict:
        """What every estimate needs, read once: window states, busy windows, recent means."""
        limit = int(self.cfg.raw["queue"]["recent_services"])
        means = {}
        for code, svc in self.cfg.services.items():
            recent = self._recent.get(code)
            if recent is None or recent.maxlen != limit:
                recent = self._recent[code] = deque(s.recent_service_times(code, limit), maxlen=limit)
            means[code] = fmean(recent) if recent else svc.target_service_s
        live = self._live if self.lock._is_owned() else None
        if live is None:  # a reader outside any change: from the file
            day = self.today()
            return {"states": s.window_states(), "busy": s.busy_windows(day), "means": means,
                    "waiting": s.waiting_counts(day), "issued": s.issued_counts(day)}
        return {"states": live.states, "busy": live.busy, "means": means,
                "waiting": live.waiting, "issued": live.issued}

    def _ticket_view(self, s: Store, t: Ticket, inputs: Optional[dict] = None) -> dict:
        svc = self.cfg.services.get(t.service)
        view = {"id": t.id, "number": t.number, "service": t.service,
                "service_name": svc.name if svc else t.service,
                "service_name_en": svc.name_en if svc else t.service,
                "status": t.status, "priority": t.priority, "priority_kind": t.priority_kind,
                "issued_at": iso(t.issued_at), "called_at": iso(t.called_at),
                "finished_at": iso(t.finished_at), "window": t.window,
                "target_window": t.target_window, "recalls": t.recalls, "day": t.day.isoformat(),
                "appointment": t.appointment, "checked_in": t.checked_in, "remote": t.remote,
                "queue_at": iso(t.queue_at)}
        if t.status == "waiting":
            ahead = s.ahead_of(t)
            view["waiting_ahead"] = ahead
            view["estimated_wait_s"] = self._estimate(t.service, ahead, inputs or self._estimate_inputs(s))
        else:
            view["waiting_ahead"], view["estimated_wait_s"] = 0, None
        return view

    def status_url(self, key: str) -> str:
        base = self.cfg.raw["hall"]["public_url"].rstrip("/")
        return f"{base}/t/{key}"

    def _estimate(self, service: str, ahead: int, inputs: dict) -> Optional[int]:
        """Seconds until a ticket with ``ahead`` before it is likely called."""
        open_windows = [n for n in self._windows_of.get(service, ())
                        if inputs["states"].get(n, {}).get("status") == "open"]
        idle = sum(1 for n in open_windows if n not in inputs["busy"])
        return engine.estimate_wait(ahead, open_windows=len(open_windows), idle_windows=idle,
                                    mean_service_s=inputs["means"].get(service))

    def _service_summaries(self, s: Store, inputs: dict) -> list[dict]:
        now = self.now()
        waiting_by, issued_by = inputs["waiting"], inputs["issued"]
        enforce = self.cfg.raw["hall"]["enforce_hours"]
        out = []
        for code, svc in self.cfg.services.items():
            waiting = waiting_by.get(code, 0)
            n = issued_by.get(code, 0)
            remaining = svc.daily_cap - n if svc.daily_cap is not None else None
            is_open = svc.is_open(now) or not enforce
            reason = None
            if not is_open:
                reason = "closed"
            elif remaining is not None and remaining <= 0:
                reason = "daily_cap"
            out.append({
                "code": code, "name": svc.name, "name_en": svc.name_en,
                "waiting": waiting, "issued": n, "daily_cap": svc.daily_cap,
                "remaining": remaining,
                "warning": bool(svc.daily_cap and n >= svc.warn_at * svc.daily_cap),
                "open": is_open and reason is None, "closed_reason": reason,
                "hours": self._hours_labels[code],
                "estimated_wait_s": self._estimate(code, waiting, inputs),
                "target_wait_s": svc.target_wait_s,
                "windows": list(self._windows_of[code]),
            })
            out[-1].update(self._citizen_summary(s, svc, now, n, out[-1]))
        return out

    def _clock_marks(self) -> str:
        """Which services' hours and slots are in force now, for the snapshot's cache key: a
        service that closes at 12:00 or a slot that ends is seen without waiting for a change."""
        now = self.now()
        marks = []
        for svc in self._timed_services:
            slot = svc.slot_at(now)
            marks.append(("1" if svc.is_open(now) else "0") + (slot.label() if slot else ""))
        return "#" + "".join(marks) if marks else ""

    def _citizen_summary(self, s: Store, svc, now: datetime, issued: int, row: dict) -> dict:
        """What the kiosk shows before a tap: the category, a full time-slot, hours over."""
        raw = self._raw_services.get(svc.code, {})
        extra = {"category": raw.get("category", ""),
                 "category_en": raw.get("category_en", "") or raw.get("category", ""),
                 "hours_ended": False, "slot": None}
        if row["closed_reason"] == "closed" and svc.hours and now.isoweekday() in svc.days:
            # closed, on an opening day, after its last period: over for today, not "not yet"
            extra["hours_ended"] = now.time() >= max(p.end for p in svc.hours)
        slot = svc.slot_at(now)
        if slot is not None and row["open"]:
            extra["slot"] = slot.label()
            if issued >= slot.cap:  # a cheap bound first: most changes never count the slot
                day = self.today()
                start, end = (at.timestamp() for at in slot.on(day, self.tz))
                if s.issued_between(day, svc.code, start, end) >= slot.cap:
                    extra.update(open=False, closed_reason="slot_full")
        return extra

    def _window_view(self, s: Store, w: Window, current: Optional[Ticket] = None,
                     known: bool = False) -> dict:
        """A window as screens show it; ``known``: the caller already looked up ``current``."""
        if not known:
            current = s.current_at(w.number, self.today())
        staff = self.cfg.staff.get(w.clerk) if w.clerk else None
        clerk = None
        if w.clerk:
            clerk = {"employee_no": w.clerk, "name": staff.name if staff else w.clerk,
                     "commitment": staff.commitment if staff else ""}
        return {"number": w.number, "name": w.name, "services": list(w.services),
                "status": w.status, "clerk": clerk,
                "current": {"id": current.id, "number": current.number,
                            "called_at": iso(current.called_at)} if current else None}

    def window_view(self, window_no: int) -> dict:
        with self.store() as s:
            return self._window_view(s, self.window(s, window_no))

    def snapshot(self) -> dict:
        """The whole live state (GET /api/queue and the Socket.IO snapshot).

        Built outside the write lock in one read transaction, so it carries the seq it
        was read at: clients drop events at or below it. One copy is kept per seq and
        day, so a flood of readers costs one build per change, not one per request."""
        day = self.today()
        with self.store() as s:
            last = s.last_seq()
        daykey = day.isoformat() + self._clock_marks()
        cached = self._snapshot
        if cached is not None and cached[:2] == (last, daykey):
            return self._fresh(cached[2])
        with self._snapshot_lock:
            cached = self._snapshot
            if cached is not None and cached[:2] == (last, daykey):
                return self._fresh(cached[2])
            with self.store() as s, s.reading():
                seq = s.last_seq()
                tickets = s.tickets(day, ACTIVE)
                states = s.window_states()
                serving = {t.window: t for t in tickets if t.status == "called"}
                windows = [engine.replace(conf, status=states.get(n, {}).get("status", "closed"),
                                          clerk=states.get(n, {}).get("clerk"))
                           for n, conf in self.cfg.windows.items()]
                inputs = self._estimate_inputs(s)
                body = {
                    "seq": seq, "at": iso(self.now()), "day": day.isoformat(),
                    "hall": {"name": self.cfg.name, "name_en": self.cfg.raw["hall"]["name_en"],
                             "notice": self.notice(s)},
                    "services": self._service_summaries(s, inputs),
                    "windows": [self._window_view(s, w, serving.get(w.number), known=True)
                                for w in windows],
                    "tickets": [{"id": t.id, "number": t.number, "service": t.service,
                                 "status": t.status, "priority": t.priority, "window": t.window,
                                 "target_window": t.target_window, "issued_at": iso(t.issued_at),
                                 "called_at": iso(t.called_at), "appointment": t.appointment,
                                 "checked_in": t.checked_in, "queue_at": iso(t.queue_at)}
                                for t in tickets],
                    "calls": s.latest_calls(day),
                }
            if cached is None or seq >= cached[0]:
                self._snapshot = (seq, daykey, body)
            return self._fresh(body)

    def _fresh(self, body: dict) -> dict:
        """The kept snapshot with this moment's time and device health."""
        out = {**body, "at": iso(self.now())}
        for part in self.snapshot_parts:
            out.update(part())
        return out

    def public_ticket(self, ticket_id: int) -> dict:
        with self.store() as s:
            return self._ticket_view(s, self.ticket(s, ticket_id))

    def number_called_today(self, number: str) -> tuple[bool, Optional[int]]:
        """Whether a ticket with this number (A023, AB1000) exists today, and the window it
        was last called to (None: not called yet); the voice route's check."""
        m = re.fullmatch(r"([A-Z]{1,2})(\d{3,6})", number or "")
        if m is None:
            return False, None
        with self.store() as s:
            return s.number_window(self.today(), m[1], int(m[2]))

    def ticket_by_key(self, key: str) -> Optional[dict]:
        with self.store() as s:
            t = s.ticket_by_key(key)
            return self._ticket_view(s, t) if t else None


__all__ = ["Operations", "QueueError"]
