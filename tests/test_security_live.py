"""The sign-in's password hashing never holds the server's loop (a real `qrate serve`)."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.conftest import PASSWORD

pytestmark = pytest.mark.live


def test_wrong_passwords_in_a_burst_leave_healthz_answering(live):
    live.cli("user", "add", "9000", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    session = requests.Session()
    t0 = time.perf_counter()
    assert session.post(live.url + "/api/login", json={"user": "9000", "password": "wrong"},
                        timeout=10).status_code == 401
    one_hash = time.perf_counter() - t0
    stop = threading.Event()

    def hammer(user):
        s = requests.Session()
        while not stop.is_set() and n[0] < 30:
            s.post(live.url + "/api/login", json={"user": user, "password": "wrong"}, timeout=10)
            n[0] += 1
    n = [0]
    # unknown users cost a (dummy) hash like known ones; each name gets 5 tries, then 429s
    threads = [threading.Thread(target=hammer, args=(u,)) for u in [f"u{i}" for i in range(5)]]
    for t in threads:
        t.start()
    lat = []
    try:
        time.sleep(0.2)
        for _ in range(15):
            t0 = time.perf_counter()
            assert session.get(live.url + "/healthz", timeout=10).ok
            lat.append(time.perf_counter() - t0)
            time.sleep(0.02)
    finally:
        stop.set()
        for t in threads:
            t.join()
    lat.sort()
    # with the hash on the loop, healthz would wait for whole hashes (four callers in a row);
    # off it, its median stays far below one hash (bench/bench_security.py prints the figures)
    assert lat[len(lat) // 2] < one_hash / 2, (one_hash, lat)
