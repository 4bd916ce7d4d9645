"""The persistent print spool: a job row is written in the same transaction as
the ticket, and a worker prints pending jobs, retrying with backoff.

Issuing a ticket never waits for the printer. The worker asks the printer for
its real-time status (DLE EOT) before it sends, so a job is never sent to a
printer that says it is out of paper, and a job is marked printed only after
its bytes were written in one piece: no job is lost and none is printed twice
(the one exception: the process dies between the write and the mark).
Printer I/O runs in real OS threads (``server.runtime.run_blocking``).
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Optional

from server.runtime import run_blocking

from .printer import (Connection, Layout, PrinterError, PrinterSpec, PrinterUrlError,
                      check_layout, parse_printer_url, plain_text, ticket_bytes)

log = logging.getLogger("qrate.printer")

# What the kiosk and the managers are told, per state (zh first, then English).
STATE_TEXT = {
    "online": ("打印机正常", "Printer ready"),
    "paper_near_end": ("打印纸即将用完", "Paper is running low"),
    "paper_out": ("打印机缺纸", "The printer is out of paper"),
    "cover_open": ("打印机盖未关", "The printer cover is open"),
    "offline": ("打印机未连接", "The printer is not connected"),
    "error": ("打印机故障", "The printer reports an error"),
    "unknown": ("打印机状态未知", "Printer status unknown"),
}


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


class Spool:
    """The print queue of one hall and the worker that drains it."""

    def __init__(self, hall, cfg):
        self.hall, self.cfg = hall, cfg
        p = cfg.raw["printer"]
        self.url = p["url"]
        self.config_error = ""
        try:
            self.layout = Layout.from_config(cfg)
        except PrinterUrlError as exc:
            self.layout, self.config_error = Layout(hall_name=cfg.name), str(exc)
        self.timeout = float(p.get("timeout_s", 2.0))
        self.poll_s = float(p.get("poll_s", 5.0))
        self.retry_max_s = float(p.get("retry_max_s", 30.0))
        self.spec: Optional[PrinterSpec] = None
        self.conn: Optional[Connection] = None
        try:
            self.spec = parse_printer_url(self.url, base=cfg.folder, timeout=self.timeout)
            self.conn = Connection(self.spec, self.timeout)
        except PrinterUrlError as exc:
            self.config_error = str(exc)
        self.lines = check_layout(self.layout, [s.name for s in cfg.services.values()])
        self.state: dict = {"state": "unknown", "checked_at": None, "detail": self.config_error}
        self.printed = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = None
        self._failures = 0

    # -- jobs ----------------------------------------------------------------
    def enqueue_in_transaction(self, store, ticket) -> None:
        """Called inside the issue transaction: the job exists iff the ticket does."""
        store.db.execute("INSERT INTO print_jobs (ticket, created_at) VALUES (?, ?)",
                         [ticket.id, _now_iso()])
        self._wake.set()

    def reprint(self, ticket_id: int) -> dict:
        """Queue the ticket again (a manager's request); returns the job."""
        with self.hall.store() as s:
            self.hall.ticket(s, ticket_id)  # UnknownTicket when there is none
            with s.db.atomic():
                job_id = s.db.execute(
                    "INSERT INTO print_jobs (ticket, kind, created_at) VALUES (?, 'reprint', ?)",
                    [ticket_id, _now_iso()]).lastrowid
        self._wake.set()
        return self.job(job_id)

    def job(self, job_id: int) -> dict:
        with self.hall.store() as s:
            row = s.db.execute("SELECT id, ticket, kind, status, attempts, last_error, created_at, "
                               "printed_at FROM print_jobs WHERE id = ?", [job_id]).fetchone()
        keys = ("id", "ticket", "kind", "status", "attempts", "last_error", "created_at",
                "printed_at")
        return dict(zip(keys, row)) if row else {}

    def pending(self) -> int:
        with self.hall.store() as s:
            return s.db.execute("SELECT count(*) FROM print_jobs WHERE status = 'pending'"
                                ).fetchone()[0]

    # -- the worker ----------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="print-spool", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self.conn is not None:
            try:
                run_blocking(self.conn.close)
            except Exception:  # pragma: no cover
                pass

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.poll_s
            try:
                wait = self.step()
            except Exception:  # a device failure becomes a retry, never a crash
                log.exception("print spool step failed")
                wait = 2.0
            self._wake.wait(wait)
            self._wake.clear()

    def step(self) -> float:
        """Check the printer, print what is due; returns how long to wait before the next step."""
        st = self.check()
        if not self.ready(st):
            self._failures += 1
            # Paper out or cover open: look again soon, staff are fixing it. Unplugged:
            # back off, up to retry_max_s.
            if st["state"] in ("paper_out", "cover_open", "paper_near_end"):
                return 1.0
            return min(self.retry_max_s, 0.5 * 2 ** min(self._failures, 10))
        self._failures = 0
        printed = self.drain_once()
        if printed and self.pending_due():
            return 0
        return self.poll_s if not self.pending_due() else 1.0

    def check(self) -> dict:
        """Ask the printer how it is (in a real thread); alert on a change."""
        if self.conn is None:
            st = {"state": "error", "detail": self.config_error}
        else:
            st = run_blocking(self.conn.status)
        self._set_state(st)
        return self.state

    def ready(self, st: dict) -> bool:
        return self.conn is not None and self.conn.ready(st)

    def pending_due(self) -> bool:
        with self.hall.store() as s:
            return bool(s.db.execute(
                "SELECT 1 FROM print_jobs WHERE status = 'pending' AND next_try_ts <= ? LIMIT 1",
                [time.time()]).fetchone())

    def render(self, ticket_id: int) -> tuple[dict, bytes]:
        with self.hall.store() as s:
            t = self.hall.ticket(s, ticket_id)
            view = self.hall.ticket_view(s, t, with_key=True)
        return view, ticket_bytes(view, self.layout)

    def drain_once(self) -> int:
        """Print what is due; returns how many jobs were printed."""
        printed = 0
        with self.hall.store() as s:
            jobs = list(s.db.query(
                "SELECT id, ticket, kind, attempts FROM print_jobs WHERE status = 'pending' "
                "AND next_try_ts <= ? ORDER BY id LIMIT 20", [time.time()]))
        for job in jobs:
            if self._stop.is_set():
                break
            view, data = self.render(job["ticket"])
            name = f"{view['day']}-{view['number']}"
            if job["kind"] != "ticket":
                name += f"-{job['kind']}-{job['id']}"
            try:
                run_blocking(self.conn.send, data, name, plain_text(view, self.layout))
            except (PrinterError, OSError) as exc:
                delay = min(self.retry_max_s, 2 ** job["attempts"])
                with self.hall.store() as s, s.db.atomic():
                    s.db.execute("UPDATE print_jobs SET attempts = attempts + 1, "
                                 "next_try_ts = ?, last_error = ? WHERE id = ?",
                                 [time.time() + delay, str(exc)[:200], job["id"]])
                self._set_state({"state": "offline", "detail": str(exc)[:200]})
                break
            with self.hall.store() as s, s.db.atomic():
                s.db.execute("UPDATE print_jobs SET status = 'printed', printed_at = ?, "
                             "attempts = attempts + 1, last_error = NULL WHERE id = ?",
                             [_now_iso(), job["id"]])
            printed += 1
            self.printed += 1
        if printed:
            # A job that waited for an earlier failure may go now.
            with self.hall.store() as s, s.db.atomic():
                s.db.execute("UPDATE print_jobs SET next_try_ts = 0 WHERE status = 'pending'")
        return printed

    # -- health --------------------------------------------------------------
    def view(self) -> dict:
        """The printer's health as the kiosk, the managers and the API see it."""
        st = self.state["state"]
        zh, en = STATE_TEXT.get(st, STATE_TEXT["unknown"])
        can_print = self.ready(self.state)
        return {"device": "printer", "kind": "printer", "scheme": self.spec.scheme if self.spec else None,
                "state": st, "can_print": bool(can_print), "message": zh, "message_en": en,
                "detail": self.state.get("detail", ""), "checked_at": self.state.get("checked_at"),
                "since": self.state.get("since"), "pending": self.pending(),
                "mode": self.layout.mode,
                "raster_lines": [x["line"] for x in self.lines if x["mode"] == "raster"]}

    def _set_state(self, st: dict) -> None:
        previous = self.state.get("state")
        now = datetime.now(self.hall.tz).isoformat()
        since = self.state.get("since") if previous == st["state"] else now
        self.state = {**st, "checked_at": now, "since": since}
        if previous != st["state"] and (previous != "unknown" or st["state"] != "unknown"):
            log.warning("printer %s: %s -> %s %s", self.url, previous, st["state"],
                        st.get("detail", ""))
            self._announce()

    def _announce(self) -> None:
        """A `device.changed` event: appended to the log (its seq) and pushed to everyone."""
        from server.engine import Event
        body = self.view()
        try:
            with self.hall.change() as (s, events):
                ev = Event("device.changed", self.hall.now(), None, None, None,
                           {k: body[k] for k in ("device", "kind", "state", "can_print",
                                                 "message", "message_en", "detail", "since")})
                seq = s.append(ev, self.hall.today())
                events.append({"seq": seq, "type": "device.changed", "at": ev.at.isoformat(),
                               "window": None, **body})
        except Exception:  # an alert must never stop the spool
            log.exception("could not record device.changed")
