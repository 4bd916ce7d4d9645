"""Appointments' figures (docs/figures.md): bookings by outcome, and per service the
waits of walk-ins and of appointments side by side, and appointments' punctuality.

- booked: bookings whose day is in the range (every source); cancelled, checked_in,
  late (came after check-in closed: served as walk-ins), no_show (never came, check-in
  closed), pending (check-in not closed yet): the booking's state now.
- wait_s: DESIGN's wait (call − issue, per leg), over each call that started a leg
  (next or out of order), split by the ticket's mark: walk_in_wait_s, appointment_wait_s.
- punctuality_s: an appointment's first call − the later of its slot start and its
  check-in; over appointment tickets called. Both as {mean, p50, p90, max}.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Optional

from .figures import ratio, spread

OUTCOMES = ("booked", "checked_in", "late", "no_show", "cancelled", "pending")


def appointment_figures(db, cfg, *, start: str, end: str, now: datetime) -> list[dict]:
    """One row per service that takes appointments (or had any), then a total row `*`."""
    rows: dict[str, dict] = {}

    def row(code: str) -> dict:
        if code not in rows:
            svc = cfg.services.get(code)
            rows[code] = {"service": code, "name": svc.name if svc else code,
                          **{k: 0 for k in OUTCOMES}, "_walk": [], "_appt": [], "_punct": []}
        return rows[code]

    for code in cfg.appointment_rules:
        row(code)
    now_ts = now.timestamp()
    for code, status, slot_ts in db.execute(
            "SELECT service, status, slot_ts FROM appointments WHERE day BETWEEN ? AND ?",
            [start, end]).fetchall():
        r = row(code)
        r["booked"] += 1
        if status == "booked":
            rules = cfg.appointment_rules.get(code)
            after = (rules.checkin_after_min if rules else 0) * 60
            r["no_show" if slot_ts + after < now_ts else "pending"] += 1
        elif status in r:
            r[status] += 1
    for code, data, appointment in db.execute(
            "SELECT e.service, e.data, t.appointment FROM ticket_events e JOIN tickets t "
            "ON t.id = e.ticket WHERE e.day BETWEEN ? AND ? AND e.type = 'ticket.called'",
            [start, end]).fetchall():
        d = json.loads(data)
        if d.get("how") == "callback":
            continue
        row(code)["_appt" if appointment else "_walk"].append(d["wait_s"])
    for code, slot_ts, checked_ts, called_ts in db.execute(
            "SELECT a.service, a.slot_ts, a.checked_in_ts, min(e.ts) FROM appointments a "
            "JOIN tickets t ON t.id = a.ticket AND t.appointment = 1 "
            "JOIN ticket_events e ON e.ticket = t.id AND e.type = 'ticket.called' "
            "WHERE a.day BETWEEN ? AND ? GROUP BY a.id", [start, end]).fetchall():
        row(code)["_punct"].append(max(0.0, called_ts - max(slot_ts, checked_ts)))
    out = [finish(r) for r in rows.values() if r["booked"] or r["_walk"] or r["_appt"]
           or r["service"] in cfg.appointment_rules]
    total = {"service": "*", "name": "", **{k: sum(r[k] for r in rows.values()) for k in OUTCOMES},
             "_walk": [w for r in rows.values() for w in r["_walk"]],
             "_appt": [w for r in rows.values() for w in r["_appt"]],
             "_punct": [w for r in rows.values() for w in r["_punct"]]}
    return out + [finish(total)]


def finish(r: dict) -> dict:
    out = {k: v for k, v in r.items() if not k.startswith("_")}
    out["show_rate"] = ratio(r["checked_in"] + r["late"], r["booked"] - r["cancelled"] - r["pending"])
    out["walk_in_wait_s"] = spread(r["_walk"])
    out["appointment_wait_s"] = spread(r["_appt"])
    out["punctuality_s"] = spread(r["_punct"])
    out["walk_in_calls"], out["appointment_calls"] = len(r["_walk"]), len(r["_appt"])
    return out


COLUMNS = ("service", "name", "booked", "checked_in", "late", "no_show", "cancelled", "pending",
           "show_rate", "walk_in_calls", "walk_in_wait_s.mean", "walk_in_wait_s.p50",
           "walk_in_wait_s.p90", "walk_in_wait_s.max", "appointment_calls",
           "appointment_wait_s.mean", "appointment_wait_s.p50", "appointment_wait_s.p90",
           "appointment_wait_s.max", "punctuality_s.mean", "punctuality_s.p50",
           "punctuality_s.p90", "punctuality_s.max")


def flat(rows: list[dict]) -> list[list]:
    """The rows as a table of COLUMNS (exports)."""
    out = []
    for r in rows:
        line = []
        for k in COLUMNS:
            v = r
            for part in k.split("."):
                v = v.get(part) if isinstance(v, dict) else None
            line.append(v)
        out.append(line)
    return out


NOTICE_STATES = ("pending", "sent", "failed")


def notice_log(db, cfg, *, now: datetime, day: Optional[str] = None, limit: int = 500) -> dict:
    """The "your turn is near" notices of a day, newest first: when queued and last tried,
    the ticket, the kind, attempts, status and the last error (no phone, no payload)."""
    day = day or now.date().isoformat()
    cols = ("id", "kind", "status", "attempts", "last_error", "created_at", "tried_at", "sent_at",
            "next_ts", "ticket", "number", "service")
    rows = [dict(zip(cols, r)) for r in db.execute(
        "SELECT n.id, n.kind, n.status, n.attempts, n.last_error, n.created_at, n.tried_at, n.sent_at,"
        " n.next_ts, n.ticket, t.number, t.service FROM notices n JOIN tickets t ON t.id = n.ticket"
        " WHERE t.day = ? ORDER BY n.id DESC LIMIT ?", [day, limit]).fetchall()]
    counts = {k: 0 for k in NOTICE_STATES}
    for status, n in db.execute(
            "SELECT n.status, count(*) FROM notices n JOIN tickets t ON t.id = n.ticket"
            " WHERE t.day = ? GROUP BY n.status", [day]).fetchall():
        counts[status] = n
    return {"day": day, "counts": counts, "notices": rows}
