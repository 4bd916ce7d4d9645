"""The device port of docs/architecture.md (PLAN.md "The device port") in memory,
for unit tests of devices/: no Flask, no database, no threads of its own.

It keeps just enough of the hall to answer the devices: tickets, windows, print
jobs, ratings and pad sequences; every change pushes an event to the listeners,
as the service layer does after its commit. The clock only moves when a test
calls ``advance``.
"""
from __future__ import annotations

import copy
import time
from datetime import datetime, timedelta, timezone
from typing import Optional

from server import engine

HALL_TZ = timezone(timedelta(hours=8))
JOB_KEYS = ("id", "ticket", "kind", "status", "attempts", "last_error", "created_at", "printed_at",
            "printer")


class FakePort:
    """Every method of the device port, over dicts."""

    def __init__(self, start: Optional[datetime] = None, prompt_seconds: int = 60,
                 rating_window_s: float = 600.0):
        self.at = start or datetime(2026, 11, 27, 9, 0, tzinfo=HALL_TZ)
        self.listeners: list = []
        self.events: list[dict] = []
        self.tickets: dict[int, dict] = {}
        self.windows: dict[int, dict] = {}
        self.jobs: dict[int, dict] = {}
        self.ratings: list[dict] = []
        self.sequences: dict[str, tuple[str, str, float]] = {}  # url -> (seq, reply, time.time())
        self.prompt_seconds, self.rating_window_s = prompt_seconds, rating_window_s
        self.fail_next_rate: Optional[engine.QueueError] = None  # a refusal the hall's rules make
        self.held: list[dict] = []  # events of a change not yet committed (see hold/commit)
        self.holding = False
        self.kiosks: dict[str, str] = {}  # kiosk name -> its printer URL (kiosk_printers)
        self.alive: list[int] = []  # windows whose keypad sent $HB (keypad_alive)

    # -- events and the clock ----------------------------------------------
    def subscribe(self, listener) -> None:
        self.listeners.append(listener)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)

    def hold(self) -> None:
        """Start a change: its events are pushed only at commit()."""
        self.holding = True

    def commit(self) -> None:
        self.holding = False
        held, self.held = self.held, []
        for body in held:
            self._deliver(body)

    def push(self, type_: str, window: Optional[int] = None, **body) -> dict:
        event = {"seq": len(self.events) + len(self.held) + 1, "type": type_,
                 "at": self.at.isoformat(), "window": window, **body}
        if self.holding:
            self.held.append(event)
        else:
            self._deliver(event)
        return event

    def _deliver(self, event: dict) -> None:
        self.events.append(event)
        for listener in list(self.listeners):
            listener(event)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    # -- test set-up: tickets and windows --------------------------------------
    def open_window(self, number: int, status: str = "open") -> None:
        self.windows[number] = {"status": status, "current": None}

    def ticket_view(self, t: dict) -> dict:
        return {"id": t["id"], "number": t["number"], "service": t["service"],
                "service_name": t["service_name"], "service_name_en": t["service_name_en"],
                "status": t["status"], "priority": False, "issued_at": t["issued_at"],
                "waiting_ahead": t["waiting_ahead"], "estimated_wait_s": 300,
                "day": self.at.date().isoformat(), "window": t["window"],
                "finished_at": t["finished_at"].isoformat() if t["finished_at"] else None}

    def issue(self, number: str, service_name: str = "社会保障", service: Optional[str] = None,
              payload: Optional[dict] = None, printer: str = "default") -> dict:
        """A ticket and its print job in one change, then `ticket.issued` (as the service layer)."""
        tid = len(self.tickets) + 1
        t = {"id": tid, "number": number, "service": service or number[0],
             "service_name": service_name, "service_name_en": "Social Security",
             "status": "waiting", "issued_at": self.at.isoformat(), "window": None,
             "finished_at": None, "recalls": 0,
             "waiting_ahead": sum(1 for x in self.tickets.values() if x["status"] == "waiting")}
        self.tickets[tid] = t
        view = self.ticket_view(t)
        job_payload = payload if payload is not None else {
            **view, "status_url": f"http://hall.test/t/key{tid}"}
        self._queue_job(tid, "ticket", job_payload, printer)
        self.push("ticket.issued", None, ticket=view)
        return view

    def _queue_job(self, ticket: int, kind: str, payload, printer: str = "default") -> dict:
        jid = len(self.jobs) + 1
        job = {"id": jid, "ticket": ticket, "kind": kind, "status": "pending", "attempts": 0,
               "last_error": None, "created_at": self.at.isoformat(), "printed_at": None,
               "next_try_ts": 0.0, "payload": copy.deepcopy(payload), "printer": printer}
        self.jobs[jid] = job
        return job

    def job_view(self, job: dict) -> dict:
        return {k: job[k] for k in JOB_KEYS}

    # -- print spool -----------------------------------------------------------
    @staticmethod
    def _of(job: dict, printer: Optional[str], others=()) -> bool:
        """The store's rule: a printer's jobs; the default also takes those of no running printer."""
        if printer is None:
            return True
        if printer == "default":
            return job["printer"] == "default" or job["printer"] not in others
        return job["printer"] == printer

    def due_print_jobs(self, limit: int = 20, printer: Optional[str] = None, others=()) -> list[dict]:
        now = self.at.timestamp()
        due = [j for _, j in sorted(self.jobs.items())
               if j["status"] == "pending" and j["next_try_ts"] <= now
               and self._of(j, printer, others)][:limit]
        return [{"id": j["id"], "ticket": j["ticket"], "kind": j["kind"], "attempts": j["attempts"],
                 "payload": copy.deepcopy(j["payload"]), "printer": j["printer"]} for j in due]

    def kiosk_printers(self) -> list[dict]:
        return [{"name": k, "printer": url} for k, url in sorted(self.kiosks.items())]

    def keypad_alive(self, window: int) -> None:
        self.alive.append(window)

    def print_job_printed(self, job_id: int) -> None:
        job = self.jobs[job_id]
        job.update(status="printed", printed_at=self.at.isoformat(), last_error=None,
                   attempts=job["attempts"] + 1)
        self.push("print.changed", None, job=self.job_view(job))

    def print_job_failed(self, job_id: int, error: str, retry_in_s: float) -> None:
        job = self.jobs[job_id]
        job.update(attempts=job["attempts"] + 1, last_error=error,
                   next_try_ts=self.at.timestamp() + retry_in_s)
        self.push("print.changed", None, job=self.job_view(job))

    def release_print_jobs(self, printer: Optional[str] = None, others=()) -> None:
        for job in self.jobs.values():
            if job["status"] == "pending" and self._of(job, printer, others):
                job["next_try_ts"] = 0.0

    def pending_print_jobs(self, printer: Optional[str] = None, others=()) -> int:
        return sum(1 for j in self.jobs.values() if j["status"] == "pending"
                   and self._of(j, printer, others))

    def print_job(self, job_id: int) -> Optional[dict]:
        return self.job_view(self.jobs[job_id]) if job_id in self.jobs else None

    def reprint(self, ticket_id: int) -> dict:
        t = self.tickets.get(ticket_id)
        if t is None:
            raise engine.UnknownTicket()
        first = min((j for j in self.jobs.values() if j["ticket"] == ticket_id), key=lambda j: j["id"])
        job = self._queue_job(ticket_id, "reprint",
                              {**self.ticket_view(t), "status_url": f"http://hall.test/t/key{ticket_id}"},
                              first["printer"])
        self.push("print.changed", None, job=self.job_view(job))
        return self.job_view(job)

    def printer_changed(self, body: dict) -> None:
        self.push("device.changed", None, **body)

    # -- pads ------------------------------------------------------------------
    def settings(self) -> dict:
        return {"prompt_seconds": self.prompt_seconds, "rating_window_s": self.rating_window_s}

    def rating_due(self, window: int) -> Optional[dict]:
        done = [t for t in self.tickets.values() if t["window"] == window and t["finished_at"]]
        if not done:
            return None
        t = max(done, key=lambda x: (x["finished_at"], x["id"]))
        if any(r["ticket"] == t["id"] for r in self.ratings):
            return None
        age = (self.at - t["finished_at"]).total_seconds()
        limit = min(float(self.prompt_seconds), self.rating_window_s)
        if age > limit:
            return None
        return {"ticket": t["id"], "number": t["number"], "service": t["service"],
                "finished_at": t["finished_at"].isoformat(), "expires_in_s": round(limit - age, 1)}

    def rate(self, ticket_id: int, window: int, score: int, *, source: str, device: Optional[str],
             pad_sequence: Optional[tuple] = None) -> dict:
        if self.fail_next_rate is not None:
            exc, self.fail_next_rate = self.fail_next_rate, None
            raise exc
        t = self.tickets.get(ticket_id)
        if t is None:
            raise engine.UnknownTicket()
        if any(r["ticket"] == ticket_id for r in self.ratings):
            raise engine.AlreadyRated()
        if t["status"] != "done" or t["window"] != window:
            raise engine.NotRateable()
        rating = {"id": len(self.ratings) + 1, "ticket": ticket_id, "number": t["number"],
                  "score": int(score), "window": window, "source": source, "device": device}
        self.ratings.append(rating)
        if pad_sequence is not None:  # in the rating's own transaction
            url, seq, reply = pad_sequence
            self.sequences[url] = (seq, reply, time.time())
        self.push("rating.created", window, ticket_id=ticket_id, number=t["number"],
                  service=t["service"], score=int(score), source=source)
        return rating

    def pad_sequence(self, port_url: str) -> Optional[tuple[str, str, float]]:
        return self.sequences.get(port_url)

    def save_pad_sequence(self, port_url: str, seq: str, reply_text: str) -> None:
        self.sequences[port_url] = (seq, reply_text, time.time())

    # -- keypads ---------------------------------------------------------------
    def _window(self, window: int) -> dict:
        if window not in self.windows:
            raise engine.UnknownWindow()
        return self.windows[window]

    def window_state(self, window: int) -> dict:
        w = self._window(window)
        cur = self.tickets.get(w["current"]) if w["current"] else None
        return {"status": w["status"],
                "current": {"id": cur["id"], "number": cur["number"]} if cur else None}

    def call_next(self, window: int) -> Optional[dict]:
        w = self._window(window)
        if w["status"] != "open":
            raise engine.WindowNotOpen()
        if w["current"]:
            raise engine.WindowBusy()
        waiting = [t for _, t in sorted(self.tickets.items()) if t["status"] == "waiting"]
        if not waiting:
            return None
        t = waiting[0]
        t.update(status="called", window=window)
        w["current"] = t["id"]
        self.push("ticket.called", window, ticket=self.ticket_view(t))
        return self.ticket_view(t)

    def _serving(self, ticket_id: int, window: int) -> dict:
        t = self.tickets.get(ticket_id)
        if t is None:
            raise engine.UnknownTicket()
        if t["window"] != window or t["status"] != "called":
            raise engine.WrongState()
        return t

    def recall(self, ticket_id: int, window: int) -> dict:
        t = self._serving(ticket_id, window)
        t["recalls"] += 1
        self.push("ticket.recalled", window, ticket=self.ticket_view(t))
        return self.ticket_view(t)

    def no_show(self, ticket_id: int, window: int) -> dict:
        t = self._serving(ticket_id, window)
        if t["recalls"] < 1:
            raise engine.TooFewRecalls()
        t["status"] = "no_show"
        self.windows[window]["current"] = None
        self.push("ticket.no_show", window, ticket=self.ticket_view(t))
        return self.ticket_view(t)

    def finish(self, ticket_id: int, window: int) -> dict:
        t = self._serving(ticket_id, window)
        t.update(status="done", finished_at=self.at)
        self.windows[window]["current"] = None
        self.push("ticket.finished", window, ticket=self.ticket_view(t))
        return self.ticket_view(t)

    def pause(self, window: int) -> dict:
        w = self._window(window)
        w["status"] = "paused"
        self.push("window.changed", window, status="paused")
        return {"number": window, "status": "paused"}

    def resume(self, window: int) -> dict:
        w = self._window(window)
        w["status"] = "open"
        self.push("window.changed", window, status="open")
        return {"number": window, "status": "open"}


def hall_config(folder, overrides: Optional[dict] = None):
    """The demo hall's configuration (hall.toml only: no database is made)."""
    from server import config
    config.write_demo(folder, always_open=True)
    return config.load(folder, overrides)
