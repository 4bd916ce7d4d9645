"""The print spool and the device hub against the device port, in memory (FakePort):
print order, retry with backoff, a ticket that cannot be rendered does not block the
others, the worker wakes after the commit's event, reprints, printer alerts; and the
printer transports (one class per URL scheme)."""
from __future__ import annotations

import threading
import time

import pytest

from devices import printer as printer_module
from devices.hub import DeviceHub
from devices.printer import SCHEMES, parse_printer_url
from devices.spool import STATE_MESSAGES, Spool, state_message, wakes_spool
from devices.transports import (TRANSPORTS, DummyPrinter, FilePrinter, FolderPrinter,
                                PrinterError, PrinterTransport, open_printer)
from fake_port import FakePort, hall_config
from server.i18n import translate

pytestmark = pytest.mark.unit


class FakePrinter(PrinterTransport):
    """A printer whose status the test sets; records what was sent, in order."""

    two_way = True

    def __init__(self):
        super().__init__(parse_printer_url("dummy://"), 0.1)
        self.state = "online"
        self.fail_sends = 0  # how many sends fail next
        self.sent: list[str] = []
        self.data: list[bytes] = []
        self.checks = 0

    def status(self) -> dict:
        self.checks += 1
        return {"state": self.state}

    def send(self, data: bytes, name: str = "ticket", text: str = "") -> None:
        if self.fail_sends:
            self.fail_sends -= 1
            raise PrinterError("cable pulled")
        self.sent.append(name)
        self.data.append(data)


@pytest.fixture
def cfg(tmp_path):
    return hall_config(tmp_path / "hall", {"printer": {"url": "dummy://", "retry_max_s": 3,
                                                       "poll_s": 30}})


@pytest.fixture
def port():
    return FakePort()


def make_spool(port, cfg) -> tuple[Spool, FakePrinter]:
    spool = Spool(port, cfg)
    spool.printer = FakePrinter()
    port.subscribe(spool.on_event)
    return spool, spool.printer


def day(port) -> str:
    return port.now().date().isoformat()


def test_jobs_print_oldest_first_from_their_payload(port, cfg):
    spool, prn = make_spool(port, cfg)
    for n in ("A001", "A002", "B001"):
        port.issue(n)
    assert spool.pending() == 3
    assert spool.step() == 30  # nothing left: back to polling
    assert prn.sent == [f"{day(port)}-A001", f"{day(port)}-A002", f"{day(port)}-B001"]
    assert spool.pending() == 0
    assert [port.print_job(i)["status"] for i in (1, 2, 3)] == ["printed"] * 3
    assert "社会保障".encode("gb18030") in prn.data[0] and b"A001" in prn.data[0]


def test_the_payload_stored_with_the_job_is_printed_not_the_ticket_now(port, cfg):
    """The spool never asks the hall for the ticket: what was queued is what prints."""
    spool, prn = make_spool(port, cfg)
    port.issue("A001", payload={"id": 1, "number": "A001", "service_name": "医疗保障",
                                "service_name_en": "Medical Insurance", "waiting_ahead": 7,
                                "estimated_wait_s": 600, "issued_at": port.now().isoformat(),
                                "day": day(port), "status_url": "http://hall.test/t/abc"})
    port.tickets[1]["service_name"] = "改了名字"
    spool.step()
    assert "医疗保障".encode("gb18030") in prn.data[0]
    assert "前面还有 7 人".encode("gb18030") in prn.data[0]
    assert b"http://hall.test/t/abc" in prn.data[0]


def test_a_failed_send_backs_off_and_records_the_error(port, cfg):
    spool, prn = make_spool(port, cfg)
    port.issue("A001")
    delays = []
    for _ in range(4):
        prn.fail_sends = 1
        prn.state = "online"
        spool.step()
        job = port.jobs[1]
        delays.append(round(job["next_try_ts"] - port.now().timestamp(), 3))
        assert job["status"] == "pending" and job["last_error"] == "cable pulled"
        assert spool.state["state"] == "offline"
        port.advance(0.5)
        assert port.due_print_jobs() == []  # not before its backoff
        port.advance(delays[-1])
    assert delays == [1, 2, 3, 3]  # 1 s, 2 s, 4 s … capped at retry_max_s (3 here)
    spool.step()
    assert prn.sent == [f"{day(port)}-A001"] and port.jobs[1]["last_error"] is None
    assert port.jobs[1]["attempts"] == 5


def test_a_send_failure_stops_the_batch_and_a_success_releases_the_waiting_jobs(port, cfg):
    spool, prn = make_spool(port, cfg)
    for n in ("A001", "A002", "A003"):
        port.issue(n)
    prn.fail_sends = 1
    spool.step()
    assert prn.sent == [] and port.jobs[2]["attempts"] == 0  # the later jobs were not tried
    assert port.pending_print_jobs() == 3
    spool.step()  # A001 waits out its backoff; the others go, then A001 is released
    assert port.jobs[1]["next_try_ts"] == 0
    assert spool.step() == 30
    assert sorted(prn.sent) == sorted(f"{day(port)}-A00{i}" for i in (1, 2, 3))
    assert spool.pending() == 0


def test_a_ticket_that_cannot_be_rendered_does_not_block_the_next_ones(port, cfg, monkeypatch):
    """Defect (spool.py:179): render ran outside the try; now its failure is the job's error."""
    monkeypatch.setattr(printer_module, "FONT_PATHS", ())
    printer_module._font.cache_clear()
    spool, prn = make_spool(port, cfg)
    port.issue("A001", service_name="䶮记服务")  # outside GB2312: an image line, needs a CJK font
    port.issue("A002")
    port.issue("A003", payload={})  # a job without its ticket payload
    port.issue("A004")
    spool.step()
    assert prn.sent == [f"{day(port)}-A002", f"{day(port)}-A004"]
    bad = port.print_job(1)
    assert bad["status"] == "pending" and bad["attempts"] == 1
    assert "cannot render the ticket" in bad["last_error"] and "CJK font" in bad["last_error"]
    assert "no ticket payload" in port.print_job(3)["last_error"]
    assert spool.state["state"] == "online"  # not the printer's fault: no offline alert
    assert "device.changed" not in [e["type"] for e in port.events if e.get("state") == "offline"]
    # retried with backoff, and printed once a font is there
    monkeypatch.undo()
    printer_module._font.cache_clear()
    port.advance(60)
    spool.step()
    assert prn.sent[-1] == f"{day(port)}-A001"
    assert port.print_job(1)["status"] == "printed" and port.print_job(1)["last_error"] is None
    assert port.print_job(3)["attempts"] >= 2 and port.print_job(3)["status"] == "pending"


def test_the_worker_wakes_on_the_event_after_the_commit_not_before(port, cfg):
    hub = DeviceHub(port, cfg)
    prn = hub.spool.printer = FakePrinter()
    hub.start()
    try:
        deadline = time.monotonic() + 5
        while prn.checks < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # the first step is over; the worker waits poll_s (30 s)
        port.hold()  # the issue's transaction: the job row exists, the event is not pushed yet
        port.issue("A001")
        time.sleep(0.5)
        assert prn.sent == [] and prn.checks == 1
        port.commit()
        deadline = time.monotonic() + 5
        while not prn.sent and time.monotonic() < deadline:
            time.sleep(0.01)
        assert prn.sent == [f"{day(port)}-A001"]
    finally:
        hub.stop()


def test_reprint_wakes_the_worker_and_prints_a_second_copy(port, cfg):
    spool, prn = make_spool(port, cfg)
    t = port.issue("A001")
    spool.step()
    spool._wake.clear()
    job = port.reprint(t["id"])
    assert job["kind"] == "reprint" and spool._wake.is_set()
    spool.step()
    assert prn.sent == [f"{day(port)}-A001", f"{day(port)}-A001-reprint-{job['id']}"]


def test_which_events_wake_the_spool():
    assert wakes_spool({"type": "ticket.issued", "ticket": {}})
    assert wakes_spool({"type": "print.changed", "job": {"kind": "reprint", "status": "pending",
                                                         "attempts": 0}})
    # the spool's own reports (printed, failed) and other events do not
    assert not wakes_spool({"type": "print.changed", "job": {"kind": "ticket", "status": "printed"}})
    assert not wakes_spool({"type": "print.changed", "job": {"kind": "reprint", "status": "pending",
                                                             "attempts": 1}})
    assert not wakes_spool({"type": "ticket.called"})
    assert not wakes_spool({"type": "device.changed", "state": "online"})


def test_printer_changes_go_through_the_port_and_nothing_is_sent_into_a_fault(port, cfg):
    spool, prn = make_spool(port, cfg)
    prn.state = "paper_out"
    port.issue("A001")
    assert spool.step() == 1.0  # staff are fixing it: look again soon
    assert prn.sent == []
    [alert] = [e for e in port.events if e["type"] == "device.changed"]
    assert alert["state"] == "paper_out" and alert["can_print"] is False
    assert alert["message"] == translate("The printer is out of paper", "zh_CN")
    assert alert["message_en"] == "The printer is out of paper"
    assert alert["device"] == "printer" and alert["pending"] == 1
    spool.step()
    assert len([e for e in port.events if e["type"] == "device.changed"]) == 1  # changes only
    prn.state = "online"
    spool.step()
    assert [e["state"] for e in port.events if e["type"] == "device.changed"] == ["paper_out", "online"]
    assert prn.sent == [f"{day(port)}-A001"]


def test_a_silent_printer_at_start_raises_no_alert(port, cfg):
    spool, prn = make_spool(port, cfg)
    prn.state = "unknown"
    spool.step()
    assert "device.changed" not in port.types()


def test_public_state_is_the_snapshot_printer_health(port, cfg):
    hub = DeviceHub(port, cfg)
    state = hub.public_state()
    assert set(state) == {"devices"}
    assert set(state["devices"]["printer"]) == {"state", "can_print", "message", "message_en", "since"}
    hub.spool.printer = FakePrinter()
    hub.spool.check()
    printer = hub.public_state()["devices"]["printer"]
    assert printer["state"] == "online" and printer["can_print"] is True
    assert printer["since"] == port.now().isoformat()
    assert printer["message_en"] == "Printer ready"


def test_every_state_message_is_a_catalog_id():
    for state, msgid in STATE_MESSAGES.items():
        assert state_message(state, "en") == msgid
        assert state_message(state, "zh_CN") == translate(msgid, "zh_CN")
    assert state_message("no such state", "en") == "Printer status unknown"


def test_a_bad_printer_url_is_an_error_state_not_a_crash(port, tmp_path):
    cfg = hall_config(tmp_path / "hall", {"printer": {"url": "lpt1"}})
    spool = Spool(port, cfg)
    assert spool.printer is None and "scheme" in spool.config_error
    port.issue("A001")
    spool.step()
    assert spool.state["state"] == "error" and spool.pending() == 1


def test_a_listener_failure_never_reaches_the_port(port, cfg):
    hub = DeviceHub(port, cfg)

    def boom(body):
        raise RuntimeError("boom")
    hub.spool.on_event = boom
    port.issue("A001")  # would raise into the committing request otherwise
    assert port.types() == ["ticket.issued"]


# --- transports ------------------------------------------------------------------

def test_one_transport_class_per_url_scheme_over_the_python_escpos_class():
    import escpos.printer
    assert set(TRANSPORTS) == set(SCHEMES)
    for scheme, cls in TRANSPORTS.items():
        assert cls.escpos_class == SCHEMES[scheme]
        assert hasattr(escpos.printer, cls.escpos_class)
    assert {s for s, c in TRANSPORTS.items() if c.two_way} == {"usb", "serial", "tcp"}


def test_open_printer_picks_the_class(tmp_path):
    assert type(open_printer(parse_printer_url("file://printed", base=tmp_path))) is FolderPrinter
    assert type(open_printer(parse_printer_url("file:///dev/usb/lp9"))) is FilePrinter
    assert type(open_printer(parse_printer_url("dummy://"))) is DummyPrinter
    for url in ("usb://0416:5011", "serial:///dev/ttyUSB0", "tcp://10.0.0.9", "win32://POS-80"):
        assert type(open_printer(parse_printer_url(url))) is TRANSPORTS[url.split(":")[0]]


def test_dummy_and_folder_printers(tmp_path):
    dummy = open_printer(parse_printer_url("dummy://"))
    assert dummy.status()["state"] == "online" and dummy.ready(dummy.status())
    dummy.send(b"\x1b@hello")
    assert dummy.device.output == b"\x1b@hello"
    folder = open_printer(parse_printer_url("file://out", base=tmp_path))
    folder.send(b"\x1b@", "2026-11-27-A001", "A001\n")
    assert (tmp_path / "out" / "2026-11-27-A001.bin").read_bytes() == b"\x1b@"
    assert (tmp_path / "out" / "2026-11-27-A001.txt").read_text("utf-8") == "A001\n"


def test_one_way_transports_report_no_status(tmp_path):
    missing = open_printer(parse_printer_url(f"file://{tmp_path}/nodev/lp0.bin"))
    st = missing.status()
    assert st["state"] == "offline" and not missing.ready(st)
    with pytest.raises(PrinterError):
        missing.send(b"x")
    win = open_printer(parse_printer_url("win32://POS-80"))
    st = win.status()
    assert st["state"] == "unknown" and win.ready(st)  # printed to blindly


def test_a_printer_that_used_to_answer_and_went_silent_is_not_ready():
    tcp = open_printer(parse_printer_url("tcp://127.0.0.1:9"))
    assert not tcp.ready({"state": "unknown", "was_answering": True})
    assert tcp.ready({"state": "unknown", "was_answering": False})
    assert not tcp.ready({"state": "cover_open"}) and tcp.ready({"state": "paper_near_end"})


def test_a_network_printer_that_closes_the_connection_reads_offline():
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def close_at_once():
        conn, _ = srv.accept()
        conn.recv(16)
        conn.close()
    th = threading.Thread(target=close_at_once, daemon=True)
    th.start()
    tcp = open_printer(parse_printer_url(f"tcp://127.0.0.1:{srv.getsockname()[1]}"), timeout=1)
    st = tcp.status()
    th.join(5)
    srv.close()
    assert st["state"] == "offline" and "closed the connection" in st["detail"]
    assert tcp.device is None  # closed, to be reopened next time
