"""Personal data over Socket.IO, through a real `qrate serve` and real python-socketio
clients: an unauthenticated client gets every event (every seq) and no staff-only field;
the window's clerk and the managers get the clerks' reasons and notes whole."""
from __future__ import annotations

import json

import pytest
import requests

from tests.conftest import PASSWORD, Listener, bearer

pytestmark = pytest.mark.live

SECRET = "张三 13800138000"  # what a clerk might type into a reason: a citizen's name and phone


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
        every = list(range(start + 1, last + 1))
        # every seq up to the last, in any arrival order (each message's handler runs in a thread
        # of its own); the print spool's events may come after it
        for c in (anyone, pad_client, at1, at2, boss):
            c.wait_until(lambda c=c: set(every) <= set(c.seqs()))
        for c in (anyone, pad_client, at1, at2, boss):
            assert sorted(s for s in c.seqs() if start < s <= last) == every, "every client sees every seq once"
            assert len(c.seqs()) == len(set(c.seqs())), "no seq twice"

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
            c.close()

