"""The clerk's console at /console: a blueprint in the server package (its
templates in server/templates/console/, its static files in
server/static/console/). Its JavaScript signs in with POST /api/login (the
session cookie then carries the token), reads /api and listens on Socket.IO."""
from flask import Blueprint, current_app

from .pages import render_page

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static/console", static_url_path="/static")


@bp.get("")
def console():
    cfg = current_app.extensions["qrate_config"]
    windows = [{"number": w.number, "name": w.name, "services": list(w.services)}
               for w in cfg.windows.values()]
    services = [{"code": s.code, "name": s.name, "name_en": s.name_en}
                for s in cfg.services.values()]
    return render_page("console/console.html",
                       no_show_after=int(cfg.raw["queue"]["no_show_after_recalls"]),
                       windows=windows, services=services)
