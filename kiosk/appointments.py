"""Appointments' pages: the citizen's phone page (/book: book a slot, take today's
ticket, follow a booking at /book/b/KEY) and the kiosk's check-in page
(/kiosk/check-in: a typed code, a scanned QR code, or phone digits and name), and the
page the door's code opens on a phone (/door/CODE: checks in that phone's tickets).
Their own templates (templates/kiosk/book.html, checkin.html) and static files
(static/appointments/); the rules are behind /api (server/api_appointments.py)."""
import io
import re

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, abort, request, session

from server.i18n import normalise
from server.pages import render_page
from server.readside import pages
from server.web import keep_in_session, ops

bp = Blueprint("book", __name__, url_prefix="/book", template_folder="templates",
               static_folder="static/appointments", static_url_path="/static")
checkin_bp = Blueprint("checkin", __name__, url_prefix="/kiosk/check-in", template_folder="templates")
door_bp = Blueprint("door", __name__, url_prefix="/door", template_folder="templates")
DOOR = re.compile(r"^[0-9]{6}$")

CODE = re.compile(r"^[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{8}$")


def _locale(default: str = "zh") -> str:
    return normalise(request.args.get("lang") or default)


@bp.get("")
def book_page():
    return render_page("kiosk/book.html", locale=_locale(), key="", retention=_retention())


@bp.get("/b/<key>")
def booking_page(key: str):
    return render_page("kiosk/book.html", locale=_locale(), key=key[:64], retention=_retention())


@bp.get("/qr.svg")
def code_qr():
    """The booking code as a QR code, for the kiosk's scanner."""
    code = request.args.get("code", "")
    if not CODE.match(code):
        abort(404)
    img = qrcode.make(code, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buf = io.BytesIO()
    img.save(buf)
    return Response(buf.getvalue(), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=86400"})


@checkin_bp.get("")
def checkin_page():
    token = request.args.get("token")
    if token and len(token) < 200:
        keep_in_session(token)  # the token's hash, never the token
        session.permanent = True
    frame = pages.kiosk(ops().cfg, ops().notice())
    return render_page("kiosk/checkin.html", locale=_locale(), return_s=frame["return_s"],
                       status_base=ops().status_url(""))


@door_bp.get("/<code>")
def door_page(code: str):
    """Opened by scanning the code at the hall's door: checks in this phone's phone tickets
    and bookings of today (the code itself is checked by POST /api/door/check-in)."""
    if not DOOR.match(code):
        abort(404)
    return render_page("kiosk/door.html", locale=_locale(), code=code)


def _retention() -> int:
    return int(ops().cfg.raw["appointments"]["retention_days"])
