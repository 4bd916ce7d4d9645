"""The hall's limits through the API: the sign-in throttle, rate limits on what anyone may
ask, the snapshot outside the write lock, voice clips only for today's tickets and a
bounded clip cache, the published figures, the headers on every page."""
from __future__ import annotations

import statistics
import threading
import time

import pytest

from server.app import create_app
from tests.conftest import PASSWORD

pytestmark = pytest.mark.api


def code(r) -> str:
    return r.get_json()["error"]["code"]


def login(client, user, password, addr="10.0.0.7"):
    return client.post("/api/login", json={"user": user, "password": password},
                       environ_base={"REMOTE_ADDR": addr})


def test_wrong_passwords_are_throttled_per_account_and_address_without_locking_out(app, client, accounts):
    accounts.user("9001", "manager")
    throttle = app.extensions["qrate_security"]["login"]
    now = [1000.0]
    throttle.clock = lambda: now[0]  # the throttle's clock stands still unless moved
    codes = [login(client, "9001", "wrong").status_code for _ in range(10)]
    assert codes[:5] == [401] * 5
    assert 429 in codes[:10], "throttled after at most 10 failures"
    r = login(client, "9001", PASSWORD)
    assert r.status_code == 429 and code(r) == "login_throttled"
    assert r.get_json()["error"]["details"]["retry_after_s"] >= 1
    # the same account from another address, and another account from this one, are not held up
    assert login(client, "9001", PASSWORD, addr="10.0.0.8").status_code == 200
    accounts.user("1001", "clerk")
    assert client.post("/api/login", json={"user": "1001", "password": PASSWORD, "window": 1},
                       environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 200
    # no hard lockout: the delay passes, then the right password works and clears the count
    wait = throttle.wait(("9001", "10.0.0.7"))
    assert 0 < wait <= throttle.max_delay_s
    now[0] += wait - 0.1
    assert login(client, "9001", PASSWORD).status_code == 429
    now[0] += 0.2
    assert login(client, "9001", PASSWORD).status_code == 200
    assert throttle.wait(("9001", "10.0.0.7")) == 0 and login(client, "9001", "wrong").status_code == 401


def test_the_delay_grows_with_each_failure():
    from server.security import LoginThrottle
    t = LoginThrottle(free=5, max_delay_s=300, clock=lambda: 0.0)
    assert [t.delay(n) for n in range(4, 10)] == [0, 1, 2, 4, 8, 16]
    assert t.delay(40) == 300


def test_an_unknown_user_costs_a_password_hash_too(client, accounts):
    accounts.user("9001", "manager")
    login(client, "nobody", "x")  # the dummy hash is made once, at the first unknown user

    def timed(user):
        out = []
        for i in range(4):
            t0 = time.perf_counter()
            assert login(client, user, "wrong", addr=f"10.1.0.{i}").status_code == 401
            out.append(time.perf_counter() - t0)
        return statistics.median(out)
    known, unknown = timed("9001"), timed("nobody")
    # scrypt dominates both (tens of ms); an unhashed unknown user answered in well under 1 ms
    assert 0.25 < unknown / known < 4, (known, unknown)


@pytest.fixture
def tight(hall_dir):
    app = create_app({"HALL": hall_dir, "TESTING": True, "HALL_OVERRIDES": {
        "security": {"anonymous_per_minute": 60, "anonymous_burst": 5, "voice_burst": 2}}})
    yield app
    app.extensions["qrate"].close()


def test_requests_without_a_token_are_rate_limited_per_address(tight):
    client = tight.test_client()
    got = [client.get("/api/queue").status_code for _ in range(7)]
    assert got[:5] == [200] * 5 and got[5:] == [429, 429]
    r = client.get("/api/services")
    assert r.status_code == 429 and code(r) == "rate_limited" and int(r.headers["Retry-After"]) >= 1
    assert r.get_json()["error"]["message"]
    # another address (another phone) is not held up, nor is a caller with a token
    assert client.get("/api/queue", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200
    from tests.conftest import Accounts
    kiosk = Accounts(tight.extensions["qrate"]).device("kiosk")
    assert client.get("/api/queue", headers=kiosk).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_voice_requests_have_a_tighter_limit(tight):
    client = tight.test_client()
    got = [client.get("/api/voice/call/Z999/1.wav").status_code for _ in range(3)]
    assert got == [404, 404, 429]


def test_the_snapshot_never_waits_for_the_write_lock(app, client):
    ops = app.extensions["qrate"]
    held, release = threading.Event(), threading.Event()

    def writer():
        with ops.lock:
            held.set()
            release.wait(10)
    t = threading.Thread(target=writer)
    t.start()
    held.wait(5)
    try:
        done: list = []
        reader = threading.Thread(target=lambda: done.append(client.get("/api/queue").status_code))
        reader.start()
        reader.join(5)
        assert done == [200], "GET /api/queue waited for the write lock"
    finally:
        release.set()
        t.join()


def test_every_page_and_answer_carries_the_security_headers(client):
    for path in ("/kiosk", "/display", "/console", "/manage", "/pad", "/api/queue", "/api/nothing"):
        r = client.get(path)
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["X-Frame-Options"] == "SAMEORIGIN", path
        assert "frame-ancestors 'self'" in r.headers["Content-Security-Policy"], path
        assert r.headers["Referrer-Policy"] == "same-origin", path
        if r.mimetype == "text/html":
            csp = r.headers["Content-Security-Policy"]
            assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp
            nonce = csp.split("'nonce-")[1].split("'")[0]
            html = r.get_data(as_text=True)
            assert "<script>" not in html and f'nonce="{nonce}"' in html, path


def test_the_session_cookie_is_strict_and_holds_no_bearer_token(client, accounts):
    accounts.user("9001", "manager")
    r = client.post("/api/login", json={"user": "9001", "password": PASSWORD})
    cookie = r.headers["Set-Cookie"]
    assert "SameSite=Strict" in cookie and "HttpOnly" in cookie
    token = r.get_json()["token"]
    value = cookie.split("session=")[1].split(";")[0]
    kept = client.application.session_interface.get_signing_serializer(client.application).loads(value)
    assert token not in repr(kept) and set(kept) == {"th", "exp"}  # the token's hash and its expiry
    assert client.get("/api/me").get_json()["role"] == "manager"  # and it still signs the page in


def test_secure_cookies_when_the_hall_is_behind_https(hall_dir):
    app = create_app({"HALL": hall_dir, "TESTING": True,
                      "HALL_OVERRIDES": {"security": {"secure_cookies": True}}})
    try:
        from tests.conftest import Accounts
        Accounts(app.extensions["qrate"]).user("9001", "manager")
        r = app.test_client().post("/api/login", json={"user": "9001", "password": PASSWORD})
        assert "Secure" in r.headers["Set-Cookie"]
    finally:
        app.extensions["qrate"].close()


def test_the_board_publishes_per_clerk_satisfaction_only_when_the_hall_says_so(app, client, accounts):
    board = client.get("/api/display/board").get_json()
    assert board["published"] == ["window_satisfaction"]
    assert all("month" in w for w in board["windows"])
    assert board["staff"] and all("month" not in s for s in board["staff"])
    app.extensions["qrate_config"].raw["publish"]["figures"] = ["clerk_satisfaction"]
    board = client.get("/api/display/board").get_json()
    assert all("month" in s for s in board["staff"]) and all("month" not in w for w in board["windows"])


def test_the_joined_call_cache_is_trimmed_to_its_size(tmp_path):
    from server.voice import Voice
    v = Voice(tmp_path)
    first = v.call("A001", 1)
    size = first.stat().st_size
    v.max_cache_bytes = int(size * 2.5)
    paths = [v.call(f"A{n:03d}", 1) for n in range(2, 7)]
    kept = sorted((tmp_path / "voice" / "cache" / "calls").glob("*.wav"))
    assert sum(p.stat().st_size for p in kept) <= v.max_cache_bytes
    assert paths[-1] in kept and paths[-2] in kept and first not in kept  # the least recently used go


def test_the_pad_shows_the_windows_satisfaction_only_when_published(app, client, accounts):
    pad = accounts.device("pad", 1)
    assert client.get("/api/pad/state", headers=pad).get_json()["satisfaction"].get("published", True)
    app.extensions["qrate_config"].raw["publish"]["figures"] = []
    sat = client.get("/api/pad/state", headers=pad).get_json()["satisfaction"]
    assert sat["published"] is False and sat["satisfied_rate"] is None and sat["ratings"] == 0
