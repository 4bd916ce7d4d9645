"""/manage/system: the hall IT person's page. The last backup and its verification,
the accounts (disable, enable) and the devices (kind, window, printer, last seen; a new
link with its QR code to open a tablet; revoke a lost one in one click).

Managers read it; only an `admin` changes accounts and devices. Forms post back here
(the session cookie carries the sign-in; SameSite=Lax keeps other sites' forms out)."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Optional

from flask import Blueprint, current_app, redirect, request, url_for

from devices.printer import PrinterUrlError, parse_printer_url

from . import auth, backup, store
from .engine import N_
from .i18n import translate
from .operations import NoClerk
from .pages import qr_svg, render_page
from .web import ApiError, ops, principal
from .web_i18n import request_locale

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



@bp.get("")
def system_page():
    p = principal()
    if p is None or p.kind != "user" or p.role not in ("manager", "admin"):
        return redirect(url_for("manage.dashboard", next=request.full_path))
    return _render(p)


def _render(p, link=None, problem=None):
    h = ops()
    with h.store() as s:
        users = store.users(s.db)
        devices = store.devices(s.db)
    hub = current_app.extensions["qrate_devices"]
    for d in devices:
        seen = auth.last_seen(d["id"]) or d["last_seen"]
        d["last_seen"] = datetime.fromisoformat(seen).astimezone(h.tz).isoformat() if seen else None
        d["own_printer"] = d["printer"] or ""
        d["printer"] = d["printer"] or (h.cfg.raw["printer"]["url"] + " *" if d["kind"] == "kiosk" else None)
        if d["kind"] == "kiosk" and not d["revoked"]:
            d["printer_state"] = hub.printer_of(d["name"] if d["own_printer"] else None).health()
    plan = backup.schedule(h.cfg)
    printers = [dict(s.view(), url=s.url) for s in list(hub.spools.values())]
    return render_page("system/system.html", users=users, devices=devices, link=link,
                       last=backup.status(h.cfg), plan=plan, admin=p.role == "admin",
                       printers=printers, kinds=auth.DEVICE_KINDS, windows=sorted(h.cfg.windows),
                       window_views=h.snapshot()["windows"], problem=problem)


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


def _printer_url(text: str) -> tuple[Optional[str], Optional[str]]:
    """(the URL or None for the default printer, a problem to show or None)."""
    url = (text or "").strip()
    if not url:
        return None, None
    try:
        parse_printer_url(url, base=ops().cfg.folder)
    except PrinterUrlError as exc:
        return None, str(exc)
    return url, None


@bp.post("/devices/add")
def device_add():
    """A new device (an admin): its kind, window and, for a kiosk, its own printer; the
    link to open it with is shown once, as its URL and QR code."""
    p = _who(admin=True)
    h = ops()
    f = request.form
    name, kind = f.get("name", "").strip()[:60], f.get("kind", "")
    window = int(f["window"]) if f.get("window", "").isdigit() else None
    url, problem = _printer_url(f.get("printer", ""))
    if not name or kind not in auth.DEVICE_KINDS:
        problem = translate_here(N_("Give the device a name and a kind."))
    elif kind in ("pad", "keypad") and window is None:
        problem = translate_here(N_("A pad or keypad belongs to a window: choose it."))
    elif window is not None and window not in h.cfg.windows:
        problem = translate_here(N_("There is no such window."))
    elif url and kind != "kiosk":
        problem = translate_here(N_("Only a kiosk has a printer of its own."))
    if problem:
        return _render(p, problem=problem), 422
    with h.store() as s:
        try:
            device_id, raw = auth.add_device(s.db, name, kind, window,
                                             expires_in_s=h.cfg.raw["auth"]["device_token_days"] * 86400)
        except auth.DeviceExists:
            return _render(p, problem=translate_here(N_("A device named %(name)s already exists."),
                                                     name=name)), 409
    if url:
        h.set_kiosk_printer(name, url, p.subject)  # pushed: the hub opens the kiosk's spool
    device = {"id": device_id, "name": name, "kind": kind, "window": window}
    link = device_url(device, raw)
    return _render(p, link={"device": device, "url": link, "qr": qr_svg(link)})


@bp.post("/devices/<int:device_id>/printer")
def device_printer(device_id: int):
    """Set a kiosk's own printer URL (empty: the hall's default printer)."""
    p = _who(admin=True)
    h = ops()
    with h.store() as s:
        device = next((d for d in store.devices(s.db) if d["id"] == device_id and not d["revoked"]), None)
    if device is None or device["kind"] != "kiosk":
        raise ApiError(404, "unknown_kiosk", N_("There is no kiosk named %(name)s."), name=device_id)
    url, problem = _printer_url(request.form.get("printer", ""))
    if problem:
        return _render(p, problem=problem), 422
    h.set_kiosk_printer(device["name"], url, p.subject)
    return redirect(url_for("system.system_page") + "#devices")


def translate_here(msgid: str, **params) -> str:
    return translate(msgid, request_locale(), **params)
