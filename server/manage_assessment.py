"""Strings for the dashboard's assessment by post (岗位考评) card; the card itself is
static/manage/assessment.js and a card of templates/manage/dashboard.html, reading
/api/stats/assessment. Merged with manage.JS so the page gets them in window.QRATE.T."""
from .engine import N_

JS = {
    "as_post": N_("Post"), "as_score": N_("Overall score"), "as_daily": N_("Daily score"),
    "as_periodic": N_("Periodic score"), "as_rank": N_("Rank within post"),
    "as_indicators": N_("Indicators (met / not met)"), "as_unscored": N_("too little data"),
    "as_distribution": N_("Distribution of scores"), "as_clerks": N_("Clerks"),
    "tr_weak": N_("Indicators not met"), "tr_reasons": N_("Reasons of bad ratings"),
    "tr_items": N_("Suggested training"), "tr_none": N_("No training to suggest: no clerk falls short where the catalogue helps."),
    "tr_no_catalogue": N_("The hall has no training catalogue yet: add [[training]] items to hall.toml."),
    "fb_left": N_("Left"), "fb_text": N_("Opinion"), "fb_phone": N_("Phone"), "fb_due": N_("Answer by"),
    "fb_answer": N_("Answer"), "fb_send": N_("Send answer"), "fb_on_time": N_("on time"),
    "fb_late": N_("late"), "fb_none": N_("No opinions in the last 30 days."),
    "fb_figures": N_("Last 30 days: %(received)s received, %(answered)s answered, %(rate)s on time"),
    "fb_show_phone": N_("Show the whole number"),
    "as_weights": N_("Daily %(daily)s · periodic %(periodic)s · at least %(n)s served and rated"),
}
