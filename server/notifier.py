"""\"Your turn is near\": notices to a webhook the hall configures.

After each committed ticket change (a listener of the service layer), every ticket
that now has ``[appointments] near_places`` or fewer waiting before it gets one
``ticket.near`` notice, and a called ticket one ``ticket.called`` notice. Notices are
rows of the ``notices`` table, unique per (ticket, kind): a restart, a recall or a
queue that moves back and forth never sends one twice. A worker POSTs them to
``[appointments] webhook.url`` with retries (backoff_s × 2^n) and keeps every
attempt's outcome in the row (the log). The status page is told by the pushed
events themselves (kiosk/templates/kiosk/status.html). Payload: docs/appointments.md.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import Callable, Optional

from .operations import Operations, iso
from .readside.appointments import notice_log

log = logging.getLogger("qrate.notifier")
TICKET_EVENTS = ("ticket.issued", "ticket.called", "ticket.finished", "ticket.no_show",
                 "ticket.transferred", "ticket.cancelled", "ticket.parked", "ticket.checked_in")


class Notifier:
    """Queues and delivers the hall's notices."""

    def __init__(self, ops: Operations, post: Optional[Callable[[str, bytes, dict, float], int]] = None):
        self.ops = ops
        self.post = post or _http_post
        self._deliver_lock = threading.Lock()
        self._stop = threading.Event()

    # the settings in force (a PUT /api/config swaps the configuration live)
    def _hook(self, key, default):
        return self.ops.cfg.raw["appointments"].get("webhook", {}).get(key, default)

    near = property(lambda self: int(self.ops.cfg.raw["appointments"]["near_places"]))
    url = property(lambda self: self._hook("url", ""))
    retries = property(lambda self: int(self._hook("retries", 5)))
    timeout = property(lambda self: float(self._hook("timeout_s", 5)))
    backoff = property(lambda self: float(self._hook("backoff_s", 2)))

    # -- queueing, after each commit ------------------------------------------------
    def listener(self, body: dict) -> None:
        if not self.url or body.get("type") not in TICKET_EVENTS:
            return
        services = {body.get("service"), body.get("from_service"),
                    (body.get("ticket") or {}).get("service")} - {None}
        with self.ops.store() as s, s.transaction():
            ticket = body.get("ticket")
            if body["type"] == "ticket.called" and ticket:
                self._queue(s, ticket, "called", 0, ticket.get("window"))
            for code in services:
                for ahead, t in enumerate(s.waiting_queue(self.ops.today(), code, self.near + 1)):
                    self._queue(s, {"id": t.id, "number": t.number, "service": t.service,
                                    "key": getattr(t, "key")}, "near", ahead, None)

    def _queue(self, s, ticket: dict, kind: str, ahead: int, window: Optional[int]) -> None:
        booking = s.booking_of_ticket(ticket["id"])
        svc = self.ops.cfg.services.get(ticket["service"])
        key = ticket.get("key") or getattr(s.ticket(ticket["id"]), "key")
        number = ticket["number"]
        if kind == "called":
            text = f"【{self.ops.cfg.name}】请 {number} 号到 {window} 号窗口办理。" \
                   f" Ticket {number}: please go to window {window}."
        else:
            text = f"【{self.ops.cfg.name}】{number} 号前面还有 {ahead} 人，请到大厅等候叫号。" \
                   f" Ticket {number}: {ahead} ahead of you, please come to the hall."
        payload = {
            "event": f"ticket.{kind}", "hall": self.ops.cfg.name, "at": iso(self.ops.now()),
            "ticket": {"id": ticket["id"], "number": number, "service": ticket["service"],
                       "service_name": svc.name if svc else ticket["service"],
                       "waiting_ahead": ahead, "window": window,
                       "status_url": self.ops.status_url(key)},
            "appointment": ({"code": booking["code"], "phone": booking["phone"],
                             "slot": booking["slot_at"]} if booking else None),
            "text": text,
        }
        s.insert_notice(ticket["id"], kind, json.dumps(payload, ensure_ascii=False),
                        iso(self.ops.now()), time.time())

    # -- delivering -------------------------------------------------------------------
    def deliver_due(self) -> int:
        """POST every notice that is due; returns how many were delivered."""
        if not self.url:
            return 0
        with self._deliver_lock:
            with self.ops.store() as s:
                due = s.due_notices(time.time())
            sent = 0
            for row in due:
                payload = json.loads(row["payload"])
                payload["id"] = row["id"]
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                headers = {"Content-Type": "application/json; charset=utf-8",
                           "Idempotency-Key": f"qrate-notice-{row['id']}",
                           "X-Qrate-Event": payload["event"]}
                error = None
                try:
                    status = self.post(self.url, data, headers, self.timeout)
                    if not 200 <= status < 300:
                        error = f"HTTP {status}"
                except Exception as exc:  # a gateway down never stops the hall
                    error = f"{type(exc).__name__}: {exc}"[:300]
                attempts = row["attempts"] + 1
                tried = {"tried_at": iso(self.ops.now())}
                if error is None:
                    # last_error stays: the log shows why an earlier attempt failed
                    sets = {"status": "sent", "attempts": attempts, "sent_at": iso(self.ops.now())}
                    sent += 1
                elif attempts >= self.retries:
                    sets = {"status": "failed", "attempts": attempts, "last_error": error}
                    log.warning("notice %s to the webhook failed %s times; giving up: %s",
                                row["id"], attempts, error)
                else:
                    sets = {"attempts": attempts, "last_error": error,
                            "next_ts": time.time() + self.backoff * 2 ** (attempts - 1)}
                    log.info("notice %s: attempt %s failed (%s); retrying", row["id"], attempts, error)
                with self.ops.store() as s, s.transaction():
                    s.update_notice(row["id"], {**sets, **tried})
            return sent

    def log_rows(self, day: Optional[str] = None) -> list[dict]:
        """The notice log of a day (today by default), newest first (server/readside)."""
        with self.ops.store() as s:
            return notice_log(s.db, self.ops.cfg, now=self.ops.now(), day=day)["notices"]

    # -- the worker under `qrate serve` ------------------------------------------------
    def start(self, every_s: float = 1.0, sweep: Optional[Callable[[], object]] = None,
              sweep_every_s: float = 60.0) -> threading.Thread:
        """Deliver due notices every ``every_s``; run ``sweep`` (expired phone tickets) each
        minute of hall time (a test clock that runs fast sweeps as often, in hall time)."""
        def loop():
            last_sweep = None
            while not self._stop.wait(every_s):
                try:
                    self.deliver_due()
                    now = self.ops.now()
                    if sweep is not None and (last_sweep is None or
                                              (now - last_sweep).total_seconds() >= sweep_every_s):
                        last_sweep = now
                        sweep()
                except Exception:
                    log.exception("the notifier's round failed")
        thread = threading.Thread(target=loop, name="qrate-notifier", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def _http_post(url: str, data: bytes, headers: dict, timeout: float) -> int:
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
