"""The one definition of each figure (docs: DESIGN.md "Figures").

Pure Python: no SQL, no Flask, no rounding. Every surface (pad, lobby,
dashboard, exports, monthly report, assessment) gets its numbers from these
functions, so the same period shows the same number everywhere; values are
exact floats and are rounded only where they are displayed.

Times come in integer milliseconds (the summary's unit) and go out in seconds.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Mapping, Optional, Sequence

from ..posts import is_met, value_of

LEVELS = (1, 2, 3, 4, 5)          # the national 好差评 scale, 1 非常不满意 … 5 非常满意
LOW_SCORES = (1, 2)               # 差评: a rating that opens a follow-up case
DEFAULT_MIN_COUNT = 5             # [assessment] min_count
SCORE_WEIGHTS = {"service": 40, "good": 40, "wait": 20}


# --- ratios and rates ----------------------------------------------------------

def ratio(part, whole) -> Optional[float]:
    """part / whole, or None when the whole is 0 (a figure with no data is null)."""
    return part / whole if whole else None


def rating_count(levels: Sequence[int]) -> int:
    """How many ratings: levels[i] is the count of level i + 1."""
    return sum(levels)


def good_rate(levels: Sequence[int]) -> Optional[float]:
    """好评率 = ratings of 3–5 / all ratings."""
    return ratio(sum(levels[2:5]), sum(levels))


def satisfied_rate(levels: Sequence[int]) -> Optional[float]:
    """满意率 = ratings of 4–5 / all ratings."""
    return ratio(sum(levels[3:5]), sum(levels))


def mean_score(levels: Sequence[int]) -> Optional[float]:
    """The mean of the levels given."""
    return ratio(sum(level * n for level, n in zip(LEVELS, levels)), sum(levels))


def participation(ratings: int, served: int) -> Optional[float]:
    """参评率 = rated tickets / served tickets."""
    return ratio(ratings, served)


def no_show_rate(no_show: int, served: int) -> Optional[float]:
    """过号率 = no_show / (served + no_show)."""
    return ratio(no_show, served + no_show)


def per_hour(count: int, open_ms: int) -> Optional[float]:
    """每小时办结数 = count / hours open (from window.changed); None when never open."""
    return ratio(count * 3_600_000, open_ms)


def levels_dict(levels: Sequence[int]) -> dict:
    """{"1": n, …, "5": n}: the JSON shape of the level counts."""
    return {str(level): int(levels[level - 1]) for level in LEVELS}


def levels_from(counts: Mapping) -> list[int]:
    """[n1, …, n5] from a mapping score -> count (keys int or str)."""
    return [int(counts.get(level, counts.get(str(level), 0)) or 0) for level in LEVELS]


def satisfaction(levels: Sequence[int]) -> dict:
    """The rating figures of some level counts: ratings, satisfied and good rates, mean score."""
    return {"ratings": rating_count(levels), "satisfied_rate": satisfied_rate(levels),
            "good_rate": good_rate(levels), "mean_score": mean_score(levels)}


# --- percentiles and spreads ---------------------------------------------------

def nearest_rank(values, p: int):
    """The p-th percentile by the nearest-rank method: the ceil(p/100 * n)-th smallest value.

    values: a sequence or a NumPy array (not changed); None when there are none."""
    n = len(values)
    if n == 0:
        return None
    k = max(1, (p * n + 99) // 100)
    if hasattr(values, "partition"):     # a NumPy array: O(n), on a copy
        part = values.copy()
        part.partition(k - 1)
        return part[k - 1].item()
    return sorted(values)[k - 1]


def spread(values, per: float = 1) -> dict:
    """mean, p50, p90 and max of some durations, divided by ``per`` (1000: ms -> s).

    All four are null without data (DESIGN: never an average alone)."""
    n = len(values)
    if n == 0:
        return {"mean": None, "p50": None, "p90": None, "max": None}
    if hasattr(values, "dtype"):
        total = values.sum(dtype="int64").item() if values.dtype.kind in "iu" else values.sum().item()
        top = values.max().item()
    else:
        total, top = sum(values), max(values)
    return {"mean": total / n / per, "p50": nearest_rank(values, 50) / per,
            "p90": nearest_rank(values, 90) / per, "max": top / per}


def spread_ms(values_ms) -> dict:
    """spread() of integer milliseconds, in seconds."""
    return spread(values_ms, 1000)


# --- targets -------------------------------------------------------------------

def weighted_targets(legs_by_service: Mapping[str, int], services: Mapping) -> Optional[dict]:
    """The targets a row is judged by: those of the services it served, weighted by legs."""
    legs = {code: n for code, n in legs_by_service.items() if code in services and n}
    if not legs:
        return None
    total = sum(legs.values())

    def mean(attr: str) -> float:
        return sum(getattr(services[code], attr) * n for code, n in legs.items()) / total
    return {"wait_s": mean("target_wait_s"), "service_s": mean("target_service_s"),
            "good_rate": mean("target_good_rate")}


def service_targets(service) -> dict:
    """One service's own targets."""
    return {"wait_s": service.target_wait_s, "service_s": service.target_service_s,
            "good_rate": service.target_good_rate}


def promise_kept(waits_ms, target_wait_s: float, late_waiting: int) -> dict:
    """A service's promise today (服务承诺): called within the target wait, over every
    citizen counted (those called, and those still waiting past the target)."""
    limit = target_wait_s * 1000
    kept = sum(1 for w in waits_ms if w <= limit)
    called = len(waits_ms)
    p50 = nearest_rank(waits_ms, 50)
    return {"target_wait_s": target_wait_s, "called": called, "late_waiting": late_waiting,
            "kept": kept, "kept_rate": ratio(kept, called + late_waiting),
            "wait_p50_s": None if p50 is None else p50 / 1000}


# --- follow-up of bad ratings ------------------------------------------------------

def case_rates(cases: Iterable[Mapping], now: datetime) -> tuple[Optional[float], Optional[float]]:
    """(callback rate, follow-up rate) of some cases at ``now``.

    差评回访率 = called back by the callback deadline / cases whose callback fell due
    (due, or done early); 差评整改率 = rectified by the rectify deadline and replied by
    the reply deadline / cases that fell due (at the reply deadline, or earlier when both
    are done). Each case: callback_due, callback_done, rectify_due, rectified, replied,
    reply_due (aware datetimes or None)."""
    cb_due = cb_ok = fu_due = fu_ok = 0
    for c in cases:
        if c["callback_due"] is not None and (c["callback_due"] <= now or c["callback_done"]):
            cb_due += 1
            cb_ok += bool(c["callback_done"] and c["callback_done"] <= c["callback_due"])
        if c["reply_due"] is not None and (c["reply_due"] <= now or
                                           (c["rectified"] and c["replied"])):
            fu_due += 1
            fu_ok += bool(c["rectified"] and c["replied"] and c["rectify_due"] is not None
                          and c["rectified"] <= c["rectify_due"] and c["replied"] <= c["reply_due"])
    return ratio(cb_ok, cb_due), ratio(fu_ok, fu_due)


# --- assessment: score, flags, rank (日常考评与定期考评) ---------------------------

def min_count(cfg) -> int:
    """[assessment] min_count: fewer served tickets or ratings than this and a score is null."""
    section = getattr(cfg, "raw", {}).get("assessment", {}) or {}
    return int(section.get("min_count", DEFAULT_MIN_COUNT))


def score(row: Mapping, min_count: int = DEFAULT_MIN_COUNT) -> Optional[float]:
    """0–100 against the row's own targets: service time 40, good ratings 40, waits 20.

    Null with too little data (fewer than min_count served tickets or ratings), never
    a perfect score; otherwise the parts that have data, reweighted."""
    if row["served"] < min_count or row["ratings"] < min_count:
        return None
    parts = []
    if row.get("service_index") is not None:
        parts.append((SCORE_WEIGHTS["service"], min(1.0, 1 / max(row["service_index"], 1e-9))))
    targets = row.get("targets")
    if row.get("good_rate") is not None and targets and targets.get("good_rate"):
        parts.append((SCORE_WEIGHTS["good"], min(1.0, row["good_rate"] / targets["good_rate"])))
    if row.get("wait_over_target_rate") is not None:
        parts.append((SCORE_WEIGHTS["wait"], 1 - row["wait_over_target_rate"]))
    if not parts:
        return None
    return 100 * sum(w * v for w, v in parts) / sum(w for w, _ in parts)


def flags(row: Mapping, min_count: int = DEFAULT_MIN_COUNT) -> list[str]:
    """Where a row falls short of the targets of the services it served."""
    out = []
    if (row.get("service_index") is not None and row["served"] >= min_count
            and row["service_index"] > 1):
        out.append("slow_service")
    targets = row.get("targets")
    if (row.get("good_rate") is not None and targets and row["ratings"] >= min_count
            and row["good_rate"] < targets["good_rate"]):
        out.append("low_good_rate")
    if row.get("no_show_rate") is not None and row["no_show"] >= 3 and row["no_show_rate"] > 0.15:
        out.append("many_no_shows")
    return out


def judge(rows: Iterable[dict], min_count: int = DEFAULT_MIN_COUNT) -> list[dict]:
    """Add score, flags and rank (1 = best; ties share a rank) to rows of windows or staff.

    Only rows with a score are ranked; the rest come last with rank null."""
    rows = list(rows)
    for row in rows:
        row["score"] = score(row, min_count)
        row["flags"] = flags(row, min_count)
    scores = [r["score"] for r in rows if r["score"] is not None]
    for row in rows:
        row["rank"] = (None if row["score"] is None
                       else 1 + sum(1 for x in scores if x > row["score"]))
    return sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0,
                                       -(r["score"] if r["score"] is not None else -1)))


# --- assessment by post (岗位考评; docs/figures.md "Assessment by post") -----------

def indicator_results(row: Mapping, post) -> list[dict]:
    """Each indicator of the post with the row's value and whether it is met (at or
    better than the target; null when the value is null)."""
    out = []
    for ind in post.indicators:
        value = value_of(row, ind.figure)
        out.append({**ind.as_dict(), "value": value, "met": is_met(value, ind.target, ind.better)})
    return out


def post_score(row: Mapping, results: Sequence[Mapping],
               min_count: int = DEFAULT_MIN_COUNT) -> Optional[float]:
    """0–100: the weighted share of the indicators met, over those with a value.

    Null with fewer than min_count served tickets or ratings, or no indicator judged."""
    if row["served"] < min_count or row["ratings"] < min_count:
        return None
    judged = [r for r in results if r["met"] is not None]
    whole = sum(r["weight"] for r in judged)
    if not whole:
        return None
    return 100 * sum(r["weight"] for r in judged if r["met"]) / whole


def combined_score(daily: Optional[float], periodic: Optional[float],
                   daily_weight: float, periodic_weight: float) -> Optional[float]:
    """The period's score: (wd·daily + wp·periodic) / (wd + wp); the periodic result
    alone when no day had enough data; null when the period itself had too little."""
    if periodic is None:
        return None
    if daily is None or not daily_weight:
        return periodic
    return (daily_weight * daily + periodic_weight * periodic) / (daily_weight + periodic_weight)


def rank_within(rows: list[dict], key: str = "post") -> None:
    """rank: 1 + the rows of the same post with a strictly higher score; null unscored."""
    for row in rows:
        row["rank"] = None if row["score"] is None else 1 + sum(
            1 for r in rows if r[key] == row[key] and r["score"] is not None
            and r["score"] > row["score"])


# --- citizens' feedback per row (figures.md "Citizens' feedback") ------------------

FEEDBACK_EMPTY = {"received": 0, "answered": 0, "fell_due": 0, "answered_on_time": 0,
                  "overdue_open": 0, "on_time_rate": None}


def attach_feedback(rows: list[dict], dim: str, by_key: Mapping) -> None:
    """Give each window, clerk or service row its ``feedback`` block: the opinions whose
    ticket it served (received, answered, fell_due, answered_on_time, overdue_open,
    on_time_rate), zeros and a null rate when none."""
    for row in rows:
        row["feedback"] = dict(by_key.get(row.get(dim), FEEDBACK_EMPTY))
