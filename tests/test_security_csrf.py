"""Who is asked first, and which cookie changes are refused (docs/security.md):

- a route with a body checks the caller before the body: a stranger gets 401 whatever
  they send (never the body's validation details), a wrong role 403;
- a change the session cookie would authenticate must name its page (Origin, else
  Referer) and that page must be the hall's; with neither header it is refused; a
  bearer token is never asked; the sign-in is not authenticated by the cookie;
- cookies of older versions that held the raw token are no longer read;
- an admin gets into the managers' pages like a manager.
"""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, bearer

pytestmark = pytest.mark.api

BAD_BODIES = ({"no_such_field": 1}, [1, 2], "not json")


def code(r) -> str:
    return r.get_json()["error"]["code"]


def body_operations(client) -> list[tuple[str, str, dict]]:
    """Every operation with a request body that needs a token, from /api/openapi.json."""
    doc = client.get("/api/openapi.json").get_json()
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            public = op["description"].startswith("Who may call: anyone")
            if "requestBody" in op and op.get("security") and not public:
                url = path.replace("{window}", "1").replace("{step}", "callback")
                url = url.replace("{", "").replace("}", "")
                url = "/".join("1" if part in ("id", "case_id", "call_id", "employee_no") else part
                               for part in url.split("/"))
                out.append((method.upper(), url, op))
    return out


def send(client, method, url, body, headers=None):
    kw = {"json": body} if not isinstance(body, str) else {"data": body,
                                                           "content_type": "application/json"}
    return client.open(url, method=method, headers=headers or {}, **kw)


def test_a_stranger_gets_401_whatever_body_they_send(client):
    ops = body_operations(client)
    assert len(ops) >= 20
    for method, url, _ in ops:
        for body in BAD_BODIES:
            r = send(client, method, url, body)
            assert r.status_code == 401, (method, url, body, r.status_code, r.get_json())
            assert code(r) == "unauthorized" and "details" not in r.get_json()["error"], (method, url)


def test_a_wrong_role_gets_403_before_the_body_and_the_right_one_the_422(client, accounts):
    kiosk = accounts.device("kiosk")
    manager = accounts.manager()
    for url in ("/api/cases/1/notes", "/api/training/records"):
        r = send(client, "POST", url, {"no_such_field": 1}, kiosk)
        assert r.status_code == 403 and code(r) == "forbidden", (url, r.get_json())
        r = send(client, "POST", url, {"no_such_field": 1}, manager)
        assert r.status_code == 422 and r.get_json()["error"]["details"], url
    r = send(client, "PUT", "/api/notice", {"text": 5}, kiosk)
    assert r.status_code == 403
    # a kiosk's own route with a bad body: now the body's details
    r = send(client, "POST", "/api/tickets", {"service": 5}, kiosk)
    assert r.status_code == 422 and code(r) == "invalid"
    # a public route still validates its body for anyone
    r = send(client, "POST", "/api/login", {"user": 5})
    assert r.status_code == 422


@pytest.fixture
def browserless(app):
    """A client that sends no Origin of its own (curl, a script, an old form)."""
    return FlaskClient(app, app.response_class, use_cookies=True)


def signed_in(client, accounts, window=1):
    accounts.user("1001", "clerk")
    r = client.post("/api/login", json={"user": "1001", "password": PASSWORD, "window": window})
    assert r.status_code == 200, r.get_json()  # the sign-in needs no Origin: no cookie authenticates it
    return r.get_json()["token"]


def test_a_cookie_change_that_names_no_page_is_refused(app, browserless, accounts):
    token = signed_in(browserless, accounts)
    r = browserless.post("/api/windows/1/pause", json={"reason": "x"})
    assert r.status_code == 403 and code(r) == "no_origin", r.get_json()
    assert browserless.get("/api/windows").get_json()["windows"][0]["status"] == "open"
    # reads need no Origin
    assert browserless.get("/api/me").status_code == 200
    # another site's page: refused, by Origin or by Referer
    r = browserless.post("/api/windows/1/pause", json={}, headers={"Origin": "http://localhost:9999"})
    assert code(r) == "cross_origin"
    r = browserless.post("/api/windows/1/pause", json={}, headers={"Referer": "http://evil.example/x"})
    assert code(r) == "cross_origin"
    # the hall's own page: by Origin, or by Referer when a browser sends no Origin
    r = browserless.post("/api/windows/1/pause", json={}, headers={"Referer": "http://localhost/console"})
    assert r.status_code == 200, r.get_json()
    r = browserless.post("/api/windows/1/resume", headers={"Origin": "http://localhost"})
    assert r.status_code == 200
    # a bearer token is never asked for its page, cookie or none
    r = browserless.post("/api/windows/1/pause", json={}, headers=bearer(token))
    assert r.status_code == 200
    # signing out is a cookie change too
    assert code(browserless.post("/api/logout")) == "no_origin"
    assert browserless.post("/api/logout", headers={"Origin": "http://localhost"}).status_code == 200


def test_a_cookie_without_a_sign_in_is_not_asked(app, browserless):
    """A session cookie that holds no sign-in (a page's language only) authenticates
    nothing: the public routes behave as for anyone."""
    with browserless.session_transaction() as s:
        s["lang"] = "en"
    r = browserless.post("/api/remote-tickets", json={"service": "A"})
    assert r.status_code != 403, r.get_json()


def test_an_old_cookie_holding_the_raw_token_no_longer_signs_in(app, browserless, accounts):
    token = signed_in(browserless, accounts)
    browserless.delete_cookie("session")
    with browserless.session_transaction() as s:
        s["token"] = token  # what a cookie of an older version kept
    assert browserless.get("/api/me").status_code == 401
    assert browserless.get("/api/me", headers=bearer(token)).status_code == 200  # the token itself still works


def test_an_admin_gets_into_the_managers_pages(client, accounts):
    accounts.user("9100", "admin")
    r = client.post("/api/login", json={"user": "9100", "password": PASSWORD})
    assert r.status_code == 200 and r.get_json()["role"] == "admin"
    report = client.get("/manage/report?month=2026-11")
    assert report.status_code == 200 and "月度报告" in report.get_data(as_text=True)
    assert client.get("/api/stats/live").status_code == 200
    # and a clerk does not
    accounts.user("1002", "clerk")
    other = client.application.test_client()
    other.post("/api/login", json={"user": "1002", "password": PASSWORD, "window": 2})
    assert other.get("/manage/report?month=2026-11").status_code == 302
