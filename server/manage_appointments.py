"""Managers' pages of appointments (issue 12): the door's check-in poster (/manage/door,
printable, the day's code and its QR) and the log of "your turn is near" notices sent
to the hall's webhook (/manage/notices). Both render server-side from the service layer
and the read side; zh-CN first (?lang=en for English)."""
from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, request, url_for

from .engine import QueueError
from .pages import qr_svg, render_page
from .readside.appointments import notice_log
from .web import ops, principal, reader

bp = Blueprint("manage_appt", __name__, url_prefix="/manage", template_folder="templates")


def _manager() -> bool:
    p = principal()
    return p is not None and p.role in ("manager", "admin")


def _to_sign_in():
    return redirect(url_for("manage.dashboard", next=request.full_path))


def _day_arg(default: date) -> date:
    try:
        return date.fromisoformat(request.args.get("day") or default.isoformat())
    except ValueError:
        return default



@bp.get("/door")
def door_poster():
    """The poster at the hall's door: today's code (or a day up to a week ahead) as a QR."""
    if not _manager():
        return _to_sign_in()
    today = ops().today()
    day = _day_arg(today)
    try:
        door = current_app.extensions["qrate_appointments"].door(day)
    except QueueError:
        day, door = today, current_app.extensions["qrate_appointments"].door(today)
    days = [today + timedelta(days=n) for n in range(8)]
    return render_page("manage/door.html", door=door, qr=qr_svg(door["url"], box_size=10), day=day, days=days,
                       today=today)


@bp.get("/notices")
def notices_page():
    """The notice log: when, ticket, kind, attempts, status and the last error."""
    if not _manager():
        return _to_sign_in()
    today = ops().today()
    day = _day_arg(today)
    log = reader().run(notice_log, day=day.isoformat())
    hook = ops().cfg.raw["appointments"].get("webhook", {})
    url = hook.get("url", "")
    target = urlsplit(url).netloc if url else ""  # the host only: a URL may carry a secret
    return render_page("manage/notices.html", log=log, day=day, today=today, target=target,
                       retries=int(hook.get("retries", 5)),
                       prev=day - timedelta(days=1), next=day + timedelta(days=1))
