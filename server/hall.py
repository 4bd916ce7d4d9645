"""The service layer: every change to the hall goes through here.

HTTP views, Socket.IO handlers, device threads and the CLI call these methods.
Each change takes the hall's write lock, runs one transaction that updates the
current state and appends to ``ticket_events``, and after the commit hands the
event to the notifier (still under the lock, so pushes leave in sequence
order).
"""
from __future__ import annotations

import contextlib
import json
import queue
import secrets
import threading
from datetime import date, datetime, timedelta
from statistics import fmean
from typing import Callable, Optional

from . import engine
from .config import HallConfig
from .engine import Event, QueueError, Ticket, Window
from .store import Store, connect

ACTIVE = ("waiting", "called", "parked")


def iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value else None


class Hall:
    """One hall: its configuration, its database and the rules applied to both."""

    def __init__(self, cfg: HallConfig, *, notify: Optional[Callable[[dict], None]] = None,
                 clock: Optional[Callable[[], datetime]] = None, pool_size: int = 16):
        self.cfg = cfg
        self.tz = cfg.tz
        self.lock = threading.RLock()
        self.notify = notify or (lambda payload: None)
        self.clock = clock or (lambda: datetime.now(self.tz))
        self.after_issue: list[Callable[[Store, Ticket], None]] = []  # e.g. the print spool
        self.snapshot_extras: list[Callable[[], dict]] = []  # e.g. device health, merged in
        # rating integrity (server/ratings.py): checks before a rating, hooks after it, in its transaction
        self.rating_checks: list[Callable[..., None]] = []
        self.after_rate: list[Callable[[Store, dict], None]] = []
        self._pool: "queue.LifoQueue[Store]" = queue.LifoQueue()
        self._pool_size = pool_size
        self._day: Optional[date] = None

    # -- connections ---------------------------------------------------------
    @contextlib.contextmanager
    def store(self):
        """Borrow a connection from the pool (one borrower at a time)."""
        try:
            s = self._pool.get_nowait()
        except queue.Empty:
            db = connect(self.cfg.db_path)
            s = Store(db, self.tz)
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
        """The write lock, a connection and a transaction; events are pushed after commit."""
        events: list[dict] = []
        with self.lock, self.store() as s:
            self._roll_day(s)
            with s.db.atomic():
                yield s, events
            for payload in events:
                self.notify(payload)

    def now(self) -> datetime:
        return self.clock().astimezone(self.tz)

    def today(self) -> date:
        return self.now().date()

    # -- lookups -------------------------------------------------------------
    def service(self, code) -> engine.Service:
        svc = self.cfg.services.get(code) if isinstance(code, str) else None
        if svc is None:
            raise engine.UnknownService(service=code, known=", ".join(self.cfg.services))
        return svc

    def window(self, s: Store, number) -> Window:
        conf = self.cfg.windows.get(number) if isinstance(number, int) else None
        if conf is None:
            raise engine.UnknownWindow(window=number,
                                       known=", ".join(str(n) for n in self.cfg.windows))
        state = s.window_states().get(number, {})
        return engine.replace(conf, status=state.get("status", "closed"), clerk=state.get("clerk"))

    def ticket(self, s: Store, ticket_id) -> Ticket:
        t = s.ticket(ticket_id) if isinstance(ticket_id, int) else None
        if t is None:
            raise engine.UnknownTicket(ticket=ticket_id)
        return t

    # -- recording -----------------------------------------------------------
    def _record(self, s: Store, events: list, event: Event, t: Optional[Ticket] = None,
                window: Optional[Window] = None) -> Optional[dict]:
        """Fold the event into the state, store both, queue the push.

        Returns the ticket's view as pushed, which is also the API's answer."""
        day = t.day if t is not None else self.today()
        if t is not None:
            engine.apply(event, t)
            seq = s.append(event, day, t.service)
            s.update_ticket(t, seq)
        else:
            engine.apply(event, None, window)
            seq = s.append(event, day)
            s.save_window(window.number, window.status, window.clerk, seq)
        payload = self._payload(s, event, t, window)
        events.append(payload)
        return payload.get("ticket")

    def _payload(self, s: Store, event: Event, t: Optional[Ticket],
                 window: Optional[Window]) -> dict:
        body = {"seq": event.seq, "type": event.type, "at": iso(event.at),
                "window": event.window, **{k: v for k, v in event.data.items()
                                           if k not in ("window",)}}
        if t is not None:
            load = self._load(s)  # read once for the ticket's estimate and every service's
            body["ticket"] = self.ticket_view(s, t, load=load)
            body["services"] = self.service_summaries(s, load)
        if window is not None or event.type == "window.changed":
            w = window or self.window(s, event.window)
            body["window_state"] = self.window_view(s, w)
        return body

    def _roll_day(self, s: Store) -> None:
        """At the first change of a new hall day, close what the last day left open."""
        today = self.today()
        if self._day == today:
            return
        stale = [s.ticket_from_row(r) for r in s.db.query(
            "SELECT * FROM tickets WHERE day < ? AND status IN ('waiting', 'called', 'parked')",
            [today.isoformat()])]
        if stale:
            now = self.now()
            with s.db.atomic():
                for t in stale:
                    ev = Event("ticket.cancelled", now, t.id, t.window, None,
                               {"number": t.number, "reason": "day_end"})
                    engine.apply(ev, t)
                    seq = s.append(ev, t.day, t.service)
                    s.update_ticket(t, seq)
        self._day = today

    # -- ticket operations ---------------------------------------------------
    def issue(self, service_code, priority: bool = False,
              priority_kind: Optional[str] = None) -> dict:
        """Issue a ticket; returns its view with the status_url key."""
        svc = self.service(service_code)
        if priority_kind is not None and priority_kind not in engine.PRIORITY_KINDS:
            raise engine.QueueError()
        with self.change() as (s, events):
            now, day = self.now(), self.today()
            issued_today = s.issued_count(day, svc.code)
            slot = svc.slot_at(now)
            in_slot = 0
            if slot is not None:
                start = datetime.combine(day, slot.start, self.tz).timestamp()
                end = (datetime.combine(day + timedelta(days=1), datetime.min.time(), self.tz)
                       if slot.end == datetime.max.time()
                       else datetime.combine(day, slot.end, self.tz)).timestamp()
                in_slot = s.issued_between(day, svc.code, start, end)
            ev = engine.issue(svc, day=day, now=now, issued_today=issued_today,
                              issued_in_slot=in_slot, priority=priority,
                              priority_kind=priority_kind,
                              enforce_hours=self.cfg.raw["hall"]["enforce_hours"])
            t = engine.apply(ev)
            key = secrets.token_urlsafe(16)
            t.id = ev.ticket = s.insert_ticket(t, key)
            t.key = key  # type: ignore[attr-defined]
            seq = s.append(ev, day, t.service)
            s.update_ticket(t, seq)
            for hook in self.after_issue:
                hook(s, t)
            load = self._load(s)
            public = self.ticket_view(s, t, load=load)
            events.append({"seq": seq, "type": ev.type, "at": iso(now), "window": None,
                           "ticket": public, "services": self.service_summaries(s, load)})
        return {**public, "status_url": self.status_url(key)}

    def call_next(self, window_no: int) -> Optional[dict]:
        """Call the next ticket at a window; None when nothing waits."""
        with self.change() as (s, events):
            w = self.window(s, window_no)
            engine.check_window_can_call(w, s.current_at(w.number, self.today()))
            t = engine.pick_next(w, s.candidates(self.today(), w.services, w.number))
            if t is None:
                return None
            return self._record(s, events, engine.call(t, w, now=self.now()), t)

    def call_ticket(self, window_no: int, ticket_id: int, reason: str = "") -> dict:
        """Call one waiting ticket out of order, or call back a parked one."""
        with self.change() as (s, events):
            w = self.window(s, window_no)
            t = self.ticket(s, ticket_id)
            engine.check_window_can_call(w, s.current_at(w.number, self.today()))
            how = "callback" if t.status == "parked" else "direct"
            return self._record(s, events, engine.call(t, w, now=self.now(), how=how, reason=reason), t)

    def _at_window(self, ticket_id: int, rule, window_no: Optional[int] = None, **kw) -> dict:
        with self.change() as (s, events):
            t = self.ticket(s, ticket_id)
            w = self.window(s, window_no if window_no is not None else t.window)
            return self._record(s, events, rule(t, w, now=self.now(), **kw), t)

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

    def transfer(self, ticket_id: int, *, service=None, window=None, note: str = "") -> dict:
        """Send a ticket to another service's queue or to one window's queue."""
        with self.change() as (s, events):
            t = self.ticket(s, ticket_id)
            svc = self.service(service) if service is not None else None
            w = self.window(s, window) if window is not None else None
            ev = engine.transfer(t, now=self.now(), service=svc, window=w, note=note,
                                 by_window=t.window)
            return self._record(s, events, ev, t)

    def cancel(self, ticket_id: int, reason: str = "") -> dict:
        with self.change() as (s, events):
            t = self.ticket(s, ticket_id)
            return self._record(s, events, engine.cancel(t, now=self.now(), reason=reason), t)

    def rate(self, ticket_id: int, window_no: int, score: int, reasons=(), comment: str = "",
             source: str = "touch", device: Optional[str] = None) -> dict:
        """Record the citizen's rating of a ticket served at this window."""
        with self.change() as (s, events):
            t = self.ticket(s, ticket_id)
            w = self.window(s, window_no)
            rated = s.db.execute("SELECT 1 FROM ratings WHERE ticket = ?", [t.id]).fetchone()
            now = self.now()
            for check in self.rating_checks:
                check(s, t, w, now, source=source, device=device, already_rated=bool(rated),
                      reasons=list(reasons))
            ev = engine.rate(t, w, now=now, score=score, already_rated=bool(rated),
                             within_s=self.cfg.raw["ratings"]["window_minutes"] * 60,
                             reasons=reasons, comment=comment, source=source)
            seq = s.append(ev, t.day, t.service)
            row = {"ticket": t.id, "score": int(score),
                   "reasons": json.dumps(list(reasons), ensure_ascii=False), "comment": comment,
                   "window": w.number, "clerk": t.clerk, "service": t.service,
                   "day": t.day.isoformat(), "source": source, "device": device,
                   "created_at": iso(now), "ts": now.timestamp()}
            rating_id = s.db.execute(
                f"INSERT INTO ratings ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values())).lastrowid
            for hook in self.after_rate:
                hook(s, {**row, "id": rating_id, "number": t.number})
            events.append({"seq": seq, "type": ev.type, "at": iso(now), "window": w.number,
                           "ticket_id": t.id, "number": t.number, "service": t.service, "score": int(score),
                           "source": source})
            return {"id": rating_id, "ticket": t.id, "number": t.number, "score": int(score),
                    "reasons": list(reasons), "comment": comment, "window": w.number,
                    "clerk": t.clerk, "service": t.service, "source": source,
                    "created_at": iso(now)}

    # -- windows -------------------------------------------------------------
    def _window_event(self, window_no: int, rule, **kw) -> dict:
        with self.change() as (s, events):
            w = self.window(s, window_no)
            self._record(s, events, rule(w, now=self.now(), **kw), None, w)
            return self.window_view(s, w)

    def pause(self, window_no: int, reason: str = "") -> dict:
        return self._window_event(window_no, engine.pause, reason=reason)

    def resume(self, window_no: int) -> dict:
        return self._window_event(window_no, engine.resume)

    def sign_in(self, window_no: int, employee_no: str) -> dict:
        """A clerk takes a window; it opens for calls."""
        return self._window_event(window_no, engine.window_change, status="open",
                                  clerk=employee_no, reason="sign_in")

    def sign_out(self, window_no: int) -> dict:
        """The clerk leaves; the window closes."""
        return self._window_event(window_no, engine.window_change, status="closed",
                                  clerk=None, reason="sign_out")

    # -- views ---------------------------------------------------------------
    def ahead_of(self, s: Store, t: Ticket) -> int:
        """Waiting tickets of the same queue that stand before this one."""
        if t.status != "waiting":
            return 0
        return s.db.execute(
            "SELECT count(*) FROM tickets WHERE day = ? AND status = 'waiting' AND service = ? "
            "AND target_window IS ? AND id != ? AND (priority > ? OR (priority = ? AND "
            "(issued_ts < ? OR (issued_ts = ? AND id < ?))))",
            [t.day.isoformat(), t.service, t.target_window, t.id, int(t.priority),
             int(t.priority), t.issued_at.timestamp(), t.issued_at.timestamp(), t.id]).fetchone()[0]

    def ticket_view(self, s: Store, t: Ticket, with_key: bool = False,
                    load: Optional[dict] = None) -> dict:
        svc = self.cfg.services.get(t.service)
        view = {"id": t.id, "number": t.number, "service": t.service,
                "service_name": svc.name if svc else t.service,
                "service_name_en": svc.name_en if svc else t.service,
                "status": t.status, "priority": t.priority, "priority_kind": t.priority_kind,
                "issued_at": iso(t.issued_at), "called_at": iso(t.called_at),
                "finished_at": iso(t.finished_at), "window": t.window,
                "target_window": t.target_window, "recalls": t.recalls, "day": t.day.isoformat()}
        if t.status == "waiting":
            ahead = self.ahead_of(s, t)
            view["waiting_ahead"] = ahead
            view["estimated_wait_s"] = self.estimate(s, t.service, ahead, load)
        else:
            view["waiting_ahead"], view["estimated_wait_s"] = 0, None
        if with_key:
            view["status_url"] = self.status_url(getattr(t, "key"))
        return view

    def status_url(self, key: str) -> str:
        base = self.cfg.raw["hall"]["public_url"].rstrip("/")
        return f"{base}/t/{key}"

    def _load(self, s: Store) -> dict:
        """What every estimate needs, read once: open windows, busy windows, recent means."""
        states = s.window_states()
        busy = {r[0] for r in s.db.execute(
            "SELECT window FROM tickets WHERE status = 'called' AND day = ?",
            [self.today().isoformat()])}
        limit = self.cfg.raw["queue"]["recent_services"]
        means = {}
        for code, svc in self.cfg.services.items():
            recent = s.recent_service_times(code, limit)
            means[code] = fmean(recent) if recent else svc.target_service_s
        return {"states": states, "busy": busy, "means": means}

    def estimate(self, s: Store, service: str, ahead: int, load: Optional[dict] = None) -> Optional[int]:
        """Seconds until a ticket with ``ahead`` before it is likely called."""
        load = load or self._load(s)
        open_windows = [n for n, w in self.cfg.windows.items() if service in w.services
                        and load["states"].get(n, {}).get("status") == "open"]
        idle = sum(1 for n in open_windows if n not in load["busy"])
        return engine.estimate_wait(ahead, open_windows=len(open_windows), idle_windows=idle,
                                    mean_service_s=load["means"][service])

    def service_summaries(self, s: Store, load: Optional[dict] = None) -> list[dict]:
        day, now = self.today(), self.now()
        counts = {r["service"]: r for r in s.db.query(
            "SELECT service, sum(status = 'waiting') AS waiting, sum(status = 'called') AS called "
            "FROM tickets WHERE day = ? GROUP BY service", [day.isoformat()])}
        issued = dict(s.db.execute(
            "SELECT issue_service, max(seq) FROM tickets WHERE day = ? GROUP BY issue_service",
            [day.isoformat()]).fetchall())
        out = []
        load = load or self._load(s)
        enforce = self.cfg.raw["hall"]["enforce_hours"]
        for code, svc in self.cfg.services.items():
            waiting = (counts.get(code) or {}).get("waiting") or 0
            n = issued.get(code, 0)
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
                "hours": svc.hours_label(),
                "estimated_wait_s": self.estimate(s, code, waiting, load),
                "target_wait_s": svc.target_wait_s,
                "windows": [w.number for w in self.cfg.windows.values() if code in w.services],
            })
        return out

    def window_view(self, s: Store, w: Window, current: Optional[Ticket] = None,
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

    def snapshot(self) -> dict:
        """The whole live state (GET /api/queue and the Socket.IO snapshot)."""
        with self.store() as s, s.db.atomic():
            day = self.today()
            tickets = s.tickets(day, ACTIVE)
            states = s.window_states()
            serving = {t.window: t for t in tickets if t.status == "called"}
            windows = [engine.replace(conf, status=states.get(n, {}).get("status", "closed"),
                                      clerk=states.get(n, {}).get("clerk"))
                       for n, conf in self.cfg.windows.items()]
            return {
                "seq": s.last_seq(), "at": iso(self.now()), "day": day.isoformat(),
                "hall": {"name": self.cfg.name, "name_en": self.cfg.raw["hall"]["name_en"],
                         "notice": _notice(s.db, self.cfg.raw["hall"].get("notice", ""))},
                "services": self.service_summaries(s),
                "windows": [self.window_view(s, w, serving.get(w.number), known=True)
                            for w in windows],
                "tickets": [{"id": t.id, "number": t.number, "service": t.service,
                             "status": t.status, "priority": t.priority, "window": t.window,
                             "target_window": t.target_window, "issued_at": iso(t.issued_at),
                             "called_at": iso(t.called_at)} for t in tickets],
                "calls": s.latest_calls(day),
                **{k: v for extra in self.snapshot_extras for k, v in extra().items()},
            }

    def public_ticket(self, ticket_id: int) -> dict:
        with self.store() as s:
            return self.ticket_view(s, self.ticket(s, ticket_id))

    def ticket_by_key(self, key: str) -> Optional[dict]:
        with self.store() as s:
            t = s.ticket_by_key(key)
            return self.ticket_view(s, t) if t else None


def _notice(db, default: str) -> str:
    """The managers' notice line (server/screens.py), else the hall file's."""
    from .screens import current_notice
    return current_notice(db, default)


__all__ = ["Hall", "QueueError"]
