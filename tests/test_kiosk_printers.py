"""Printers per kiosk: a ticket prints at the kiosk that issued it (its own printer, or
the hall's default `[printer] url`), one spool per printer so a jammed printer never
holds up another kiosk's tickets, each printer's health in the snapshot and pushed on
its own; an admin binds a kiosk's printer in /manage/system or by PUT /api/devices/NAME/printer.

The spools run in the test's own thread here: each test asks a spool to take one step
(check the printer, print what is due), as its worker would."""
import json
import socket

import pytest

from conftest import PASSWORD, PageClient
from server import auth, config
from server.app import create_app

pytestmark = pytest.mark.api


@pytest.fixture
def hall(tmp_path):
    folder = tmp_path / "hall"
    path = config.write_demo(folder, always_open=True)
    default = tmp_path / "default-printer"
    text = path.read_text(encoding="utf-8")
    assert 'url = "file://data/printed"' in text
    path.write_text(text.replace('url = "file://data/printed"', f'url = "file://{default}"', 1),
                    encoding="utf-8")
    return folder, tmp_path


@pytest.fixture
def rig(hall):
    folder, tmp = hall
    app = create_app({"HALL": folder, "TESTING": True})
    ops = app.extensions["qrate"]
    client = PageClient(app, app.response_class, use_cookies=True)  # as the hall's own pages: they name their origin
    with ops.store() as s:
        _, east = auth.add_device(s.db, "kiosk-east", "kiosk", None, printer=f"file://{tmp / 'east'}")
        _, west = auth.add_device(s.db, "kiosk-west", "kiosk", None)
        auth.add_user(s.db, "9000", "admin", PASSWORD)
        auth.add_user(s.db, "9001", "manager", PASSWORD)
    token = lambda user: client.post("/api/login", json={"user": user, "password": PASSWORD}).get_json()["token"]  # noqa: E731
    hub = app.extensions["qrate_devices"]
    hub.sync_printers()
    hub._kiosks = {k["name"]: k["printer"] for k in ops.kiosk_printers()}
    hub.sync_printers()
    yield {"app": app, "ops": ops, "client": client, "hub": hub, "tmp": tmp,
           "east": {"Authorization": f"Bearer {east}"}, "west": {"Authorization": f"Bearer {west}"},
           "admin": {"Authorization": f"Bearer {token('9000')}"},
           "manager": {"Authorization": f"Bearer {token('9001')}"}}
    hub.stop()
    ops.close()


def printed(folder):
    return sorted(p.stem for p in folder.glob("*.txt")) if folder.exists() else []


def issue(rig, kiosk, service="A"):
    r = rig["client"].post("/api/tickets", json={"service": service}, headers=rig[kiosk])
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def jobs(rig):
    return rig["client"].get("/api/print-jobs", headers=rig["manager"]).get_json()["jobs"]


def test_a_ticket_prints_at_the_kiosk_that_issued_it(rig):
    hub, tmp = rig["hub"], rig["tmp"]
    assert sorted(hub.spools) == ["default", "kiosk-east"]
    a = issue(rig, "east")
    b = issue(rig, "west")  # no printer of its own: the hall's default printer
    by_ticket = {j["ticket"]: j["printer"] for j in jobs(rig)}
    assert by_ticket == {a["id"]: "kiosk-east", b["id"]: "default"}
    hub.spools["kiosk-east"].step()
    assert printed(tmp / "east") == [f"{a['day']}-{a['number']}"]
    assert printed(tmp / "default-printer") == []  # the default spool has not run yet
    hub.spools["default"].step()
    assert printed(tmp / "default-printer") == [f"{b['day']}-{b['number']}"]
    assert printed(tmp / "east") == [f"{a['day']}-{a['number']}"]

    # a reprint goes where the ticket first printed, whoever asks for it
    r = rig["client"].post(f"/api/tickets/{a['id']}/reprint", headers=rig["manager"])
    assert r.status_code == 202 and r.get_json()["printer"] == "kiosk-east"
    hub.spools["default"].step()
    hub.spools["kiosk-east"].step()
    assert len(printed(tmp / "east")) == 2 and len(printed(tmp / "default-printer")) == 1


def test_the_snapshot_lists_every_printer_beside_the_default(rig):
    snap = rig["client"].get("/api/queue").get_json()
    devices = snap["devices"]
    assert set(devices["printer"]) == {"state", "can_print", "message", "message_en", "since"}
    printers = {p["name"]: p for p in devices["printers"]}
    assert set(printers) == {"default", "kiosk-east"}
    assert printers["default"]["kiosk"] is None and printers["kiosk-east"]["kiosk"] == "kiosk-east"
    for p in printers.values():
        assert set(p) == set(devices["printer"]) | {"name", "kiosk"}
    # each kiosk asks for its own printer
    east = rig["client"].get("/api/printer", headers=rig["east"]).get_json()
    west = rig["client"].get("/api/printer", headers=rig["west"]).get_json()
    assert (east["name"], east["for_kiosk"], east["device"]) == ("kiosk-east", "kiosk-east", "printer:kiosk-east")
    assert (west["name"], west["for_kiosk"], west["device"]) == ("default", "kiosk-west", "printer")
    listed = rig["client"].get("/api/printers", headers=rig["west"]).get_json()["printers"]
    assert [p["name"] for p in listed] == ["default", "kiosk-east"]


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_a_jammed_printer_never_holds_up_another_kiosk(rig):
    """kiosk-east's printer is unplugged (nothing listens): its tickets wait, its state is
    pushed on its own, and kiosk-west's tickets print on the default printer meanwhile."""
    app, hub, tmp = rig["app"], rig["hub"], rig["tmp"]
    admin = rig["admin"]
    r = rig["client"].put("/api/devices/kiosk-east/printer", headers=admin,
                          json={"printer": f"tcp://127.0.0.1:{closed_port()}?timeout=0.5"})
    assert r.status_code == 200, r.get_json()
    assert hub.spools["kiosk-east"].url.startswith("tcp://")
    screen = app.extensions["qrate_socketio"].test_client(app)
    screen.get_received()
    east_tickets = [issue(rig, "east") for _ in range(2)]
    west = issue(rig, "west")
    hub.spools["kiosk-east"].step()
    hub.spools["default"].step()
    assert printed(tmp / "default-printer") == [f"{west['day']}-{west['number']}"]
    pending = {j["ticket"]: j for j in jobs(rig) if j["status"] == "pending"}
    assert set(pending) == {t["id"] for t in east_tickets}
    assert all(j["printer"] == "kiosk-east" for j in pending.values())

    events = [a["args"][0] for a in screen.get_received() if a["name"] == "event"]
    changed = [e for e in events if e["type"] == "device.changed" and e.get("kind") == "printer"]
    # a screen without a token gets each printer's state, named by device and kiosk
    assert [(e["device"], e["kiosk"], e["state"], e["can_print"]) for e in changed][:1] == \
        [("printer:kiosk-east", "kiosk-east", "offline", False)]
    assert all(e["device"] == "printer" for e in changed[1:])  # the default printer: online
    snap = {p["name"]: p for p in rig["client"].get("/api/queue").get_json()["devices"]["printers"]}
    assert snap["kiosk-east"]["can_print"] is False and snap["default"]["can_print"] is True
    assert rig["client"].get("/api/printer", headers=rig["west"]).get_json()["can_print"] is True
    east = rig["client"].get("/api/printer", headers=rig["east"]).get_json()
    assert east["state"] == "offline" and east["pending"] == 2

    # the kiosk's printer taken away: its waiting tickets print on the default printer
    r = rig["client"].put("/api/devices/kiosk-east/printer", headers=admin, json={"printer": None})
    assert r.status_code == 200 and sorted(hub.spools) == ["default"]
    hub.spools["default"].step()
    assert len(printed(tmp / "default-printer")) == 3


def test_binding_a_printer_is_the_admins_and_checked(rig):
    c = rig["client"]
    url = f"file://{rig['tmp'] / 'west'}"
    r = c.put("/api/devices/kiosk-west/printer", headers=rig["manager"], json={"printer": url})
    assert r.status_code == 403
    r = c.put("/api/devices/kiosk-west/printer", headers=rig["admin"], json={"printer": "lpt://x"})
    assert r.status_code == 422 and r.get_json()["error"]["details"][0]["field"] == "printer"
    r = c.put("/api/devices/nobody/printer", headers=rig["admin"], json={"printer": url})
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_kiosk"
    r = c.put("/api/devices/kiosk-west/printer", headers=rig["admin"], json={"printer": url, "x": 1})
    assert r.status_code == 422
    r = c.put("/api/devices/kiosk-west/printer", headers=rig["admin"], json={"printer": url})
    assert r.status_code == 200 and r.get_json()["printer"] == url
    assert sorted(rig["hub"].spools) == ["default", "kiosk-east", "kiosk-west"]
    t = issue(rig, "west")
    rig["hub"].spools["kiosk-west"].step()
    assert printed(rig["tmp"] / "west") == [f"{t['day']}-{t['number']}"]
    # the change is in the event log (who, which kiosk, which printer)
    with rig["ops"].store() as s:
        rows = s.db.execute("SELECT data FROM ticket_events WHERE type = 'device.changed' "
                            "ORDER BY seq").fetchall()
    bound = [json.loads(r[0]) for r in rows if json.loads(r[0])["kind"] == "kiosk"]
    assert bound[-1] == {"device": "kiosk:kiosk-west", "kind": "kiosk", "kiosk": "kiosk-west",
                         "name": "kiosk-west", "printer": url, "by": "9000"}


def test_the_admin_adds_a_kiosk_with_its_printer_and_edits_it_in_manage_system(rig):
    c, tmp = rig["client"], rig["tmp"]
    c.post("/api/login", json={"user": "9000", "password": PASSWORD, "page": True})
    with c.session_transaction() as sess:
        sess["th"] = auth.token_hash(rig["admin"]["Authorization"][7:])
    url = f"file://{tmp / 'north'}"
    r = c.post("/manage/system/devices/add", data={"name": "kiosk-north", "kind": "kiosk",
                                                   "window": "", "printer": url})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert 'id="new-link"' in page and "/kiosk?token=" in page
    assert "kiosk-north" in rig["hub"].spools
    assert 'data-printer="kiosk-north"' in page
    # a bad URL is said on the page, nothing is added
    r = c.post("/manage/system/devices/add", data={"name": "kiosk-x", "kind": "kiosk", "printer": "lpt://1"})
    assert r.status_code == 422 and 'id="problem"' in r.get_data(as_text=True)
    assert "kiosk-x" not in c.get("/manage/system").get_data(as_text=True)
    # a pad has no printer
    r = c.post("/manage/system/devices/add", data={"name": "pad-x", "kind": "pad", "window": "3",
                                                   "printer": url})
    assert r.status_code == 422
    # edit: a new URL, then empty (back to the default printer)
    with rig["ops"].store() as s:
        north = next(d for d in __import__("server.store", fromlist=["devices"]).devices(s.db)
                     if d["name"] == "kiosk-north")
    r = c.post(f"/manage/system/devices/{north['id']}/printer", data={"printer": f"file://{tmp / 'n2'}"})
    assert r.status_code == 302
    assert rig["hub"].spools["kiosk-north"].url.endswith("n2")
    r = c.post(f"/manage/system/devices/{north['id']}/printer", data={"printer": ""})
    assert r.status_code == 302 and "kiosk-north" not in rig["hub"].spools
    page = c.get("/manage/system").get_data(as_text=True)
    assert 'id="printers"' in page and 'data-printer="kiosk-east"' in page


def test_an_appointment_checked_in_at_a_kiosk_prints_there(hall):
    """Every issue path prints at the issuing kiosk: a booking checked in at kiosk-east."""
    from datetime import datetime

    from conftest import TZ, FakeClock
    folder, tmp = hall
    clock = FakeClock(datetime(2026, 11, 30, 8, 50, tzinfo=TZ))  # a Monday, before a 09:00 slot
    app = create_app({"HALL": folder, "TESTING": True, "CLOCK": clock})
    ops, client = app.extensions["qrate"], PageClient(app, app.response_class, use_cookies=True)  # as the hall's own pages: they name their origin
    try:
        with ops.store() as s:
            _, east = auth.add_device(s.db, "kiosk-east", "kiosk", None, printer=f"file://{tmp / 'east'}")
        hub = app.extensions["qrate_devices"]
        hub._kiosks = {k["name"]: k["printer"] for k in ops.kiosk_printers()}
        hub.sync_printers()
        b = client.post("/api/appointments", json={
            "service": "A", "slot": datetime(2026, 11, 30, 9, 0, tzinfo=TZ).isoformat(),
            "name": "张三", "phone": "13800001234", "id_last4": "123X"}).get_json()
        r = client.post(f"/api/appointments/{b['code']}/check-in", headers={"Authorization": f"Bearer {east}"})
        assert r.status_code == 201, r.get_json()
        hub.spools["kiosk-east"].step()
        assert printed(tmp / "east") == [f"{r.get_json()['day']}-{r.get_json()['number']}"]
    finally:
        app.extensions["qrate_devices"].stop()
        ops.close()
