"""Tables of figures from the summary: by window | staff | service | hour | day,
the hall's total, scorecards and rankings, pairing (结对帮扶) with trends, the
monthly report, and flat tables for CSV / XLSX.

Every figure in a row is computed by ``figures`` (the one definition); this module
only groups summary rows and reads the follow-up cases. Values are exact.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Optional

import numpy as np

from ..engine import N_
from ..i18n import translate
from . import feedback
from . import figures as F
from .summary import Summary, hall_today, summary_rows

DIMENSIONS = {"windows": "window", "staff": "staff", "services": "service",
              "hours": "hour", "days": "day"}
DIMS = ("window", "staff", "service", "hour", "day")
FEEDBACK_DIMS = ("window", "staff", "service")
_EMPTY = np.empty(0, dtype="<i4")


class _Group:
    __slots__ = ("issued", "called", "served", "no_show", "transferred", "levels", "waits",
                 "services", "open_ms", "reasons", "untied")

    def __init__(self):
        self.issued = self.called = self.served = self.no_show = self.transferred = 0
        self.levels = [0, 0, 0, 0, 0]
        self.waits: dict[str, list] = defaultdict(list)  # per service: packed blobs
        self.services: dict[str, list] = defaultdict(list)
        self.open_ms = 0
        self.reasons: Counter = Counter()
        self.untied = 0  # ratings of a case without a ticket: not in participation


def _key(dim: str, day, hour, window, clerk, service):
    if dim == "window":
        return window
    if dim == "staff":
        return clerk
    if dim == "service":
        return service
    if dim == "hour":
        return hour
    if dim == "day":
        return day
    return None  # "total": the whole hall


def _grain(dim: str, window, staff) -> str:
    if dim != "day":
        return "month"
    return "daily" if window is None and staff is None else "cells"


def figures(db, cfg, *, now: datetime, dim: str, start: str, end: str,
            window: Optional[int] = None, staff: Optional[str] = None,
            service: Optional[str] = None, summary: Optional[Summary] = None) -> list[dict]:
    """Rows of figures by window | staff | service | hour | day over days start..end
    (the rows of /api/stats/...), unjudged; optionally only one window, clerk or service."""
    if dim not in DIMS:
        raise ValueError(f"dim must be one of {DIMS}, not {dim!r}")
    return _figures(db, cfg, now, dim, start, end, window, staff, service, summary)


def total(db, cfg, *, now: datetime, start: str, end: str, service: Optional[str] = None,
          summary: Optional[Summary] = None) -> dict:
    """The whole hall's row over start..end (the monthly report's 全厅合计)."""
    rows = _figures(db, cfg, now, "total", start, end, None, None, service, summary)
    if rows:
        row = rows[0]
    else:
        row = _row(cfg, "total", None, _Group(), [], now)
    row.pop("total", None)
    return row


def _figures(db, cfg, now, dim, start, end, window, staff, service, summary) -> list[dict]:
    if summary is None:
        summary = summary_rows(db, cfg, now=now, start=start, end=end,
                               grain=_grain(dim, window, staff))
    cells, reasons, opened = summary
    groups: dict = defaultdict(_Group)
    by_person = dim in ("window", "staff")

    def wanted(w, c, s) -> bool:
        return ((window is None or w == window) and (staff is None or c == staff)
                and (service is None or s == service))

    # issued is counted where a ticket is issued: per service, hour, day (not at a window)
    issue_ok = window is None and staff is None and not by_person
    for (day, hour, w, c, s, issued, called, served, no_show, transferred, waits, services,
         r1, r2, r3, r4, r5) in cells:
        key = _key(dim, day, hour, w, c, s)
        if issued and issue_ok and (service is None or s == service):
            groups[key].issued += issued
        if not wanted(w, c, s) or (by_person and not key):
            continue
        if not (called or served or no_show or transferred or r1 or r2 or r3 or r4 or r5):
            continue
        g = groups[key]
        g.called += called
        g.served += served
        g.no_show += no_show
        g.transferred += transferred
        for i, n in enumerate((r1, r2, r3, r4, r5)):
            g.levels[i] += n
        if waits:
            g.waits[s].append(waits)
        if services:
            g.services[s].append(services)
    for day, hour, w, c, s, reason, n in reasons:
        if wanted(w, c, s):
            key = _key(dim, day, hour, w, c, s)
            if key in groups:
                groups[key].reasons[reason] += n
    if by_person and service is None:
        for day, w, c, ms in opened:
            key = w if dim == "window" else c
            if ms and key and wanted(w, c, None):
                groups[key].open_ms += ms
    for day, hour, w, c in untied_ratings(db, cfg, start=start, end=end):
        if wanted(w, c, "") and not (by_person and not _key(dim, day, hour, w, c, "")):
            key = _key(dim, day, hour, w, c, "")
            if key in groups:
                groups[key].untied += 1
    cases = followup_cases(db, cfg, now=now, start=start, end=end)
    if cases is not None:
        cases = [c for c in cases if wanted(c["window"], c["staff"], c["service"])]
    rows = []
    for key in sorted(groups, key=lambda k: (k is None, k)):
        g = groups[key]
        if by_person and not (g.called or g.served or g.no_show or sum(g.levels) or g.open_ms):
            continue
        rows.append(_row(cfg, dim, key, g, cases, now))
    return rows


def _times(blobs: dict) -> dict:
    return {s: np.frombuffer(b"".join(v), dtype="<i4") for s, v in blobs.items()}


def _row(cfg, dim: str, key, g: _Group, cases: Optional[list], now: datetime) -> dict:
    waits, services = _times(g.waits), _times(g.services)
    all_waits = np.concatenate(list(waits.values())) if waits else _EMPTY
    all_services = np.concatenate(list(services.values())) if services else _EMPTY
    svc = cfg.services
    # Each leg is judged by the targets of its own service.
    wait_over = sum(int((v > svc[s].target_wait_s * 1000).sum()) for s, v in waits.items() if s in svc)
    service_over = sum(int((v > svc[s].target_service_s * 1000).sum())
                       for s, v in services.items() if s in svc)
    # index: the mean of (time / that service's target); 1.0 is on target
    wait_index = sum(v.sum(dtype=np.int64).item() / 1000 / svc[s].target_wait_s
                     for s, v in waits.items() if s in svc)
    service_index = sum(v.sum(dtype=np.int64).item() / 1000 / svc[s].target_service_s
                        for s, v in services.items() if s in svc)
    issued = g.called if dim in ("window", "staff") else g.issued
    rating = F.satisfaction(g.levels)
    row = {dim: key, "issued": issued, "called": g.called, "served": g.served,
           "no_show": g.no_show, "transferred": g.transferred,
           "no_show_rate": F.no_show_rate(g.no_show, g.served),
           "wait_s": F.spread_ms(all_waits), "service_s": F.spread_ms(all_services),
           "wait_over_target_rate": F.ratio(wait_over, len(all_waits)),
           "service_over_target_rate": F.ratio(service_over, len(all_services)),
           "ratings": rating["ratings"], "participation": F.participation(rating["ratings"] - g.untied, g.served),
           "mean_score": rating["mean_score"], "good_rate": rating["good_rate"],
           "satisfied_rate": rating["satisfied_rate"], "levels": F.levels_dict(g.levels),
           "low_reasons": [{"reason": r, "count": n} for r, n in
                           sorted(g.reasons.items(), key=lambda x: (-x[1], x[0]))[:5]],
           "callback_rate": None, "followup_rate": None}
    if dim == "service" and key in svc:
        row["targets"] = F.service_targets(svc[key])
    else:
        row["targets"] = F.weighted_targets({s: len(v) for s, v in waits.items()}, svc)
    row["wait_index"] = F.ratio(wait_index, len(all_waits))
    row["service_index"] = F.ratio(service_index, len(all_services))
    if dim in ("window", "staff"):
        serving_ms = all_services.sum(dtype=np.int64).item()
        row["open_s"] = g.open_ms / 1000
        row["serving_s"] = serving_ms / 1000
        row["idle_s"] = max(0, g.open_ms - serving_ms) / 1000 if g.open_ms else None
        row["served_per_hour"] = F.per_hour(g.served, g.open_ms)
    if cases is not None:
        mine = cases if dim == "total" else [c for c in cases if c[dim] == key]
        row["callback_rate"], row["followup_rate"] = F.case_rates(mine, now)
    if dim == "window" and key in cfg.windows:
        row["name"] = cfg.windows[key].name
    elif dim == "staff":
        st = cfg.staff.get(key)
        row["name"] = st.name if st else key
    elif dim == "service" and key in svc:
        row["name"], row["name_en"] = svc[key].name, svc[key].name_en
    return row


# --- follow-up cases (rating_cases; docs/ratings.md) -------------------------------

def untied_ratings(db, cfg, *, start: str, end: str) -> list[tuple]:
    """(day, hour, window, clerk) of each rating of a case without a ticket (一次一评) on days
    start..end, not excluded: they count in the rating figures but not in participation
    (rated tickets / served). Few: only a business system's requests make them."""
    conn = db.conn if hasattr(db, "conn") else db
    if "case_no" not in {r[1] for r in conn.execute("PRAGMA table_info(ratings)")}:
        return []
    tz = cfg.tz
    return [(day, datetime.fromtimestamp(ts, tz).hour, w or 0, c or "") for day, ts, w, c in conn.execute(
        "SELECT day, ts, window, clerk FROM ratings WHERE ticket IS NULL AND excluded = 0 "
        "AND day BETWEEN ? AND ?", [start, end])]


def followup_cases(db, cfg, *, now: datetime, start: str, end: str) -> Optional[list]:
    """Cases opened on days start..end (not excluded), or None when the hall has no
    follow-up table. Each: window, staff, service, day, hour and the deadlines/steps
    as aware datetimes (the input of figures.case_rates)."""
    conn = db.conn if hasattr(db, "conn") else db
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                        "AND name = 'rating_cases'").fetchone():
        return None
    tz = cfg.tz
    lo = (date.fromisoformat(start) - timedelta(days=1)).isoformat()
    hi = (date.fromisoformat(end) + timedelta(days=2)).isoformat()
    out = []
    for row in conn.execute(
            "SELECT window, clerk, service, opened_at, callback_due, callback_done_at, "
            "rectify_due, rectified_at, replied_at, reply_due FROM rating_cases "
            "WHERE excluded = 0 AND opened_at >= ? AND opened_at < ?", [lo, hi]):
        parsed = [_when(v, tz) for v in row[3:]]
        opened = parsed[0]
        if opened is None or not (start <= opened.date().isoformat() <= end):
            continue
        out.append({"window": row[0], "staff": row[1] or "", "service": row[2],
                    "day": opened.date().isoformat(), "hour": opened.hour,
                    "callback_due": parsed[1], "callback_done": parsed[2],
                    "rectify_due": parsed[3], "rectified": parsed[4], "replied": parsed[5],
                    "reply_due": parsed[6] or parsed[3]})
    return out


def _when(text, tz) -> Optional[datetime]:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


# --- the tables the API serves --------------------------------------------------------

def table(db, cfg, *, now: datetime, dim: str, start: str, end: str,
          window: Optional[int] = None, staff: Optional[str] = None,
          service: Optional[str] = None) -> list[dict]:
    """The rows of /api/stats/<dim>: figures, and for windows and staff also score,
    flags and rank."""
    rows = figures(db, cfg, now=now, dim=dim, start=start, end=end, window=window,
                   staff=staff, service=service)
    return F.judge(rows, F.min_count(cfg)) if dim in ("window", "staff") else rows


def table_with_feedback(db, cfg, *, now: datetime, dim: str, start: str, end: str,
                        window: Optional[int] = None, staff: Optional[str] = None,
                        service: Optional[str] = None) -> list[dict]:
    """table(), and for windows, clerks and services each row's ``feedback`` block: the
    citizens' opinions on the tickets it served (figures.md "Citizens' feedback")."""
    rows = table(db, cfg, now=now, dim=dim, start=start, end=end, window=window, staff=staff,
                 service=service)
    if dim in FEEDBACK_DIMS:
        F.attach_feedback(rows, dim, feedback.by_dimension(
            db, cfg, now=now, dim=dim, start=start, end=end, window=window, staff=staff,
            service=service))
    return rows


def scorecard(db, cfg, *, now: datetime, day: str) -> dict:
    """The daily scorecard (日常考评): windows and clerks against their services' targets."""
    summary = summary_rows(db, cfg, now=now, start=day, end=day, grain="month")
    n = F.min_count(cfg)
    kw = dict(now=now, start=day, end=day, summary=summary)
    return {"day": day, "windows": F.judge(figures(db, cfg, dim="window", **kw), n),
            "staff": F.judge(figures(db, cfg, dim="staff", **kw), n)}


def rankings(db, cfg, *, now: datetime, period: str) -> dict:
    """Monthly, quarterly or yearly rankings (定期考评); ValueError for a bad period."""
    start, end = period_range(period)
    summary = summary_rows(db, cfg, now=now, start=start, end=end, grain="month")
    n = F.min_count(cfg)
    kw = dict(now=now, start=start, end=end, summary=summary)
    return {"period": period, "from": start, "to": end,
            "windows": F.judge(figures(db, cfg, dim="window", **kw), n),
            "staff": F.judge(figures(db, cfg, dim="staff", **kw), n)}


def period_range(period: str) -> tuple[str, str]:
    """'2026-03' (a month), '2026-Q1' (a quarter), '2026' (a year) or '2026-03-05'
    (a day) as (first day, last day); ValueError otherwise."""
    text = str(period).strip().upper()
    if "Q" in text:
        year, q = text.split("-Q")
        if not 1 <= int(q) <= 4:
            raise ValueError(period)
        first, months = date(int(year), 3 * int(q) - 2, 1), 3
    elif text.count("-") == 1:
        year, month = text.split("-")
        first, months = date(int(year), int(month), 1), 1
    elif text.count("-") == 0:
        first, months = date(int(text), 1, 1), 12
    else:
        d = date.fromisoformat(text)
        return d.isoformat(), d.isoformat()
    m = first.month - 1 + months
    last = date(first.year + m // 12, m % 12 + 1, 1) - timedelta(days=1)
    return first.isoformat(), last.isoformat()


def pairs(db, cfg, *, now: datetime, start: str, end: str,
          summary: Optional[Summary] = None) -> list[dict]:
    """For each service, clerks falling short paired with the best clerk on it (结对帮扶)."""
    summary = summary or summary_rows(db, cfg, now=now, start=start, end=end, grain="month")
    n = F.min_count(cfg)
    out = []
    for code in cfg.services:
        rows = F.judge(figures(db, cfg, now=now, dim="staff", start=start, end=end,
                               service=code, summary=summary), n)
        rows = [r for r in rows if r["score"] is not None]
        for r in (r for r in rows if r["flags"]):
            # a mentor has no flag, a score (so enough ratings), and at least a fifth of
            # the mentee's volume on this service; without one, mentor is null
            good = [g for g in rows if not g["flags"] and 5 * g["served"] >= r["served"]]
            out.append({"service": code, "service_name": cfg.services[code].name,
                        "mentor": _brief(good[0]) if good else None, "mentee": _brief(r),
                        "flags": r["flags"]})
    return out


def pairs_with_trends(db, cfg, *, now: datetime, start: str, end: str) -> list[dict]:
    """pairs() over start..end, each with both clerks' daily trend from start to today."""
    out = pairs(db, cfg, now=now, start=start, end=end)
    if out:
        today = hall_today(cfg, now)
        last = max(end, today)
        clerks = sorted({p[k]["staff"] for p in out for k in ("mentor", "mentee") if p[k]})
        summary = summary_rows(db, cfg, now=now, start=start, end=last, clerks=clerks)
        for p in out:
            who = [p[k]["staff"] for k in ("mentor", "mentee") if p[k]]
            p["trend"] = trend(db, cfg, now=now, staff=who, start=start, end=last,
                               service=p["service"], summary=summary)
    return out


def _brief(row: dict) -> dict:
    return {"staff": row["staff"], "name": row.get("name"), "score": row["score"],
            "served": row["served"], "service_s": row["service_s"]["mean"],
            "good_rate": row["good_rate"], "service_index": row["service_index"]}


def trend(db, cfg, *, now: datetime, staff: list[str], start: str, end: str,
          service: Optional[str] = None, summary: Optional[Summary] = None) -> dict:
    """Day-by-day figures and score of some clerks (a pair's progress)."""
    summary = summary or summary_rows(db, cfg, now=now, start=start, end=end, clerks=list(staff))
    n = F.min_count(cfg)
    out = {}
    for who in staff:
        rows = figures(db, cfg, now=now, dim="day", start=start, end=end, staff=who,
                       service=service, summary=summary)
        out[who] = [{"day": r["day"], "served": r["served"], "service_s": r["service_s"]["mean"],
                     "wait_s": r["wait_s"]["mean"], "good_rate": r["good_rate"],
                     "score": F.score(r, n)} for r in rows if r["called"] or r["served"]]
    return out


def monthly_report(db, cfg, *, now: datetime, month: str) -> dict:
    """The monthly report (月度报告): figures by every dimension, the hall's total,
    judged windows and clerks, pairs, and the low-rating reason tags counted
    (labels are translated by the caller). ValueError for a bad month."""
    if str(month).count("-") != 1 or "Q" in str(month).upper():
        raise ValueError(month)
    start, end = period_range(month)
    summary = summary_rows(db, cfg, now=now, start=start, end=end)
    kw = dict(now=now, start=start, end=end, summary=summary)
    n = F.min_count(cfg)
    data = {dim: figures(db, cfg, dim=dim, **kw) for dim in DIMS}
    data["window"] = F.judge(data["window"], n)
    data["staff"] = F.judge(data["staff"], n)
    data["pairs"] = pairs(db, cfg, **kw)
    data["total"] = total(db, cfg, **kw)
    reasons: Counter = Counter()
    for row in data["service"]:
        for r in row["low_reasons"]:
            reasons[r["reason"]] += r["count"]
    data["low_reasons"] = [{"reason": r, "count": c}
                           for r, c in sorted(reasons.items(), key=lambda x: (-x[1], x[0]))]
    return {"month": month, "from": start, "to": end, **data}


# --- flat tables for CSV / XLSX -------------------------------------------------------

# (key of the row figure, message id of its column label): translated at the edge
COLUMNS = [("issued", N_("Tickets issued")), ("called", N_("Calls")),
           ("served", N_("Tickets served")), ("no_show", N_("No-show tickets")),
           ("transferred", N_("Transfers")), ("no_show_rate", N_("No-show rate")),
           ("wait_s.mean", N_("Wait mean (s)")), ("wait_s.p50", N_("Wait median (s)")),
           ("wait_s.p90", N_("Wait p90 (s)")), ("wait_s.max", N_("Wait max (s)")),
           ("service_s.mean", N_("Service time mean (s)")),
           ("service_s.p50", N_("Service time median (s)")),
           ("service_s.p90", N_("Service time p90 (s)")),
           ("service_s.max", N_("Service time max (s)")),
           ("wait_over_target_rate", N_("Waits over target")),
           ("service_over_target_rate", N_("Service times over target")),
           ("ratings", N_("Ratings")), ("participation", N_("Participation")),
           ("mean_score", N_("Mean score")), ("good_rate", N_("Good-rating rate")),
           ("satisfied_rate", N_("Satisfied rate")),
           ("levels.1", N_("Very dissatisfied")), ("levels.2", N_("Dissatisfied")),
           ("levels.3", N_("Basically satisfied")), ("levels.4", N_("Satisfied")),
           ("levels.5", N_("Very satisfied")),
           ("callback_rate", N_("Callback rate")), ("followup_rate", N_("Follow-up rate"))]
# citizens' feedback of windows, clerks and services (the "feedback" block of their rows)
FEEDBACK_COLUMNS = [("feedback.received", N_("Feedback received")),
                    ("feedback.answered", N_("Feedback answered")),
                    ("feedback.answered_on_time", N_("Feedback answered on time")),
                    ("feedback.on_time_rate", N_("Feedback on-time rate"))]
KEY_LABELS = {"window": N_("Window"), "staff": N_("Employee number"), "service": N_("Service"),
              "hour": N_("Hour"), "day": N_("Day")}
NAME_LABEL = N_("Name")


def flat(dim: str, rows: list[dict], locale: str = "zh_CN") -> tuple[list[str], list[str], list[list]]:
    """(keys, labels in ``locale``, rows) of a figures table, one column per figure."""
    named = dim in ("window", "staff", "service")
    columns = COLUMNS + (FEEDBACK_COLUMNS if any("feedback" in r for r in rows) else [])
    keys = [dim] + (["name"] if named else []) + [k for k, _ in columns]
    msgids = [KEY_LABELS[dim]] + ([NAME_LABEL] if named else []) + [m for _, m in columns]
    labels = [translate(m, locale) for m in msgids]
    out = []
    for row in rows:
        line = []
        for k in keys:
            v = row
            for part in k.split("."):
                v = v.get(part) if isinstance(v, dict) else None
            line.append(v)
        out.append(line)
    return keys, labels, out
