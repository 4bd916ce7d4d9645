"""The configuration's audit: every `config.changed` event, and each public commitment's
history (阳光政务: what was promised when). Plain rows."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Optional


def _conn(db):
    return db.conn if hasattr(db, "conn") else db


def config_changes(db, cfg, *, now: datetime, limit: int = 200) -> list[dict]:
    """`config.changed` events, newest first: seq, at, by, source and each key old → new."""
    cur = _conn(db).execute("SELECT seq, at, data FROM ticket_events WHERE type = 'config.changed' "
                            "ORDER BY seq DESC LIMIT ?", [int(limit)])
    out = []
    for seq, at, data in cur:
        d = json.loads(data)
        out.append({"seq": seq, "at": at, "by": d.get("by"), "source": d.get("source"),
                    "changes": d.get("changes", [])})
    return out


def commitment_history(db, cfg, *, now: datetime, employee_no: Optional[str] = None) -> list[dict]:
    """Each clerk's public commitments as they were promised, newest first."""
    sql = "SELECT employee_no, at, by, commitment, commitment_en FROM commitments"
    args: list = []
    if employee_no is not None:
        sql += " WHERE employee_no = ?"
        args.append(employee_no)
    cur = _conn(db).execute(sql + " ORDER BY id DESC", args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur]
