"""The lobby screen and the window screens."""
from flask import Blueprint, render_template

bp = Blueprint("display", __name__, url_prefix="/display", template_folder="templates",
               static_folder="static")


@bp.get("")
def lobby():
    return render_template("display/lobby.html")


@bp.get("/window/<int:number>")
def window_screen(number: int):
    return render_template("display/window.html", number=number)
