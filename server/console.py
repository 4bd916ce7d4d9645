"""The clerk's console at /console: a blueprint in the server package (its
templates in server/templates/console/, its static files in
server/static/console/). Its JavaScript signs in with POST /api/login (the
session cookie then carries the token), reads /api and listens on Socket.IO."""
from flask import Blueprint

from .pages import device_locale, render_page
from .readside import pages
from .web import ops

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static/console", static_url_path="/static")


@bp.get("")
def console():
    return render_page("console/console.html", locale=device_locale(), **pages.console(ops().cfg))
