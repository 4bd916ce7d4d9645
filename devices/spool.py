"""The print spool: a worker that prints the hall's pending print jobs, retrying
with backoff.

The service layer queues a job (with the ticket's view as its payload) in the
same transaction as the ticket, so the job exists iff the ticket does; the
spool only reads due jobs and reports how each went, through the device port
(``due_print_jobs``, ``print_job_printed``, ``print_job_failed``,
``release_print_jobs``). It prints from the payload stored with the job and
never reads the hall's tables. Its worker is woken by the port's events
(``ticket.issued``, a reprint's ``print.changed``), i.e. after the commit.

Issuing a ticket never waits for the printer. The worker asks the printer for
its real-time status (DLE EOT) before it sends, so a job is never sent to a
printer that says it is out of paper, and a job is marked printed only after
its bytes were written in one piece: no job is lost and none is printed twice
(the one exception: the process dies between the write and the mark). A job
whose ticket cannot be rendered (e.g. raster mode without a CJK font) is
recorded as failed with its error and retried with backoff; the jobs after it
still print. Printer I/O runs in real OS threads (``server.runtime.run_blocking``).
"""
from __future__ import annotations

import logging
import threading
from typing import Optional

from server.engine import N_
from server.i18n import translate
from server.runtime import run_blocking

from .printer import (
    Layout,
    PrinterSpec,
    PrinterUrlError,
    check_layout,
    parse_printer_url,
    plain_text,
    ticket_bytes,
)
from .transports import PrinterError, PrinterTransport, open_printer

log = logging.getLogger("qrate.printer")

# What the kiosk and the managers are told, per state: catalog message ids,
# shown in Chinese (`message`) and English (`message_en`).
STATE_MESSAGES = {
    "online": N_("Printer ready"),
    "paper_near_end": N_("Paper is running low"),
    "paper_out": N_("The printer is out of paper"),
    "cover_open": N_("The printer cover is open"),
    "offline": N_("The printer is not connected"),
    "error": N_("The printer reports an error"),
    "unknown": N_("Printer status unknown"),
}


def state_message(state: str, locale: str) -> str:
    """The printer state as the kiosk (zh_CN) or an English screen says it."""
    return translate(STATE_MESSAGES.get(state, STATE_MESSAGES["unknown"]), locale)


def wakes_spool(body: dict) -> bool:
    """Does this pushed event bring a new print job? (a ticket, or a reprint queued)."""
    kind = body.get("type")
    if kind == "ticket.issued":
        return True
    if kind == "print.changed":
        job = body.get("job") or body
        return (job.get("kind") == "reprint" and job.get("status", "pending") == "pending"
                and not job.get("attempts"))
    return False


class Spool:
    """The worker that drains one printer's print queue, and that printer's health.

    ``name`` is the printer's name in the print jobs: "default" ([printer] url) or a
    kiosk's device name (its own printer, ``url``). ``others``: the names of the kiosk
    printers running beside the default one, whose jobs the default leaves alone."""

    def __init__(self, port, cfg, name: str = "default", url: Optional[str] = None,
                 others=lambda: (), sending: Optional[threading.Lock] = None):
        self.port, self.cfg = port, cfg
        # held while this printer is asked and printed to: a spool that replaces this one
        # (a new URL or layout) waits for the job being sent, so no job prints twice
        self.sending = sending or threading.Lock()
        p = cfg.raw["printer"]
        self.name = name
        self.kiosk = None if name == "default" else name
        self.url = url or p["url"]
        self._others = others
        self.config_error = ""
        try:
            self.layout = Layout.from_config(cfg)
        except PrinterUrlError as exc:
            self.layout, self.config_error = Layout(hall_name=cfg.name), str(exc)
        self.timeout = float(p.get("timeout_s", 2.0))
        self.poll_s = float(p.get("poll_s", 5.0))
        self.retry_max_s = float(p.get("retry_max_s", 30.0))
        self.spec: Optional[PrinterSpec] = None
        self.printer: Optional[PrinterTransport] = None
        try:
            self.spec = parse_printer_url(self.url, base=cfg.folder, timeout=self.timeout)
            self.printer = open_printer(self.spec, self.timeout)
        except PrinterUrlError as exc:
            self.config_error = str(exc)
        self.lines = check_layout(self.layout, [s.name for s in cfg.services.values()])
        self.state: dict = {"state": "unknown", "checked_at": None, "detail": self.config_error}
        self.printed = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = None
        self._failures = 0

    # -- events --------------------------------------------------------------
    def on_event(self, body: dict) -> None:
        """A pushed event (after its commit): wake the worker when a job was queued."""
        if wakes_spool(body):
            self._wake.set()

    def mine(self) -> dict:
        """Which jobs are this printer's (the device port's printer/others arguments)."""
        return {"printer": self.name, "others": tuple(self._others()) if self.kiosk is None else ()}

    def pending(self) -> int:
        return self.port.pending_print_jobs(**self.mine())

    # -- the worker ----------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"print-spool {self.name}", daemon=True)
        self._thread.start()

    def stop(self, wait_s: float = 0) -> None:
        """Stop the worker; ``wait_s``: wait for a job being sent to finish (a printer's
        spool replaced by a new one must not print the same job beside it)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            if wait_s and thread is not threading.current_thread():
                thread.join(wait_s)
            return  # the worker closes the printer as it ends
        self._close()

    def _close(self) -> None:
        if self.printer is not None:
            try:
                run_blocking(self.printer.close)
            except Exception:  # pragma: no cover
                pass

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                wait = self.poll_s
                with self.sending:
                    if self._stop.is_set():
                        break
                    try:
                        wait = self.step()
                    except Exception:  # a device failure becomes a retry, never a crash
                        log.exception("print spool step failed")
                        wait = 2.0
                self._wake.wait(wait)
                self._wake.clear()
        finally:
            with self.sending:
                self._close()

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
        if not self.pending_due():
            return self.poll_s
        return 0 if printed else 1.0

    def check(self) -> dict:
        """Ask the printer how it is (in a real thread); alert on a change."""
        if self.printer is None:
            st = {"state": "error", "detail": self.config_error}
        else:
            st = run_blocking(self.printer.status)
        self._set_state(st)
        return self.state

    def ready(self, st: dict) -> bool:
        return self.printer is not None and self.printer.ready(st)

    def pending_due(self) -> bool:
        return bool(self.port.due_print_jobs(limit=1, **self.mine()))

    def render(self, job: dict) -> tuple[str, bytes, str]:
        """A job's file name, bytes and readable text, from the ticket payload stored with it."""
        ticket = job.get("payload")
        if not ticket:
            raise ValueError("the print job has no ticket payload")
        name = f"{ticket['day']}-{ticket['number']}"
        if job["kind"] != "ticket":
            name += f"-{job['kind']}-{job['id']}"
        return name, ticket_bytes(ticket, self.layout), plain_text(ticket, self.layout)

    def retry_in(self, job: dict) -> float:
        """Backoff before a failed job is tried again: 1 s, 2 s, 4 s … up to retry_max_s."""
        return min(self.retry_max_s, 2 ** int(job.get("attempts") or 0))

    def drain_once(self) -> int:
        """Print what is due, oldest first; returns how many jobs were printed.

        A job that cannot be rendered is recorded as failed (its error in
        last_error, tried again after the backoff) and the next job goes on;
        a printer failure stops the batch (the later jobs would fail too)."""
        printed = 0
        for job in self.port.due_print_jobs(limit=20, **self.mine()):
            if self._stop.is_set():
                break
            try:
                name, data, text = self.render(job)
            except Exception as exc:  # one bad ticket never blocks the others
                error = f"cannot render the ticket: {type(exc).__name__}: {exc}"[:200]
                log.warning("print job %s (ticket %s): %s", job["id"], job["ticket"], error)
                self.port.print_job_failed(job["id"], error, self.retry_in(job))
                continue
            try:
                run_blocking(self.printer.send, data, name, text)
            except (PrinterError, OSError) as exc:
                self.port.print_job_failed(job["id"], str(exc)[:200], self.retry_in(job))
                self._set_state({"state": "offline", "detail": str(exc)[:200]})
                break
            self.port.print_job_printed(job["id"])
            printed += 1
            self.printed += 1
        if printed:
            self.port.release_print_jobs(**self.mine())  # a job that waited for an earlier failure may go now
        return printed

    # -- health --------------------------------------------------------------
    def health(self) -> dict:
        """What every screen may show (the snapshot's devices.printer); reads no database."""
        st = self.state["state"]
        return {"state": st, "can_print": bool(self.ready(self.state)),
                "message": state_message(st, "zh_CN"), "message_en": state_message(st, "en"),
                "since": self.state.get("since")}

    def named(self) -> dict:
        """health() with the printer's name: an entry of the snapshot's devices.printers."""
        return {**self.health(), "name": self.name, "kiosk": self.kiosk}

    def view(self) -> dict:
        """The printer's health as the managers and the API see it (GET /api/printer)."""
        return {"device": "printer" if self.kiosk is None else f"printer:{self.name}",
                "kind": "printer", "name": self.name, "kiosk": self.kiosk,
                "scheme": self.spec.scheme if self.spec else None, **self.health(),
                "detail": self.state.get("detail", ""), "checked_at": self.state.get("checked_at"),
                "pending": self.pending(), "mode": self.layout.mode,
                "raster_lines": [x["line"] for x in self.lines if x["mode"] == "raster"]}

    def _set_state(self, st: dict) -> None:
        previous = self.state.get("state")
        now = self.port.now().isoformat()
        since = self.state.get("since") if previous == st["state"] else now
        self.state = {**st, "checked_at": now, "since": since}
        if previous != st["state"] and (previous != "unknown" or st["state"] != "unknown"):
            log.warning("printer %s: %s -> %s %s", self.url, previous, st["state"],
                        st.get("detail", ""))
            self._announce()

    def _announce(self) -> None:
        """A `device.changed` event through the port: logged with its seq, pushed to everyone."""
        try:
            self.port.printer_changed(self.view())
        except Exception:  # an alert must never stop the spool
            log.exception("could not record device.changed")
