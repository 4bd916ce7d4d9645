"""The "your turn is near" webhook against a real HTTP server started here: it fails,
the notifier retries, every attempt is logged, and a restart sends nothing twice."""
from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from server.app import create_app

from conftest import TZ, Accounts, FakeClock, PageClient

pytestmark = pytest.mark.api


class Gateway:
    """An SMS gateway stand-in: answers 500 to the first ``fail`` requests, then 200."""

    def __init__(self, fail: int):
        self.fail, self.received, self.answers = fail, [], []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.received.append((dict(self.headers), body))
                code = 500 if len(gateway.received) <= gateway.fail else 200
                gateway.answers.append(code)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    g = Gateway(fail=2)
    yield g
    g.close()


def make_app(hall_dir, clock):
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock})
    app.test_client_class = PageClient  # as the hall's own page: it names its origin
    return app


def configure(hall_dir, url, retries=5):
    text = (hall_dir / "hall.toml").read_text(encoding="utf-8")
    text = text.replace('webhook = { url = "", retries = 5, timeout_s = 5, backoff_s = 2 }',
                        f'webhook = {{ url = "{url}", retries = {retries}, timeout_s = 2, backoff_s = 0 }}')
    text = text.replace("near_places = 3", "near_places = 1")
    (hall_dir / "hall.toml").write_text(text, encoding="utf-8")


def test_near_and_called_notices_retry_and_never_repeat(hall_dir, gateway):
    configure(hall_dir, gateway.url)
    clock = FakeClock(datetime(2026, 11, 30, 9, 0, tzinfo=TZ))
    app = make_app(hall_dir, clock)
    client = app.test_client()
    acc = Accounts(app.extensions["qrate"], client)
    kiosk, clerk = acc.device("kiosk"), acc.clerk(1)
    booked = client.post("/api/appointments", json={
        "service": "A", "slot": datetime(2026, 11, 30, 9, 30, tzinfo=TZ).isoformat(),
        "name": "张三", "phone": "13800001234", "id_last4": "1234"}).get_json()
    clock.set(datetime(2026, 11, 30, 9, 10, tzinfo=TZ))
    a = client.post("/api/tickets", json={"service": "A"}, headers=kiosk).get_json()
    b = client.post("/api/tickets", json={"service": "A"}, headers=kiosk).get_json()
    c = client.post("/api/tickets", json={"service": "A"}, headers=kiosk).get_json()
    notifier = app.extensions["qrate_notifier"]
    # near_places = 1: a (0 ahead) and b (1 ahead) are near; c is not yet
    assert notifier.deliver_due() == 0  # the gateway fails both ...
    assert gateway.answers == [500, 500]
    assert notifier.deliver_due() == 2  # ... and takes both at the retry
    near = [body["ticket"]["number"] for _, body in gateway.received]
    assert sorted(near) == sorted([a["number"], b["number"]] * 2)
    rows = {r["ticket"]: r for r in notifier.log_rows()}
    assert rows[a["id"]]["attempts"] == 2 and rows[a["id"]]["status"] == "sent"
    assert rows[a["id"]]["last_error"] == "HTTP 500"  # kept: why the first attempt failed
    headers, body = gateway.received[-1]
    assert headers["Idempotency-Key"].startswith("qrate-notice-") and body["event"] == "ticket.near"
    assert "前面还有" in body["text"] and body["appointment"] is None

    # the appointment checks in: it queues by its slot (09:30), after a, b, c
    clock.set(datetime(2026, 11, 30, 9, 20, tzinfo=TZ))
    appt = client.post(f"/api/appointments/{booked['code']}/check-in", headers=kiosk).get_json()
    called = client.post("/api/windows/1/call-next", headers=clerk).get_json()
    assert called["id"] == a["id"]
    client.post(f"/api/tickets/{a['id']}/recall", headers=clerk)  # no second "called"
    before = len(gateway.received)
    assert notifier.deliver_due() == 2  # a called; c now 1 ahead
    kinds = sorted((body["event"], body["ticket"]["number"]) for _, body in gateway.received[before:])
    assert kinds == [("ticket.called", a["number"]), ("ticket.near", c["number"])]
    assert gateway.received[before][1]["ticket"]["window"] in (1, None)
    app.extensions["qrate"].close()

    # a restart: the same queue, nothing is sent again; the next move notices only the new one
    app2 = make_app(hall_dir, clock)
    client2 = app2.test_client()
    acc2 = Accounts(app2.extensions["qrate"], client2)
    notifier2 = app2.extensions["qrate_notifier"]
    assert notifier2.deliver_due() == 0
    clerk2 = acc2.clerk(2, "2002")
    client2.post("/api/windows/2/call-next", headers=clerk2)  # takes b
    before = len(gateway.received)
    notifier2.deliver_due()
    new = [(body["event"], body["ticket"]["number"]) for _, body in gateway.received[before:]]
    assert ("ticket.called", b["number"]) in new and ("ticket.near", appt["number"]) in new
    assert ("ticket.near", c["number"]) not in new
    phone = [body for _, body in gateway.received if body["ticket"]["number"] == appt["number"]]
    assert phone[0]["appointment"]["phone"] == "13800001234"
    app2.extensions["qrate"].close()


def test_a_gateway_that_never_answers_is_given_up_and_logged(hall_dir):
    configure(hall_dir, "http://127.0.0.1:9/unreachable", retries=2)
    clock = FakeClock(datetime(2026, 11, 30, 9, 0, tzinfo=TZ))
    app = make_app(hall_dir, clock)
    client = app.test_client()
    acc = Accounts(app.extensions["qrate"], client)
    client.post("/api/tickets", json={"service": "A"}, headers=acc.device("kiosk"))
    notifier = app.extensions["qrate_notifier"]
    assert notifier.deliver_due() == 0 and notifier.deliver_due() == 0
    row = notifier.log_rows()[0]
    assert row["status"] == "failed" and row["attempts"] == 2 and "Error" in row["last_error"]
    assert notifier.deliver_due() == 0  # given up: not tried again
    assert notifier.log_rows()[0]["attempts"] == 2
    app.extensions["qrate"].close()
