"""SIGKILL `qrate serve` in the middle of a burst; restart on the same data folder.

Every acknowledged operation must be there, and nothing half-written: each
ticket has its issue event and its print job, and the event log replays to
exactly the stored state.
"""
from __future__ import annotations

import signal
import sqlite3
import threading
import time

import requests

import pytest

from conftest import bearer
from test_queue_properties import assert_replay_matches
from server import config, store
from server.operations import Operations

pytestmark = pytest.mark.live


def test_sigkill_mid_burst_loses_nothing_acknowledged(live, hall_dir):
    kiosk = live.device_token("kiosk-1", "kiosk")
    clerks = {n: live.clerk_token(f"10{n:02d}", n) for n in (1, 2, 3, 4)}
    acknowledged_issues: list[dict] = []
    acknowledged_finishes: list[int] = []
    stop = threading.Event()

    def issuer(service):
        s = requests.Session()
        while not stop.is_set():
            try:
                r = s.post(live.url + "/api/tickets", json={"service": service},
                           headers=bearer(kiosk), timeout=5)
            except requests.RequestException:
                return
            if r.status_code == 201:
                acknowledged_issues.append(r.json())

    def window(n):
        s = requests.Session()
        while not stop.is_set():
            try:
                r = s.post(live.url + f"/api/windows/{n}/call-next", headers=bearer(clerks[n]), timeout=5)
                if r.status_code == 200:
                    tid = r.json()["id"]
                    f = s.post(live.url + f"/api/tickets/{tid}/finish", headers=bearer(clerks[n]), timeout=5)
                    if f.status_code == 200:
                        acknowledged_finishes.append(tid)
            except requests.RequestException:
                return

    threads = [threading.Thread(target=issuer, args=(c,)) for c in ("A", "B", "A")]
    threads += [threading.Thread(target=window, args=(n,)) for n in clerks]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acknowledged_finishes) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    live.kill(signal.SIGKILL)  # mid-burst: requests are in flight
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acknowledged_issues) > 40 and len(acknowledged_finishes) >= 40

    # the file itself is sound
    db = sqlite3.connect(hall_dir / "data" / "qrate.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()

    live.start()
    try:
        for t in acknowledged_issues:
            r = requests.get(live.url + f"/api/tickets/{t['id']}", headers=bearer(kiosk))
            assert r.status_code == 200, t
            assert r.json()["number"] == t["number"]
        for tid in acknowledged_finishes:
            assert requests.get(live.url + f"/api/tickets/{tid}",
                                headers=bearer(kiosk)).json()["status"] == "done"
        # work goes on after the restart
        assert requests.post(live.url + "/api/tickets", json={"service": "A"},
                             headers=bearer(kiosk)).status_code == 201
    finally:
        live.kill(signal.SIGTERM)

    cfg = config.load(hall_dir)
    h = Operations(cfg)
    try:
        assert_replay_matches(h)
        with h.store() as s:
            orphans = s.db.execute(
                "SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM ticket_events e "
                "WHERE e.ticket = t.id AND e.type = 'ticket.issued')").fetchone()[0]
            jobs = s.db.execute("SELECT count(*) FROM tickets t WHERE NOT EXISTS "
                                "(SELECT 1 FROM print_jobs j WHERE j.ticket = t.id)").fetchone()[0]
            gaps = s.db.execute(
                "SELECT issue_service, count(*), max(seq) FROM tickets GROUP BY day, issue_service").fetchall()
        assert orphans == 0 and jobs == 0
        assert all(count == top for _, count, top in gaps), "numbers run without holes"
    finally:
        h.close()


def test_sigterm_mid_burst_stops_the_server_at_once(live):
    """A hall PC shutting down sends SIGTERM while kiosks and the print spool are busy:
    the server stops within seconds (it once hung for good when the signal arrived while
    the loop held the thread pool's queue lock), and a restart finds every issued ticket."""
    kiosk = live.device_token("kiosk-1", "kiosk")
    for _ in range(3):
        issued: list[dict] = []
        stop = threading.Event()

        def issuer():
            s = requests.Session()
            while not stop.is_set():
                try:
                    r = s.post(live.url + "/api/tickets", json={"service": "A"},
                               headers=bearer(kiosk), timeout=5)
                except requests.RequestException:
                    return
                if r.status_code == 201:
                    issued.append(r.json())

        threads = [threading.Thread(target=issuer) for _ in range(3)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(issued) < 15 and time.monotonic() < deadline:
            time.sleep(0.02)
        started = time.monotonic()
        live.proc.send_signal(signal.SIGTERM)
        live.proc.wait(8)  # TimeoutExpired here is the hang
        assert time.monotonic() - started < 8
        stop.set()
        for t in threads:
            t.join(10)
        live.log.close()
        live.start()
        for t in issued:
            r = requests.get(live.url + f"/api/tickets/{t['id']}", headers=bearer(kiosk), timeout=5)
            assert r.status_code == 200 and r.json()["number"] == t["number"]
