"""API routes for printing: printer health, reprint, the print queue."""
from __future__ import annotations

from typing import Literal, Optional

from flask import current_app, request
from pydantic import BaseModel, Field

from .engine import N_
from .readside import lists
from .web import ApiError, Routes, ops, reader, require

routes = Routes()
route = routes.route


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


@route("/printer", "GET", "The ticket printer's health (DLE EOT status) and queue length",
       "any valid token", response=PrinterOut, tags=("devices",))
def printer_status():
    require()
    return current_app.extensions["qrate_devices"].spool.view()


@route("/tickets/<int:id>/reprint", "POST", "Print the ticket again", "manager",
       response=PrintJobOut, status=202, tags=("devices",))
def reprint(id: int):
    require("manager")
    return ops().reprint(id)


@route("/print-jobs", "GET", "Print jobs, newest first (?status=pending|printed)", "manager",
       response=PrintJobsOut, tags=("devices",), query=(("status", "pending or printed"),))
def print_jobs():
    require("manager")
    status = request.args.get("status")
    if status not in (None, "pending", "printed"):
        raise ApiError(422, "invalid", N_("Some fields are wrong: %(fields)s."), None,
                       fields="status")
    return {"jobs": reader().run(lists.print_jobs, status=status)}
