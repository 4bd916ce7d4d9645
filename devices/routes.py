"""API routes for printing: printer health, reprint, the print queue."""
from __future__ import annotations

from typing import Literal, Optional

from flask import current_app, request
from pydantic import BaseModel, Field

from server.api import ApiError, hall, need, route
from server.engine import N_


class PrinterOut(BaseModel):
    device: str
    kind: str
    scheme: Optional[str] = None
    state: Literal["online", "paper_near_end", "paper_out", "cover_open", "offline", "error",
                   "unknown"]
    can_print: bool
    message: str
    message_en: str
    detail: str = ""
    checked_at: Optional[str] = None
    since: Optional[str] = None
    pending: int
    mode: str
    raster_lines: list[str] = Field(default_factory=list,
                                    description="Ticket lines printed as images (characters outside GB2312)")


class PrintJobOut(BaseModel):
    id: int
    ticket: int
    kind: str
    status: Literal["pending", "printed"]
    attempts: int
    last_error: Optional[str] = None
    created_at: str
    printed_at: Optional[str] = None


class PrintJobsOut(BaseModel):
    jobs: list[PrintJobOut]


def spool():
    return current_app.extensions["qrate_devices"].spool


@route("/printer", "GET", "The ticket printer's health (DLE EOT status) and queue length",
       "any valid token", response=PrinterOut, tags=("devices",))
def printer_status():
    need()
    return spool().view()


@route("/tickets/<int:id>/reprint", "POST", "Print the ticket again", "manager",
       response=PrintJobOut, status=202, tags=("devices",))
def reprint(id: int):
    need("manager")
    return spool().reprint(id)


@route("/print-jobs", "GET", "Print jobs, newest first (?status=pending|printed)", "manager",
       response=PrintJobsOut, tags=("devices",), query=(("status", "pending or printed"),))
def print_jobs():
    need("manager")
    status = request.args.get("status")
    if status not in (None, "pending", "printed"):
        raise ApiError(422, "invalid", N_("Some fields are wrong: %(fields)s."), None,
                       fields="status")
    sql = ("SELECT id, ticket, kind, status, attempts, last_error, created_at, printed_at "
           "FROM print_jobs")
    args: list = []
    if status:
        sql += " WHERE status = ?"
        args.append(status)
    with hall().store() as s:
        rows = list(s.db.query(sql + " ORDER BY id DESC LIMIT 200", args))
    return {"jobs": rows}
