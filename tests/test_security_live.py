"""The sign-in's password hashing never holds the server's loop (a real `qrate serve`)."""
from __future__ import annotations

import signal
import sqlite3
import threading
import time

import pytest
import requests

from server import auth
from tests.conftest import PASSWORD, LiveServer, bearer

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


def _expiry(live, token_hash_: str) -> float:
    with sqlite3.connect(live.hall_dir / "data" / "qrate.db") as db:
        return db.execute("SELECT expires_ts FROM tokens WHERE hash = ?", [token_hash_]).fetchone()[0]


def _expire(live, token_hash_: str) -> None:
    """Move the stored expiry into the past, as the hours passing would."""
    with sqlite3.connect(live.hall_dir / "data" / "qrate.db", timeout=10) as db:
        db.execute("UPDATE tokens SET expires_ts = ? WHERE hash = ?", [time.time() - 1, token_hash_])


def test_sign_ins_and_device_links_expire_after_the_halls_hours_and_days(hall_dir):
    with (hall_dir / "hall.toml").open("a", encoding="utf-8") as f:
        f.write("\n[auth]\nuser_token_hours = 2\ndevice_token_days = 3\n")
    live = LiveServer(hall_dir).start()
    try:
        assert (live.hall_dir / "data" / "qrate.db").exists()
        live.cli("user", "add", "9002", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        login = {"user": "9002", "password": PASSWORD}
        t0 = time.time()
        token = requests.post(live.url + "/api/login", json=login, timeout=10).json()["token"]
        assert abs(_expiry(live, auth.token_hash(token)) - (t0 + 2 * 3600)) < 60  # [auth] user_token_hours
        assert requests.get(live.url + "/api/me", headers=bearer(token), timeout=5).status_code == 200

        kiosk = live.device_token("exp-kiosk", "kiosk")
        assert abs(_expiry(live, auth.token_hash(kiosk)) - (t0 + 3 * 86400)) < 120  # device_token_days
        # the kiosk page's cookie lives as long as the device's link, not a fixed 180 days
        page = requests.get(live.url + "/kiosk", params={"token": kiosk}, timeout=10)
        cookie = next(c for c in page.cookies if c.name == "session")
        assert abs(cookie.expires - _expiry(live, auth.token_hash(kiosk))) < 5

        _expire(live, auth.token_hash(token))
        _expire(live, auth.token_hash(kiosk))
        for t in (token, kiosk):
            r = requests.get(live.url + "/api/me", headers=bearer(t), timeout=5)
            assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired", r.text
        # the page's cookie of the expired link says so too
        r = requests.get(live.url + "/api/me", cookies={"session": cookie.value}, timeout=5)
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
        # a wrong token is no expired one
        r = requests.get(live.url + "/api/me", headers=bearer("x" * 43), timeout=5)
        assert r.json()["error"]["code"] == "unauthorized"
        # a fresh sign-in works at once
        again = requests.post(live.url + "/api/login", json=login, timeout=10).json()["token"]
        assert requests.get(live.url + "/api/me", headers=bearer(again), timeout=5).json()["role"] == "manager"
    finally:
        live.kill(signal.SIGTERM)
