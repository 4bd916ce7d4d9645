"""What the public screens and a clerk's own page show: the lobby board, the
pad's satisfaction of its window, a clerk's figures today, the notice line.

All of it from the same summary rows as /api/stats and with the definitions of
``figures``, so the pad, the lobby, the dashboard, the exports and the monthly
report show the same number for the same period.
"""
from __future__ import annotations

from datetime import date, datetime

from . import figures as F, summary
from .summary import hall_today
from .tables import figures as figure_rows



def _conn(db):
    return db.conn if hasattr(db, "conn") else db


def month_start(day: str) -> str:
    """The first day of the month of ``day`` (ISO dates)."""
    return date.fromisoformat(day).replace(day=1).isoformat()


def board(db, cfg, *, now: datetime) -> dict:
    """The lobby board: today's promise kept per service, this month's satisfaction per
    window and clerk (阳光政务)."""
    today = hall_today(cfg, now)
    first = month_start(today)
    waits: dict[str, list[int]] = {}
    late: dict[str, int] = {}
    now_ts = now.timestamp()
    with summary.snapshot(db) as conn:
        for row in summary.day_cells(conn, cfg, now=now, day=today):
            if row[10]:    # today's called legs, per service at the call
                waits.setdefault(row[4], []).extend(summary.unpack(row[10]))
        # a ticket still waiting past the promise has already broken it
        for code, leg_at in conn.execute(
                "SELECT service, leg_at FROM tickets WHERE day = ? AND status = 'waiting'", [today]):
            svc = cfg.services.get(code)
            if svc and now_ts - datetime.fromisoformat(leg_at).timestamp() > svc.target_wait_s:
                late[code] = late.get(code, 0) + 1
        by_window = summary.level_counts(conn, cfg, now=now, start=first, end=today, by="window")
        by_clerk = summary.level_counts(conn, cfg, now=now, start=first, end=today, by="clerk")
    services = [{"code": code, **F.promise_kept(waits.get(code, []), svc.target_wait_s,
                                                  late.get(code, 0))}
                for code, svc in cfg.services.items()]
    empty = F.satisfaction([0, 0, 0, 0, 0])
    return {
        "day": today, "month": first[:7],
        "services": services,
        "windows": [{"number": n, "month": F.satisfaction(by_window[n]) if n in by_window else empty}
                    for n in cfg.windows],
        "staff": [{"employee_no": st.employee_no, "name": st.name, "commitment": st.commitment,
                   "commitment_en": st.commitment_en,
                   "month": F.satisfaction(by_clerk[st.employee_no])
                   if st.employee_no in by_clerk else empty}
                  for st in cfg.staff.values()],
    }


def pad_satisfaction(db, cfg, *, now: datetime, window: int) -> dict:
    """A window's satisfaction this month, as its pad shows it: excluded ratings do not count."""
    today = hall_today(cfg, now)
    first = month_start(today)
    levels = summary.level_counts(db, cfg, now=now, start=first, end=today,
                                  by="window").get(window, [0, 0, 0, 0, 0])
    return {"since": first, **F.satisfaction(levels)}


def my_today(db, cfg, *, now: datetime, employee_no: str) -> dict:
    """A clerk's own figures today: served, no-shows, service time, ratings."""
    today = hall_today(cfg, now)
    rows = figure_rows(db, cfg, now=now, dim="staff", start=today, end=today, staff=employee_no)
    row = rows[0] if rows else None
    levels = [row["levels"][str(k)] for k in F.LEVELS] if row else [0, 0, 0, 0, 0]
    return {"day": today, "employee_no": employee_no,
            "served": row["served"] if row else 0, "no_show": row["no_show"] if row else 0,
            "service_s": row["service_s"] if row else F.spread([]),
            **F.satisfaction(levels), "levels": F.levels_dict(levels)}
