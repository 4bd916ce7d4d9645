"""USB HID device health reaches the hall: `qrate agent`'s reading loop (fed synthetic
evdev events, as there is no /dev/uinput here) keeps each device's health, and the agent
posts it with its device token (POST /api/devices/health) to a running `qrate serve`,
where managers read it (GET /api/devices/hid): plugged out, plugged in with its last key,
and unplugged again."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from conftest import PASSWORD, bearer
from devices.agent import Agent, Http, health_report, read_device, report_health
from devices.hid import EV_KEY, KEY, PRESS, RELEASE

PATH = "/dev/input/by-path/pci-0000:00:14.0-usb-0:2:1.0-event-kbd"
EV_SYN = 0


class Event:
    def __init__(self, type_, code, value):
        self.type, self.code, self.value = type_, code, value


class Socket:
    """What the reading loop sees of one USB port: nothing plugged, then a pad whose keys
    the test types, then unplugged again."""

    def __init__(self):
        self.plugged = threading.Event()
        self.keys: list[str] = []
        self.unplug = threading.Event()
        self.opened = 0

    def __call__(self, path):
        assert path == PATH
        if not self.plugged.is_set() or self.unplug.is_set():
            raise OSError(2, "No such file or directory", path)
        self.opened += 1
        return Device(self)


class Device:
    name = "Feitian USB Rating Pad"

    def __init__(self, socket):
        self.socket = socket

    def grab(self):
        pass

    def read_loop(self):
        sent = 0
        while not self.socket.unplug.wait(0.02):
            for name in self.socket.keys[sent:]:
                yield Event(EV_KEY, KEY[name], PRESS)
                yield Event(EV_SYN, 0, 0)
                yield Event(EV_KEY, KEY[name], RELEASE)
            sent = len(self.socket.keys)
        raise OSError(19, "No such device")


def wait_for(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise TimeoutError("the reading loop did not get there")


@pytest.mark.unit
def test_the_report_goes_every_interval_and_at_once_on_a_change_and_survives_a_hall_away():
    sent, stop, changed = [], threading.Event(), threading.Event()
    entry = {"path": PATH, "role": "keypad", "connected": False, "keymap": {"KEY_F1": "NEXT"}}

    def api(method, path, body):
        sent.append((method, path, body))
        if len(sent) == 2:
            raise OSError("connection refused")  # the hall is away: logged, tried again
        return 200, {}
    t = threading.Thread(target=report_health, args=(api, [entry], stop, changed, 60.0), daemon=True)
    t.start()
    wait_for(lambda: len(sent) == 1)  # the first report at once
    assert sent[0][:2] == ("POST", "/api/devices/health")
    assert sent[0][2] == {"interval_s": 60.0, "devices": [{"path": PATH, "role": "keypad", "connected": False}]}
    entry["connected"] = True
    changed.set()  # plugged in: reported without waiting the interval
    wait_for(lambda: len(sent) == 2)
    changed.set()
    wait_for(lambda: len(sent) == 3)
    assert sent[2][2]["devices"][0]["connected"] is True
    stop.set()
    changed.set()
    t.join(5)
    assert not t.is_alive()


@pytest.mark.live
def test_the_agent_reports_its_hid_devices_to_the_hall(live):
    token = live.device_token("pad-usb-3", "pad", 3)
    live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    manager = requests.post(live.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                            timeout=5).json()["token"]

    def hall():
        r = requests.get(live.url + "/api/devices/hid", headers=bearer(manager), timeout=5)
        assert r.status_code == 200, r.text
        return r.json()["agents"]

    assert hall() == []  # no agent has reported
    # only a device token reports, and a bad report is refused plainly
    url, ok = live.url + "/api/devices/health", {"devices": [{"path": PATH, "role": "pad", "connected": True}]}
    assert requests.post(url, json=ok, timeout=5).status_code == 401
    display = live.device_token("tv-1", "display")
    assert requests.post(url, json=ok, headers=bearer(display), timeout=5).status_code == 403
    bad = requests.post(url, json={"devices": [{"path": "/tmp/x", "role": "pad", "connected": True}]},
                        headers=bearer(token), timeout=5)
    assert bad.status_code == 422 and bad.json()["error"]["code"]
    assert hall() == []
    agent = Agent(Http(live.url, token))
    entry = {"path": PATH, "role": "pad"}
    socket, stop, changed = Socket(), threading.Event(), threading.Event()
    reader = threading.Thread(target=read_device, args=(entry, agent, stop, 0.05),
                              kwargs={"changed": changed, "open_device": socket}, daemon=True)
    reader.start()
    try:
        wait_for(lambda: entry.get("error"))
        assert agent.api("POST", "/api/devices/health", health_report([entry]))[0] == 200
        (seen,) = hall()
        assert (seen["device"], seen["kind"], seen["window"], seen["state"]) == ("pad-usb-3", "pad", 3, "reporting")
        (dev,) = seen["devices"]
        assert dev["path"] == PATH and dev["state"] == "disconnected" and "No such file" in dev["error"]

        changed.clear()
        socket.plugged.set()
        wait_for(changed.is_set)  # plugged in: the agent reports at once
        socket.keys.append("KEY_4")  # a citizen presses 4 (no rating is due: refused, still a key)
        wait_for(lambda: entry.get("last_key") == "KEY_4")
        agent.api("POST", "/api/devices/health", health_report([entry]))
        (dev,) = hall()[0]["devices"]
        assert dev["state"] == "connected" and dev["name"] == "Feitian USB Rating Pad"
        assert dev["last_key"] == "KEY_4" and dev["keys"] == 1 and dev["last_key_at"]
        assert "error" not in dev or dev["error"] is None

        changed.clear()
        socket.unplug.set()
        wait_for(changed.is_set)  # unplugged: reported at once too
        agent.api("POST", "/api/devices/health", health_report([entry]))
        (dev,) = hall()[0]["devices"]
        assert dev["state"] == "disconnected" and dev["last_key"] == "KEY_4"
        assert "No such device" in dev["error"]
    finally:
        stop.set()
        reader.join(5)


def with_serial(text: str, pad: str, keypad: str) -> str:
    """Window 3 with a serial pad and a serial keypad, each on its own pty."""
    old = 'number = 3\nname = "3号窗口"\nservices = ["A", "B"]\n'
    assert old in text
    return text.replace(old, old + f'pad = "{pad}"\nkeypad = "{keypad}"\n')


@pytest.mark.browser
def test_the_dashboard_shows_every_device_with_heartbeat_and_hid(tmp_path, browser, shots):
    from conftest import LiveServer
    from devices.frames import encode
    from devices.padsim import PtyDevice
    from server import config

    folder = tmp_path / "hall"
    path = config.write_demo(folder, always_open=True)
    pad, keypad = PtyDevice(folder / "pad3"), PtyDevice(folder / "keypad3")
    path.write_text(with_serial(path.read_text(encoding="utf-8"), str(folder / "pad3"), str(folder / "keypad3")),
                    encoding="utf-8")
    live = LiveServer(folder).start()
    try:
        live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        agent = Agent(Http(live.url, live.device_token("pad-usb-5", "pad", 5)))
        plugged = {"path": PATH, "role": "pad", "connected": True, "name": "Feitian USB Rating Pad",
                   "last_key": "KEY_5", "last_key_at": "2026-12-01T10:02:03+08:00", "keys": 7}
        assert agent.api("POST", "/api/devices/health", health_report([plugged]))[0] == 200
        manager = requests.post(live.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                                timeout=5).json()["token"]

        def serial_ports():
            return requests.get(live.url + "/api/devices/serial", headers=bearer(manager), timeout=5).json()["ports"]

        def pad_beats():  # the pad sends heartbeats (once its port is open); the keypad never does
            pad3 = next(p for p in serial_ports() if p["url"].endswith("pad3"))
            if pad3["connected"] and pad3["heartbeat"] != "ok":
                pad.write(encode("HB", "03"))
                time.sleep(0.2)
            return pad3["heartbeat"] == "ok"
        wait_for(pad_beats, timeout=20)

        ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
        page = ctx.new_page()
        page.goto(live.url + "/manage")
        page.fill("input[name=user]", "9001")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        hid = page.wait_for_selector(f"#devices tr[data-kind=hid][data-id='{PATH}']")
        text = hid.inner_text()
        assert PATH in text and "已连接" in text and "KEY_5" in text and "5号窗口" in text, text
        page.wait_for_selector("#devices tr[data-kind=printer]")
        # the heartbeat column: the pad's last heartbeat, the silent keypad "unknown"
        ports = {r["id"].rsplit("/", 1)[-1]: r for r in page.evaluate(
            """() => Array.from(document.querySelectorAll('#devices tr[data-kind=serial]'))
                 .map(tr => ({id: tr.dataset.id, hb: tr.dataset.heartbeat, cells: Array.from(tr.cells).map(c => c.innerText)}))""")}
        assert set(ports) == {"pad3", "keypad3"}, ports
        assert ports["pad3"]["hb"] == "ok"
        assert "已连接" in ports["pad3"]["cells"][3] and ":" in ports["pad3"]["cells"][3]
        assert ports["keypad3"]["hb"] == "unknown" and "未知" in ports["keypad3"]["cells"][3]
        assert "断开" not in ports["keypad3"]["cells"][3]  # never "disconnected" for a pad that never sent one
        page.screenshot(path=str(shots / "dashboard-devices.png"), full_page=True)
        ctx.close()
    finally:
        live.kill()
        pad.close()
        keypad.close()


@pytest.mark.api
def test_an_unplugged_usb_device_or_a_silent_agent_is_an_alert_until_it_is_back(hall_dir, clock):
    from conftest import Accounts
    from server.app import create_app
    app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock})
    try:
        client = app.test_client()
        acc = Accounts(app.extensions["qrate"], client)
        agent, manager = acc.device("pad", 4, name="pad-usb-4"), acc.manager()

        def device_alerts():
            r = client.get("/api/alerts", headers=manager)
            assert r.status_code == 200, r.get_json()
            return [a for a in r.get_json()["alerts"] if a["type"] == "device"]

        def report(connected):
            body = {"interval_s": 10, "devices": [{"path": PATH, "role": "pad", "connected": connected}]}
            assert client.post("/api/devices/health", json=body, headers=agent).status_code == 200

        assert device_alerts() == []
        report(False)
        (a,) = device_alerts()
        assert a["path"] == PATH and a["state"] == "disconnected" and "未连接" in a["message"]
        assert PATH in a["message_en"]
        report(True)
        assert device_alerts() == []
        clock.advance(seconds=31)  # three intervals without a report: the agent is silent
        (a,) = device_alerts()
        assert a["state"] == "unknown" and a["device"] == "pad-usb-4" and a["waited_s"] == 31
        report(True)
        assert device_alerts() == []
    finally:
        app.extensions["qrate"].close()
