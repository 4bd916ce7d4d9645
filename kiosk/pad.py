"""The rating pad page at /pad: a small tablet at each window, bound to it by a device token.

Opened once as /pad?token=PAD_DEVICE_TOKEN; the token goes into the (long-lived)
session cookie and the address is cleaned. Its JavaScript reads /api/pad/state,
listens on Socket.IO and posts /api/ratings; no rules live here.
"""
from __future__ import annotations

from html import escape

from flask import Blueprint, Response, redirect, request, send_file, session

from server import auth
from server.pages import device_locale, render_page
from server.readside import pages
from server.web import keep_in_session, ops, session_principal

bp = Blueprint("pad", __name__, url_prefix="/pad", template_folder="templates",
               static_folder="static/pad", static_url_path="/static")


def _pad_principal():
    with ops().store() as s:
        p = session_principal(s.db)
    return p if p is not None and p.role == "pad" and p.window is not None else None


@bp.get("")
def pad_page():
    token = request.args.get("token")
    if token:
        keep_in_session(token)
        session.permanent = True
        lang = request.args.get("lang")
        return redirect("/pad" + (f"?lang={lang}" if lang in ("en", "zh_CN", "zh-CN") else ""))
    p = _pad_principal()
    if p is None:
        return render_page("kiosk/pad_unbound.html", locale=device_locale()), 401
    home = "en" if device_locale(use_address=False) == "en" else "zh"
    return render_page("kiosk/pad.html", locale=device_locale(), window=p.window, device=p.name,
                       hall_lang=home)


@bp.get("/photo/<employee_no>")
def photo(employee_no: str):
    """The clerk's photo from the hall folder, or a drawn placeholder with the surname."""
    path, initial = pages.staff_photo(ops().cfg, employee_no)
    if path is not None:
        return send_file(path, max_age=300)
    initial = escape(initial)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 150" width="120" height="150">'
           f'<rect width="120" height="150" rx="10" fill="#d7e6f5"/>'
           f'<circle cx="60" cy="55" r="30" fill="#a9c4e0"/><rect x="22" y="92" width="76" height="48" rx="24" fill="#a9c4e0"/>'
           f'<text x="60" y="66" font-size="32" text-anchor="middle" fill="#1f4e79" '
           f'font-family="Noto Sans CJK SC, sans-serif">{initial}</text></svg>')
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "max-age=300"})
