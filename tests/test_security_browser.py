"""CSRF in a real browser: a page of another origin on 127.0.0.1 (another port) cannot
act with a signed-in clerk's session cookie; the clerk's own console can, under its
Content-Security-Policy (docs/security.md)."""
from __future__ import annotations

import http.server
import threading

import pytest
import requests
from playwright.sync_api import expect

from tests.conftest import PASSWORD, LiveServer, bearer, free_port

pytestmark = pytest.mark.browser

ATTACK = """<!doctype html><html><body><h1>free wifi</h1>
<form id="f" method="POST" action="{target}/api/tickets/{ticket}/cancel" enctype="text/plain">
<input name='{{"reason": "x' value='"}}'></form>
<script>
window.results = [];
async function go() {{
  for (const [path, body] of [["/api/windows/1/pause", '{{"reason": "csrf"}}'],
                              ["/api/windows/1/call-next", ""]]) {{
    try {{
      await fetch("{target}" + path, {{method: "POST", mode: "no-cors", credentials: "include",
                                       headers: {{"Content-Type": "text/plain"}}, body}});
      window.results.push("sent");
    }} catch (e) {{ window.results.push("error " + e); }}
  }}
  window.done = true;
}}
</script></body></html>"""


@pytest.fixture
def server(hall_dir, monkeypatch):
    monkeypatch.delenv("QRATE_TEST_CSP_EVAL")  # the pages' CSP exactly as a hall gets it
    live = LiveServer(hall_dir).start()
    yield live
    live.kill()


@pytest.fixture
def other_origin():
    """A second web server on 127.0.0.1 at another port: the attacker's page."""
    pages: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}", pages
    httpd.shutdown()
    httpd.server_close()


def window_status(live, n: int) -> str:
    return next(w for w in requests.get(live.url + "/api/windows", timeout=5).json()["windows"]
                if w["number"] == n)["status"]


def test_another_origin_cannot_act_with_the_clerks_cookie_but_the_console_can(server, browser, other_origin):
    kiosk = bearer(server.device_token("kiosk-1", "kiosk"))
    ticket = requests.post(server.url + "/api/tickets", json={"service": "A"}, headers=kiosk,
                           timeout=5).json()
    server.cli("user", "add", "1001", "--role", "clerk", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    ctx = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    console = ctx.new_page()
    console.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    console.goto(server.url + "/console")
    console.fill("#login-user", "1001")
    console.fill("#login-password", PASSWORD)
    console.select_option("#login-window", "1")
    console.click("#login-submit")
    expect(console.locator("#desk")).to_be_visible()
    console.wait_for_selector("html.online")
    assert window_status(server, 1) == "open"

    # the attacker's page, same browser, same cookie jar, another port
    origin, pages = other_origin
    pages["/"] = ATTACK.format(target=server.url, ticket=ticket["id"])
    evil = ctx.new_page()
    evil.goto(origin + "/")
    evil.evaluate("go()")
    evil.wait_for_function("window.done === true")  # the other origin's page has no CSP
    assert evil.evaluate("window.results") == ["sent", "sent"]
    with evil.expect_navigation():
        evil.evaluate("document.getElementById('f').submit()")
    assert "cross_origin" in evil.content()  # the form's answer: refused, in JSON
    assert window_status(server, 1) == "open", "the other origin paused window 1"
    state = requests.get(server.url + "/api/queue", timeout=5).json()
    mine = next(t for t in state["tickets"] if t["id"] == ticket["id"])
    assert mine["status"] == "waiting", "the other origin called or cancelled the ticket"

    # the same action from the console itself (its cookie, its origin) works
    console.bring_to_front()
    console.click("#pause-btn")
    expect(console.locator("#window-status")).not_to_have_text("开放", timeout=15000)
    assert window_status(server, 1) == "paused"
    # and a cookie-only fetch from the page's own origin is accepted too
    status = console.evaluate("""async () => (await fetch('/api/windows/1/resume',
        {method: 'POST', credentials: 'same-origin'})).status""")
    assert status == 200
    assert window_status(server, 1) == "open"
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    ctx.close()

    # an admin signs in at the managers' dashboard like a manager, and signs out again:
    # the page's own sign-in and sign-out pass the Origin check
    server.cli("user", "add", "9100", "--role", "admin", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    ctx = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    manage = ctx.new_page()
    manage.goto(server.url + "/manage")
    manage.locator("#login-form").wait_for()
    manage.fill("input[name=user]", "9100")
    manage.fill("input[name=password]", PASSWORD)
    manage.click("#login-form button")
    manage.locator("#tabs").wait_for()
    manage.locator("#live-cards .card").first.wait_for()
    expect(manage.locator("#login")).to_be_hidden()
    assert manage.evaluate("async () => (await fetch('/api/me')).status") == 200
    manage.click("#logout")
    manage.locator("#login-form").wait_for()
    assert manage.evaluate("async () => (await fetch('/api/me')).status") == 401  # signed out for real
    ctx.close()
