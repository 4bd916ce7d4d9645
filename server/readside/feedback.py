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


def _view(r: dict, now_iso: str, manager: bool, whole: bool = False) -> dict:
    out = {"id": r["id"], "kind": r["kind"], "text": r["text"], "source": r["source"],
           "created_at": r["created_at"], "reply_due": r["reply_due"], "reply": r["reply"],
           "replied_at": r["replied_at"], "phone": mask_phone(r["phone"]) if r["phone"] else "",
           "on_time": None if not r["replied_at"] else r["replied_at"] <= r["reply_due"],
           "overdue": not r["replied_at"] and r["reply_due"] < now_iso}
    if manager:
        out.update(ticket=r["ticket"], number=r.get("number"), replied_by=r["replied_by"],
                   window=r.get("window"), staff=r.get("clerk"), service=r.get("service"))
    if whole:   # one opinion opened to answer it: the whole number to call back
        out["phone_full"] = r["phone"]
    return out


_SELECT = ("SELECT f.*, t.number AS number, t.window AS window, t.clerk AS clerk, "
           "t.service AS service FROM feedback f LEFT JOIN tickets t ON t.id = f.ticket ")
DIM_COLUMNS = {"window": "window", "staff": "clerk", "service": "service"}


def _range_rows(db, start: str, end: str, window=None, staff=None, service=None) -> list[dict]:
    sql, args = _SELECT + "WHERE f.day BETWEEN ? AND ?", [start, end]
    for column, value in (("t.window", window), ("t.clerk", staff), ("t.service", service)):
        if value is not None:
            sql += f" AND {column} = ?"
            args.append(value)
    return _rows(db, sql + " ORDER BY f.id DESC", args)


def listing(db, cfg, *, now: datetime, start: str, end: str, state: str = "all",
            limit: int = 200, window: Optional[int] = None, staff: Optional[str] = None,
            service: Optional[str] = None) -> dict:
    """The opinions left on days start..end, newest first, with the figures of the range
    (only those whose ticket was served at ``window``, by ``staff`` or for ``service``
    when given). Phones masked: a list never shows a whole number (docs/security.md)."""
    rows = _range_rows(db, start, end, window, staff, service)
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


def one(db, cfg, *, now: datetime, id: int) -> Optional[dict]:  # noqa: A002
    """One opinion as the manager answering it sees it: with the whole phone number."""
    rows = _rows(db, _SELECT + "WHERE f.id = ?", [id])
    return _view(rows[0], now.isoformat(), True, whole=True) if rows else None


def by_dimension(db, cfg, *, now: datetime, dim: str, start: str, end: str,
                 window: Optional[int] = None, staff: Optional[str] = None,
                 service: Optional[str] = None) -> dict:
    """{window number | employee number | service code: figures()} of the opinions left on
    days start..end, each under the window, clerk and service of its ticket (the one who
    served it last); a kiosk's opinion has no ticket and counts in the hall's total only."""
    rows = _range_rows(db, start, end, window, staff, service)
    column = DIM_COLUMNS[dim]
    groups: dict = {}
    for r in rows:
        if r[column] is not None:
            groups.setdefault(r[column], []).append(r)
    return {key: figures(part, now) for key, part in groups.items()}


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
