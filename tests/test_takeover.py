"""A window changes hands: a manager signs a clerk out (POST /api/windows/N/sign-out, or
the button on /manage/system), or another clerk takes it over (`take_over`). Either way
the displaced clerk's token can no longer act at that window, and nothing more is
logged under them."""
from __future__ import annotations

import pytest

from conftest import PASSWORD

pytestmark = pytest.mark.api


def login(client, user, window=None, **extra):
    r = client.post("/api/login", json={"user": user, "password": PASSWORD, "window": window, **extra})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def events(app, since: int = 0):
    with app.extensions["qrate"].store() as s:
        return [e for e in s.events() if e.seq > since]


def last_seq(app) -> int:
    with app.extensions["qrate"].store() as s:
        return s.last_seq()


def test_a_manager_signs_a_clerk_out_and_the_clerk_can_no_longer_act_there(app, client, accounts):
    kiosk = accounts.device("kiosk")
    accounts.user("1001")
    accounts.user("9001", "manager")
    clerk = login(client, "1001", 3)
    client.post("/api/tickets", json={"service": "A"}, headers=kiosk)
    assert client.post("/api/tickets", json={"service": "A"}, headers=kiosk).status_code == 201
    manager = login(client, "9001")
    before = last_seq(app)

    r = client.post("/api/windows/3/sign-out", json={"reason": "交接班"}, headers=manager)
    assert r.status_code == 200
    body = r.get_json()
    assert body["signed_out"] == "1001"
    assert body["window"]["status"] == "closed" and body["window"]["clerk"] is None
    (changed,) = events(app, before)
    assert changed.type == "window.changed" and changed.window == 3
    assert changed.data["reason"] == "signed_out" and changed.data["by"] == "9001"
    assert changed.data["clerk_was"] == "1001" and changed.data["note"] == "交接班"

    # the displaced clerk: every window action answers 401, and nothing is logged
    after = last_seq(app)
    assert client.post("/api/windows/3/call-next", headers=clerk).status_code == 401
    assert client.post("/api/windows/3/resume", headers=clerk).status_code == 401
    assert client.post("/api/tickets/1/cancel", json={"reason": "x"}, headers=clerk).status_code == 401
    assert events(app, after) == []
    queue = client.get("/api/queue").get_json()
    assert [t["status"] for t in queue["tickets"]] == ["waiting", "waiting"]

    # nobody holds it now: a second sign-out says so
    again = client.post("/api/windows/3/sign-out", headers=manager)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "no_clerk"
    assert client.post("/api/windows/99/sign-out", headers=manager).status_code == 404
    # the clerk signs in again and works on
    clerk = login(client, "1001", 3)
    assert client.post("/api/windows/3/call-next", headers=clerk).get_json()["number"] == "A001"


def test_a_clerk_may_not_sign_another_out(app, client, accounts):
    accounts.user("1001")
    accounts.user("1002")
    login(client, "1001", 3)
    other = login(client, "1002", 4)
    r = client.post("/api/windows/3/sign-out", headers=other)
    assert r.status_code == 403
    with app.extensions["qrate"].store() as s:
        assert s.window_states()[3]["clerk"] == "1001"


def test_a_clerk_taken_over_can_no_longer_act_and_nothing_is_logged_under_them(app, client, accounts):
    kiosk = accounts.device("kiosk")
    accounts.user("1001")
    accounts.user("1002")
    for _ in range(3):
        client.post("/api/tickets", json={"service": "A"}, headers=kiosk)
    first = login(client, "1001", 3)
    serving = client.post("/api/windows/3/call-next", headers=first).get_json()
    assert serving["number"] == "A001"
    second = login(client, "1002", 3, take_over=True)
    after = last_seq(app)

    for path in ("/api/windows/3/call-next", f"/api/tickets/{serving['id']}/finish",
                 f"/api/tickets/{serving['id']}/recall", "/api/windows/3/pause"):
        assert client.post(path, headers=first).status_code == 401, path
    assert events(app, after) == []
    # the new clerk finishes the citizen at the window and calls on, under their own number
    assert client.post(f"/api/tickets/{serving['id']}/finish", headers=second).status_code == 200
    assert client.post("/api/windows/3/call-next", headers=second).get_json()["number"] == "A002"
    calls = [e for e in events(app, after) if e.type == "ticket.called"]
    assert [(e.clerk, e.window) for e in calls] == [("1002", 3)]


def test_the_system_page_signs_a_clerk_out_in_one_click(app, client, accounts):
    accounts.user("1004")
    accounts.user("9001", "manager")
    clerk = login(client, "1004", 4)
    login(client, "9001")  # the page's session cookie is the manager's now
    page = client.get("/manage/system").get_data(as_text=True)
    assert 'data-window="4"' in page and "/manage/system/windows/4/sign-out" in page
    assert "/manage/system/windows/5/sign-out" not in page  # nobody to sign out there
    r = client.post("/manage/system/windows/4/sign-out")
    assert r.status_code == 302
    with app.extensions["qrate"].store() as s:
        assert s.window_states()[4] == {**s.window_states()[4], "status": "closed", "clerk": None}
    assert client.post("/api/windows/4/call-next", headers=clerk).status_code == 401
    page = client.get("/manage/system").get_data(as_text=True)
    assert "/manage/system/windows/4/sign-out" not in page


def test_disabling_or_resetting_an_account_from_the_command_line_closes_its_window(app, client, accounts,
                                                                                   hall_dir):
    from click.testing import CliRunner

    from server.cli import cli
    accounts.user("1001")
    accounts.user("1002")
    first = login(client, "1001", 1)
    login(client, "1002", 2)
    runner = CliRunner()
    out = runner.invoke(cli, ["user", "disable", "1001", "--hall", str(hall_dir)], env={"QRATE_LANG": "en"})
    assert out.exit_code == 0, out.output
    assert "Window 1, where 1001 was signed in, is closed." in out.stdout
    out = runner.invoke(cli, ["user", "reset-password", "1002", "--hall", str(hall_dir)],
                        input="newpass1\nnewpass1\n", env={"QRATE_LANG": "en"})
    assert out.exit_code == 0, out.output
    assert "Window 2, where 1002 was signed in, is closed." in out.stdout
    with app.extensions["qrate"].store() as s:
        states = s.window_states()
        reasons = [e.data["reason"] for e in s.events() if e.type == "window.changed"][-2:]
    assert states[1]["status"] == states[2]["status"] == "closed"
    assert states[1]["clerk"] is None and states[2]["clerk"] is None
    assert reasons == ["disabled", "password_reset"]
    assert client.post("/api/windows/1/call-next", headers=first).status_code == 401
