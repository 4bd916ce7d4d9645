"""A user's own preferences: the language of the clerk's own console (docs/citizens.md).
Kept with the account, so it follows the clerk to whichever window and PC they sign in
at; without one the console shows the hall's language ([hall] language)."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field

from . import auth
from .web import Routes, Strict, ops, require

routes = Routes()
route = routes.route


class LanguageIn(Strict):
    language: Optional[Literal["zh-CN", "en"]] = Field(
        description="zh-CN or en; null: the hall's language again")


class LanguageOut(BaseModel):
    language: Optional[str] = None


@route("/me/language", "PUT", "Choose the language of your own console (kept with your account)",
       "clerk, manager", body=LanguageIn, response=LanguageOut, tags=("auth",))
def set_language(body: LanguageIn):
    p = require("clerk", "manager")
    with ops().lock, ops().store() as s:
        auth.set_language(s.db, p.subject, body.language)
    return {"language": body.language}


@route("/me/language", "GET", "The language you chose for your own console (null: the hall's)",
       "clerk, manager", response=LanguageOut, tags=("auth",))
def get_language():
    p = require("clerk", "manager")
    with ops().store() as s:
        return {"language": auth.language(s.db, p.subject)}
