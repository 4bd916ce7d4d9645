"""Yearly public commitments (公开承诺): each clerk's commitment with its history, the
progress of its targets this year (the lobby's 阳光政务 panel and the idle pad), and the
year-end report of which were kept (docs/figures.md "Public commitments").
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Optional

from ..engine import N_
from ..i18n import translate
from ..posts import is_met, value_of
from . import tables
from .summary import hall_today

# How a figure reads in a commitment: (message id, unit). Units: s (shown in minutes),
# rate (%), count, score, per_h, index.
LABELS = {
    "wait_s.mean": (N_("average wait"), "s"), "wait_s.p50": (N_("median wait"), "s"),
    "wait_s.p90": (N_("wait of nine in ten"), "s"), "wait_s.max": (N_("longest wait"), "s"),
    "service_s.mean": (N_("average service time"), "s"),
    "service_s.p50": (N_("median service time"), "s"),
    "service_s.p90": (N_("service time of nine in ten"), "s"),
    "service_s.max": (N_("longest service time"), "s"),
    "no_show_rate": (N_("no-show rate"), "rate"),
    "wait_over_target_rate": (N_("share of waits over target"), "rate"),
    "service_over_target_rate": (N_("share of service times over target"), "rate"),
    "wait_index": (N_("wait against target"), "index"),
    "service_index": (N_("service time against target"), "index"),
    "issued": (N_("citizens received"), "count"), "called": (N_("citizens helped"), "count"),
    "served": (N_("tickets served"), "count"), "ratings": (N_("ratings"), "count"),
    "participation": (N_("share of citizens rating"), "rate"),
    "mean_score": (N_("mean rating"), "score"), "good_rate": (N_("good-rating rate"), "rate"),
    "satisfied_rate": (N_("satisfied rate"), "rate"),
    "callback_rate": (N_("bad ratings called back in time"), "rate"),
    "followup_rate": (N_("bad ratings rectified in time"), "rate"),
    "served_per_hour": (N_("tickets served per hour"), "per_h"),
}


def _conn(db):
    return db.conn if hasattr(db, "conn") else db


def _rows(db, sql: str, args: list) -> list[dict]:
    cur = _conn(db).execute(sql, args)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _item(t: dict) -> dict:
    msgid, unit = LABELS.get(t["figure"], (t["figure"], "count"))
    return {**t, "label": translate(msgid, "zh_CN"), "label_en": translate(msgid, "en"), "unit": unit}


def commitments(db, cfg, *, now: datetime, year: int, staff: Optional[str] = None,
                history: bool = False) -> list[dict]:
    """The commitments of a year (current ones; with ``history`` the replaced too, newest first)."""
    sql = "SELECT * FROM yearly_commitments WHERE year = ?"
    args: list = [year]
    if staff:
        sql += " AND staff = ?"
        args.append(staff)
    if not history:
        sql += " AND replaced_at IS NULL"
    out = []
    for r in _rows(db, sql + " ORDER BY staff, id DESC", args):
        st = cfg.staff.get(r["staff"])
        out.append({**r, "name": st.name if st else r["staff"],
                    "targets": [_item(t) for t in json.loads(r["targets"])]})
    return out


def _span(cfg, now: datetime, year: int) -> tuple[str, str]:
    first, last = date(year, 1, 1).isoformat(), date(year, 12, 31).isoformat()
    return first, min(last, hall_today(cfg, now))


def progress(db, cfg, *, now: datetime, year: int, staff: Optional[str] = None) -> dict:
    """Each current commitment of the year with its targets' values so far (1 January to
    today, or the whole year once past) and whether each is kept so far."""
    items = commitments(db, cfg, now=now, year=year, staff=staff)
    start, end = _span(cfg, now, year)
    rows = {}
    if items and start <= end:
        rows = {r["staff"]: r for r in tables.figures(db, cfg, now=now, dim="staff",
                                                      start=start, end=end, staff=staff)}
    out = []
    for c in items:
        row = rows.get(c["staff"], {})
        targets = []
        for t in c["targets"]:
            value = value_of(row, t["figure"]) if row else None
            targets.append({**t, "value": value, "kept": is_met(value, t["target"], t["better"])})
        kept = [t["kept"] for t in targets]
        out.append({"staff": c["staff"], "name": c["name"], "text": c["text"],
                    "text_en": c["text_en"], "made_at": c["made_at"], "targets": targets,
                    "kept": None if None in kept else all(kept)})
    return {"year": year, "from": start, "to": end, "commitments": out}


def year_report(db, cfg, *, now: datetime, year: int) -> dict:
    """The year-end report: every commitment of the year, kept or not (each target and all
    of them), with the replaced ones listed as history."""
    body = progress(db, cfg, now=now, year=year)
    complete = body["to"] == date(year, 12, 31).isoformat()
    history = [c for c in commitments(db, cfg, now=now, year=year, history=True) if c["replaced_at"]]
    kept = sum(1 for c in body["commitments"] if c["kept"])
    return {**body, "complete": complete, "kept_count": kept,
            "not_kept_count": sum(1 for c in body["commitments"] if c["kept"] is False),
            "history": [{"staff": c["staff"], "text": c["text"], "made_at": c["made_at"],
                         "replaced_at": c["replaced_at"]} for c in history]}


# the year-end report as one line per target (CSV / XLSX): (key, message id of the label)
REPORT_COLUMNS = [("staff", N_("Employee number")), ("name", N_("Full name")),
                  ("text", N_("Commitment")), ("made_at", N_("Made at")),
                  ("figure", N_("Indicator")), ("label", N_("Indicator name")),
                  ("better", N_("Better")), ("target", N_("Target")), ("value", N_("Value this year")),
                  ("target_kept", N_("Target kept")), ("kept", N_("Commitment kept"))]


def report_flat(report: dict, locale: str = "zh_CN") -> tuple[list[str], list[str], list[list]]:
    """(keys, labels, lines) of the year-end report: one line per target of each current
    commitment (kept: 1 / 0, empty with no data); values in the figure's own unit
    (seconds, a share 0–1, a count, per hour)."""
    keys = [k for k, _ in REPORT_COLUMNS]
    labels = [translate(m, locale) for _, m in REPORT_COLUMNS]
    flag = lambda v: None if v is None else int(v)   # noqa: E731
    lines = []
    for c in report["commitments"]:
        text = c["text_en"] or c["text"] if locale == "en" else c["text"]
        for t in c["targets"]:
            lines.append([c["staff"], c["name"], text, c["made_at"], t["figure"],
                          t["label_en"] if locale == "en" else t["label"], t["better"],
                          t["target"], t["value"], flag(t["kept"]), flag(c["kept"])])
    return keys, labels, lines
