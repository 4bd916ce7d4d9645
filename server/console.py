"""The clerk's console at /console: a blueprint in the server package (its
templates in server/templates/console/, its static files in
server/static/console/). Its JavaScript signs in with POST /api/login (the
session cookie then carries the token), reads /api and listens on Socket.IO."""
from flask import Blueprint, request

from . import auth
from .pages import device_locale, render_page
from .readside import pages
from .web import ops, session_principal

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static/console", static_url_path="/static")


@bp.get("")
def console():
    return render_page("console/console.html", locale=clerk_locale() or device_locale(),
                       **pages.console(ops().cfg))


def clerk_locale():
    """The signed-in clerk's own choice (PUT /api/me/language), else None: the hall's.
    ``?lang=`` (a URL set up at the PC) still wins: device_locale reads it first."""
    if request.args.get("lang"):
        return None
    with ops().store() as s:
        p = session_principal(s.db)
        return auth.language(s.db, p.subject) if p is not None and p.kind == "user" else None
