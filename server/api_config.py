"""The hall's configuration over HTTP, and its admin pages at /manage/config.

`GET /api/config` is the whole configuration as JSON, the keys of hall.toml; `PUT
/api/config` replaces it: checked by server/hallschema.py (422 with the fields),
a manager's change of admin-only keys refused (403 naming them), a change that
would strand waiting tickets refused (409 with what can be done) unless the query
says what to do with them (`?stranded=move&to=B` or `?stranded=cancel&reason=...`).
Every accepted change is one `config.changed` event, applied live and pushed.
"""
from __future__ import annotations

import io
import re

from flask import Blueprint, current_app, jsonify, request
from PIL import Image, UnidentifiedImageError

from . import config_live, hallschema
from .config import ConfigError
from .engine import N_
from .operations import WouldStrand
from .pages import render_page
from .readside import config_audit
from .web import ApiError, Routes, ops, reader, require
from .i18n import translate
from .web_i18n import request_locale

routes = Routes()
route = routes.route
bp = Blueprint("manage_config", __name__, url_prefix="/manage/config", template_folder="templates",
               static_folder="static/manage_config", static_url_path="/static")

PHOTO_MAX_BYTES = 4 * 1024 * 1024
PHOTO_PX = 600


def _etag() -> str:
    return config_live.digest(ops().cfg.raw)[:20]


def _answer(raw: dict):
    resp = jsonify(raw)
    resp.headers["ETag"] = f'"{_etag()}"'
    return resp, 200


def invalid(exc: ConfigError) -> ApiError:
    details = [p.as_field() for p in exc.problems] or [{"field": "", "key": "", "problem": line}
                                                        for line in exc.lines]
    return ApiError(422, "invalid", N_("Some fields are wrong: %(fields)s."), details,
                    fields=", ".join(d["key"] or "body" for d in details))


def apply(raw: dict, who, source: str = "api"):
    """Check rights, then change the configuration; the HTTP errors of each refusal."""
    h = ops()
    if not isinstance(raw, dict):
        raise ApiError(422, "invalid", N_("The body must be a JSON object."))
    if who.role != "admin":
        touched = hallschema.admin_keys(h.cfg.raw, config_live.hall_config.merge(
            config_live.hall_config.DEFAULTS, raw))
        if touched:
            raise ApiError(403, "admin_only", N_("Only the hall's admin may change: %(keys)s."),
                           touched, keys=", ".join(touched))
    match = request.headers.get("If-Match", "").strip('"')
    if match and match != _etag():
        raise ApiError(409, "config_moved", N_("The configuration was changed meanwhile; "
                                              "reload it and make your change again."))
    # a window removed takes its [[rota]] entries with it; the answer names the windows
    raw, dropped = config_live.hall_config.without_rota_of_removed_windows(
        h.cfg.raw, config_live.hall_config.merge(config_live.hall_config.DEFAULTS, raw))
    stranded = request.args.get("stranded")
    resolve = None
    if stranded == "move":
        resolve = {"action": "move", "service": request.args.get("to", "")}
    elif stranded == "cancel":
        resolve = {"action": "cancel", "reason": request.args.get("reason", "")[:200]}
    before = dict(h.cfg.raw.get("server", {}))
    try:
        h.change_config(raw, who.subject, source, resolve=resolve)
        later = next_start_keys(before, h.cfg.raw)
    except ConfigError as exc:
        raise invalid(exc)
    except WouldStrand as exc:
        movable = [c for c in h.cfg.services if c in raw_codes(raw)]
        raise ApiError(409, "would_strand",
                       N_("%(n)s waiting tickets would have no window to call them (%(services)s); "
                          "move them to another service or cancel them with a reason."),
                       {"stranded": exc.stranded,
                        "options": [{"action": "move", "query": "?stranded=move&to=SERVICE",
                                     "services": movable},
                                    {"action": "cancel", "query": "?stranded=cancel&reason=TEXT"}]},
                       n=sum(r["waiting"] for r in exc.stranded),
                       services=", ".join(r["service"] for r in exc.stranded))
    resp, status = _answer(h.cfg.raw)
    if later:  # saved, but a running server cannot move: say so (docs/operations.md)
        resp.headers["Qrate-Next-Start"] = ", ".join(later)
        resp.headers["Warning"] = ('299 qrate "' + ", ".join(later) + " saved; takes effect at the next "
                                   "start of qrate serve (serving now at "
                                   + "{}:{}".format(*(serving().get(k) for k in ("host", "port")))
                                   + ')"')
    if dropped:
        resp.headers[ROTA_REMOVED] = ", ".join(sorted({str(r["window"]) for r in dropped}, key=int))
    return resp, status


ROTA_REMOVED = "Qrate-Rota-Removed"  # the windows whose [[rota]] entries went with them


def serving() -> dict:
    """The address this server listens on (set by qrate serve; else as it started)."""
    return current_app.extensions.get("qrate_serving") or {}


def next_start_keys(before: dict, raw: dict) -> list[str]:
    """[server] keys this change saved: a running server cannot move, they wait for a restart."""
    return [f"server.{k}" for k in ("host", "port")
            if str(raw.get("server", {}).get(k)) != str(before.get(k))]


def raw_codes(raw: dict) -> list[str]:
    served = {c for w in raw.get("windows", []) if isinstance(w, dict) for c in w.get("services", [])}
    return [s.get("code") for s in raw.get("services", []) if isinstance(s, dict)
            and s.get("code") in served]


@route("/config", "GET", "The whole hall configuration as JSON (the keys of hall.toml)", "manager",
       tags=("config",))
def get_config():
    require("manager")
    return _answer(ops().cfg.raw)


@route("/config", "PUT",
       "Replace the hall configuration (checked; 422 with the fields, 403 admin-only keys, "
       "409 when waiting tickets would be stranded: ?stranded=move&to=B or ?stranded=cancel&reason=)",
       "manager", tags=("config",),
       query=(("stranded", "move | cancel: what to do with waiting tickets the change strands"),
              ("to", "the service to move them to"), ("reason", "why they are cancelled")),
       extra_status={403: "admin-only keys", 409: "would strand waiting tickets", 422: "invalid"})
def put_config():
    who = require("manager")
    data = request.get_json(silent=True, force=True) if request.data else None
    if data is None:
        raise ApiError(400, "bad_json", N_("The body is not valid JSON."))
    return apply(data, who)


@route("/config/changes", "GET", "The configuration's audit: every config.changed, newest first",
       "manager", tags=("config",))
def config_changes():
    require("manager")
    return {"changes": reader().run(config_audit.config_changes)}


@route("/config/commitments", "GET",
       "Each clerk's public commitments as promised, newest first (?staff=EMPLOYEE_NO)", "anyone",
       tags=("config",), query=(("staff", "an employee number"),))
def commitments():
    return {"commitments": reader().run(config_audit.commitment_history,
                                        employee_no=request.args.get("staff") or None)}


@route("/config/staff/<employee_no>/photo", "POST",
       "Upload a clerk's photo (the image as the body; JPEG or PNG, up to 4 MB)", "manager",
       tags=("config",))
def staff_photo(employee_no: str):
    who = require("manager")
    h = ops()
    staff = [dict(s) for s in h.cfg.raw.get("staff", [])]
    row = next((s for s in staff if s.get("employee_no") == employee_no), None)
    if row is None or not re.fullmatch(r"[A-Za-z0-9_-]{1,20}", employee_no):
        raise ApiError(404, "unknown_staff", N_("Employee number %(employee_no)s is not on the staff list."),
                       employee_no=employee_no)
    request.max_content_length = PHOTO_MAX_BYTES
    try:
        img = Image.open(io.BytesIO(request.get_data()))
        img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ApiError(422, "not_an_image", N_("The photo must be a JPEG or PNG image."))
    img = img.convert("RGB")
    img.thumbnail((PHOTO_PX, PHOTO_PX))
    folder = h.cfg.folder / "photos"
    folder.mkdir(exist_ok=True)
    (folder / f"{employee_no}.jpg").write_bytes(_jpeg(img))
    row["photo"] = f"photos/{employee_no}.jpg"
    raw = {**h.cfg.raw, "staff": [row if s.get("employee_no") == employee_no else s for s in staff]}
    return apply(raw, who)


def _jpeg(img) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)  # re-encoded: no EXIF, no location, a known format
    return out.getvalue()


@bp.get("")
def page():
    """The admin pages: services, windows, staff, ratings and follow-up, devices, audit."""
    locale = request_locale()
    reasons = {c: translate(c, locale) for c in ops().cfg.raw["ratings"]["reasons"]}
    return render_page("manage_config/config.html",
                       strings={k: translate(v, locale) for k, v in JS.items()} | {"reasons": reasons})


JS = {
    "failed": N_("The request failed."), "saved": N_("Saved; every screen shows it now."),
    "not_saved": N_("Not saved; nothing was changed."), "save": N_("Save"), "remove": N_("Remove"),
    "saved_service": N_("Service %(code)s saved; the kiosk and the lobby show it now."),
    "removed_service": N_("Service %(code)s removed."),
    "saved_window": N_("Window %(n)s saved; the lobby shows it now."),
    "removed_window": N_("Window %(n)s removed."),
    "rota_removed": N_("Its rota entries (window %(windows)s) were removed with it."),
    "changed_elsewhere": N_("Someone else changed the settings meanwhile; what you typed is kept, "
                            "and saving applies it to the newest settings."),
    "saved_staff": N_("Staff %(no)s saved."), "new_service": N_("New service"),
    "new_person": N_("New colleague"), "window_n": N_("Window %(n)s"), "photo": N_("Photo"),
    "admin_only": N_("Only the hall's admin may change the printer."),
    "no_changes": N_("No changes yet."), "when": N_("When"), "by": N_("Changed by"), "source": N_("Changed through"),
    "src_api": N_("settings page"), "src_import": N_("file import"), "src_hall.toml": N_("hall.toml at start"),
    "sec_services": N_("Service"), "sec_windows": N_("Window"), "sec_staff": N_("Staff"),
    "f_person_name": N_("Full name"), "upload_photo": N_("Upload a photo"),
    "key": N_("Setting"), "old": N_("Before"), "new": N_("After"),
    "f_code": N_("Code"), "f_name": N_("Name"), "f_name_en": N_("Name in English"),
    "f_category": N_("Category"), "f_category_en": N_("Category in English"),
    "f_target_wait": N_("Target wait (min)"), "f_target_service": N_("Target service (min)"),
    "f_target_good": N_("Target good-rating rate (0-1)"), "f_hours": N_("Opening hours"),
    "f_days": N_("Days (1 = Monday)"), "f_daily_cap": N_("Daily cap"),
    "f_warn_at": N_("Warn at (share of the cap)"), "f_slots": N_("Time-slot quotas"),
    "f_materials": N_("Materials to bring"), "f_materials_en": N_("Materials in English"),
    "f_number": N_("Number"), "f_services": N_("Services, in order"),
    "f_employee_no": N_("Employee number"), "f_role": N_("Role"),
    "f_commitment": N_("Public commitment"), "f_commitment_en": N_("Commitment in English"),
    "opt_clerk": N_("Window clerk"), "opt_manager": N_("Hall manager"), "opt_admin": N_("Hall admin (IT)"),
    "opt_text": N_("text"), "opt_raster": N_("raster (image)"),
    "t_ratings": N_("Rating settings"), "t_followup": N_("Follow-up deadlines (h, d, wd)"),
    "t_alerts": N_("Alert thresholds"), "t_printer": N_("Ticket printer"),
    "f_reasons": N_("Rating reason tags"),
    "f_reason_map": N_("National reason of each tag (tag=efficiency|level|attitude|process|other)"),
    "f_ticket_dimensions": N_("Ask the three sub-scores after a ticket's level too"), "f_window_minutes": N_("Minutes to rate after service"),
    "f_prompt_seconds": N_("Seconds the pad asks"), "f_callback": N_("Call back within"),
    "f_verify": N_("Verify within"), "f_rectify": N_("Rectify within"), "f_reply": N_("Reply within"),
    "f_due_soon": N_("Due soon (hours before)"), "f_owner": N_("Case owner (employee no.)"),
    "f_long_wait_min": N_("Long wait (min)"), "f_long_wait_count": N_("Alert above (citizens)"),
    "f_check_s": N_("Check every (s)"), "f_printer_url": N_("Printer URL"),
    "f_printer_mode": N_("Print mode"),
    "next_start": N_("Saved. %(keys)s: the server's address changes at the next start of qrate serve."),
    "t_server": N_("Server address"), "f_server_host": N_("Host (address to listen on)"),
    "f_server_port": N_("Port"),
    "server_note": N_("A running server cannot move: a new host or port takes effect at the next "
                      "start of qrate serve (qrate serve --host/--port still win)."),
}
