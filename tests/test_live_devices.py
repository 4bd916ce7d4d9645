"""Device settings changed while the hall serves apply at once (PUT /api/config on a
running `qrate serve`): a window's pad moves to another port (real ptys), the printer
URL moves to another printer (python-escpos Network to socket servers run by the
test, speaking DLE EOT), [serial] baudrate reopens the ports; [server] port is saved
but answered as taking effect at the next start."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from conftest import PASSWORD, LiveServer, bearer
from devices.frames import encode
from devices.padsim import PtyDevice
from devices.sim import SimPrinter, job_text, serve_tcp
from server import config

pytestmark = pytest.mark.device


def wait_for(check, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    folder = tmp_path_factory.mktemp("live-devices") / "hall"
    path = config.write_demo(folder, always_open=True)
    stop = threading.Event()
    printers = [SimPrinter(echo=lambda _line: None) for _ in range(2)]
    ports = [serve_tcp(p, "127.0.0.1", 0, stop) for p in printers]
    old_pad, new_pad = PtyDevice(folder / "pad3-old"), PtyDevice(folder / "pad3-new")
    text = path.read_text(encoding="utf-8")
    text = text.replace('url = "file://data/printed"', f'url = "tcp://127.0.0.1:{ports[0]}"', 1)
    text = text.replace('number = 3\nname = "3号窗口"\nservices = ["A", "B"]\n',
                        f'number = 3\nname = "3号窗口"\nservices = ["A", "B"]\npad = "{folder / "pad3-old"}"\n')
    assert "pad3-old" in text and f"127.0.0.1:{ports[0]}" in text
    path.write_text(text, encoding="utf-8")
    live = LiveServer(folder).start()
    try:
        live.cli("user", "add", "9000", "--role", "admin", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        admin = requests.post(live.url + "/api/login", json={"user": "9000", "password": PASSWORD},
                              timeout=5).json()["token"]
        yield {"live": live, "printers": printers, "ports": ports, "old": old_pad, "new": new_pad,
               "admin": admin, "kiosk": live.device_token("kiosk-1", "kiosk"),
               "clerk": live.clerk_token("1003", 3), "folder": folder}
    finally:
        live.kill()
        stop.set()
        old_pad.close()
        new_pad.close()


def api(rig, method, path, token="admin", headers=None, **kw):
    return requests.request(method, rig["live"].url + "/api" + path,
                            headers={**bearer(rig[token]), **(headers or {})}, timeout=10, **kw)


def serial_ports(rig) -> list[dict]:
    return api(rig, "GET", "/devices/serial").json()["ports"]


def port_of(rig, name):
    return next((p for p in serial_ports(rig) if p["url"].endswith(name)), None)


def printed_numbers(printer: SimPrinter) -> str:
    with printer.lock:
        return "".join(job_text(j) for j in printer.jobs)


def change(rig, edit) -> requests.Response:
    r = api(rig, "GET", "/config")
    raw = r.json()
    edit(raw)
    return api(rig, "PUT", "/config", json=raw, headers={"If-Match": r.headers["ETag"]})


def pad_url(rig, raw, name):
    next(w for w in raw["windows"] if w["number"] == 3)["pad"] = str(rig["folder"] / name)


def test_pad_and_printer_urls_changed_by_put_apply_at_once(rig):
    first, second = rig["printers"]
    wait_for(lambda: (port_of(rig, "pad3-old") or {}).get("connected"), "the old pad's port open")
    a = api(rig, "POST", "/tickets", "kiosk", json={"service": "A"}).json()
    wait_for(lambda: a["number"] in printed_numbers(first), "the first ticket on the first printer")

    def edit(raw):
        raw["printer"]["url"] = f"tcp://127.0.0.1:{rig['ports'][1]}"
        pad_url(rig, raw, "pad3-new")
    r = change(rig, edit)
    assert r.status_code == 200, r.text
    assert "Qrate-Next-Start" not in r.headers

    # the next ticket prints on the new printer, none more on the old one
    b = api(rig, "POST", "/tickets", "kiosk", json={"service": "A"}).json()
    wait_for(lambda: b["number"] in printed_numbers(second), "the next ticket on the new printer")
    assert b["number"] not in printed_numbers(first)
    view = api(rig, "GET", "/printer").json()
    assert view["name"] == "default" and view["can_print"] is True

    # the pad moved: the new pty's rating counts, the old pty is closed and read by no one
    wait_for(lambda: (port_of(rig, "pad3-new") or {}).get("connected"), "the new pad's port open")
    assert port_of(rig, "pad3-old") is None
    t = api(rig, "POST", "/windows/3/call-next", "clerk").json()
    assert api(rig, "POST", f"/tickets/{t['id']}/finish", "clerk").json()["status"] == "done"
    rig["new"].wait_for("ASK", f0="03", f1=t["number"])
    rig["old"].write(encode("RATE", "03", 1, "0001"))  # nobody reads the old port any more
    rig["new"].write(encode("RATE", "03", 5, "0002"))
    rig["new"].wait_for("ACK", f0="0002")
    ratings = api(rig, "GET", "/ratings").json()["ratings"]
    mine = [x for x in ratings if x["ticket"] == t["id"]]
    assert [x["score"] for x in mine] == [5]
    assert port_of(rig, "pad3-new")["ratings"] == 1


def test_baudrate_reopens_ports_and_server_port_waits_for_the_next_start(rig):
    pad = lambda: next((p for p in serial_ports(rig) if p["pad_window"] == 3), {})  # noqa: E731
    wait_for(lambda: pad().get("connected"), "window 3's pad port open")
    assert pad()["baudrate"] == 9600
    r = change(rig, lambda raw: raw.setdefault("serial", {}).update(baudrate=19200))
    assert r.status_code == 200, r.text
    # the port is closed and opened again at the new speed
    wait_for(lambda: pad().get("baudrate") == 19200 and pad()["connected"],
             "the pad's port reopened at 19200 baud")

    port = rig["live"].port
    r = change(rig, lambda raw: raw["server"].update(port=port + 1))
    assert r.status_code == 200 and r.json()["server"]["port"] == port + 1  # saved
    assert r.headers["Qrate-Next-Start"] == "server.port"
    assert "next start" in r.headers["Warning"] and f"127.0.0.1:{port}" in r.headers["Warning"]
    assert requests.get(rig["live"].url + "/healthz", timeout=5).ok  # still serving where it was
