"""The managers' pages of the hall's assessment rules (issue 15, docs/assessment.md):

- /manage/commitments: each clerk's yearly public commitment (公开承诺): set and revise it,
  its progress this year, and every earlier version (阳光政务: what was promised when);
- /manage/training: the training catalogue (教育培训), what each clerk is suggested from
  unmet indicators and the reasons of bad ratings, training given recorded, and the
  figures before and after;
- /manage/commitments/report: the year-end commitment report, printable for the hall's
  public notice board (and as CSV / XLSX from GET /api/commitments/report).

The pages read and write through /api/commitments and /api/training/... (the browser
carries the manager's session cookie); the report page renders the read side's rows.
"""
from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, redirect, request, url_for

from .config import post_of
from .engine import N_
from .i18n import translate
from .pages import render_page
from .readside import pledges, training
from .web import ApiError, ops, principal, reader
from .web_i18n import request_locale

bp = Blueprint("manage_assess", __name__, url_prefix="/manage", template_folder="templates")


def _manager_or_none():
    p = principal()
    return p if p is not None and p.role in ("manager", "admin") else None


def clerks(cfg) -> list[dict]:
    """Every clerk with the post and the post's indicators (what a commitment may target)."""
    out = []
    for no, st in cfg.staff.items():
        if st.role != "clerk":
            continue
        post = post_of(cfg, no)
        indicators = []
        for ind in post.indicators:
            msgid, unit = pledges.LABELS.get(ind.figure, (ind.figure, "count"))
            indicators.append({**ind.as_dict(), "label": translate(msgid, "zh_CN"),
                               "label_en": translate(msgid, "en"), "unit": unit})
        out.append({"staff": no, "name": st.name, "post": post.code, "post_name": post.name,
                    "post_name_en": post.name_en, "indicators": indicators})
    return out


def _strings(locale: str) -> dict:
    reasons = ops().cfg.raw.get("ratings", {}).get("reasons", [])
    return {k: translate(v, locale) for k, v in JS.items()} | {
        "reasons": {c: translate(c, locale) for c in reasons}}


@bp.get("/commitments")
def commitments_page():
    """Set and revise each clerk's commitment of a year; its progress and history."""
    cfg = ops().cfg
    signed_in = _manager_or_none() is not None   # no staff list for a page nobody signed in to
    return render_page("manage/commitments.html", strings=_strings(request_locale()),
                       signed_in=signed_in, year=ops().today().year,
                       page={"clerks": clerks(cfg) if signed_in else [], "year": ops().today().year})


@bp.get("/training")
def training_page():
    """The catalogue, suggestions per clerk, training given and its before / after."""
    cfg = ops().cfg
    signed_in = _manager_or_none() is not None
    return render_page("manage/training.html", strings=_strings(request_locale()),
                       signed_in=signed_in,
                       page={"clerks": clerks(cfg) if signed_in else [],
                             "catalogue": training.catalogue(cfg) if signed_in else [],
                             "today": ops().today().isoformat()})


@bp.get("/commitments/report")
def commitments_report():
    """The year-end commitment report (公开承诺兑现情况), printable, in Chinese."""
    if _manager_or_none() is None:
        return redirect(url_for("manage.dashboard", next=request.full_path))
    h = ops()
    text = request.args.get("year") or str(h.today().year)
    if not re.fullmatch(r"\d{4}", text) or not 2000 <= int(text) <= 2100:
        raise ApiError(422, "bad_year", N_("year must be a year like 2026."))
    year = int(text)
    data = reader().run(pledges.year_report, year=year)
    posts = {c["staff"]: c["post_name"] for c in clerks(h.cfg)}
    return render_page("manage/commitments_report.html", locale="zh_CN", year=year, data=data,
                       posts=posts, complete=data["complete"],
                       generated=h.now().strftime("%Y-%m-%d %H:%M"),
                       last_day=date(year, 12, 31).isoformat())


JS = {
    "failed": N_("The request failed."), "saved": N_("Saved."),
    "c_none": N_("No commitments for this year yet."),
    "c_staff": N_("Staff member"), "c_targets_only": N_("Targets"), "c_post": N_("Post"), "c_text": N_("Commitment"),
    "c_targets": N_("Targets and progress this year"), "c_made": N_("Made at"),
    "c_replaced": N_("Replaced at"), "c_current": N_("current"), "c_revise": N_("Revise"),
    "c_kept": N_("kept so far"), "c_not_kept": N_("not kept so far"), "c_no_data": N_("no data yet"),
    "c_at_most": N_("at most"), "c_at_least": N_("at least"), "c_pick": N_("Choose a clerk"),
    "c_saved": N_("Commitment of %(name)s for %(year)s saved; the lobby and the pad show it."),
    "c_history_none": N_("No earlier versions."),
    "u_min": N_("min"), "u_per_h": N_("per hour"),
    "t_staff": N_("Staff member"), "t_item": N_("Training"), "t_day": N_("Day"),
    "t_kind": N_("Kind"), "t_category": N_("Category"), "t_addresses": N_("Addresses"),
    "t_weak": N_("Indicators not met"), "t_reasons": N_("Reasons of bad ratings"),
    "t_suggested": N_("Suggested training"), "t_record": N_("Record"),
    "t_none": N_("No training to suggest: no clerk falls short where the catalogue helps."),
    "t_no_catalogue": N_("The hall has no training catalogue yet: add [[training]] items to hall.toml."),
    "t_no_records": N_("No training recorded in this range."),
    "t_saved": N_("Training of %(name)s recorded."),
    "t_days": N_("Days each side"), "t_score": N_("Post score"),
    "t_service": N_("Service time (min)"), "t_good": N_("Good-rating rate"),
    "t_satisfied": N_("Satisfied rate"), "t_served": N_("Served"),
    "t_before": N_("before"), "t_after": N_("after"), "t_not_yet": N_("not enough days since"),
    "t_given": N_("Given"), "t_compared": N_("Compared"), "t_note": N_("Note"),
    "t_mean_before": N_("Mean score before"), "t_mean_after": N_("Mean score after"),
    "t_services": N_("Services compared"),
    "m_mentee": N_("Mentee"), "m_mentor": N_("Mentor"), "m_since": N_("Pair formed on"),
    "m_none": N_("Choose the mentee and the day the pair was formed."),
}
