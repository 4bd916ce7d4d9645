"""The on-site evaluation content (现场评价内容) after the national 好差评 rules, versioned.

整体满意度 (the overall ``score``, 1–5) and under it three sub-dimensions (the optional
``dimensions`` of a rating): 服务效率 ``efficiency``, 服务水平 ``level``, 服务态度
``attitude``, each on the same five levels, with the reasons listed per level.

A rule change is a NEW entry in ``VERSIONS`` (never an edit of an old one): each rating
stores the ``content_version`` it was given under, the database keeps every version's
body (``evaluation_contents``, append-only), so an old rating keeps its meaning. The
hall's own reason tags (``[ratings] reasons``) map onto the national reasons through the
hall's ``[ratings] reason_map`` (its default is ``hall_reasons`` below; a tag offered on the
pad without a mapping is a configuration error). docs/ratings.md describes it.
"""
from __future__ import annotations

import json
from typing import Optional

from .engine import N_

LEVEL_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
DIMENSIONS = ("efficiency", "level", "attitude")

VERSIONS: list[dict] = [
    {
        "version": "onsite-2019.1",
        "valid_from": "2019-12-01",
        "basis": "国务院办公厅关于建立政务服务“好差评”制度提高政务服务水平的意见（国办发〔2019〕51号）",
        "channel": "onsite_device",
        "overall": {"code": "overall", "name": "整体满意度", "name_en": "Overall satisfaction"},
        "dimensions": [
            {"code": "efficiency", "name": "服务效率", "name_en": "Efficiency"},
            {"code": "level", "name": "服务水平", "name_en": "Competence"},
            {"code": "attitude", "name": "服务态度", "name_en": "Attitude"},
        ],
        "levels": [
            {"level": 5, "name": "非常满意", "reasons": [
                ["efficiency", "办事效率高，一次办好"], ["level", "业务熟练，解答清楚"],
                ["attitude", "态度热情，服务周到"]]},
            {"level": 4, "name": "满意", "reasons": [
                ["efficiency", "办理较快"], ["level", "解答较清楚"], ["attitude", "态度较好"]]},
            {"level": 3, "name": "基本满意", "reasons": [
                ["efficiency", "办理时间一般"], ["level", "解答基本清楚"], ["attitude", "态度一般"]]},
            {"level": 2, "name": "不满意", "reasons": [
                ["efficiency", "等候或办理时间长"], ["level", "业务不熟，解答不清"],
                ["attitude", "态度冷淡"], ["process", "材料要求多，跑动次数多"], ["other", "其他"]]},
            {"level": 1, "name": "非常不满意", "reasons": [
                ["efficiency", "超时未办结"], ["level", "一次性告知不到位，多次补正"],
                ["attitude", "态度恶劣，推诿刁难"], ["process", "要求额外材料或证明"], ["other", "其他"]]},
        ],
        # the hall's reason tags → the national reason (per level above) they belong to
        "hall_reasons": {"attitude": "attitude", "efficiency": "efficiency", "knowledge": "level",
                         "long_wait": "efficiency", "other": "other"},
    },
]
CURRENT = VERSIONS[-1]["version"]
DIMENSION_LABELS = {"efficiency": N_("Efficiency"), "level": N_("Competence"),
                    "attitude": N_("Attitude")}


def version(code: str) -> Optional[dict]:
    return next((v for v in VERSIONS if v["version"] == code), None)


NATIONAL_REASONS = ("efficiency", "level", "attitude", "process", "other")
# the national reasons' names (zh-CN, English): the city dashboard and the feed's docs
NATIONAL_NAMES = {"efficiency": ("服务效率", "Efficiency"), "level": ("服务水平", "Competence"),
                  "attitude": ("服务态度", "Attitude"), "process": ("办事流程", "Process"),
                  "other": ("其他", "Other")}


def national_reason(hall_code: str, code: str = CURRENT, reason_map: Optional[dict] = None) -> str:
    """The national reason a hall reason tag maps onto: the hall's ``[ratings] reason_map``
    when given (configuration checks every offered tag has one), else the version's
    defaults; ``other`` for a tag neither knows (one the hall has since removed)."""
    if reason_map is not None and hall_code in reason_map:
        return reason_map[hall_code]
    v = version(code) or VERSIONS[-1]
    return v["hall_reasons"].get(hall_code, "other")


def national_reasons(hall_codes, reason_map: Optional[dict] = None, code: str = CURRENT) -> list[str]:
    """A rating's reason tags as the national reasons of the 好差评 feed, each once, in order."""
    out: list[str] = []
    for hall_code in hall_codes or ():
        mapped = national_reason(str(hall_code), code, reason_map)
        if mapped not in out:
            out.append(mapped)
    return out


def bodies() -> list[tuple[str, str, str]]:
    """(version, valid_from, body as JSON) of every version, for evaluation_contents."""
    return [(v["version"], v["valid_from"], json.dumps(v, ensure_ascii=False, sort_keys=True))
            for v in VERSIONS]
