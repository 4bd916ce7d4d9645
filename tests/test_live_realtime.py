"""End to end through a real `qrate serve`: HTTP API and a real Socket.IO client."""
from __future__ import annotations

import threading
import time

import requests
import socketio

import pytest

from conftest import bearer

pytestmark = pytest.mark.live


class Listener:
    """A python-socketio client that records what it receives, in order."""

    def __init__(self, url: str, token: str | None = None):
        self.received: list[tuple[str, dict]] = []
        self.cond = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("snapshot", lambda data: self._got("snapshot", data))
        self.sio.on("event", lambda data: self._got("event", data))
        self.sio.connect(url, transports=["websocket"], auth={"token": token} if token else None,
                         wait_timeout=10)

    def _got(self, name, data):
        with self.cond:
            self.received.append((name, data))
            self.cond.notify_all()

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self.received):
                left = deadline - time.monotonic()
                assert left > 0, f"timed out; got {[(n, d.get('type'), d.get('seq')) for n, d in self.received]}"
                self.cond.wait(left)

    def close(self):
        self.sio.disconnect()


def test_issue_call_finish_pushes_snapshot_then_events_in_order(live):
    kiosk = live.device_token("kiosk-1", "kiosk")
    clerk = live.clerk_token("1003", 3)
    lobby = Listener(live.url)
    try:
        lobby.wait_for(lambda got: len(got) >= 1)
        first, snap = lobby.received[0]
        assert first == "snapshot"
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
        lobby.wait_for(lambda got: len(ticket_events(got)) >= 3)
        assert {name for name, _ in lobby.received[1:]} == {"event"}
        every = [d for _, d in lobby.received[1:]]
        # the print spool's job states are events too (print.changed), between the ticket's
        assert {e["type"] for e in every} <= {"ticket.issued", "ticket.called", "ticket.finished",
                                              "print.changed"}
        events = ticket_events(lobby.received)
        assert [e["type"] for e in events] == ["ticket.issued", "ticket.called", "ticket.finished"]
        seqs = [e["seq"] for e in every]
        assert seqs == list(range(snap["seq"] + 1, snap["seq"] + 1 + len(every))), "gap-free, in order"
        assert events[1]["window"] == 3 and events[1]["ticket"]["number"] == "A001"
        assert events[2]["ticket"]["status"] == "done"
        assert all("token" not in str(e) and "key" not in e["ticket"] for e in events)
    finally:
        lobby.close()


def test_reconnecting_client_gets_a_fresh_snapshot(live):
    kiosk = live.device_token("kiosk-1", "kiosk")
    clerk = live.clerk_token("1001", 1)
    first = Listener(live.url)
    first.wait_for(lambda got: got)
    first.close()
    # changes while the client is away
    numbers = [requests.post(live.url + "/api/tickets", json={"service": "E"},
                             headers=bearer(kiosk)).json()["number"] for _ in range(3)]
    called = requests.post(live.url + "/api/windows/1/call-next", headers=bearer(clerk)).json()
    again = Listener(live.url)
    try:
        again.wait_for(lambda got: got)
        name, snap = again.received[0]
        assert name == "snapshot"
        assert snap["seq"] > first.received[0][1]["seq"]
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
            c.wait_for(lambda got: len(issued(got)) >= 10)
        sequences = [issued(c.received) for c in clients]
        assert all(s == sequences[0] for s in sequences)
        assert sequences[0] == sorted(sequences[0]) and len(set(sequences[0])) == 10
        # and each client's whole sequence (print jobs' events too) has no gap
        for c in clients:
            every = [d["seq"] for n, d in c.received if n == "event"]
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
