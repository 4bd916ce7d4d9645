"""一次一评 through a real `qrate serve` and real Socket.IO clients: the business system's
request reaches the window's pad (without the case number: public) and the managers (with
it); the pad rates the case through the API and everyone sees the rating."""
from __future__ import annotations

import requests

import pytest

from conftest import PASSWORD, Listener, bearer

pytestmark = pytest.mark.live


def test_a_rating_request_is_pushed_to_the_pad_and_the_rating_keeps_the_case(live):
    system = live.device_token("yichuang-1", "integration")  # `qrate device add ... --kind integration`
    pad = live.device_token("pad-3", "pad", 3)
    live.clerk_token("1003", 3)
    live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    manager = requests.post(live.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                            timeout=5).json()["token"]
    pad_sio, mgr_sio = Listener(live.url, pad), Listener(live.url, manager)
    try:
        for sio in (pad_sio, mgr_sio):
            sio.wait_for(lambda got: any(n == "snapshot" for n, _ in got))
        r = requests.post(live.url + "/api/windows/3/rating-request", headers=bearer(system), timeout=5,
                          json={"case_no": "BJ2026112700555", "matter_code": "M-9", "matter_name": "社保转移"})
        assert r.status_code == 201, r.text
        request_id = r.json()["request"]

        def asked(got):
            return any(n == "event" and d.get("type") == "rating.requested" for n, d in got)
        pad_sio.wait_for(asked)
        mgr_sio.wait_for(asked)
        to_pad = next(d for n, d in pad_sio.received if n == "event" and d.get("type") == "rating.requested")
        to_mgr = next(d for n, d in mgr_sio.received if n == "event" and d.get("type") == "rating.requested")
        assert to_pad["window"] == 3 and to_pad["request"] == request_id and to_pad["ticket_id"] is None
        assert "case_no" not in to_pad and "matter_name" not in to_pad  # public: no case number
        assert to_mgr["case_no"] == "BJ2026112700555" and to_mgr["matter_name"] == "社保转移"
        # the pad learns the case from its own state, and rates it
        state = requests.get(live.url + "/api/pad/state", headers=bearer(pad), timeout=5).json()
        assert state["pending"]["case_no"] == "BJ2026112700555"
        r = requests.post(live.url + "/api/ratings", headers=bearer(pad), timeout=5,
                          json={"request": request_id, "score": 5, "dimensions": {"attitude": 5}})
        assert r.status_code == 201, r.text

        def rated(got):
            return any(n == "event" and d.get("type") == "rating.created" for n, d in got)
        mgr_sio.wait_for(rated)
        created = next(d for n, d in mgr_sio.received if n == "event" and d.get("type") == "rating.created")
        assert created["case_no"] == "BJ2026112700555" and created["request"] == request_id
        assert created["ticket_id"] is None and created["score"] == 5
    finally:
        pad_sio.close()
        mgr_sio.close()
