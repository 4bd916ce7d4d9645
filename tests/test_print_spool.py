"""The print spool against a real `qrate serve` and emupos over a real TCP socket and a
real pty: tickets keep being issued through paper-out and an unplugged printer, the
alert arrives over Socket.IO, and once the printer is back every job prints exactly once."""
from __future__ import annotations

import re

import pytest
import requests

from conftest import SHOTS, Listener, LiveServer, bearer
from printer_kit import Emupos, set_printer, wait_for

pytestmark = pytest.mark.device


@pytest.fixture
def emupos(tmp_path):
    emu = Emupos(tmp_path / "emupos").start()
    yield emu
    emu.stop()


def numbers(receipts) -> list[str]:
    out = []
    for r in receipts:
        out += re.findall(r"\b[A-E]\d{3}\b", r["text"])
    return out


def issue(live, token, n, service="A"):
    got = []
    for _ in range(n):
        r = requests.post(live.url + "/api/tickets", json={"service": service},
                          headers=bearer(token), timeout=5)
        assert r.status_code == 201, r.text
        got.append(r.json()["number"])
    return got


def pending(live, token) -> int:
    return requests.get(live.url + "/api/printer", headers=bearer(token), timeout=5).json()["pending"]


@pytest.mark.parametrize("transport", ["tcp", "serial"])
def test_paper_out_mid_day(hall_dir, emupos, transport):
    set_printer(hall_dir, emupos.tcp_url if transport == "tcp" else emupos.serial_url,
                poll_s=0.5, retry_max_s=1)
    live = LiveServer(hall_dir)
    kiosk = None
    listener = None
    try:
        live.start()
        kiosk = live.device_token("kiosk-1", "kiosk")
        listener = Listener(live.url, reconnection=True)
        first = issue(live, kiosk, 2)
        wait_for(lambda: len(emupos.receipts()) == 2, 15, what="the first two tickets")

        emupos.fault("paper-out")
        wait_for(lambda: "paper_out" in listener.device_states(), 10, what="the paper-out alert")
        health = requests.get(live.url + "/api/printer", headers=bearer(kiosk), timeout=5).json()
        assert health["state"] == "paper_out" and health["can_print"] is False
        assert health["message"] == "打印机缺纸"

        during = issue(live, kiosk, 3, "B")  # tickets keep being issued
        wait_for(lambda: pending(live, kiosk) == 3, 10, what="three jobs waiting")
        assert len(emupos.receipts()) == 2  # nothing was sent into the empty printer

        emupos.fault("paper-out", active=False)
        wait_for(lambda: listener.device_states()[-1:] == ["online"], 10, what="the all-clear")
        wait_for(lambda: pending(live, kiosk) == 0 and len(emupos.receipts()) == 5, 20,
                 what="the spool to drain")
        printed = numbers(emupos.receipts())
        assert sorted(printed) == sorted(first + during)  # none lost, none twice
        seqs = [e["seq"] for e in listener.events]
        # every change once, none missing: python-engineio's client runs each message's handler
        # in a thread of its own, so arrival order here is not the server's order (live.js
        # orders by seq itself)
        assert len(set(seqs)) == len(seqs) and sorted(seqs) == list(range(min(seqs), max(seqs) + 1))
    finally:
        if listener:
            listener.close()
        live.kill()


@pytest.mark.parametrize("transport", ["tcp", "serial"])
def test_printer_unplugged_and_replugged(hall_dir, emupos, transport):
    set_printer(hall_dir, emupos.tcp_url if transport == "tcp" else emupos.serial_url,
                poll_s=0.5, retry_max_s=1)
    live = LiveServer(hall_dir)
    listener = None
    try:
        live.start()
        kiosk = live.device_token("kiosk-1", "kiosk")
        listener = Listener(live.url, reconnection=True)
        first = issue(live, kiosk, 1)
        wait_for(lambda: len(emupos.receipts()) == 1, 15, what="the first ticket")

        emupos.stop()  # unplugged
        wait_for(lambda: "offline" in listener.device_states(), 10, what="the offline alert")
        during = issue(live, kiosk, 2, "C")
        r = requests.get(live.url + "/api/queue", timeout=5)
        assert {"C001", "C002"} <= {t["number"] for t in r.json()["tickets"]}

        emupos.start()  # plugged in again: same port, same device path
        wait_for(lambda: pending(live, kiosk) == 0 and len(emupos.receipts()) == 3, 20,
                 what="the spool to drain after replugging")
        assert sorted(numbers(emupos.receipts())) == sorted(first + during)
        assert listener.device_states()[-1] == "online"
    finally:
        if listener:
            listener.close()
        live.kill()


def test_lobby_and_snapshot_show_the_printer_alert(hall_dir, emupos, page):
    """Paper out: a lobby screen (and any new screen, from its snapshot) says no paper ticket comes."""
    set_printer(hall_dir, emupos.tcp_url, poll_s=0.5, retry_max_s=1)
    live = LiveServer(hall_dir)
    try:
        live.start()
        page.goto(live.url + "/display?voice=0")
        page.wait_for_selector("#printer-alert.hidden", state="attached", timeout=15000)
        emupos.fault("paper-out")
        page.wait_for_selector("#printer-alert:not(.hidden)", timeout=15000)
        assert "打印机缺纸" in page.inner_text("#printer-alert")
        snap = requests.get(live.url + "/api/queue", timeout=5).json()
        assert snap["devices"]["printer"]["state"] == "paper_out"
        assert snap["devices"]["printer"]["can_print"] is False
        page.reload()  # a screen that connects now learns it from the snapshot
        page.wait_for_selector("#printer-alert:not(.hidden)", timeout=15000)
        page.screenshot(path=str(SHOTS / "lobby-printer-alert.png"))
        emupos.fault("paper-out", active=False)
        page.wait_for_selector("#printer-alert.hidden", state="attached", timeout=15000)
    finally:
        live.kill()
