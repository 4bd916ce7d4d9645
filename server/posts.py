"""Posts (岗位) and their standards: which row figures an indicator may name.

Plain Python (a leaf): the configuration checks ``[[posts]]`` against ``FIGURES``; the
read side judges a clerk's row by the indicators of the clerk's post
(docs/figures.md "Assessment by post").
"""
from __future__ import annotations

from dataclasses import dataclass, field

# The JSON path of a row figure of /api/stats/staff -> the better direction when the
# hall does not say. Each is defined in docs/figures.md with its data source.
FIGURES: dict[str, str] = {
    "issued": "higher", "called": "higher", "served": "higher",
    "no_show_rate": "lower",
    **{f"{t}.{p}": "lower" for t in ("wait_s", "service_s") for p in ("mean", "p50", "p90", "max")},
    "wait_over_target_rate": "lower", "service_over_target_rate": "lower",
    "wait_index": "lower", "service_index": "lower",
    "ratings": "higher", "participation": "higher", "mean_score": "higher",
    "good_rate": "higher", "satisfied_rate": "higher",
    "callback_rate": "higher", "followup_rate": "higher",
    "served_per_hour": "higher",
}
# Figures a hall may ask for that have no data source in qrate yet (docs/figures.md):
# naming one is a configuration error that says why.
NO_SOURCE = {"helper_calls_answered": "no help-call records are kept yet",
             "one_time_notice_rate": "一次性告知 is not recorded at the window yet"}
BETTER = ("lower", "higher")
GENERAL = "general"


@dataclass(frozen=True)
class Indicator:
    figure: str
    target: float
    weight: float
    better: str

    def as_dict(self) -> dict:
        return {"figure": self.figure, "target": self.target, "weight": self.weight,
                "better": self.better}


@dataclass(frozen=True)
class Post:
    code: str
    name: str
    name_en: str
    indicators: tuple[Indicator, ...] = field(default_factory=tuple)


# The post of a clerk the hall has given none (and no [assessment] default_post): the
# same three things the scorecard always judged, as met / not met.
GENERAL_POST = Post(GENERAL, "通用岗位", "General post", (
    Indicator("service_index", 1.0, 40, "lower"),
    Indicator("good_rate", 0.95, 40, "higher"),
    Indicator("wait_over_target_rate", 0.1, 20, "lower")))


def value_of(row: dict, path: str):
    """The figure at a JSON path like ``wait_s.mean`` of a row, or None."""
    value = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def is_met(value, target: float, better: str):
    """At or better than the target; None when the value is null."""
    if value is None:
        return None
    return value <= target if better == "lower" else value >= target
