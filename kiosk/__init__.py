"""The citizen's touch surfaces: the ticket kiosk, the rating pad and the ticket status page."""
from flask import Blueprint, render_template

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates",
               static_folder="static")
status_bp = Blueprint("status", __name__, url_prefix="/t", template_folder="templates")


@bp.get("")
def kiosk_page():
    return render_template("kiosk/kiosk.html")


@status_bp.get("/<key>")
def status_page(key: str):
    return render_template("kiosk/status.html", key=key)
