"""The lobby screen (/display) and the window screens (/display/window/N).

Thin pages: their JavaScript takes the Socket.IO snapshot and events and
reads /api; the voice calls come from /api/voice/call/... (server/voice.py).
"""
from flask import Blueprint, abort, current_app, render_template, request

from server.i18n import request_locale

bp = Blueprint("display", __name__, url_prefix="/display", template_folder="templates",
               static_folder="static")


def _common() -> dict:
    cfg = current_app.extensions["qrate_config"]
    lang = request_locale()
    name = cfg.raw["hall"]["name_en"] if lang == "en" else cfg.name
    return {"lang": lang, "hall_name": name, "tz": cfg.raw["hall"]["timezone"]}


@bp.get("")
def lobby():
    # ?voice=0 for a second lobby screen that must not talk over the first
    return render_template("display/lobby.html", voice_on=request.args.get("voice") != "0",
                           **_common())


@bp.get("/window/<int:number>")
def window_screen(number: int):
    cfg = current_app.extensions["qrate_config"]
    if number not in cfg.windows:
        abort(404)
    return render_template("display/window.html", number=number, window=cfg.windows[number],
                           **_common())
