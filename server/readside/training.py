"""Training (教育培训): the hall's catalogue, suggestions per clerk from weak indicators and
the reasons of bad ratings, training given, and the figures before and after (same length
of time, same services) per clerk, per item and for a mentee of a pair (结对帮扶)
(docs/figures.md "Training: before and after").
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Optional

from ..engine import N_
from ..i18n import translate
from ..posts import value_of
from . import figures as F
from . import tables
from .assessment import judge_row
from .summary import hall_today, summary_rows

KINDS = {"concentrated": N_("centralised rotation training"), "secondment": N_("off-the-job study"),
         "on_the_job": N_("on-the-job practice"), "self_study": N_("self-study")}
CATEGORIES = {"skills": N_("professional skills"), "etiquette": N_("service etiquette"),
              "policy": N_("policies and regulations")}
# the figures shown side by side before and after
SHOWN = ("served", "wait_s.mean", "service_s.mean", "service_s.p90", "no_show_rate", "ratings",
         "mean_score", "good_rate", "satisfied_rate")


def _conn(db):
    return db.conn if hasattr(db, "conn") else db


def catalogue(cfg) -> list[dict]:
    """The hall's training items ([[training]]) with their kind and category named."""
    out = []
    for t in cfg.raw.get("training") or []:
        out.append({"code": str(t["code"]), "name": t["name"], "name_en": t.get("name_en") or t["name"],
                    "kind": t["kind"], "kind_name": translate(KINDS[t["kind"]], "zh_CN"),
                    "kind_name_en": translate(KINDS[t["kind"]], "en"),
                    "category": t["category"], "category_name": translate(CATEGORIES[t["category"]], "zh_CN"),
                    "category_name_en": translate(CATEGORIES[t["category"]], "en"),
                    "figures": list(t.get("figures", [])), "reasons": list(t.get("reasons", []))})
    return out


def suggestions(db, cfg, *, now: datetime, start: str, end: str) -> list[dict]:
    """Per clerk with enough data (the hall's minimum): the indicators of the post not met and
    the reasons of bad ratings over start..end, and the catalogue items that address them."""
    n = F.min_count(cfg)
    items = catalogue(cfg)
    out = []
    for row in tables.figures(db, cfg, now=now, dim="staff", start=start, end=end):
        if row["served"] < n:
            continue
        judged = judge_row(cfg, row, n)
        weak = [i["figure"] for i in judged["indicators"] if i["met"] is False]
        reasons = row["low_reasons"]
        because = {}
        for item in items:
            why = [f for f in weak if f in item["figures"]] + \
                  [r["reason"] for r in reasons if r["reason"] in item["reasons"]]
            if why:
                because[item["code"]] = why
        if not weak and not reasons:
            continue
        out.append({"staff": row["staff"], "name": row.get("name"), "post": judged["post"],
                    "post_name": judged["post_name"],
                    "weak": [i for i in judged["indicators"] if i["met"] is False],
                    "low_reasons": reasons,
                    "items": [{**{k: item[k] for k in ("code", "name", "name_en", "kind_name",
                                                        "category_name")}, "because": because[item["code"]]}
                              for item in items if item["code"] in because]})
    return out


def _windows(cfg, now: datetime, day: date, days: int) -> Optional[tuple]:
    """(before_start, before_end, after_start, after_end) of equal length: up to ``days``
    before the day, and from the day up to yesterday (at most ``days``); None when no whole
    day has passed since."""
    today = date.fromisoformat(hall_today(cfg, now))
    length = min(days, (today - day).days)
    if length <= 0:
        return None
    return (day - timedelta(days=length), day - timedelta(days=1), day, day + timedelta(days=length - 1))


def _shown(row: Optional[dict]) -> dict:
    return {k: (value_of(row, k) if row else None) for k in SHOWN}


def before_after(db, cfg, *, now: datetime, staff: str, day: str, days: int = 30,
                 service: Optional[str] = None) -> dict:
    """A clerk's figures before and after a day (training given, or a pair formed): the same
    number of days on each side, over the services served on both sides (or one service);
    per service and over those services together, with the post's score on each side."""
    d = date.fromisoformat(day)
    span = _windows(cfg, now, d, days)
    out = {"staff": staff, "day": day, "days": 0, "before": None, "after": None,
           "services": [], "by_service": []}
    if span is None:
        return out
    b0, b1, a0, a1 = (x.isoformat() for x in span)
    out.update(days=(span[1] - span[0]).days + 1, before={"from": b0, "to": b1},
               after={"from": a0, "to": a1})
    sides = {}
    for side, (lo, hi) in (("before", (b0, b1)), ("after", (a0, a1))):
        summary = summary_rows(db, cfg, now=now, start=lo, end=hi, clerks=[staff])
        rows = tables.figures(db, cfg, now=now, dim="service", start=lo, end=hi, staff=staff,
                              service=service, summary=summary)
        sides[side] = ({r["service"]: r for r in rows if r["served"] or r["called"]}, summary, lo, hi)
    common = [s for s in sides["before"][0] if s in sides["after"][0]]
    out["services"] = common
    out["by_service"] = [{"service": s, "before": _shown(sides["before"][0][s]),
                          "after": _shown(sides["after"][0][s])} for s in common]
    n = F.min_count(cfg)
    for side in ("before", "after"):
        _, summary, lo, hi = sides[side]
        if len(common) == 1:
            rows = tables.figures(db, cfg, now=now, dim="staff", start=lo, end=hi, staff=staff,
                                  service=common[0], summary=summary)
        elif common:
            # the services of both sides only: keep the summary's cells of those services
            kept = summary._replace(cells=[c for c in summary.cells if c[4] in common],
                                    reasons=[r for r in summary.reasons if r[4] in common])
            rows = tables.figures(db, cfg, now=now, dim="staff", start=lo, end=hi, staff=staff,
                                  summary=kept)
        else:
            rows = []
        row = rows[0] if rows else None
        judged = judge_row(cfg, row, n) if row else None
        out[side].update(_shown(row), score=judged["score"] if judged else None,
                         indicators=judged["indicators"] if judged else [])
    return out


def records(db, cfg, *, now: datetime, start: str, end: str, staff: Optional[str] = None,
            days: int = 30) -> dict:
    """Training given on days start..end, each with the clerk's figures before and after,
    and per item: how many, and the mean score before and after over those with both."""
    sql = "SELECT * FROM training_records WHERE day BETWEEN ? AND ?"
    args: list = [start, end]
    if staff:
        sql += " AND staff = ?"
        args.append(staff)
    cur = _conn(db).execute(sql + " ORDER BY day, id", args)
    cols = [c[0] for c in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    names = {i["code"]: i for i in catalogue(cfg)}
    out, per_item = [], {}
    for r in rows:
        effect = before_after(db, cfg, now=now, staff=r["staff"], day=r["day"], days=days)
        st = cfg.staff.get(r["staff"])
        item = names.get(r["item"], {})
        out.append({**r, "name": st.name if st else r["staff"], "item_name": item.get("name", r["item"]),
                    "effect": effect})
        agg = per_item.setdefault(r["item"], {"item": r["item"], "name": item.get("name", r["item"]),
                                              "given": 0, "before": [], "after": []})
        agg["given"] += 1
        if effect["before"] and effect["before"]["score"] is not None and effect["after"]["score"] is not None:
            agg["before"].append(effect["before"]["score"])
            agg["after"].append(effect["after"]["score"])
    items = [{"item": a["item"], "name": a["name"], "given": a["given"], "compared": len(a["before"]),
              "score_before": sum(a["before"]) / len(a["before"]) if a["before"] else None,
              "score_after": sum(a["after"]) / len(a["after"]) if a["after"] else None}
             for a in per_item.values()]
    return {"from": start, "to": end, "records": out, "items": items}
