"""Managers' lists: ratings in a range, follow-up cases, rating flags, print jobs,
and the hall now (queues, longest waits, windows open, latest ratings).

Plain SQL returning plain rows; message ids in rows (``detail``) are translated
by the caller.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Mapping, Optional

from ..engine import N_
from ..workdays import WorkCalendar
from .summary import hall_today

CASE_STATES = ("open", "due_soon", "overdue", "closed", "all")
STEP_COLUMNS = (("callback", "callback_done"), ("verify", "verified"), ("rectify", "rectified"),
                ("reply", "replied"))


def _conn(db):
    return db.conn if hasattr(db, "conn") else db


def _dicts(conn, sql: str, args=()) -> list[dict]:
    cur = conn.execute(sql, list(args))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur]


# --- ratings -------------------------------------------------------------------------

def ratings_in_range(db, cfg, *, now: datetime, start: str, end: str,
                     window: Optional[int] = None) -> list[dict]:
    """Ratings given on days start..end (excluded ones marked), with the ticket number."""
    sql = ("SELECT r.*, t.number FROM ratings r LEFT JOIN tickets t ON t.id = r.ticket "
           "WHERE r.day BETWEEN ? AND ?")
    args: list = [start, end]
    if window is not None:
        sql += " AND r.window = ?"
        args.append(int(window))
    rows = _dicts(_conn(db), sql + " ORDER BY r.id", args)
    for row in rows:
        row["reasons"] = json.loads(row["reasons"] or "[]")
        row["excluded"] = bool(row["excluded"])
        if "dimensions" in row:
            row["dimensions"] = json.loads(row["dimensions"]) if row["dimensions"] else None
        row.pop("ts", None)
    return rows


def rating_flags(db, cfg, *, now: datetime, start: str, end: str,
                 refused: Optional[Mapping[int, int]] = None) -> list[dict]:
    """Rating patterns that cannot be honest, per window: every rating 5, bursts of
    ratings behind very short services, and (from ``refused``: window -> presses the
    pad guard refused since the server started) refused presses. ``detail`` is a
    message id."""
    f = cfg.raw["ratings"]["flags"]  # defaults in server/config.py
    conn = _conn(db)
    out = []
    for window, n, top in conn.execute(
            "SELECT window, count(*), sum(score = 5) FROM ratings WHERE day BETWEEN ? AND ? "
            "AND excluded = 0 GROUP BY window ORDER BY window", [start, end]):
        if n >= int(f["min_ratings"]) and top == n:
            out.append({"window": window, "kind": "all_top_score", "ratings": n,
                        "detail": N_("every rating is 5 (very satisfied)")})
    span, enough = float(f["burst_minutes"]) * 60, int(f["burst_count"])
    short: dict[int, list[float]] = defaultdict(list)
    for window, ts, service_s in conn.execute(
            "SELECT r.window, r.ts, json_extract(e.data, '$.service_s') FROM ratings r "
            "JOIN ticket_events e ON e.ticket = r.ticket AND e.type = 'ticket.finished' "
            "WHERE r.day BETWEEN ? AND ? AND r.excluded = 0 ORDER BY r.window, r.ts", [start, end]):
        if service_s is not None and service_s < float(f["short_service_s"]):
            short[window].append(ts)
    for window, stamps in short.items():
        best, lo = 0, 0
        for hi in range(len(stamps)):
            while stamps[hi] - stamps[lo] > span:
                lo += 1
            best = max(best, hi - lo + 1)
        if best >= enough:
            out.append({"window": window, "kind": "hollow_burst", "ratings": best,
                        "detail": N_("many ratings close together behind very short services")})
    for window, n in sorted((refused or {}).items()):
        if n:
            out.append({"window": window, "kind": "refused_presses", "ratings": n,
                        "detail": N_("presses refused for coming too fast (since the server started)")})
    return out


# --- follow-up cases -------------------------------------------------------------------

def case_view(db, cfg, *, now: datetime, row: Mapping, notes: bool = False) -> dict:
    """A case row as the API shows it: next step, steps overdue and due soon, notes."""
    now_ts = now.timestamp()
    soon = float(cfg.raw["followup"]["due_soon_hours"]) * 3600
    pending = [(step, row[f"{step}_due_ts"]) for step, col in STEP_COLUMNS
               if not row[f"{col}_at"]]
    is_open = row["status"] == "open"
    view = {k: v for k, v in row.items() if not k.endswith("_ts")}
    view["excluded"] = bool(row["excluded"])
    view["next_step"] = pending[0][0] if pending and is_open else None
    view["overdue"] = [step for step, due in pending if due < now_ts] if is_open else []
    view["due_soon"] = ([step for step, due in pending if now_ts <= due < now_ts + soon]
                        if is_open else [])
    phone = case_phone(db, cfg, case_id=row["id"])
    # the callback number: masked here; only the case's owner sees it whole (api_ratings)
    view["contact"] = {"given": phone is not None, "phone": mask_phone(phone) if phone else None}
    if notes:
        view["notes"] = _dicts(_conn(db), 'SELECT at, author, step, text FROM case_notes '
                                          'WHERE "case" = ? ORDER BY id', [row["id"]])
    return view


def list_cases(db, cfg, *, now: datetime, state: str = "open") -> list[dict]:
    """Cases in a state: open | due_soon | overdue | closed | all (replied cases count
    as open until closed)."""
    where = {"closed": "status = 'closed'", "all": "1"}.get(state, "status != 'closed'")
    rows = _dicts(_conn(db), f"SELECT * FROM rating_cases WHERE {where} ORDER BY opened_ts")
    views = [case_view(db, cfg, now=now, row=r) for r in rows]
    if state == "overdue":
        views = [v for v in views if v["overdue"]]
    elif state == "due_soon":
        views = [v for v in views if v["due_soon"] and not v["overdue"]]
    return views


def get_case(db, cfg, *, now: datetime, case_id: int) -> Optional[dict]:
    """One case with its notes, or None when there is no such case."""
    rows = _dicts(_conn(db), "SELECT * FROM rating_cases WHERE id = ?", [case_id])
    return case_view(db, cfg, now=now, row=rows[0], notes=True) if rows else None


def calendar_status(db, cfg, *, now: datetime) -> dict:
    """Whether the official holiday calendar covers this year and the next."""
    year = date.fromisoformat(hall_today(cfg, now)).year
    return {"year": year, "official": WorkCalendar.covered(year),
            "next_year_official": WorkCalendar.covered(year + 1)}


# --- printing -----------------------------------------------------------------------------

def print_jobs(db, cfg, *, now: datetime, status: Optional[str] = None,
               limit: int = 200) -> list[dict]:
    """Print jobs, newest first; ``status`` pending | printed | None (all)."""
    sql = ("SELECT id, ticket, kind, status, attempts, last_error, created_at, printed_at, "
           "printer FROM print_jobs")
    args: list = []
    if status:
        sql += " WHERE status = ?"
        args.append(status)
    return _dicts(_conn(db), sql + " ORDER BY id DESC LIMIT ?", [*args, int(limit)])


# --- the hall now ------------------------------------------------------------------------------

def today_now(db, cfg, *, now: datetime) -> dict:
    """Now: waiting per service and its longest wait, windows open, the latest ratings."""
    conn = _conn(db)
    today = hall_today(cfg, now)
    services = {code: {"service": code, "name": s.name, "waiting": 0, "longest_wait_s": None}
                for code, s in cfg.services.items()}
    for service, leg_at in conn.execute(
            "SELECT service, leg_at FROM tickets WHERE day = ? AND status = 'waiting'", [today]):
        row = services.setdefault(service, {"service": service, "name": service, "waiting": 0,
                                            "longest_wait_s": None})
        row["waiting"] += 1
        waited = (now - datetime.fromisoformat(leg_at)).total_seconds()
        row["longest_wait_s"] = max(row["longest_wait_s"] or 0, waited)
    states = {r[0]: r[1] for r in conn.execute("SELECT number, status FROM windows_state")}
    latest = [{"number": n, "window": w, "clerk": c, "service": s, "score": sc, "at": at,
               "reasons": json.loads(rs or "[]")}
              for n, w, c, s, sc, at, rs in conn.execute(
                  "SELECT t.number, r.window, r.clerk, r.service, r.score, r.created_at, r.reasons "
                  "FROM ratings r LEFT JOIN tickets t ON t.id = r.ticket WHERE r.day = ? "
                  "ORDER BY r.ts DESC LIMIT 10", [today])]
    return {"at": now.isoformat(), "day": today, "services": list(services.values()),
            "windows_open": sum(1 for n in cfg.windows if states.get(n) == "open"),
            "windows": len(cfg.windows), "latest_ratings": latest}


def long_waits(db, cfg, *, now: datetime, over_s: float) -> dict[str, int]:
    """Per service, how many citizens have waited longer than over_s seconds."""
    out: Counter = Counter()
    for service, leg_at in _conn(db).execute(
            "SELECT service, leg_at FROM tickets WHERE day = ? AND status = 'waiting'",
            [hall_today(cfg, now)]):
        if (now - datetime.fromisoformat(leg_at)).total_seconds() > over_s:
            out[service] += 1
    return dict(out)


def mask_phone(phone: str) -> str:
    """13812345678 -> 138****5678; a landline keeps its area code and last 4 digits."""
    digits = phone.replace("-", "")
    return digits[:3] + "*" * max(0, len(digits) - 7) + digits[-4:]


def case_phone(db, cfg=None, *, case_id: int, now: Optional[datetime] = None) -> Optional[str]:
    """The callback number a citizen left for this case, whole (the owner's view), or None."""
    rows = _dicts(_conn(db), 'SELECT phone FROM case_contacts WHERE "case" = ?', [case_id])
    return rows[0]["phone"] if rows else None
