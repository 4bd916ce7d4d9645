"""The citizen's touch surfaces: the ticket kiosk, the rating pad and the ticket status page."""
from flask import Blueprint, Response, abort, current_app, request, session

from server.pages import render_page

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates",
               static_folder="static")
status_bp = Blueprint("status", __name__, url_prefix="/t", template_folder="templates")


def _locale() -> str:
    # The kiosk is the hall's: Chinese unless a citizen taps English (?lang=en), whatever
    # language the kiosk's browser was installed with.
    from server.i18n import normalise
    return normalise(request.args.get("lang") or "zh")


@bp.get("")
def kiosk_page():
    # A device page is opened once with ?token=...; it keeps it (session cookie and localStorage).
    token = request.args.get("token")
    if token and len(token) < 200:
        session["token"] = token
        session.permanent = True
    cfg = current_app.extensions["qrate_config"]
    return render_page("kiosk/kiosk.html", locale=_locale(), notice=cfg.raw["hall"].get("notice", ""),
                       return_s=int(cfg.raw.get("kiosk", {}).get("return_s", 20)))


@bp.get("/qr.svg")
def qr_svg():
    """The QR code of a ticket's status URL, as SVG (only this hall's status URLs)."""
    import io

    import qrcode
    import qrcode.image.svg
    data = request.args.get("data", "")
    base = current_app.extensions["qrate"].status_url("")
    if not data.startswith(base) or len(data) > len(base) + 64:
        abort(404)
    img = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buf = io.BytesIO()
    img.save(buf)
    return Response(buf.getvalue(), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=86400"})


@status_bp.get("/<key>")
def status_page(key: str):
    return render_page("kiosk/status.html", locale=_locale(), key=key)
