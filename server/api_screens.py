"""What the screens read and the one line they let managers write: the lobby's notice
(a `notice.changed` event, also pushed as the Socket.IO message `notice`), the lobby
board's figures and a clerk's own figures today (both from the read side)."""
from __future__ import annotations

from pydantic import Field

from .readside import screens
from .web import Routes, Strict, ops, principal, reader, require

routes = Routes()
route = routes.route


class NoticeIn(Strict):
    text: str = Field(max_length=500, description="The scrolling notice line ('' clears it)")


@route("/notice", "GET", "The lobby's notice line", "anyone", tags=("display",))
def get_notice():
    return {"text": ops().notice()}


@route("/notice", "PUT", "Set the lobby's notice line (pushed as Socket.IO `notice`)", "manager",
       roles=("manager",), body=NoticeIn, tags=("display",))
def set_notice(body: NoticeIn):
    p = require("manager")
    return ops().set_notice(body.text, p.subject)


@route("/display/board", "GET",
       "Lobby figures: promise kept today per service, this month's satisfaction per window and "
       "clerk as far as the hall's [publish] figures lists them",
       "anyone", tags=("display",))
def display_board():
    board = reader().run(screens.board)
    # 阳光政务: only the figures the hall's [publish] figures lists leave the building
    published = ops().cfg.raw["publish"]["figures"]
    caller = principal()
    if caller is not None and caller.role in ("manager", "admin"):
        published = ["window_satisfaction", "clerk_satisfaction"]
    if "window_satisfaction" not in published:
        board["windows"] = [{k: v for k, v in w.items() if k != "month"} for w in board["windows"]]
    if "clerk_satisfaction" not in published:
        board["staff"] = [{k: v for k, v in st.items() if k != "month"} for st in board["staff"]]
    board["published"] = list(published)
    return board


@route("/me/today", "GET", "A clerk's own figures today (served, service time, ratings)",
       "clerk, manager", tags=("auth",))
def my_today():
    p = require("clerk", "manager")
    return reader().run(screens.my_today, employee_no=p.subject)
