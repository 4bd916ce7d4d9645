"""The citizen's touch surfaces: the ticket kiosk, the rating pad and the ticket status page."""
import io

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, abort, request, session, url_for

from server.pages import device_locale, render_page
from server.readside import pages
from server.web import keep_in_session, ops

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates",
               static_folder="static")
status_bp = Blueprint("status", __name__, url_prefix="/t", template_folder="templates")


def _locale() -> str:
    # The kiosk is the hall's: its language unless a citizen taps English (?lang=en),
    # whatever language the kiosk's browser was installed with.
    return device_locale(token=request.args.get("token"))


@bp.get("")
def kiosk_page():
    # A device page is opened once with ?token=...; it keeps it (session cookie and localStorage).
    token = request.args.get("token")
    if token and len(token) < 200:
        keep_in_session(token)
        session.permanent = True
    frame = pages.kiosk(ops().cfg, ops().notice())
    locale = _locale()
    return render_page("kiosk/kiosk.html", locale=locale, notice=frame["hall"]["notice"],
                       return_s=frame["return_s"], hall_lang=_hall_lang(token))


def _hall_lang(token=None) -> str:
    """The language the device returns to when its citizen is done ('en' or 'zh')."""
    return "en" if device_locale(token=token, use_address=False) == "en" else "zh"


@bp.get("/feedback")
def feedback_page():
    """The kiosk's 意见建议 page (issue 15; kiosk/templates/kiosk/feedback.html)."""
    return render_page("kiosk/feedback.html", locale=_locale())


@bp.get("/qr.svg")
def qr_svg():
    """The QR code of a ticket's status URL, as SVG (only this hall's status URLs)."""
    data = request.args.get("data", "")
    base = ops().status_url("")
    if not data.startswith(base) or len(data) > len(base) + 64:
        abort(404)
    img = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buf = io.BytesIO()
    img.save(buf)
    return Response(buf.getvalue(), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=86400"})


@status_bp.get("/<key>")
def status_page(key: str):
    return render_page("kiosk/status.html", locale=_locale(), key=key,
                       near_places=int(ops().cfg.raw["appointments"]["near_places"]),
                       qr_base=url_for("kiosk.qr_svg"), status_base=ops().status_url(""))
