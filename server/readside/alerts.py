"""Every alert in force, for managers (GET /api/alerts): open helper calls, bad ratings
not yet called back, services with citizens waiting and no open window. Plain rows; an
alert stays listed until what raised it clears, so a dashboard opened later sees it."""
from __future__ import annotations

from datetime import datetime

from .lists import _conn, _dicts
from .summary import hall_today


def help_calls_open(db, cfg, *, now: datetime) -> list[dict]:
    rows = _dicts(_conn(db), "SELECT * FROM help_calls WHERE acked_ts IS NULL ORDER BY asked_ts")
    return [{"type": "help", "id": r["id"], "device": r["device"], "kind": r["kind"],
             "window": r["window"], "place": r["place"], "since": r["asked_at"],
             "waited_s": round(now.timestamp() - r["asked_ts"], 1)} for r in rows]


def bad_ratings_open(db, cfg, *, now: datetime) -> list[dict]:
    """Cases of bad ratings whose citizen has not been called back yet."""
    rows = _dicts(_conn(db), "SELECT id, number, window, clerk, service, score, opened_at, opened_ts, "
                             "callback_due FROM rating_cases WHERE status != 'closed' "
                             "AND callback_done_at IS NULL ORDER BY opened_ts")
    return [{"type": "bad_rating", "case": r["id"], "number": r["number"], "window": r["window"],
             "clerk": r["clerk"], "service": r["service"], "score": r["score"],
             "callback_due": r["callback_due"], "since": r["opened_at"],
             "waited_s": round(now.timestamp() - r["opened_ts"], 1)} for r in rows]


def oldest_waiting(db, cfg, *, now: datetime) -> dict[str, tuple[int, str]]:
    """Per service: how many wait and since when the oldest waits (its leg's start)."""
    out: dict[str, tuple[int, str]] = {}
    for service, n, since in _conn(db).execute(
            "SELECT service, count(*), min(leg_at) FROM tickets WHERE day = ? AND status = 'waiting' "
            "GROUP BY service", [hall_today(cfg, now)]):
        out[service] = (n, since)
    return out
