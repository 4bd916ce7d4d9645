"""The lobby screen (/display) and the window screens (/display/window/N).

Thin pages: their JavaScript takes the Socket.IO snapshot and events and
reads /api; the voice calls come from /api/voice/call/... (server/voice.py).
"""
from flask import Blueprint, abort, request

from server.pages import device_locale, render_page
from server.readside import pages
from server.web import ops

bp = Blueprint("display", __name__, url_prefix="/display", template_folder="templates",
               static_folder="static")


@bp.get("")
def lobby():
    # ?voice=0 for a second lobby screen that must not talk over the first
    # ?rotate=S: seconds per page of services in a big hall (default 8)
    try:
        rotate_s = min(60, max(1, int(request.args.get("rotate", 8))))
    except ValueError:
        rotate_s = 8
    return render_page("display/lobby.html", locale=device_locale(request.args.get("token")),
                       voice_on=request.args.get("voice") != "0", rotate_s=rotate_s)


@bp.get("/window/<int:number>")
def window_screen(number: int):
    window = pages.window(ops().cfg, number)
    if window is None:
        abort(404)
    return render_page("display/window.html", locale=device_locale(request.args.get("token")),
                       number=number, window=window)
