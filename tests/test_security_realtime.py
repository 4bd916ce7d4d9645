"""Personal data over Socket.IO, through a real `qrate serve` and real python-socketio
clients: an unauthenticated client gets every event (every seq) and no staff-only field;
the window's clerk and the managers get the clerks' reasons and notes whole."""
from __future__ import annotations

import json
import threading
import time

import pytest
import requests
import socketio

from tests.conftest import PASSWORD, bearer

pytestmark = pytest.mark.live

SECRET = "张三 13800138000"  # what a clerk might type into a reason: a citizen's name and phone


class Listener:
    def __init__(self, url: str, token: str | None = None):
        self.events: list[dict] = []
        self.windows: list[dict] = []
        self.snapshot: dict | None = None
        self.cond = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("snapshot", lambda d: self._got("snapshot", d))
        self.sio.on("event", lambda d: self._got("event", d))
        self.sio.on("window", lambda d: self._got("window", d))
        self.sio.connect(url, transports=["websocket"], auth={"token": token} if token else None,
                         wait_timeout=10)
        self.wait_for(lambda: self.snapshot is not None)

    def _got(self, name, data):
        with self.cond:
            if name == "snapshot":
                self.snapshot = self.snapshot or data
            else:
                (self.events if name == "event" else self.windows).append(data)
            self.cond.notify_all()

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                assert left > 0, [(e.get("type"), e.get("seq")) for e in self.events]
                self.cond.wait(left)

    def seqs(self) -> list[int]:
        return [e["seq"] for e in self.events]


def test_an_unauthenticated_client_gets_every_event_without_staff_only_fields(live):
    kiosk = bearer(live.device_token("kiosk-1", "kiosk"))
    pad = live.device_token("pad-1", "pad", 1)
    clerk1 = live.clerk_token("1001", 1)
    clerk2 = live.clerk_token("1002", 2)
    live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    manager = requests.post(live.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                            timeout=5).json()["token"]
    anyone, pad_client = Listener(live.url), Listener(live.url, pad)
    at1, at2, boss = Listener(live.url, clerk1), Listener(live.url, clerk2), Listener(live.url, manager)
    start = anyone.snapshot["seq"]
    try:
        post = lambda path, body=None, who=clerk1: requests.post(  # noqa: E731
            live.url + path, json=body, headers=bearer(who), timeout=5)
        a1, a2, a3 = (requests.post(live.url + "/api/tickets", json={"service": "A"}, headers=kiosk,
                                    timeout=5).json() for _ in range(3))
        assert post("/api/windows/1/call", {"ticket": a2["id"], "reason": SECRET}).status_code == 200
        assert post(f"/api/tickets/{a2['id']}/park", {"note": SECRET}).status_code == 200
        assert post(f"/api/tickets/{a2['id']}/cancel", {"reason": SECRET}).status_code == 200
        assert post(f"/api/tickets/{a3['id']}/transfer", {"service": "B", "note": SECRET}).status_code == 200
        assert post("/api/windows/1/pause", {"reason": SECRET}).status_code == 200
        r = requests.put(live.url + "/api/notice", json={"text": "请保管好随身物品"},
                         headers=bearer(manager), timeout=5)
        assert r.status_code == 200
        last = requests.get(live.url + "/api/queue", timeout=5).json()["seq"]
        for c in (anyone, pad_client, at1, at2, boss):
            c.wait_for(lambda c=c: c.events and c.events[-1]["seq"] >= last)
        every = list(range(start + 1, last + 1))
        for c in (anyone, pad_client, at1, at2, boss):
            assert [s for s in c.seqs() if s > start] == every, "every client sees every seq once"

        public = json.dumps(anyone.events + pad_client.events + pad_client.windows + at2.events,
                            ensure_ascii=False)
        assert "13800138000" not in public and "张三" not in public
        assert '"by"' not in public  # who wrote the notice is staff-only
        called = next(e for e in anyone.events if e["type"] == "ticket.called")
        assert called["ticket"]["number"] == a2["number"] and "reason" not in called
        assert pad_client.windows, "the window's pad still gets the window's events"

        # the window's own clerk and the managers get them whole
        mine = {e["type"]: e for e in at1.events}
        assert mine["ticket.called"]["reason"] == SECRET
        assert mine["ticket.parked"]["note"] == SECRET
        assert mine["ticket.cancelled"]["reason"] == SECRET
        assert mine["window.changed"]["reason"] == SECRET
        boss_text = json.dumps(boss.events, ensure_ascii=False)
        assert boss_text.count(SECRET) == 5 and '"by"' in boss_text
        # a clerk at another window sees window 1's events without the staff-only fields
        assert SECRET not in json.dumps(at2.events, ensure_ascii=False)
    finally:
        for c in (anyone, pad_client, at1, at2, boss):
            c.sio.disconnect()

