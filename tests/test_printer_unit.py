"""Printer URLs, the ticket's bytes, status decoding, the spool and the reprint API."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT
from devices.printer import (CUT, Layout, PrinterUrlError, check_layout, decode_status,
                             parse_printer_url, ticket_bytes)
from printer_kit import PrinterSim, wait_for

pytestmark = pytest.mark.device

TICKET = {"id": 7, "number": "B012", "service": "B", "service_name": "医疗保障",
          "service_name_en": "Medical Insurance", "waiting_ahead": 4, "estimated_wait_s": 900,
          "issued_at": "2026-11-27T10:05:00+08:00", "priority": False,
          "status_url": "http://10.0.0.5:5000/t/abc123"}


@pytest.mark.parametrize("url,cls,kwargs", [
    ("usb://0416:5011?in_ep=0x81&out_ep=0x03", "Usb",
     {"idVendor": 0x0416, "idProduct": 0x5011, "in_ep": 0x81, "out_ep": 0x03}),
    ("usb://0x0fe6:0x811e", "Usb", {"idVendor": 0x0FE6, "idProduct": 0x811E}),
    ("serial:///dev/ttyUSB0?baudrate=19200", "Serial", {"devfile": "/dev/ttyUSB0", "baudrate": 19200}),
    ("serial://COM3", "Serial", {"devfile": "COM3", "baudrate": 9600}),
    ("tcp://192.168.1.87", "Network", {"host": "192.168.1.87", "port": 9100}),
    ("tcp://printer.local:9101", "Network", {"host": "printer.local", "port": 9101}),
    ("win32://POS-80C Printer", "Win32Raw", {"printer_name": "POS-80C Printer"}),
    ("win32://XP-58%20(copy%201)", "Win32Raw", {"printer_name": "XP-58 (copy 1)"}),
    ("file:///dev/usb/lp0", "File", {"devfile": "/dev/usb/lp0"}),
    ("dummy://", "Dummy", {}),
])
def test_printer_urls_map_to_python_escpos_classes(url, cls, kwargs):
    spec = parse_printer_url(url)
    assert spec.cls_name == cls
    for key, value in kwargs.items():
        assert spec.kwargs[key] == value
    import escpos.printer
    assert hasattr(escpos.printer, cls)


def test_file_url_naming_a_folder_writes_one_file_per_ticket(tmp_path):
    spec = parse_printer_url("file://data/printed", base=tmp_path)
    assert spec.folder == tmp_path / "data" / "printed"


@pytest.mark.parametrize("url,hint", [("lpt1", "scheme"), ("ftp://x", "unknown"),
                                      ("usb://0416", "VID:PID"), ("tcp://", "HOST"),
                                      ("usb://zz:11", "number")])
def test_bad_printer_urls_say_what_to_write(url, hint):
    with pytest.raises(PrinterUrlError, match=hint):
        parse_printer_url(url)


def test_text_mode_ticket_bytes():
    layout = Layout(hall_name="幸福区政务服务中心", footer=["……", "Café"])
    data = ticket_bytes(TICKET, layout)
    assert data.startswith(b"\x1b@\x1c&")  # ESC @ then FS & (Chinese mode) first
    assert "医疗保障".encode("gb18030") in data
    assert b"\x1d!\x11B012\n" in data  # the number double size by GS !
    assert b"\x1b!" not in data  # ESC ! does not enlarge hanzi
    assert "……".encode("gb18030") in data and b"??" not in data  # punctuation-only line
    assert b"\x1bt" not in data  # no code-page switch for a Latin accent
    assert b"\x1d(k" in data and b"1P0" + TICKET["status_url"].encode() in data  # native QR
    assert data.endswith(CUT)
    assert len(data) < 600  # well under a second at 9600 baud (960 bytes/s)


def test_no_cut_when_the_hall_has_no_cutter():
    assert not ticket_bytes(TICKET, Layout(cut=False)).endswith(CUT)


def test_rare_characters_print_as_an_image_line():
    layout = Layout(hall_name="䶮记政务大厅")
    assert check_layout(layout, ["医疗保障"]) == [{"line": "䶮记政务大厅", "mode": "raster"},
                                              {"line": "医疗保障", "mode": "text"}]
    data = ticket_bytes(TICKET, layout)
    assert b"\x1dv0\x00" in data  # GS v 0 raster for that line
    assert "䶮".encode("gb18030") not in data


def test_raster_mode_size():
    data = ticket_bytes(TICKET, Layout(hall_name="幸福区政务服务中心", mode="raster"))
    assert 8_000 < len(data) < 20_000
    assert "医疗保障".encode("gb18030") not in data


@pytest.mark.parametrize("answers,state", [
    ((0x12, 0x12, 0x12), "online"),
    ((0x1A, 0x32, 0x7E), "paper_out"),
    ((0x1A, 0x16, 0x12), "cover_open"),
    ((0x12, 0x12, 0x1E), "paper_near_end"),
    ((None, None, None), "unknown"),
    ((0x1A, 0x12, 0x12), "offline"),
])
def test_dle_eot_answers(answers, state):
    assert decode_status(*answers)["state"] == state


def test_silent_printer_is_unknown_not_paper_ok(tmp_path):
    from devices.transports import open_printer
    spec = parse_printer_url("tcp://127.0.0.1:9")  # nothing listens: offline, quickly
    conn = open_printer(spec, timeout=0.5)
    st = conn.status()
    assert st["state"] == "offline" and not conn.ready(st)


def test_spool_prints_and_reprints(app, client, accounts):
    spool = app.extensions["qrate_devices"].spool
    kiosk = accounts.device("kiosk")
    t = client.post("/api/tickets", json={"service": "A"}, headers=kiosk).get_json()
    assert spool.pending() == 1
    spool.step()
    assert spool.pending() == 0
    printed = app.extensions["qrate_config"].data_folder / "printed"
    assert (printed / f"{t['day']}-{t['number']}.bin").read_bytes().startswith(b"\x1b@\x1c&")
    text = (printed / f"{t['day']}-{t['number']}.txt").read_text("utf-8")
    assert "社会保障" in text
    # the ticket names the windows that serve it and the hall's 过号 rule (2 recalls: 3 calls)
    assert "办理窗口：1、2、3、5 号" in text and "叫号 3 次未到视为过号" in text

    assert client.post(f"/api/tickets/{t['id']}/reprint", headers=kiosk).status_code == 403
    manager = accounts.manager()
    r = client.post(f"/api/tickets/{t['id']}/reprint", headers=manager)
    assert r.status_code == 202 and r.get_json()["kind"] == "reprint"
    assert client.post("/api/tickets/9999/reprint", headers=manager).status_code == 404
    spool.step()
    assert list(printed.glob(f"*-{t['number']}-reprint-*.bin"))
    jobs = client.get("/api/print-jobs", headers=manager).get_json()["jobs"]
    assert [j["status"] for j in jobs] == ["printed", "printed"]
    health = client.get("/api/printer", headers=kiosk).get_json()
    assert health["state"] == "online" and health["can_print"] and health["pending"] == 0


def test_printer_routes_are_documented(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert "/api/printer" in paths and "/api/tickets/{id}/reprint" in paths


def _qrate(*args):
    return subprocess.run([sys.executable, "-m", "server.entry", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)


def test_qrate_printer_test_prints_and_reports(hall_dir, tmp_path):
    sim = PrinterSim(tmp_path / "sim").start()
    try:
        out = _qrate("printer", "test", "--hall", str(hall_dir), "--url", sim.url)
        assert out.returncode == 0, out.stderr
        assert "online" in out.stdout and "escpos.printer.Network" in out.stdout
        wait_for(lambda: any("测试小票" in t for t in sim.printed()), 10, what="the test ticket")
        sim.say("paper out")
        wait_for(lambda: "paper=out" in sim.log_path.read_text(), 5, what="paper out")
        out = _qrate("printer", "test", "--hall", str(hall_dir), "--url", sim.url)
        assert out.returncode != 0 and "paper_out" in out.stdout
        assert len(sim.printed()) == 1
    finally:
        sim.stop()


def test_a_printer_that_never_answers_is_printed_to_blindly(tmp_path):
    """A one-way cable: no DLE EOT answer reads as unknown (not 'paper OK'), and printing goes on."""
    import socket as so
    import threading

    from devices.transports import open_printer
    srv = so.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got = bytearray()

    def sink():
        conn, _ = srv.accept()
        with conn:
            while data := conn.recv(4096):
                got.extend(data)
    th = threading.Thread(target=sink, daemon=True)
    th.start()
    conn = open_printer(parse_printer_url(f"tcp://127.0.0.1:{srv.getsockname()[1]}"), timeout=0.2)
    st = conn.status()
    assert st["state"] == "unknown" and conn.ready(st)
    conn.send(ticket_bytes(TICKET, Layout()))
    conn.close()
    th.join(5)
    srv.close()
    assert "医疗保障".encode("gb18030") in got


def test_printer_sim_on_a_pty_answers_status_and_prints(tmp_path):
    from devices.transports import open_printer
    sim = PrinterSim(tmp_path / "sim", tcp=False, pty=tmp_path / "ttyPRN", baud=19200).start()
    conn = open_printer(parse_printer_url(sim.url), timeout=1)
    try:
        assert conn.status()["state"] == "online"
        conn.send(ticket_bytes(TICKET, Layout(hall_name="幸福区政务服务中心")))
        wait_for(lambda: any("B012" in t and "医疗保障" in t for t in sim.printed()), 10,
                 what="the ticket on the pty printer")
        sim.say("cover open")
        wait_for(lambda: conn.status()["state"] == "cover_open", 5, what="cover open")
        sim.say("cover close")
        sim.say("paper low")
        wait_for(lambda: conn.status()["state"] == "paper_near_end", 5, what="paper low")
    finally:
        conn.close()
        sim.stop()


def test_device_changed_is_logged_with_a_seq_and_replays(app, client, accounts):
    """A printer change is an `event` with the next seq; replaying the log skips it cleanly."""
    from server import engine
    spool = app.extensions["qrate_devices"].spool
    pushed = []
    ops = app.extensions["qrate"]
    ops.subscribe(pushed.append)  # the pushes every listener gets after the commit
    spool._set_state({"state": "paper_out"})
    assert pushed[-1]["type"] == "device.changed" and pushed[-1]["state"] == "paper_out"
    assert pushed[-1]["message"] == "打印机缺纸" and pushed[-1]["can_print"] is False
    with ops.store() as s:
        assert s.last_seq() == pushed[-1]["seq"]
        for ev in s.events():
            if ev.type == "device.changed":
                assert engine.apply(ev, None) is None
