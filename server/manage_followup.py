"""Strings for the dashboard's follow-up (差评回访整改) and lobby/printing tabs.

The tabs themselves are static/manage/followup.js and two sections of
templates/manage/dashboard.html; they only call existing APIs (/api/cases...,
/api/ratings/flags, /api/notice, /api/printer, /api/print-jobs, reprint).
Merged with manage.JS so the page gets them in window.QRATE.T.
"""
from .engine import N_

JS = {
    "fu_state_open": N_("Open cases"), "fu_state_due_soon": N_("Due soon"), "fu_state_overdue": N_("Overdue"),
    "fu_state_closed": N_("Closed cases"), "fu_state_all": N_("All"),
    "fu_case": N_("Case"), "fu_ticket": N_("Ticket"), "fu_reasons": N_("Reasons and comment"),
    "fu_opened": N_("Opened"), "fu_next": N_("Next step"), "fu_deadlines": N_("Deadlines"),
    "fu_owner": N_("Owner"), "fu_appeal": N_("Appeal"), "fu_no_cases": N_("No cases in this list."),
    "step_callback": N_("Callback"), "step_verify": N_("Verify"), "step_rectify": N_("Rectify"),
    "step_reply": N_("Reply"), "fu_done": N_("done"), "fu_overdue": N_("overdue"), "fu_due_soon": N_("due soon"),
    "fu_mark_done": N_("Mark done"), "fu_note": N_("Note"), "fu_add_note": N_("Add note"),
    "fu_set_owner": N_("Set owner"), "fu_rerate": N_("Record re-rating"), "fu_close": N_("Close case"),
    "fu_uphold": N_("Uphold (exclude the rating)"), "fu_reject": N_("Reject"),
    "fu_reason": N_("Reason"), "fu_finding": N_("Finding"), "fu_comment": N_("Comment"),
    "fu_notes": N_("Notes"), "fu_at": N_("Time"), "fu_author": N_("By"), "fu_step": N_("Step"),
    "fu_appeal_none": N_("none"), "fu_appeal_pending": N_("pending"), "fu_appeal_upheld": N_("upheld"),
    "fu_appeal_rejected": N_("rejected"), "fu_excluded": N_("excluded from the figures"),
    "fu_status_open": N_("in progress"), "fu_status_replied": N_("replied"), "fu_status_closed": N_("case closed"),
    "fu_note_needed": N_("Write a note first."), "fu_saved": N_("Saved."),
    "fu_pick": N_("Pick a case to see its notes and act on it."),
    "fu_kind_all_top_score": N_("All top scores"), "fu_kind_hollow_burst": N_("Burst behind short services"),
    "fu_kind_refused_presses": N_("Presses refused"), "fu_no_flags": N_("No suspicious rating patterns."),
    "fu_pattern": N_("Pattern"), "fu_detail": N_("Detail"),
    "fu_calendar_missing": N_("No official holiday calendar for this year: deadlines count weekends only."),
    "pr_state": N_("Printer"), "pr_pending": N_("Jobs waiting"), "pr_checked": N_("Checked"),
    "pr_jobs_none": N_("No print jobs yet."), "pr_job": N_("Job"), "pr_kind": N_("Kind"),
    "pr_attempts": N_("Attempts"), "pr_error": N_("Last error"), "pr_created": N_("Queued"),
    "pr_printed": N_("Printed"), "pr_reprint": N_("Reprint"), "pr_queued": N_("Reprint queued."),
    "pr_st_pending": N_("to print"), "pr_st_printed": N_("printed"),
    "pr_k_ticket": N_("issue"), "pr_k_reprint": N_("reprint"),
    "step_opened": N_("Case opened"), "step_note": N_("Note"), "step_owner": N_("Owner"),
    "step_rerate": N_("Re-rating"), "step_close": N_("Close case"), "step_appeal": N_("Appeal"),
    "step_appeal_decision": N_("Appeal decision"),
    "nt_saved": N_("Notice saved: the lobby shows it now."), "nt_empty": N_("(no notice)"),
}
