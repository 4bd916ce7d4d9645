"""The staffing planner's reads: the hall's own history for a weekday, and the plan.

``plan(db, cfg, now=, day=)`` answers "how many windows keep the promise at each hour
of that day": from the last ``[planning] weeks`` weeks of the same weekday and the
same working-day kind (server.workdays, the Chinese calendar with its 调休 days),
per service and hour it takes the arrivals per hour, the service time (mean and
spread) and the no-show share, and sizes the windows by Erlang C (Erlang A where the
no-show share reaches ``[planning] erlang_a_from``); each group of services that
share windows is sized by simulation (server.queueing.simulate_pool). docs/planning.md.

``weekday_figures`` is /api/stats/<dim>?weekday=: the same rows as tables.figures,
over only the days of that weekday, so the planner's inputs can be checked against
the hall's own figures.
"""
from __future__ import annotations

import math
import zlib
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Optional

import numpy as np

from .. import queueing as Q
from ..workdays import WorkCalendar
from . import figures as F
from . import tables
from .summary import Summary, summary_rows

TARGET_SHARE_KEY = "planning.target_share"
SIM_ARRIVALS = 1500
SIM_WARMUP = 150


def _weekday_of(day: str) -> int:
    return date.fromisoformat(day).isoweekday()


def keep_days(summary: Summary, keep) -> Summary:
    """The summary rows of the days ``keep(day)`` accepts (cells, reasons, opened)."""
    cells, reasons, opened = summary
    return Summary([c for c in cells if keep(c[0])], [r for r in reasons if keep(r[0])],
                   [o for o in opened if keep(o[0])])


def weekday_figures(db, cfg, *, now: datetime, dim: str, start: str, end: str, weekday: int,
                    window: Optional[int] = None, staff: Optional[str] = None,
                    service: Optional[str] = None) -> list[dict]:
    """The rows of /api/stats/<dim> over the days start..end that fall on ``weekday``
    (ISO, 1 = Monday .. 7 = Sunday)."""
    summary = keep_days(summary_rows(db, cfg, now=now, start=start, end=end, grain="cells"),
                        lambda d: _weekday_of(d) == weekday)
    rows = tables.figures(db, cfg, now=now, dim=dim, start=start, end=end, window=window,
                          staff=staff, service=service, summary=summary)
    return F.judge(rows, F.min_count(cfg)) if dim in ("window", "staff") else rows


# --- the history a plan rests on ------------------------------------------------------

def basis_days(db, cfg, *, now: datetime, day: str,
               summary: Optional[Summary] = None) -> tuple[list[str], str]:
    """The past days a plan for ``day`` rests on, and how they were chosen: "weekday"
    (the same weekday and working-day kind in the last N weeks) or "kind" (no such day:
    every day of the same kind in those weeks). Only days with tickets count (a day
    without any is a closed hall or no data, not a quiet day)."""
    target = date.fromisoformat(day)
    cal = WorkCalendar.from_config(cfg.raw)
    weeks = int(cfg.raw["planning"]["weeks"])
    kind = cal.is_workday(target)
    first = target - timedelta(days=7 * weeks)
    if summary is None:
        summary = summary_rows(db, cfg, now=now, start=first.isoformat(),
                               end=(target - timedelta(days=1)).isoformat(), grain="cells")
    open_days = {c[0] for c in summary.cells if c[5]}
    candidates = [target - timedelta(days=i) for i in range(1, 7 * weeks + 1)]
    same = [d for d in candidates if d.isoweekday() == target.isoweekday()
            and cal.is_workday(d) == kind]
    chosen = [d.isoformat() for d in same if d.isoformat() in open_days]
    if chosen:
        return sorted(chosen), "weekday"
    alike = [d.isoformat() for d in candidates if cal.is_workday(d) == kind
             and d.isoformat() in open_days]
    return sorted(alike), "kind"


class _Cell:
    __slots__ = ("issued", "called", "no_show", "waits", "services")

    def __init__(self):
        self.issued = self.called = self.no_show = 0
        self.waits: list = []
        self.services: list = []


def hour_inputs(db, cfg, *, now: datetime, days: list[str],
                summary: Optional[Summary] = None) -> dict:
    """{(service, hour): {"arrivals", "service_s": np.array, "waits_s", "called",
    "no_show"}} summed over ``days``, from the same summary cells as the figures."""
    if not days:
        return {}
    wanted = set(days)
    if summary is None:
        summary = summary_rows(db, cfg, now=now, start=min(days), end=max(days), grain="cells")
    summary = keep_days(summary, lambda d: d in wanted)
    out: dict = defaultdict(_Cell)
    for (d, hour, w, c, s, issued, called, served, no_show, transferred, waits, services,
         *_levels) in summary.cells:
        cell = out[(s, hour)]
        cell.issued += issued
        cell.called += called
        cell.no_show += no_show
        if waits:
            cell.waits.append(waits)
        if services:
            cell.services.append(services)
    done = {}
    for key, cell in out.items():
        done[key] = {"arrivals": cell.issued, "called": cell.called, "no_show": cell.no_show,
                     "service_s": np.frombuffer(b"".join(cell.services), dtype="<i4") / 1000.0,
                     "waits_s": np.frombuffer(b"".join(cell.waits), dtype="<i4") / 1000.0}
    return done


# --- the rota (scheduled windows) ---------------------------------------------------

def scheduled_windows(cfg, day: date, hour: int) -> Optional[set]:
    """The windows the rota schedules for at least half of ``hour`` on ``day``; None
    when the hall has no rota."""
    if not cfg.rota:
        return None
    lo = datetime.combine(day, time(hour))
    hi = lo + timedelta(hours=1)
    out = set()
    for window, weekdays, periods in cfg.rota:
        if day.isoweekday() not in weekdays:
            continue
        covered = 0.0
        for p in periods:
            start = datetime.combine(day, p.start)
            end = datetime.combine(day, p.end) if p.end != time.max else datetime.combine(day + timedelta(days=1), time(0))
            covered += max(0.0, (min(hi, end) - max(lo, start)).total_seconds())
        if covered >= 1800:
            out.add(window)
    return out


def groups(cfg) -> list[list[str]]:
    """The services that share windows, as groups (connected through windows), in
    service order; a service no window shares is a group of its own."""
    parent = {s: s for s in cfg.services}

    def find(s):
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s
    for w in cfg.windows.values():
        codes = [s for s in w.services if s in parent]
        for other in codes[1:]:
            parent[find(other)] = find(codes[0])
    out: dict = defaultdict(list)
    for s in cfg.services:
        out[find(s)].append(s)
    return sorted(out.values(), key=lambda g: list(cfg.services).index(g[0]))


def group_windows(cfg, codes: list[str]) -> set:
    return {n for n, w in cfg.windows.items() if set(w.services) & set(codes)}


# --- the plan ----------------------------------------------------------------------

def _option_range(needed: int, scheduled: Optional[int]) -> range:
    lo = min(needed, scheduled if scheduled is not None else needed)
    hi = max(needed, scheduled if scheduled is not None else needed)
    return range(max(1, lo - 2), hi + 3)


def _service_row(code, svc, hour, inp, n_days, fallback_mean, target_share, a_from):
    lam_h = inp["arrivals"] / n_days
    times = inp["service_s"]
    mean = float(times.mean()) if len(times) else fallback_mean
    cv = float(times.std() / mean) if len(times) > 1 and mean else None
    no_show_rate = F.no_show_rate(inp["no_show"], len(times)) if inp["no_show"] else 0.0
    patience = None
    if no_show_rate and no_show_rate >= a_from and inp["no_show"]:
        # the maximum-likelihood patience rate under exponential patience:
        # no-shows / total time waited (Mandelbaum & Zeltyn)
        patience = float(inp["waits_s"].sum()) / inp["no_show"] or None
    method = "erlang_a" if patience else "erlang_c"
    target = float(svc.target_wait_s)
    lam = lam_h / 3600.0
    needed = Q.windows_needed(lam, mean, target, target_share, patience)
    return {"service": code, "name": svc.name, "name_en": svc.name_en, "hour": hour,
            "arrivals_per_h": lam_h, "mean_service_s": mean, "service_cv": cv,
            "no_show_rate": no_show_rate, "mean_patience_s": patience, "method": method,
            "target_wait_s": target, "target_share": target_share,
            "windows_needed": needed, "_model": (lam, mean, target, patience)}


def _perf(model, c) -> dict:
    lam, mean, target, patience = model
    p = Q.performance(c, lam, mean, target, patience)
    return {"windows": c, "expected_wait_s": p.expected_wait_s,
            "share_within_target": p.share_within_target}


@lru_cache(maxsize=4096)
def _pool(c, rates, means, cvs, targets, seed) -> tuple:
    if sum(r * m for r, m in zip(rates, means)) >= c:
        return None, 0.0
    rng = np.random.default_rng(seed)
    w, share = Q.simulate_pool(c, list(rates), list(means), list(cvs), list(targets),
                               SIM_ARRIVALS, rng, SIM_WARMUP)
    return w, share


def _group_row(codes, rows, hour, target_share, day, scheduled):
    rates = tuple(r["_model"][0] for r in rows)
    means = tuple(r["_model"][1] for r in rows)
    cvs = tuple(r["service_cv"] if r["service_cv"] is not None else 1.0 for r in rows)
    targets = tuple(r["_model"][2] for r in rows)
    seed = zlib.crc32(f"{day}:{hour}:{'+'.join(codes)}".encode())
    load = sum(r * m for r, m in zip(rates, means))

    def at(c):
        w, share = _pool(c, rates, means, cvs, targets, seed)
        return {"windows": c, "expected_wait_s": w, "share_within_target": share}
    c = max(1, math.floor(load) + 1)
    while c < 500 and at(c)["share_within_target"] < target_share:
        c += 1
    lam_h = sum(rates) * 3600
    row = {"service": "+".join(codes), "services": list(codes), "hour": hour,
           "arrivals_per_h": lam_h,
           "mean_service_s": sum(r * m for r, m in zip(rates, means)) / sum(rates),
           "method": "simulation", "target_wait_s": min(targets), "target_share": target_share,
           "windows_needed": c, "scheduled_windows": scheduled}
    row["options"] = [at(k) for k in _option_range(c, scheduled)]
    mine = next(o for o in row["options"] if o["windows"] == c)
    row["expected_wait_s"], row["share_within_target"] = mine["expected_wait_s"], mine["share_within_target"]
    row["at_risk"] = scheduled is not None and scheduled < c
    return row


def plan(db, cfg, *, now: datetime, day: str) -> dict:
    """The plan of ``day`` (ISO date): rows per service and hour, groups of services that
    share windows, and per hour the hall's needed and scheduled windows."""
    target_day = date.fromisoformat(day)
    first = target_day - timedelta(days=7 * int(cfg.raw["planning"]["weeks"]))
    summary = summary_rows(db, cfg, now=now, start=first.isoformat(),
                           end=(target_day - timedelta(days=1)).isoformat(), grain="cells")
    days, basis = basis_days(db, cfg, now=now, day=day, summary=summary)
    inputs = hour_inputs(db, cfg, now=now, days=days, summary=summary)
    n_days = len(days)
    settings = cfg.raw["planning"]
    target_share = float(settings["target_share"])
    a_from = float(settings["erlang_a_from"])
    rows: list[dict] = []
    for code, svc in cfg.services.items():
        mine = {h: v for (s, h), v in inputs.items() if s == code}
        every = [v["service_s"] for v in mine.values() if len(v["service_s"])]
        fallback = float(np.concatenate(every).mean()) if every else float(svc.target_service_s)
        for hour in sorted(h for h, v in mine.items() if v["arrivals"] > 0):
            row = _service_row(code, svc, hour, mine[hour], n_days, fallback, target_share, a_from)
            sched = scheduled_windows(cfg, target_day, hour)
            serving = None if sched is None else len({n for n in sched
                                                      if code in cfg.windows[n].services})
            row["scheduled_windows"] = serving
            row["options"] = [_perf(row["_model"], c)
                              for c in _option_range(row["windows_needed"], serving)]
            mine_opt = next(o for o in row["options"] if o["windows"] == row["windows_needed"])
            row["expected_wait_s"] = mine_opt["expected_wait_s"]
            row["share_within_target"] = mine_opt["share_within_target"]
            row["at_risk"] = serving is not None and serving < row["windows_needed"]
            rows.append(row)
    group_rows: list[dict] = []
    hours_total: dict = {}
    by_key = {(r["service"], r["hour"]): r for r in rows}
    for codes in groups(cfg):
        own = group_windows(cfg, codes)
        for hour in sorted({r["hour"] for r in rows if r["service"] in codes}):
            members = [by_key[(c, hour)] for c in codes if (c, hour) in by_key]
            sched = scheduled_windows(cfg, target_day, hour)
            scheduled = None if sched is None else len(sched & own)
            if len(codes) > 1:
                g = _group_row(codes, members, hour, target_share, day, scheduled)
                group_rows.append(g)
            else:
                g = members[0]
            h = hours_total.setdefault(hour, {"hour": hour, "windows_needed": 0,
                                              "scheduled_windows": None, "at_risk": False,
                                              "parts": []})
            h["windows_needed"] += g["windows_needed"]
            if scheduled is not None:
                h["scheduled_windows"] = (h["scheduled_windows"] or 0) + scheduled
            h["at_risk"] = h["at_risk"] or g["at_risk"]
            h["parts"].append({"service": g["service"], "windows_needed": g["windows_needed"],
                               "scheduled_windows": scheduled, "at_risk": g["at_risk"],
                               "method": g["method"], "options": g["options"],
                               "windows": sorted(own)})
    for r in rows:
        r.pop("_model")
    return {"day": day, "weekday": target_day.isoweekday(),
            "workday": WorkCalendar.from_config(cfg.raw).is_workday(target_day),
            "weeks": int(settings["weeks"]), "basis": basis, "basis_days": days,
            "target_share": target_share, "target_share_key": TARGET_SHARE_KEY,
            "rota": bool(cfg.rota), "rows": rows, "groups": group_rows,
            "hours": [hours_total[h] for h in sorted(hours_total)]}
