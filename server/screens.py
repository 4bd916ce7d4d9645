"""The read side and the small writes the screens need: the managers' notice
line, the lobby board figures (promise kept today, this month's satisfaction)
and a clerk's own figures today.

The notice is stored in the core `settings` table (key ``notice``) and pushed
over Socket.IO as its own message, ``notice`` — not as an ``event``, because
it is no ticket change and has no place in the hall's event sequence. The
snapshot carries it in ``hall.notice``.
"""
from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Optional

from flask import current_app
from pydantic import Field

from .api import Strict, hall, need, route

NOTICE_KEY = "notice"


class NoticeIn(Strict):
    text: str = Field(max_length=500, description="The scrolling notice line ('' clears it)")


def current_notice(db, default: str = "") -> str:
    """The notice a manager set, else the hall file's [hall] notice."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [NOTICE_KEY]).fetchone()
    if row is None:
        return default
    try:
        return json.loads(row[0])["text"]
    except (ValueError, KeyError, TypeError):
        return default


def _rate(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def _nearest_rank(values: list[float], q: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@route("/notice", "GET", "The lobby's notice line", "anyone", tags=("display",))
def get_notice():
    h = hall()
    with h.store() as s:
        return {"text": current_notice(s.db, h.cfg.raw["hall"].get("notice", ""))}


@route("/notice", "PUT", "Set the lobby's notice line (pushed as Socket.IO `notice`)", "manager",
       body=NoticeIn, tags=("display",))
def set_notice(body: NoticeIn):
    p = need("manager")
    h = hall()
    text = " ".join(body.text.split())
    at = h.now().isoformat()
    with h.lock, h.store() as s:
        with s.db.atomic():
            s.db.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                         [NOTICE_KEY, json.dumps({"text": text, "by": p.subject, "at": at},
                                                 ensure_ascii=False)])
    payload = {"text": text, "at": at, "by": p.subject}
    sio = current_app.extensions.get("qrate_socketio")
    if sio is not None:
        sio.emit("notice", payload)
    return payload


def month_start(day: date) -> str:
    return day.replace(day=1).isoformat()


def board(h) -> dict:
    """Today's promise kept per service and this month's satisfaction per window and clerk."""
    day = h.today()
    now_ts = h.now().timestamp()
    out_services = []
    with h.store() as s:
        waits: dict[str, list[float]] = {}
        for svc_code, data in s.db.execute(
                "SELECT service, data FROM ticket_events WHERE day = ? AND type = 'ticket.called'",
                [day.isoformat()]).fetchall():
            d = json.loads(data)
            if d.get("how") == "callback":
                continue  # calling back a parked ticket is not a new wait
            waits.setdefault(svc_code, []).append(float(d.get("wait_s", 0)))
        # a ticket still waiting past the promise has already broken it
        late: dict[str, int] = {}
        for svc_code, leg_at in s.db.execute(
                "SELECT service, leg_at FROM tickets WHERE day = ? AND status = 'waiting'",
                [day.isoformat()]).fetchall():
            svc = h.cfg.services.get(svc_code)
            if svc and now_ts - datetime.fromisoformat(leg_at).timestamp() > svc.target_wait_s:
                late[svc_code] = late.get(svc_code, 0) + 1
        for code, svc in h.cfg.services.items():
            w = waits.get(code, [])
            kept = sum(1 for x in w if x <= svc.target_wait_s)
            counted = len(w) + late.get(code, 0)
            out_services.append({"code": code, "target_wait_s": svc.target_wait_s,
                                 "called": len(w), "late_waiting": late.get(code, 0),
                                 "kept": kept, "kept_rate": _rate(kept, counted),
                                 "wait_p50_s": _nearest_rank(w, 0.5)})
        start = month_start(day)

        def ratings_by(column: str) -> dict:
            rows = s.db.execute(
                f"SELECT {column}, count(*), sum(score >= 4), sum(score >= 3), avg(score) "
                f"FROM ratings WHERE day >= ? AND excluded = 0 AND {column} IS NOT NULL "
                f"GROUP BY {column}", [start]).fetchall()
            return {r[0]: {"ratings": r[1], "satisfied_rate": _rate(r[2], r[1]),
                           "good_rate": _rate(r[3], r[1]),
                           "mean_score": round(r[4], 2) if r[4] is not None else None}
                    for r in rows}
        by_window, by_clerk = ratings_by("window"), ratings_by("clerk")
    empty = {"ratings": 0, "satisfied_rate": None, "good_rate": None, "mean_score": None}
    return {
        "day": day.isoformat(), "month": start[:7],
        "services": out_services,
        "windows": [{"number": n, "month": by_window.get(n, empty)} for n in h.cfg.windows],
        "staff": [{"employee_no": st.employee_no, "name": st.name, "commitment": st.commitment,
                   "commitment_en": st.commitment_en, "month": by_clerk.get(st.employee_no, empty)}
                  for st in h.cfg.staff.values()],
    }


@route("/display/board", "GET",
       "Lobby figures: promise kept today per service, this month's satisfaction per window and clerk",
       "anyone", tags=("display",))
def display_board():
    return board(hall())


@route("/me/today", "GET", "A clerk's own figures today (served, service time, ratings)",
       "clerk, manager", tags=("auth",))
def my_today():
    p = need("clerk", "manager")
    h = hall()
    day = h.today().isoformat()
    me = p.subject
    with h.store() as s:
        service_s = [json.loads(r[0])["service_s"] for r in s.db.execute(
            "SELECT data FROM ticket_events WHERE day = ? AND type = 'ticket.finished' AND clerk = ?",
            [day, me]).fetchall()]
        no_show = s.db.execute(
            "SELECT count(*) FROM ticket_events WHERE day = ? AND type = 'ticket.no_show' AND clerk = ?",
            [day, me]).fetchone()[0]
        levels = dict(s.db.execute(
            "SELECT score, count(*) FROM ratings WHERE day = ? AND clerk = ? AND excluded = 0 "
            "GROUP BY score", [day, me]).fetchall())
    n = sum(levels.values())
    return {
        "day": day, "employee_no": me, "served": len(service_s), "no_show": no_show,
        "service_s": {"mean": round(sum(service_s) / len(service_s), 1) if service_s else None,
                      "p50": _nearest_rank(service_s, 0.5), "p90": _nearest_rank(service_s, 0.9),
                      "max": max(service_s) if service_s else None},
        "ratings": n,
        "mean_score": round(sum(k * v for k, v in levels.items()) / n, 2) if n else None,
        "satisfied_rate": _rate(sum(v for k, v in levels.items() if k >= 4), n),
        "levels": {str(k): levels.get(k, 0) for k in range(1, 6)},
    }
