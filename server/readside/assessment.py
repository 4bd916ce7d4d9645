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
from .summary import Summary, summary_rows

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
    summary = summary_rows(db, cfg, now=now, start=start, end=end)
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
    return {"period": period, "from": start, "to": end,
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
