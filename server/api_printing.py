"""API routes for printing: printer health, reprint, the print queue."""
from __future__ import annotations

from typing import Literal, Optional

from flask import current_app, g, has_request_context, request
from pydantic import BaseModel, Field

from devices.printer import PrinterUrlError, parse_printer_url

from .engine import N_
from .readside import lists
from .web import ApiError, Routes, Strict, ops, reader, require

routes = Routes()
route = routes.route


class PrinterOut(BaseModel):
    device: str = Field(description='"printer" for the default printer, "printer:KIOSK" for a kiosk\'s own')
    kind: str
    name: str = Field("default", description='"default" ([printer] url) or the kiosk\'s device name')
    kiosk: Optional[str] = Field(None, description="The kiosk whose own printer this is; null for the default")
    for_kiosk: Optional[str] = Field(None, description="The kiosk that asked (its tickets print here)")
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
    printer: str = Field("default", description='The printer it goes to: "default" or a kiosk\'s name')


class PrintJobsOut(BaseModel):
    jobs: list[PrintJobOut]


class PrintersOut(BaseModel):
    printers: list[PrinterOut]


class KioskPrinterIn(Strict):
    printer: Optional[str] = Field(None, max_length=300,
                                   description="The printer URL (docs/printer-setup.md); null or empty: the default printer")


def issuing_kiosk() -> Optional[str]:
    """The kiosk device making this request, if one is (Operations.issuing_kiosk): its
    tickets print on its own printer. Reads only the caller already resolved."""
    if not has_request_context():
        return None
    p = g.get("principal")
    return p.name if p is not None and p.kind == "device" and p.role == "kiosk" else None


def hub():
    return current_app.extensions["qrate_devices"]


@route("/printer", "GET", "The ticket printer's health (DLE EOT status) and queue length",
       "any valid token", response=PrinterOut, tags=("devices",))
def printer_status():
    p = require()
    kiosk = p.name if p.kind == "device" and p.role == "kiosk" else None
    return {**hub().printer_of(kiosk).view(), "for_kiosk": kiosk}


@route("/printers", "GET", "Every printer: the default and each kiosk's own, with health and queue",
       "any valid token", response=PrintersOut, tags=("devices",))
def printers():
    require()
    return {"printers": [s.view() for s in list(hub().spools.values())]}


@route("/devices/<name>/printer", "PUT", "Bind a printer URL to a kiosk (null: the default printer)",
       "admin", body=KioskPrinterIn, tags=("devices",))
def kiosk_printer(name: str, body: KioskPrinterIn):
    p = require("admin")
    url = (body.printer or "").strip() or None
    if url:
        check_printer_url(url)
    return ops().set_kiosk_printer(name, url, p.subject)


def check_printer_url(url: str) -> None:
    """A printer URL we can open (its scheme and parts), else 422 naming what to write."""
    try:
        parse_printer_url(url, base=ops().cfg.folder)
    except PrinterUrlError as exc:
        raise ApiError(422, "invalid", N_("Some fields are wrong: %(fields)s."),
                       [{"field": "printer", "problem": str(exc)}], fields="printer")


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
