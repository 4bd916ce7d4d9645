"""Assessment by post (岗位考评): each clerk judged by the indicators of their post, the
daily scores (日常考评) and the period's result (定期考评) combined by the hall's weights,
ranked within each post; the scorecard and rankings on the same scores; the
distribution of scores and the flat table for CSV / XLSX (docs/figures.md).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Optional

from ..config import post_of
from ..engine import N_
from ..i18n import translate
from . import figures as F
from . import tables
from .pledges import LABELS
from .summary import Summary, hall_today, summary_rows

BUCKETS = ((0, 60), (60, 70), (70, 80), (80, 90), (90, 100))


def weights(cfg) -> tuple[float, float]:
    """([assessment] daily_weight, periodic_weight)."""
    section = cfg.raw.get("assessment") or {}
    return float(section.get("daily_weight", 0.3)), float(section.get("periodic_weight", 0.7))


def judge_row(cfg, row: dict, n: int) -> dict:
    """One staff row of figures judged by its clerk's post: post, indicators, score."""
    post = post_of(cfg, row["staff"])
    results = F.indicator_results(row, post)
    for r in results:      # how the figure reads on a page (zh, en) and its unit
        msgid, unit = LABELS.get(r["figure"], (r["figure"], "count"))
        r.update(label=translate(msgid, "zh_CN"), label_en=translate(msgid, "en"), unit=unit)
    return {"post": post.code, "post_name": post.name, "post_name_en": post.name_en,
            "indicators": results, "score": F.post_score(row, results, n)}


def _by_day(summary: Summary) -> dict[str, Summary]:
    days: dict = defaultdict(lambda: Summary([], [], []))
    for part, rows in zip(("cells", "reasons", "opened"), summary):
        for r in rows:
            getattr(days[r[0]], part).append(r)
    return dict(days)


def daily_scores(db, cfg, *, now: datetime, start: str, end: str,
                 summary: Optional[Summary] = None) -> dict[str, dict[str, float]]:
    """{staff: {day: score}} for the days start..end on which a clerk had a score."""
    summary = summary or summary_rows(db, cfg, now=now, start=start, end=end)
    n = F.min_count(cfg)
    out: dict = defaultdict(dict)
    for day, part in sorted(_by_day(summary).items()):
        if not start <= day <= end:
            continue
        for row in tables.figures(db, cfg, now=now, dim="staff", start=day, end=day,
                                  summary=part):
            score = judge_row(cfg, row, n)["score"]
            if score is not None:
                out[row["staff"]][day] = score
    return dict(out)


def assessment(db, cfg, *, now: datetime, period: str, post: Optional[str] = None) -> dict:
    """GET /api/stats/assessment: a row per clerk of the period (ValueError for a bad
    period), ranked within each post, and the distribution of scores per post."""
    start, end = tables.period_range(period)
    return {"period": period, **assess_range(db, cfg, now=now, start=start, end=end, post=post)}


def assess_range(db, cfg, *, now: datetime, start: str, end: str, post: Optional[str] = None,
                 summary: Optional[Summary] = None) -> dict:
    """The assessment of the days start..end (a period, or the range of the pairs)."""
    summary = summary or summary_rows(db, cfg, now=now, start=start, end=end)
    n = F.min_count(cfg)
    wd, wp = weights(cfg)
    figures = {r["staff"]: r for r in tables.figures(db, cfg, now=now, dim="staff",
                                                     start=start, end=end, summary=summary)}
    for no, st in cfg.staff.items():   # every clerk of the hall has a row, with data or not
        if no not in figures and st.role == "clerk":
            figures[no] = {"staff": no, "name": st.name, "served": 0, "ratings": 0}
    days = daily_scores(db, cfg, now=now, start=start, end=end, summary=summary)
    rows = []
    for no, fig in figures.items():
        judged = judge_row(cfg, fig, n)
        mine = days.get(no, {})
        daily = sum(mine.values()) / len(mine) if mine else None
        rows.append({"staff": no, "name": fig.get("name") or no, **judged,
                     "served": fig["served"], "ratings": fig["ratings"],
                     "periodic_score": judged["score"], "daily_score": daily,
                     "days_scored": len(mine),
                     "score": F.combined_score(daily, judged["score"], wd, wp)})
    if post:
        rows = [r for r in rows if r["post"] == post]
    F.rank_within(rows)
    order = list(cfg.posts)
    rows.sort(key=lambda r: (order.index(r["post"]) if r["post"] in order else len(order),
                             r["post"], r["rank"] is None, r["rank"] or 0, r["staff"]))
    return {"from": start, "to": end,
            "weights": {"daily": wd, "periodic": wp, "min_count": n},
            "rows": rows, "distribution": distribution(rows)}


def distribution(rows: list[dict]) -> list[dict]:
    """Per post: how many scores fall in 0–59, 60–69, 70–79, 80–89, 90–100, and unscored."""
    out: dict = {}
    for r in rows:
        d = out.setdefault(r["post"], {"post": r["post"], "post_name": r["post_name"],
                                       "buckets": [{"from": a, "to": b, "count": 0}
                                                   for a, b in BUCKETS],
                                       "unscored": 0, "scored": 0})
        if r["score"] is None:
            d["unscored"] += 1
            continue
        d["scored"] += 1
        i = min(len(BUCKETS) - 1, next(k for k, (a, b) in enumerate(BUCKETS) if r["score"] < b
                                       or k == len(BUCKETS) - 1))
        d["buckets"][i]["count"] += 1
    return list(out.values())


def _onto_posts(cfg, staff_rows: list[dict], scores: dict) -> list[dict]:
    """Replace each staff row's score by its post's, and rank within each post."""
    n = F.min_count(cfg)
    for row in staff_rows:
        judged = judge_row(cfg, row, n)
        row.update(post=judged["post"], post_name=judged["post_name"],
                   indicators=judged["indicators"],
                   score=scores[row["staff"]] if row["staff"] in scores else judged["score"])
    F.rank_within(staff_rows)
    return sorted(staff_rows, key=lambda r: (r["post"], r["rank"] is None, r["rank"] or 0))


def scorecard(db, cfg, *, now: datetime, day: str) -> dict:
    """The daily scorecard (日常考评): windows against their services' targets, clerks
    by their posts (the day's score)."""
    card = tables.scorecard(db, cfg, now=now, day=day)
    card["staff"] = _onto_posts(cfg, card["staff"], {})
    return card


def rankings(db, cfg, *, now: datetime, period: str) -> dict:
    """Periodic rankings (定期考评): windows as before; clerks by the combined score of
    their post, ranked within each post (the same score as /api/stats/assessment)."""
    out = tables.rankings(db, cfg, now=now, period=period)
    scores = {r["staff"]: r["score"] for r in assessment(db, cfg, now=now, period=period)["rows"]}
    out["staff"] = _onto_posts(cfg, out["staff"], scores)
    return out


# --- pairs (结对帮扶), trends and the monthly report on the post scores ---------------

def _brief(row: dict) -> dict:
    service_s = row.get("service_s")
    return {"staff": row["staff"], "name": row.get("name"), "score": row["score"],
            "rank": row.get("rank"), "served": row["served"],
            "service_s": service_s["mean"] if isinstance(service_s, dict) else None,
            "good_rate": row.get("good_rate"), "service_index": row.get("service_index")}


def pairs(db, cfg, *, now: datetime, start: str, end: str,
          summary: Optional[Summary] = None, rows: Optional[list[dict]] = None) -> list[dict]:
    """Within each post: each scored clerk who misses one of the post's indicators (the
    mentee) paired with the best-ranked clerk of the same post who misses none and served
    at least a fifth of the mentee's volume (the mentor; null when nobody qualifies).
    The scores are those of the assessment over start..end (docs/figures.md)."""
    summary = summary or summary_rows(db, cfg, now=now, start=start, end=end)
    if rows is None:
        rows = assess_range(db, cfg, now=now, start=start, end=end, summary=summary)["rows"]
    figures = {r["staff"]: r for r in tables.figures(db, cfg, now=now, dim="staff", start=start,
                                                     end=end, summary=summary)}
    n = F.min_count(cfg)
    scored = [r for r in rows if r["score"] is not None]
    out = []
    for r in scored:
        weak = [i for i in r["indicators"] if i["met"] is False]
        if not weak:
            continue
        good = sorted((g for g in scored if g["post"] == r["post"] and g["staff"] != r["staff"]
                       and not any(i["met"] is False for i in g["indicators"])
                       and 5 * g["served"] >= r["served"]),
                      key=lambda g: (g["rank"], g["staff"]))
        full = lambda x: {**figures.get(x["staff"], {}), **x}   # noqa: E731
        out.append({"post": r["post"], "post_name": r["post_name"],
                    "post_name_en": r.get("post_name_en"), "service": None, "service_name": None,
                    "mentor": _brief(full(good[0])) if good else None, "mentee": _brief(full(r)),
                    "weak": weak, "flags": F.flags(full(r), n)})
    return out


def trend(db, cfg, *, now: datetime, staff: list[str], start: str, end: str,
          service: Optional[str] = None, summary: Optional[Summary] = None) -> dict:
    """Day-by-day figures of some clerks with each day's post score (a pair's progress)."""
    summary = summary or summary_rows(db, cfg, now=now, start=start, end=end, clerks=list(staff))
    n = F.min_count(cfg)
    out = {}
    for who in staff:
        post = post_of(cfg, who)
        rows = tables.figures(db, cfg, now=now, dim="day", start=start, end=end, staff=who,
                              service=service, summary=summary)
        out[who] = [{"day": r["day"], "served": r["served"], "service_s": r["service_s"]["mean"],
                     "wait_s": r["wait_s"]["mean"], "good_rate": r["good_rate"],
                     "score": F.post_score(r, F.indicator_results(r, post), n)}
                    for r in rows if r["called"] or r["served"]]
    return out


def pairs_with_trends(db, cfg, *, now: datetime, start: str, end: str) -> list[dict]:
    """pairs() over start..end, each with both clerks' daily trend from start to today."""
    out = pairs(db, cfg, now=now, start=start, end=end)
    if out:
        last = max(end, hall_today(cfg, now))
        clerks = sorted({p[k]["staff"] for p in out for k in ("mentor", "mentee") if p[k]})
        summary = summary_rows(db, cfg, now=now, start=start, end=last, clerks=clerks)
        for p in out:
            who = [p[k]["staff"] for k in ("mentor", "mentee") if p[k]]
            p["trend"] = trend(db, cfg, now=now, staff=who, start=start, end=last, summary=summary)
    return out


def monthly_report(db, cfg, *, now: datetime, month: str) -> dict:
    """The monthly report (月度报告) with the clerks judged by their posts: each staff row
    keeps its figures and gains post, post_name, indicators, daily and periodic scores;
    score and rank are those of GET /api/stats/assessment for the month (ranked within
    the post); the pairs are the post pairs. ValueError for a bad month."""
    data = tables.monthly_report(db, cfg, now=now, month=month)
    judged = assess_range(db, cfg, now=now, start=data["from"], end=data["to"])
    by_staff = {r["staff"]: r for r in judged["rows"]}
    n = F.min_count(cfg)
    staff = []
    for row in data["staff"]:
        a = by_staff.get(row["staff"])
        if a is None:
            continue
        staff.append({**row, "flags": F.flags(row, n),
                      **{k: a[k] for k in ("post", "post_name", "post_name_en", "indicators",
                                           "score", "daily_score", "periodic_score", "rank")}})
    order = {r["staff"]: i for i, r in enumerate(judged["rows"])}
    staff.sort(key=lambda r: order[r["staff"]])
    data["staff"] = staff
    data["pairs"] = pairs(db, cfg, now=now, start=data["from"], end=data["to"],
                          rows=judged["rows"])
    data["weights"] = judged["weights"]
    data["distribution"] = judged["distribution"]
    return data


COLUMNS = [("staff", N_("Employee number")), ("name", N_("Full name")), ("post", N_("Post")),
           ("post_name", N_("Post name")), ("score", N_("Overall score")),
           ("daily_score", N_("Daily score")), ("periodic_score", N_("Periodic score")),
           ("days_scored", N_("Days scored")), ("rank", N_("Rank within post")),
           ("served", N_("Tickets served")), ("ratings", N_("Ratings"))]


def flat(rows: list[dict], locale: str = "zh_CN") -> tuple[list[str], list[str], list[list]]:
    """(keys, labels, lines) of the assessment: one line per clerk, then each indicator
    as figure, value, target and met."""
    width = max((len(r["indicators"]) for r in rows), default=0)
    keys = [k for k, _ in COLUMNS]
    labels = [translate(m, locale) for _, m in COLUMNS]
    for i in range(1, width + 1):
        for part, msgid in (("figure", N_("Indicator")), ("value", N_("Value")),
                            ("target", N_("Target")), ("met", N_("Met"))):
            keys.append(f"indicator{i}.{part}")
            labels.append(f"{translate(msgid, locale)} {i}")
    lines = []
    for r in rows:
        line = [r.get(k) for k, _ in COLUMNS]
        for ind in r["indicators"]:
            line += [ind["figure"], ind["value"], ind["target"],
                     None if ind["met"] is None else int(ind["met"])]
        line += [None] * (len(keys) - len(line))
        lines.append(line)
    return keys, labels, lines
