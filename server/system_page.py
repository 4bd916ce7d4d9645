"""/manage/system: the hall IT person's page. The last backup and its verification,
the accounts (disable, enable) and the devices (kind, window, printer, last seen; a new
link with its QR code to open a tablet; revoke a lost one in one click).

Managers read it; only an `admin` changes accounts and devices. Forms post back here
(the session cookie carries the sign-in; SameSite=Lax keeps other sites' forms out)."""
from __future__ import annotations

import io
import secrets
from datetime import datetime

import qrcode
import qrcode.image.svg
from flask import Blueprint, redirect, request, url_for
from markupsafe import Markup

from . import auth, backup, store
from .engine import N_
from .operations import NoClerk
from .pages import render_page
from .web import ApiError, ops, principal

bp = Blueprint("system", __name__, url_prefix="/manage/system", template_folder="templates")

PAGES = {"kiosk": "/kiosk", "pad": "/pad", "display": "/display"}


def _who(admin: bool = False):
    p = principal()
    allowed = ("admin",) if admin else ("manager", "admin")
    if p is None or p.kind != "user" or p.role not in allowed:
        raise ApiError(403 if p else 401, "forbidden",
                       N_("This page is for the hall's admin.") if admin else N_("This page is for managers."))
    return p


def device_url(device: dict, token: str) -> str:
    base = ops().cfg.raw["hall"]["public_url"].rstrip("/")
    path = PAGES.get(device["kind"])
    if device["kind"] == "display" and device["window"] is not None:
        path = f"/display/window/{device['window']}"
    return f"{base}{path}?token={token}" if path else token


def qr_svg(data: str) -> Markup:
    img = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buf = io.BytesIO()
    img.save(buf)
    text = buf.getvalue().decode("utf-8")
    return Markup(text[text.index("<svg"):])


@bp.get("")
def system_page():
    p = principal()
    if p is None or p.kind != "user" or p.role not in ("manager", "admin"):
        return redirect(url_for("manage.dashboard", next=request.full_path))
    return _render(p)


def _render(p, link=None):
    h = ops()
    with h.store() as s:
        users = store.users(s.db)
        devices = store.devices(s.db)
    for d in devices:
        seen = auth.last_seen(d["id"]) or d["last_seen"]
        d["last_seen"] = datetime.fromisoformat(seen).astimezone(h.tz).isoformat() if seen else None
        d["printer"] = d["printer"] or (h.cfg.raw["printer"]["url"] + " *" if d["kind"] == "kiosk" else None)
    plan = backup.schedule(h.cfg)
    return render_page("system/system.html", users=users, devices=devices, link=link,
                       last=backup.status(h.cfg), plan=plan, admin=p.role == "admin",
                       windows=h.snapshot()["windows"])


@bp.post("/users/<employee_no>/<any(disable, enable):action>")
def user_action(employee_no: str, action: str):
    _who(admin=True)
    with ops().store() as s:
        if store.user_exists(s.db, employee_no):
            auth.set_user_active(s.db, employee_no, action == "enable")
    if action == "disable":  # the clerk's window closes at once, pushed to every screen
        ops().sign_out_everywhere(employee_no, "disabled")
    return redirect(url_for("system.system_page"))


@bp.post("/windows/<int:window>/sign-out")
def window_sign_out(window: int):
    """A manager signs a clerk out of a window (POST /api/windows/N/sign-out, from this page)."""
    p = _who()
    h = ops()
    h.known_window(window)
    try:
        h.sign_out_by_manager(window, p.subject)
    except NoClerk:  # signed out meanwhile: the page shows it
        pass
    return redirect(url_for("system.system_page") + "#windows")


@bp.post("/devices/<int:device_id>/revoke")
def device_revoke(device_id: int):
    _who(admin=True)
    with ops().store() as s:
        for d in store.devices(s.db):
            if d["id"] == device_id:
                auth.revoke_device(s.db, d["name"])
    return redirect(url_for("system.system_page"))


@bp.post("/devices/<int:device_id>/link")
def device_link(device_id: int):
    """A new token for the device (the old one stops), shown once as its URL and QR code."""
    p = _who(admin=True)
    h = ops()
    with h.store() as s:
        device = next((d for d in store.devices(s.db) if d["id"] == device_id and not d["revoked"]), None)
        if device is None:
            raise ApiError(404, "unknown_device", N_("There is no such device."))
        raw = secrets.token_urlsafe(32)
        store.replace_device_token(s.db, device_id, device["kind"], device["window"],
                                   auth.token_hash(raw), auth._now(),
                                   h.cfg.raw["auth"]["device_token_days"] * 86400)
    url = device_url(device, raw)
    return _render(p, link={"device": device, "url": url, "qr": qr_svg(url)})
