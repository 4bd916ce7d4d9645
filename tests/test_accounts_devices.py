"""Accounts and devices as the hall's IT person runs them, and one clerk at one window."""
from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from conftest import PASSWORD
from server import auth, store
from server.cli import cli

pytestmark = pytest.mark.api


def qrate(*args, input_text=None):
    """A `qrate` command run in this process (click's runner): the same code as the console
    command, without a new interpreter's start for each of the many calls below."""
    r = CliRunner().invoke(cli, list(args), input=input_text, env={"QRATE_LANG": "en"})
    return SimpleNamespace(returncode=r.exit_code, stdout=r.stdout, stderr=r.stderr)


def login(client, user, window=None, **extra):
    return client.post("/api/login", json={"user": user, "password": PASSWORD, "window": window, **extra})


def bearer(r) -> dict:
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


# --- one clerk at one window ------------------------------------------------------

def test_an_occupied_window_answers_409_and_take_over_displaces_the_clerk(app, client, accounts):
    accounts.user("1001")
    accounts.user("1002")
    first = login(client, "1001", 3)
    assert first.status_code == 200
    refused = login(client, "1002", 3)
    assert refused.status_code == 409
    err = refused.get_json()["error"]
    assert err["code"] == "window_occupied" and "1001" in err["message_en"]
    # the first clerk still holds it
    assert client.get("/api/windows").status_code == 200
    kiosk = accounts.device("kiosk")
    client.post("/api/tickets", json={"service": "A"}, headers=kiosk)
    taken = login(client, "1002", 3, take_over=True)
    assert taken.status_code == 200
    # the displaced clerk's token can no longer act there
    r = client.post("/api/windows/3/call-next", headers=bearer(first))
    assert r.status_code == 401
    r = client.post("/api/windows/3/call-next", headers=bearer(taken))
    assert r.status_code == 200 and r.get_json()["number"] == "A001"
    with app.extensions["qrate"].store() as s:
        reasons = [e.data.get("reason") for e in s.events() if e.type == "window.changed"]
        assert s.window_states()[3]["clerk"] == "1002"
    assert reasons == ["sign_in", "taken_over", "sign_in"]


def test_signing_in_at_a_second_window_signs_out_of_the_first(app, client, accounts):
    accounts.user("1001")
    at_one = login(client, "1001", 1)
    at_two = login(client, "1001", 2)
    assert at_two.status_code == 200
    with app.extensions["qrate"].store() as s:
        states = s.window_states()
        last = [e for e in s.events() if e.type == "window.changed"][-2]
    assert states[1]["status"] == "closed" and states[1]["clerk"] is None
    assert states[2]["clerk"] == "1001" and last.data["reason"] == "moved"
    assert client.post("/api/windows/1/resume", headers=bearer(at_one)).status_code == 401
    # signing in again where one already is: no conflict
    assert login(client, "1001", 2).status_code == 200


# --- expiry -----------------------------------------------------------------------

def test_tokens_expire(app, client, accounts):
    accounts.user("9001", "manager")
    r = login(client, "9001")
    headers = bearer(r)
    assert client.get("/api/me", headers=headers).status_code == 200
    h = auth.token_hash(r.get_json()["token"])
    with app.extensions["qrate"].store() as s:
        expires = store.token_expiry(s.db, h)
        hours = app.extensions["qrate_config"].raw["auth"]["user_token_hours"]
        assert abs(expires - (time.time() + hours * 3600)) < 60  # a working day
        store.set_token_expiry(s.db, h, time.time() - 1)
    assert client.get("/api/me", headers=headers).status_code == 401


# --- the CLI -----------------------------------------------------------------------

def test_user_and_device_commands(hall_dir):
    h = ["--hall", str(hall_dir)]
    assert qrate("user", "add", "1001", "--role", "clerk", *h, input_text=f"{PASSWORD}\n{PASSWORD}\n").returncode == 0
    assert qrate("user", "add", "9009", "--role", "admin", *h, input_text=f"{PASSWORD}\n{PASSWORD}\n").returncode == 0
    listed = qrate("user", "list", *h).stdout
    assert re.search(r"^1001\t.*\tclerk\tactive$", listed, re.M) and "\tadmin\t" in listed
    out = qrate("device", "add", "kiosk-east", "--kind", "kiosk", "--printer", "tcp://10.0.0.7:9100", *h)
    assert out.returncode == 0, out.stderr
    bad = qrate("device", "add", "kiosk-west", "--kind", "kiosk", "--printer", "lp -d front", *h)
    assert bad.returncode != 0 and "scheme" in bad.stderr
    pad = qrate("device", "add", "pad-3", "--kind", "pad", "--window", "3", *h)
    devices = qrate("device", "list", *h).stdout
    assert "kiosk-east\tkiosk\t-\ttcp://10.0.0.7:9100\t" in devices and "pad-3\tpad\t3\t" in devices
    assert qrate("device", "revoke", "pad-3", *h).returncode == 0
    assert "pad-3\tpad\t3\t-\t-\trevoked" in qrate("device", "list", *h).stdout
    assert qrate("device", "revoke", "nope", *h).returncode != 0
    assert qrate("user", "disable", "1001", *h).returncode == 0
    assert "1001\t王丽\tclerk\tdisabled" in qrate("user", "list", *h).stdout
    assert qrate("user", "reset-password", "1001", *h, input_text="newpass1\nnewpass1\n").returncode == 0
    assert qrate("user", "enable", "1001", *h).returncode == 0
    assert pad.stdout.strip().splitlines()[-1]


def test_disable_and_revoke_stop_tokens_at_once(app, client, accounts):
    clerk = accounts.clerk(3, "1003")
    pad = accounts.device("pad", 3, name="pad-3")
    assert client.get("/api/me", headers=clerk).status_code == 200
    with app.extensions["qrate"].store() as s:
        auth.set_user_active(s.db, "1003", False)
        auth.revoke_device(s.db, "pad-3")
    assert client.get("/api/me", headers=clerk).status_code == 401
    assert client.get("/api/me", headers=pad).status_code == 401
    assert login(client, "1003", 3).status_code == 401
    with app.extensions["qrate"].store() as s:
        auth.set_user_active(s.db, "1003", True)
    assert login(client, "1003", 3).status_code == 200
    assert client.get("/api/me", headers=clerk).status_code == 401  # the old sign-in stays ended


# --- the admin page ------------------------------------------------------------------

def test_the_system_page_lists_and_revokes(app, client, accounts):
    accounts.user("9009", "admin")
    kiosk = accounts.device("kiosk", name="kiosk-east")
    assert client.get("/api/services", headers=kiosk).status_code == 200
    assert client.get("/manage/system").status_code == 302  # not signed in
    assert login(client, "9009").status_code == 200  # the session cookie
    page = client.get("/manage/system").get_data(as_text=True)
    assert "kiosk-east" in page and "9009" in page and "/revoke" in page
    with app.extensions["qrate"].store() as s:
        device_id = next(d["id"] for d in store.devices(s.db) if d["name"] == "kiosk-east")
    r = client.post(f"/manage/system/devices/{device_id}/link")
    html = r.get_data(as_text=True)
    url = re.search(r'id="device-url">([^<]+)<', html).group(1)
    assert url.startswith("http://127.0.0.1:5000/kiosk?token=") and "<svg" in html
    assert client.get("/api/me", headers=kiosk).status_code == 401  # the old link ended
    new = {"Authorization": "Bearer " + url.split("token=")[1]}
    assert client.get("/api/me", headers=new).status_code == 200
    client.post(f"/manage/system/devices/{device_id}/revoke")
    assert client.get("/api/me", headers=new).status_code == 401


def test_a_manager_reads_the_system_page_but_changes_nothing(app, client, accounts):
    accounts.user("9001", "manager")
    accounts.device("kiosk", name="kiosk-east")
    login(client, "9001")
    page = client.get("/manage/system").get_data(as_text=True)
    assert "kiosk-east" in page and "/revoke" not in page
    r = client.post("/manage/system/devices/1/revoke")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"


# --- a silent window ------------------------------------------------------------------

def test_a_window_silent_for_the_configured_minutes_is_paused(app, client, accounts):
    from server import presence as presence_mod
    presence = app.extensions["qrate_presence"]
    now = [1000.0]
    presence.clock = lambda: now[0]
    presence.started = now[0]
    clerk = accounts.clerk(3, "1003")
    kiosk = accounts.device("kiosk")
    sio = app.extensions["qrate_socketio"]
    console = sio.test_client(app, auth={"token": clerk["Authorization"][7:]})
    assert presence.consoles[3] == 1
    ops = app.extensions["qrate"]
    windows = lambda: ops.snapshot()["windows"]  # noqa: E731
    now[0] += 3600
    assert presence.silent(windows(), 20) == []  # a console is open at the window
    console.disconnect()
    assert presence.consoles[3] == 0
    now[0] += 19 * 60
    assert presence.silent(windows(), 20) == []
    # a ticket called there is not silence (a long 不动产 case)
    client.post("/api/tickets", json={"service": "A"}, headers=kiosk)
    t = client.post("/api/windows/3/call-next", headers=clerk).get_json()
    now[0] += 3600
    assert presence.silent(windows(), 20) == []
    client.post(f"/api/tickets/{t['id']}/finish", headers=clerk)  # an event: a sign of life
    now[0] += 19 * 60
    assert presence.silent(windows(), 20) == []
    now[0] += 61
    assert presence.silent(windows(), 20) == [3]
    sleeps = []

    def one_round(_s):
        sleeps.append(_s)
        if len(sleeps) > 1:
            raise KeyboardInterrupt  # stop the loop after one check
    with pytest.raises(KeyboardInterrupt):
        presence_mod.watch(ops, presence, one_round)
    w3 = next(w for w in windows() if w["number"] == 3)
    assert w3["status"] == "paused"
    with ops.store() as s:
        last = [e for e in s.events() if e.type == "window.changed"][-1]
    assert last.window == 3 and last.data["reason"] == "silent"
