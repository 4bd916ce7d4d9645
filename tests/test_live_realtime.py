"""End to end through a real `qrate serve`: HTTP API and a real Socket.IO client."""
from __future__ import annotations

import requests

import pytest

from conftest import Listener, bearer

pytestmark = pytest.mark.live


def gap_free(seqs: list[int], after: int) -> bool:
    """Every seq from ``after`` + 1 to the highest received, each once (in any arrival order)."""
    return sorted(seqs) == list(range(after + 1, after + 1 + len(seqs)))


def test_issue_call_finish_pushes_snapshot_then_events_in_order(live):
    kiosk = live.device_token("kiosk-1", "kiosk")
    clerk = live.clerk_token("1003", 3)
    lobby = Listener(live.url)
    try:
        snap = lobby.snapshot  # the Listener waits for it before the test acts
        assert lobby.received[0][0] == "snapshot"
        assert snap["tickets"] == [] and {w["number"] for w in snap["windows"]} >= {3}
        window3 = next(w for w in snap["windows"] if w["number"] == 3)
        assert window3["status"] == "open" and window3["clerk"]["employee_no"] == "1003"

        r = requests.post(live.url + "/api/tickets", json={"service": "A"}, headers=bearer(kiosk))
        assert r.status_code == 201
        ticket = r.json()
        assert ticket["number"] == "A001" and ticket["waiting_ahead"] == 0
        r = requests.post(live.url + "/api/windows/3/call-next", headers=bearer(clerk))
        assert r.status_code == 200 and r.json()["id"] == ticket["id"]
        r = requests.post(live.url + f"/api/tickets/{ticket['id']}/finish", headers=bearer(clerk))
        assert r.status_code == 200 and r.json()["status"] == "done"

        def ticket_events(got):
            return [d for name, d in got[1:] if name == "event" and d["type"].startswith("ticket.")]
        # all three, and every event before them (a print job's event may still be on its way)
        lobby.wait_until(lambda: len(ticket_events(lobby.received)) >= 3 and gap_free(lobby.seqs(), snap["seq"]))
        assert {name for name, _ in lobby.received[1:]} == {"event"}
        # the server's order is the seq: the client's handlers may run out of arrival order
        every = sorted((d for _, d in lobby.received[1:]), key=lambda e: e["seq"])
        # the print spool's job states are events too (print.changed), between the ticket's
        assert {e["type"] for e in every} <= {"ticket.issued", "ticket.called", "ticket.finished",
                                              "print.changed"}
        events = sorted(ticket_events(lobby.received), key=lambda e: e["seq"])
        assert [e["type"] for e in events] == ["ticket.issued", "ticket.called", "ticket.finished"]
        seqs = [e["seq"] for e in every]
        assert seqs == list(range(snap["seq"] + 1, snap["seq"] + 1 + len(every))), "gap-free, each once"
        assert events[1]["window"] == 3 and events[1]["ticket"]["number"] == "A001"
        assert events[2]["ticket"]["status"] == "done"
        assert all("token" not in str(e) and "key" not in e["ticket"] for e in events)
    finally:
        lobby.close()


def test_reconnecting_client_gets_a_fresh_snapshot(live):
    kiosk = live.device_token("kiosk-1", "kiosk")
    clerk = live.clerk_token("1001", 1)
    first = Listener(live.url)
    first.close()
    # changes while the client is away
    numbers = [requests.post(live.url + "/api/tickets", json={"service": "E"},
                             headers=bearer(kiosk)).json()["number"] for _ in range(3)]
    called = requests.post(live.url + "/api/windows/1/call-next", headers=bearer(clerk)).json()
    again = Listener(live.url)
    try:
        name, snap = again.received[0]
        assert name == "snapshot"
        assert snap["seq"] > first.snapshot["seq"]
        by_number = {t["number"]: t for t in snap["tickets"]}
        assert set(by_number) == set(numbers)
        assert by_number[called["number"]]["status"] == "called"
        assert by_number[called["number"]]["window"] == 1
        assert snap["calls"][0]["number"] == called["number"]
        assert next(s for s in snap["services"] if s["code"] == "E")["waiting"] == 2
        # the snapshot equals GET /api/queue apart from its clock (and its seq: the print
        # spool may record a printed job, an event that changes no ticket, in between)
        api = requests.get(live.url + "/api/queue").json()
        assert api["seq"] >= snap["seq"]
        assert {k: v for k, v in api.items() if k not in ("at", "seq")} == \
            {k: v for k, v in snap.items() if k not in ("at", "seq")}
    finally:
        again.close()


def test_many_clients_see_the_same_sequence(live):
    kiosk = live.device_token("kiosk-1", "kiosk")
    clients = [Listener(live.url) for _ in range(5)]
    try:
        for _ in range(10):
            assert requests.post(live.url + "/api/tickets", json={"service": "B"},
                                 headers=bearer(kiosk)).status_code == 201
        def issued(got):
            return [d["seq"] for n, d in got if n == "event" and d["type"] == "ticket.issued"]
        for c in clients:
            c.wait_until(lambda c=c: len(issued(c.received)) >= 10 and gap_free(c.seqs(), c.snapshot["seq"]))
        # by seq: each client's handlers may run out of arrival order (live.js sorts by seq too)
        sequences = [sorted(issued(c.received)) for c in clients]
        assert all(s == sequences[0] for s in sequences)
        assert len(sequences[0]) == len(set(sequences[0])) == 10
        # and each client's whole sequence (print jobs' events too) has no gap, each seq once
        for c in clients:
            every = sorted(c.seqs())
            assert every == list(range(every[0], every[0] + len(every))), \
                [(n, d.get("type"), d.get("seq")) for n, d in c.received]
    finally:
        for c in clients:
            c.close()


def test_tokens_survive_a_restart(live):
    kiosk = live.device_token("kiosk-1", "kiosk")
    clerk = live.clerk_token("1002", 2)
    live.kill()
    live.start()
    assert requests.post(live.url + "/api/tickets", json={"service": "A"},
                         headers=bearer(kiosk)).status_code == 201
    r = requests.post(live.url + "/api/windows/2/call-next", headers=bearer(clerk))
    assert r.status_code == 200 and r.json()["number"] == "A001"
