"""The lobby screen (/display) and the window screens (/display/window/N).

Thin pages: their JavaScript takes the Socket.IO snapshot and events and
reads /api; the voice calls come from /api/voice/call/... (server/voice.py).
"""
from flask import Blueprint, abort, render_template, request

from server.readside import pages
from server.web import ops
from server.web_i18n import request_locale

bp = Blueprint("display", __name__, url_prefix="/display", template_folder="templates",
               static_folder="static")


def _common() -> dict:
    lang = request_locale()
    return {"lang": lang, **pages.screen(ops().cfg, lang)}


@bp.get("")
def lobby():
    # ?voice=0 for a second lobby screen that must not talk over the first
    return render_template("display/lobby.html", voice_on=request.args.get("voice") != "0",
                           **_common())


@bp.get("/window/<int:number>")
def window_screen(number: int):
    window = pages.window(ops().cfg, number)
    if window is None:
        abort(404)
    return render_template("display/window.html", number=number, window=window, **_common())
