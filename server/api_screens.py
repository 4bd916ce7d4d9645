"""What the screens read and the one line they let managers write: the lobby's notice
(a `notice.changed` event, also pushed as the Socket.IO message `notice`), the lobby
board's figures and a clerk's own figures today (both from the read side)."""
from __future__ import annotations

from pydantic import Field

from .readside import screens
from .web import Routes, Strict, ops, reader, require

routes = Routes()
route = routes.route


class NoticeIn(Strict):
    text: str = Field(max_length=500, description="The scrolling notice line ('' clears it)")


@route("/notice", "GET", "The lobby's notice line", "anyone", tags=("display",))
def get_notice():
    return {"text": ops().notice()}


@route("/notice", "PUT", "Set the lobby's notice line (pushed as Socket.IO `notice`)", "manager",
       body=NoticeIn, tags=("display",))
def set_notice(body: NoticeIn):
    p = require("manager")
    return ops().set_notice(body.text, p.subject)


@route("/display/board", "GET",
       "Lobby figures: promise kept today per service, this month's satisfaction per window and clerk",
       "anyone", tags=("display",))
def display_board():
    return reader().run(screens.board)


@route("/me/today", "GET", "A clerk's own figures today (served, service time, ratings)",
       "clerk, manager", tags=("auth",))
def my_today():
    p = require("clerk", "manager")
    return reader().run(screens.my_today, employee_no=p.subject)
