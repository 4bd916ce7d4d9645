"""Citizens' opinions and suggestions (群众沟通反馈): the managers' list, a ticket's own
opinions with their answers (its status page), and the figures: answered on time
(docs/figures.md "Citizens' feedback")."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from ..assessment_rules import mask_phone
from .summary import hall_today

STATES = ("open", "overdue", "answered", "all")


def _conn(db):
    return db.conn if hasattr(db, "conn") else db


def _rows(db, sql: str, args: list) -> list[dict]:
    cur = _conn(db).execute(sql, args)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _view(r: dict, now_iso: str, manager: bool) -> dict:
    out = {"id": r["id"], "kind": r["kind"], "text": r["text"], "source": r["source"],
           "created_at": r["created_at"], "reply_due": r["reply_due"], "reply": r["reply"],
           "replied_at": r["replied_at"], "phone": mask_phone(r["phone"]) if r["phone"] else "",
           "on_time": None if not r["replied_at"] else r["replied_at"] <= r["reply_due"],
           "overdue": not r["replied_at"] and r["reply_due"] < now_iso}
    if manager:
        out.update(ticket=r["ticket"], number=r.get("number"), replied_by=r["replied_by"],
                   phone_full=r["phone"])
    return out


def listing(db, cfg, *, now: datetime, start: str, end: str, state: str = "all",
            limit: int = 200) -> dict:
    """The opinions left on days start..end, newest first, with the figures of the range."""
    rows = _rows(db, "SELECT f.*, t.number AS number FROM feedback f LEFT JOIN tickets t "
                     "ON t.id = f.ticket WHERE f.day BETWEEN ? AND ? ORDER BY f.id DESC",
                 [start, end])
    now_iso = now.isoformat()
    views = [_view(r, now_iso, True) for r in rows]
    if state == "open":
        views = [v for v in views if not v["replied_at"]]
    elif state == "overdue":
        views = [v for v in views if v["overdue"]]
    elif state == "answered":
        views = [v for v in views if v["replied_at"]]
    return {"from": start, "to": end, "state": state, "figures": figures(rows, now),
            "feedback": views[:limit]}


def figures(rows: list[dict], now: datetime) -> dict:
    """received; answered; fell due (answered, or the deadline passed); answered on time
    (by the deadline); on_time_rate = on time / fell due (null when none fell due)."""
    now_iso = now.isoformat()
    due = [r for r in rows if r["replied_at"] or r["reply_due"] < now_iso]
    on_time = [r for r in due if r["replied_at"] and r["replied_at"] <= r["reply_due"]]
    return {"received": len(rows), "answered": sum(1 for r in rows if r["replied_at"]),
            "fell_due": len(due), "answered_on_time": len(on_time),
            "overdue_open": sum(1 for r in rows if not r["replied_at"] and r["reply_due"] < now_iso),
            "on_time_rate": len(on_time) / len(due) if due else None}


def of_ticket(db, cfg, *, now: datetime, key: str) -> Optional[list[dict]]:
    """The opinions left with a ticket's key and their answers (None: no such ticket)."""
    found = _conn(db).execute("SELECT id FROM tickets WHERE key = ?", [key]).fetchone()
    if found is None:
        return None
    now_iso = now.isoformat()
    return [_view(r, now_iso, False) for r in
            _rows(db, "SELECT * FROM feedback WHERE ticket = ? ORDER BY id", [found[0]])]


def today(cfg, now: datetime) -> str:
    return hall_today(cfg, now)
