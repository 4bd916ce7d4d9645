"""Ratings the hall can trust: only the ticket just finished at the pad's window, once, not too fast."""
import pytest

from conftest import Accounts
from server.app import create_app

pytestmark = pytest.mark.api


@pytest.fixture
def app(hall_dir):
    app = create_app({"HALL": hall_dir, "TESTING": True,
                      "HALL_OVERRIDES": {"ratings": {"press_burst": 50, "presses_per_minute": 600}}})
    yield app
    app.extensions["qrate"].close()


@pytest.fixture
def desk(app, client):
    """Window 3 with a clerk, a kiosk and the window's pad."""
    acc = Accounts(app.extensions["qrate"], client)
    return {"kiosk": acc.device("kiosk"), "clerk": acc.clerk(3), "pad": acc.device("pad", 3),
            "pad4": acc.device("pad", 4), "accounts": acc}


def serve_one(client, desk, service="A") -> dict:
    t = client.post("/api/tickets", json={"service": service}, headers=desk["kiosk"]).get_json()
    called = client.post("/api/windows/3/call-next", headers=desk["clerk"]).get_json()
    assert called["id"] == t["id"]
    done = client.post(f"/api/tickets/{t['id']}/finish", headers=desk["clerk"]).get_json()
    assert done["status"] == "done"
    return t


def test_pad_rates_the_ticket_just_finished(client, desk):
    t = serve_one(client, desk)
    state = client.get("/api/pad/state", headers=desk["pad"]).get_json()
    assert state["pending"]["ticket"] == t["id"] and state["pending"]["number"] == "A001"
    assert state["clerk"]["employee_no"] == "1003" and state["clerk"]["commitment"]
    r = client.post("/api/ratings", json={"ticket": t["id"], "score": 4}, headers=desk["pad"])
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["window"], body["clerk"], body["service"], body["source"]) == (3, "1003", "A", "touch")
    again = client.post("/api/ratings", json={"ticket": t["id"], "score": 5}, headers=desk["pad"])
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_rated"
    state = client.get("/api/pad/state", headers=desk["pad"]).get_json()
    assert state["pending"] is None
    assert state["satisfaction"]["ratings"] == 1 and state["satisfaction"]["satisfied_rate"] == 1.0


def test_only_the_last_finished_ticket_can_be_rated(client, desk):
    first = serve_one(client, desk)
    second = serve_one(client, desk)
    r = client.post("/api/ratings", json={"ticket": first["id"], "score": 5}, headers=desk["pad"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_latest"
    assert "A002" not in r.get_json()["error"]["message_en"]
    r = client.post("/api/ratings", json={"ticket": second["id"], "score": 5}, headers=desk["pad"])
    assert r.status_code == 201


def test_another_windows_pad_and_unserved_tickets_are_refused(client, desk):
    t = serve_one(client, desk)
    r = client.post("/api/ratings", json={"ticket": t["id"], "score": 5}, headers=desk["pad4"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_rateable"
    waiting = client.post("/api/tickets", json={"service": "A"}, headers=desk["kiosk"]).get_json()
    r = client.post("/api/ratings", json={"ticket": waiting["id"], "score": 5}, headers=desk["pad"])
    assert r.status_code == 409
    r = client.post("/api/ratings", json={"ticket": t["id"], "score": 5}, headers=desk["clerk"])
    assert r.status_code == 403
    r = client.post("/api/ratings", json={"ticket": t["id"], "score": 2, "reasons": ["bribe"]},
                    headers=desk["pad"])
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "unknown_reason"


def test_rating_is_logged_with_source_and_device_and_seq_stays_gap_free(app, client, desk):
    t = serve_one(client, desk)
    client.post("/api/ratings", json={"ticket": t["id"], "score": 3}, headers=desk["pad"])
    with app.extensions["qrate"].store() as s:
        seqs = [r[0] for r in s.db.execute("SELECT seq FROM ticket_events ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))
        kind, data = s.db.execute("SELECT type, data FROM ticket_events ORDER BY seq DESC LIMIT 1").fetchone()
        assert kind == "rating.created" and '"source": "touch"' in data
        device = s.db.execute("SELECT device FROM ratings").fetchone()[0]
        assert device.startswith("pad-3-")


def test_presses_are_rate_limited(hall_dir):
    app = create_app({"HALL": hall_dir, "TESTING": True,
                      "HALL_OVERRIDES": {"ratings": {"press_burst": 2, "presses_per_minute": 1}}})
    client = app.test_client()
    acc = Accounts(app.extensions["qrate"], client)
    desk = {"kiosk": acc.device("kiosk"), "clerk": acc.clerk(3), "pad": acc.device("pad", 3)}
    t = serve_one(client, desk)
    codes = [client.post("/api/ratings", json={"ticket": t["id"] + 100, "score": 5},
                         headers=desk["pad"]).status_code for _ in range(2)]
    assert codes == [404, 404]  # unknown tickets never reach the guard
    first = client.post("/api/ratings", json={"ticket": t["id"], "score": 5}, headers=desk["pad"])
    second = client.post("/api/ratings", json={"ticket": t["id"], "score": 5}, headers=desk["pad"])
    third = client.post("/api/ratings", json={"ticket": t["id"], "score": 5}, headers=desk["pad"])
    assert (first.status_code, second.status_code, third.status_code) == (201, 409, 429)
    assert third.get_json()["error"]["code"] == "rate_limited"
    manager = acc.manager()
    flags = client.get("/api/ratings/flags", headers=manager).get_json()["flags"]
    assert {"window": 3, "kind": "refused_presses"}.items() <= flags[0].items()
    app.extensions["qrate"].close()


def test_flags_for_patterns_that_cannot_be_honest(hall_dir):
    app = create_app({"HALL": hall_dir, "TESTING": True, "HALL_OVERRIDES": {"ratings": {
        "press_burst": 50, "presses_per_minute": 600,
        "flags": {"min_ratings": 6, "burst_count": 5, "short_service_s": 60}}}})
    client = app.test_client()
    acc = Accounts(app.extensions["qrate"], client)
    desk = {"kiosk": acc.device("kiosk"), "clerk": acc.clerk(3), "pad": acc.device("pad", 3)}
    for _ in range(6):  # six instant "services", each rated 5 at once
        t = serve_one(client, desk)
        assert client.post("/api/ratings", json={"ticket": t["id"], "score": 5},
                           headers=desk["pad"]).status_code == 201
    flags = client.get("/api/ratings/flags", headers=acc.manager()).get_json()["flags"]
    kinds = {(f["window"], f["kind"]) for f in flags}
    assert kinds == {(3, "all_top_score"), (3, "hollow_burst")}
    app.extensions["qrate"].close()


def test_pad_page_keeps_its_token_and_refuses_others(app, desk):
    fresh = app.test_client()
    r = fresh.get("/pad")
    assert r.status_code == 401 and "此评价器尚未设置" in r.get_data(as_text=True)
    token = desk["pad"]["Authorization"].split()[1]
    r = fresh.get(f"/pad?token={token}")
    assert r.status_code == 302 and r.headers["Location"].endswith("/pad")
    page = fresh.get("/pad").get_data(as_text=True)
    assert 'data-window="3"' in page and "请您对本次服务作出评价" in page
    kiosk_only = app.test_client()
    kiosk_token = desk["kiosk"]["Authorization"].split()[1]
    kiosk_only.get(f"/pad?token={kiosk_token}")
    assert kiosk_only.get("/pad").status_code == 401  # a kiosk token is not a pad
    photo = fresh.get("/pad/photo/1003")
    assert photo.mimetype == "image/svg+xml" and "张" in photo.get_data(as_text=True)
