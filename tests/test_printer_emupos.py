"""What qrate sends to a printer, read back by emupos, a printer emulator we did not write:
its ESC/POS parser finds the number and the service in Chinese, the receipt it renders
carries a QR code that zxing-cpp decodes to the status URL, and its status answers
(paper out, cover open) reach our health check over TCP and a real pty.

emupos runs from .emupos-venv (Python 3.13, built by `./dev test`). Without it these tests
fail; QRATE_SKIP_EMUPOS=1 skips them instead (see tests/printer_kit.py)."""
from __future__ import annotations

import pytest

from devices.printer import Layout, parse_printer_url, ticket_bytes
from devices.transports import open_printer
from printer_kit import Emupos, chinese_lines, decode_qr, emupos_tokens, wait_for

pytestmark = pytest.mark.device

TICKET = {"id": 1, "number": "A023", "service": "A", "service_name": "社会保障",
          "service_name_en": "Social Security", "waiting_ahead": 3, "estimated_wait_s": 640,
          "issued_at": "2026-11-27T09:00:00+08:00", "priority": False, "day": "2026-11-27",
          "status_url": "http://192.168.1.20:5000/t/Xq3v9LrT0aBcDeFgHiJkLm"}
LAYOUT = Layout(hall_name="幸福区政务服务中心", footer=["热情接待，一次告知，限时办结。"])


@pytest.fixture(scope="module")
def emupos(tmp_path_factory):
    emu = Emupos(tmp_path_factory.mktemp("emupos")).start()
    yield emu
    emu.stop()


def test_emupos_parser_reads_number_and_chinese_service():
    data = ticket_bytes(TICKET, LAYOUT)
    tokens = emupos_tokens(data)
    names = [n for n, _ in tokens]
    assert names[:2] == ["ESC @", "FS &"]
    assert "unknown" not in names
    lines = chinese_lines(tokens)
    assert "社会保障" in lines
    assert "A023" in lines
    assert "幸福区政务服务中心" in lines
    assert "热情接待，一次告知，限时办结。" in lines  # punctuation survives: no '??'
    # the number is enlarged with GS ! (ESC ! would not enlarge hanzi), the QR is native
    sizes = [raw for n, raw in tokens if n == "GS !"]
    assert b"\x1d!\x11" in sizes
    assert any(n == "GS ( k" for n in names)
    assert names[-1] == "GS V"


@pytest.mark.parametrize("transport", ["tcp", "serial"])
def test_printed_receipt_has_number_and_qr_to_status_url(emupos, transport):
    before = len(emupos.receipts())
    url = emupos.tcp_url if transport == "tcp" else emupos.serial_url
    conn = open_printer(parse_printer_url(url), timeout=2)
    try:
        assert conn.status()["state"] == "online"
        conn.send(ticket_bytes(TICKET, LAYOUT))
    finally:
        conn.close()
    receipts = wait_for(lambda: (r := emupos.receipts()) and len(r) > before and r, 15,
                        what="the receipt")
    receipt = receipts[-1]
    assert "A023" in receipt["text"]
    assert decode_qr(receipt["png"]) == [TICKET["status_url"]]


def test_raster_mode_receipt_decodes_too(emupos):
    before = len(emupos.receipts())
    layout = Layout(hall_name="䶮记政务大厅", mode="raster")  # 䶮 is outside GB2312
    data = ticket_bytes(TICKET, layout)
    assert 8_000 < len(data) < 20_000
    conn = open_printer(parse_printer_url(emupos.tcp_url), timeout=2)
    try:
        conn.send(data)
    finally:
        conn.close()
    receipts = wait_for(lambda: (r := emupos.receipts()) and len(r) > before and r, 15,
                        what="the receipt")
    assert decode_qr(receipts[-1]["png"]) == [TICKET["status_url"]]


@pytest.mark.parametrize("transport", ["tcp", "serial"])
@pytest.mark.parametrize("fault,state", [("paper-out", "paper_out"), ("cover-open", "cover_open"),
                                         ("paper-near-end", "paper_near_end")])
def test_status_reads_faults(emupos, transport, fault, state):
    url = emupos.tcp_url if transport == "tcp" else emupos.serial_url
    conn = open_printer(parse_printer_url(url), timeout=2)
    try:
        emupos.fault(fault)
        st = conn.status()
        assert st["state"] == state
        assert conn.ready(st) == (state == "paper_near_end")
        emupos.fault(fault, active=False)
        assert conn.status()["state"] == "online"
    finally:
        emupos.fault(fault, active=False)
        conn.close()
