"""The expiry sweep and the webhook worker of a running `qrate serve` (no direct calls):
the hall clock runs a minute a second (QRATE_TEST_NOW + QRATE_TEST_SPEED), an unchecked
phone ticket expires by itself and the cancellation is pushed to a real Socket.IO client;
"your turn is near" and "called" notices reach a real HTTP server started here, the
first attempt fails (500) and is retried with the same Idempotency-Key, and a restart
of the server sends nothing twice."""
from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import datetime

import pytest
import requests

from server import auth, config, store

from conftest import PASSWORD, TZ, Listener, LiveServer, bearer
from test_appointments_notifier import Gateway

pytestmark = pytest.mark.live

START = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)  # a Monday


def configure(hall_dir, url: str) -> None:
    path = hall_dir / "hall.toml"
    text = path.read_text(encoding="utf-8")
    for old, new in (("remote_expire_min = 60", "remote_expire_min = 2"),
                     ("near_places = 3", "near_places = 1"),
                     ('webhook = { url = "", retries = 5, timeout_s = 5, backoff_s = 2 }',
                      f'webhook = {{ url = "{url}", retries = 5, timeout_s = 3, backoff_s = 0 }}')):
        assert old in text
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def accounts(hall_dir) -> str:
    """A kiosk token, a clerk 1001 and a manager 9001, written before the server starts
    (in process: the CLI's subprocesses cost seconds each on a loaded machine)."""
    cfg = config.load(hall_dir)
    store.open_and_migrate(cfg.db_path)
    db = store.connect(cfg.db_path)
    try:
        _, kiosk = auth.add_device(db, "kiosk-1", "kiosk", None)
        auth.add_user(db, "1001", "clerk", PASSWORD)
        auth.add_user(db, "9001", "manager", PASSWORD)
    finally:
        db.close()
    return kiosk


def login(server, user: str, window=None) -> dict:
    r = requests.post(server.url + "/api/login", json={"user": user, "password": PASSWORD, "window": window},
                      timeout=5)
    assert r.status_code == 200, r.text
    return bearer(r.json()["token"])


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def delivered(gateway) -> Counter:
    """(ticket id, event) → how many times the gateway answered 200."""
    return Counter((body["ticket"]["id"], body["event"])
                   for (_, body), code in zip(gateway.received, gateway.answers) if code == 200)


def started(hall_dir, now) -> LiveServer:
    # a stop while the report child answers (the start's warm-up) leaves it writing to a
    # closed pipe: its traceback is the house's known noise (as in test_hall_ops), not ours
    return LiveServer(hall_dir, now=now).allow(
        "BrokenPipeError|Traceback|child.py|worker.py|stream.write|send\\(|_run_").start()


def test_sweep_and_webhook_worker_of_a_running_server(hall_dir, monkeypatch):
    gateway = Gateway(fail=1)
    configure(hall_dir, gateway.url)
    kiosk = bearer(accounts(hall_dir))
    monkeypatch.setenv("QRATE_TEST_SPEED", "60")  # a hall minute each second
    servers = [started(hall_dir, START)]
    pushed = None
    try:
        server = servers[0]
        clerk = login(server, "1001", window=1)
        pushed = Listener(server.url)

        # a phone ticket nobody checks in: gone by itself after remote_expire_min (2 hall minutes)
        r = requests.post(server.url + "/api/remote-tickets", json={"service": "A"}, timeout=5)
        assert r.status_code == 201, r.text
        phone = r.json()
        gone = pushed.wait_for_event(lambda e: e.get("type") == "ticket.cancelled"
                               and (e.get("ticket") or {}).get("id") == phone["id"], timeout=30)
        assert gone["reason"] == "remote_expired"
        key = phone["status_url"].rsplit("/", 1)[1]
        assert requests.get(server.url + f"/api/status/{key}", timeout=5).json()["status"] == "cancelled"
        taken = datetime.fromisoformat(phone["issued_at"])
        assert (datetime.fromisoformat(gone["at"]) - taken).total_seconds() >= 120  # not before its time

        # walk-ins: the first two are near (0 and 1 ahead), the first is called
        t1, t2, t3 = (requests.post(server.url + "/api/tickets", json={"service": "A"}, headers=kiosk,
                                    timeout=5).json() for _ in range(3))
        called = requests.post(server.url + "/api/windows/1/call-next", headers=clerk, timeout=5).json()
        assert called["id"] == t1["id"]
        # t1 called: t2 is next (0 ahead), t3 one ahead: near too
        want = {(t1["id"], "ticket.near"), (t2["id"], "ticket.near"), (t1["id"], "ticket.called"),
                (t3["id"], "ticket.near")}
        wait_until(lambda: set(delivered(gateway)) >= want, 30, f"webhook got {gateway.received}")
        assert gateway.answers[0] == 500  # the first attempt failed ...
        first_key = gateway.received[0][0]["Idempotency-Key"]
        retried = [h["Idempotency-Key"] for (h, _), code in zip(gateway.received, gateway.answers) if code == 200]
        assert first_key in retried  # ... and the same notice was sent again, with its key
        assert all(n == 1 for n in delivered(gateway).values())
        called_body = next(b for (_, b) in gateway.received
                           if b["event"] == "ticket.called" and b["ticket"]["id"] == t1["id"])
        assert called_body["ticket"]["window"] == 1 and called_body["ticket"]["number"] == t1["number"]

        # the log the manager reads says the same: one notice took two attempts
        manager = login(server, "9001")
        log = requests.get(server.url + "/api/appointments/notices?day=2026-11-30", headers=manager,
                           timeout=5).json()
        assert log["counts"]["sent"] == 4 and log["counts"]["failed"] == 0
        retried_row = next(n for n in log["notices"] if f"qrate-notice-{n['id']}" == first_key)
        assert retried_row["attempts"] == 2 and retried_row["status"] == "sent"
        assert retried_row["last_error"] == "HTTP 500" and retried_row["tried_at"]  # why the first failed
        seen = len(gateway.received)

        # a restart: the server comes back where the hall clock had got to; nothing is sent twice
        now = server.hall_time()
        server.kill(signal.SIGTERM)  # a graceful stop (SIGKILL would orphan the report child)
        monkeypatch.delenv("QRATE_TEST_SPEED")
        servers.append(started(hall_dir, now))
        server = servers[-1]
        # a change after the restart: the listener looks at the queue again
        t4 = requests.post(server.url + "/api/tickets", json={"service": "A"}, headers=kiosk, timeout=5).json()
        requests.post(server.url + f"/api/tickets/{t1['id']}/finish", headers=clerk, timeout=5)
        called2 = requests.post(server.url + "/api/windows/1/call-next", headers=clerk, timeout=5).json()
        assert called2["id"] == t2["id"]
        # t2 called: t3 is next, t4 one ahead: t2's call and t4's near are new, t3 was told already
        new = {(t2["id"], "ticket.called"), (t4["id"], "ticket.near")}
        wait_until(lambda: set(delivered(gateway)) >= new, 30, f"after the restart the webhook got {gateway.received[seen:]}")
        time.sleep(2)  # the worker's next rounds: anything sent twice would arrive now
        got = delivered(gateway)
        assert all(n == 1 for n in got.values()), got
        assert len(gateway.received) == seen + 2, gateway.received[seen:]
    finally:
        if pushed is not None:
            pushed.close()
        for s in servers:
            s.kill(signal.SIGTERM)
        gateway.close()
