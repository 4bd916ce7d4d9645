"""The lobby screen (/display) and the window screens (/display/window/N).

Thin pages: their JavaScript takes the Socket.IO snapshot and events and
reads /api; the voice calls come from /api/voice/call/... (server/voice.py).
"""
from flask import Blueprint, abort, current_app, request

from server.pages import render_page

bp = Blueprint("display", __name__, url_prefix="/display", template_folder="templates",
               static_folder="static")


@bp.get("")
def lobby():
    # ?voice=0 for a second lobby screen that must not talk over the first
    return render_page("display/lobby.html", voice_on=request.args.get("voice") != "0")


@bp.get("/window/<int:number>")
def window_screen(number: int):
    cfg = current_app.extensions["qrate_config"]
    if number not in cfg.windows:
        abort(404)
    return render_page("display/window.html", number=number, window=cfg.windows[number])
