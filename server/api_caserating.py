"""HTTP API of a rating tied to a case (一次一评): the window's business system (一窗式办件系统,
an `integration` device) asks the window's pad to rate the case it just finished; the
evaluation content the pads show. Changes go through the service layer. docs/ratings.md."""
from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, Field

from . import evaluation
from .web import Routes, Strict, ops, require

routes = Routes()
route = routes.route

# 办件编号 and 事项编码: letters, digits and . _ - (they travel in the serial $ASK frame too)
CODE = r"^[0-9A-Za-z][0-9A-Za-z._-]*$"


class RatingRequestIn(Strict):
    case_no: str = Field(min_length=1, max_length=64, pattern=CODE, description="办件编号")
    matter_code: str = Field(min_length=1, max_length=64, pattern=CODE, description="事项编码")
    matter_name: str = Field(min_length=1, max_length=200, description="事项名称")


class RatingRequestOut(BaseModel):
    request: int
    window: int
    case_no: str
    matter_code: str
    matter_name: str
    ticket_id: Optional[int] = Field(None, description="the ticket just served there, or null")
    number: Optional[str] = None
    expires_in_s: float
    content_version: str
    requested_at: str


@route("/windows/<int:window>/rating-request", "POST",
       "Ask the window's pad to rate this case (一次一评): the ticket just served there, or none",
       "integration (the window's business system), manager", roles=("integration", "manager"), body=RatingRequestIn,
       response=RatingRequestOut, status=201, tags=("ratings",))
def rating_request(window: int, body: RatingRequestIn):
    p = require("integration", "manager")
    return ops().request_case_rating(window, body.case_no, body.matter_code, body.matter_name,
                                     by=p.name or p.subject)


@route("/evaluation/content", "GET", "The evaluation content versions (national rules, on-site channel)",
       "any signed-in caller", tags=("ratings",))
def evaluation_content():
    require()
    return {"current": evaluation.CURRENT, "versions": evaluation.VERSIONS}
