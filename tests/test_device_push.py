"""Device health is pushed to an open dashboard, never polled for: a serial pad's port
opened and closed, its `$HB` heartbeat going late and coming back, a USB HID device
unplugged in `qrate agent`'s report, an agent falling silent. A real `qrate serve`, a
real pty for the pad and a real Socket.IO client signed in as a manager; the public
rooms never hear of it, and nothing of it is written to the hall's log (docs/api.md,
"device")."""
from __future__ import annotations

import threading
import time

import pytest
import requests
import socketio

from conftest import PASSWORD, LiveServer, bearer
from devices.frames import encode
from devices.padsim import PtyDevice
from server import config

PATH = "/dev/input/by-path/pci-0000:00:14.0-usb-0:3:1.0-event-kbd"
PATH8 = "/dev/input/by-id/usb-Feitian_Rating_Pad-event-kbd"  # the browser test's agent's pad
LATE_S = 4  # [serial] heartbeat_late_s of this hall (the default is 35 s)
WITHIN_S = 15.0  # "it arrives": a generous bound for a loaded machine, not a speed target


class Listener:
    """A python-socketio client that keeps every `device` message and `event` it gets."""

    def __init__(self, url: str, token: str | None = None):
        self.devices: list[dict] = []
        self.events: list[dict] = []
        self.cond = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("device", lambda body: self._got(self.devices, body))
        self.sio.on("event", lambda body: self._got(self.events, body))
        self.sio.connect(url, transports=["websocket"], auth={"token": token} if token else None,
                         wait_timeout=10)

    def _got(self, into: list, body: dict) -> None:
        with self.cond:
            into.append(body)
            self.cond.notify_all()

    def wait_device(self, match, what: str, after: int = 0, timeout: float = WITHIN_S) -> dict:
        """The first `device` message from index ``after`` on for which ``match`` is true."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for body in self.devices[after:]:
                    if match(body):
                        return body
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no `device` push for {what} within {timeout} s: {self.devices[after:]}")
                self.cond.wait(left)

    def close(self) -> None:
        self.sio.disconnect()


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    folder = tmp_path_factory.mktemp("push") / "hall"
    path = config.write_demo(folder, always_open=True)
    pad = PtyDevice(folder / "pad3")
    old = 'number = 3\nname = "3号窗口"\nservices = ["A", "B"]\n'
    text = path.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, old + f'pad = "{folder / "pad3"}"\n')
    path.write_text(text + f"\n[serial]\nheartbeat_late_s = {LATE_S}\n", encoding="utf-8")
    live = LiveServer(folder).start()
    live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    manager = requests.post(live.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                            timeout=5).json()["token"]
    try:
        yield {"live": live, "pad": pad, "manager": manager, "url": str(folder / "pad3")}
    finally:
        live.kill()
        pad.close()


def serial_port(rig) -> dict:
    r = requests.get(rig["live"].url + "/api/devices/serial", headers=bearer(rig["manager"]), timeout=5)
    return next(p for p in r.json()["ports"] if p["url"] == rig["url"])


def device_alerts(rig) -> list[dict]:
    r = requests.get(rig["live"].url + "/api/alerts", headers=bearer(rig["manager"]), timeout=5)
    assert r.status_code == 200, r.text
    return [a for a in r.json()["alerts"] if a["type"] == "device"]


def wait_for(check, what: str, timeout: float = WITHIN_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.device
def test_a_serial_pad_opened_closed_late_and_back_is_pushed_to_the_managers_only(rig):
    pad, url = rig["pad"], rig["url"]
    wait_for(lambda: serial_port(rig)["connected"], "the pad's port open")
    manager = Listener(rig["live"].url, rig["manager"])
    public = Listener(rig["live"].url)  # the lobby, a pad, anyone on the hall's Wi-Fi
    ours = lambda **want: lambda b: b["kind"] == "serial" and b["url"] == url and all(  # noqa: E731
        b[k] == v for k, v in want.items())
    try:
        # beats, a few seconds apart at most: one push when it turns ok, none for the others
        mark = len(manager.devices)
        pad.write(encode("HB", "03"))
        ok = manager.wait_device(ours(heartbeat="ok", connected=True), "the first heartbeat", mark)
        assert ok["pad_window"] == 3 and ok["at"]
        for _ in range(3):
            time.sleep(0.2)
            pad.write(encode("HB", "03"))
        wait_for(lambda: serial_port(rig)["heartbeats"] >= 4, "every heartbeat read")

        # then silence: the server notices the heartbeat went late by itself, and says so once
        late = manager.wait_device(ours(heartbeat="late"), "the heartbeat going late", mark)
        assert late["was"] == {"connected": True, "heartbeat": "ok"}
        assert [b["heartbeat"] for b in manager.devices[mark:] if ours()(b)] == ["ok", "late"]
        (alert,) = [a for a in device_alerts(rig) if a.get("url") == url]
        assert alert["state"] == "late"

        mark = len(manager.devices)
        pad.write(encode("HB", "03"))  # back
        manager.wait_device(ours(heartbeat="ok"), "the heartbeat back", mark)
        assert not [a for a in device_alerts(rig) if a.get("url") == url]

        mark = len(manager.devices)
        pad.vanish()  # unplugged
        gone = manager.wait_device(ours(connected=False), "the port closed", mark)
        assert gone["was"]["connected"] is True
        assert [a["state"] for a in device_alerts(rig) if a.get("url") == url] == ["serial"]
        mark = len(manager.devices)
        pad.appear()  # plugged in again: the supervisor reopens it
        manager.wait_device(ours(connected=True), "the port open again", mark)
        wait_for(lambda: not [a for a in device_alerts(rig) if a.get("url") == url and a["state"] == "serial"],
                 "the alert cleared")

        # health is not the hall's record: no event in the log, nothing to the public rooms
        assert not [e for e in manager.events if e["type"] == "device.changed"]
        assert public.devices == []
    finally:
        manager.close()
        public.close()


@pytest.mark.live
def test_an_agents_report_with_a_device_unplugged_and_an_agent_gone_silent_are_pushed(rig):
    live = rig["live"]
    agent = bearer(live.device_token("pad-usb-7", "pad", 7))
    manager = Listener(live.url, rig["manager"])
    public = Listener(live.url)
    ours = lambda **want: lambda b: b.get("device") == "pad-usb-7" and all(  # noqa: E731
        b.get(k) == v for k, v in want.items())

    def report(connected: bool, interval_s: float = 10) -> None:
        body = {"interval_s": interval_s, "devices": [{"path": PATH, "role": "pad", "connected": connected}]}
        r = requests.post(live.url + "/api/devices/health", json=body, headers=agent, timeout=5)
        assert r.status_code == 200, r.text

    try:
        report(True)  # the agent's first report: the agent and its device are news
        manager.wait_device(ours(kind="agent", state="reporting"), "the agent's first report")
        first = manager.wait_device(ours(kind="hid", state="connected"), "the pad plugged in")
        assert first["path"] == PATH and first["window"] == 7

        mark = len(manager.devices)
        report(True)  # the same again: nothing changed, nothing is pushed
        report(False)  # unplugged
        gone = manager.wait_device(ours(kind="hid"), "the pad unplugged", mark)
        assert (gone["path"], gone["state"]) == (PATH, "disconnected")
        assert [a["state"] for a in device_alerts(rig) if a.get("device") == "pad-usb-7"] == ["disconnected"]

        mark = len(manager.devices)
        report(True, interval_s=1)  # back, then the agent falls silent (3 intervals: 3 s)
        manager.wait_device(ours(kind="hid", state="connected"), "the pad back", mark)
        silent = manager.wait_device(ours(kind="agent", state="unknown"), "the agent gone silent", mark)
        assert silent["age_s"] >= 3
        assert [a["state"] for a in device_alerts(rig) if a.get("device") == "pad-usb-7"] == ["unknown"]
        assert [b["state"] for b in manager.devices[mark:] if ours(kind="agent")(b)] == ["unknown"]

        assert public.devices == []
        assert not [e for e in manager.events if e["type"] == "device.changed"]
    finally:
        manager.close()
        public.close()


@pytest.mark.browser
def test_the_dashboards_device_rows_change_as_they_happen_without_a_reload(rig, browser, shots):
    """The page re-reads its devices only every 60 s by itself: each change below shows
    well before that, because it is pushed."""
    from playwright.sync_api import expect
    live, pad, url = rig["live"], rig["pad"], rig["url"]
    agent = bearer(live.device_token("pad-usb-8", "pad", 8))

    def report(connected: bool) -> None:
        body = {"devices": [{"path": PATH8, "role": "pad", "connected": connected, "name": "USB 评价器"}]}
        assert requests.post(live.url + "/api/devices/health", json=body, headers=agent, timeout=5).status_code == 200

    report(True)
    wait_for(lambda: serial_port(rig)["connected"], "the pad's port open")
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    try:
        page.goto(live.url + "/manage")
        page.fill("input[name=user]", "9001")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        hid = page.locator(f"#devices tr[data-kind=hid][data-id='{PATH8}']")
        serial = page.locator(f"#devices tr[data-kind=serial][data-id='{url}']")
        expect(hid).to_have_attribute("data-state", "connected")
        expect(serial).to_have_attribute("data-state", "connected")
        page.wait_for_function("() => window.qrateLive && window.qrateLive.online")  # listening

        report(False)  # unplugged: the row and the alert list follow
        expect(hid).to_have_attribute("data-state", "disconnected")
        expect(hid).to_contain_text("已断开")
        expect(page.locator("#alerts li[data-type=device]", has_text=PATH8)).to_be_visible()

        # the pad beats (until the row says so), then stops: late, shown without a reload
        deadline = time.monotonic() + WITHIN_S
        while serial.get_attribute("data-heartbeat") != "ok":
            assert time.monotonic() < deadline, "the heartbeat never showed"
            pad.write(encode("HB", "03"))
            time.sleep(0.5)
        expect(serial).to_have_attribute("data-heartbeat", "late")
        page.screenshot(path=str(shots / "dashboard-devices-pushed.png"), full_page=True)

        report(True)
        expect(hid).to_have_attribute("data-state", "connected")
        expect(page.locator("#alerts li[data-type=device]", has_text=PATH8)).to_have_count(0)
    finally:
        ctx.close()


@pytest.mark.unit
def test_only_a_change_in_an_agents_report_is_pushed_and_silence_once():
    from datetime import datetime, timedelta, timezone

    from server.api_devices import HealthIn, HidHealth
    pushed, now = [], [datetime(2026, 12, 1, 10, 0, tzinfo=timezone(timedelta(hours=8)))]
    hid = HidHealth(push=pushed.append, now=lambda: now[0])

    def report(*devices, interval_s=10):
        body = HealthIn(interval_s=interval_s, devices=[{"path": p, "role": "pad", "connected": c}
                                                        for p, c in devices])
        hid.put("pad-usb-2", "pad", 2, now[0], body)
        got = [(b["kind"], b.get("path"), b["state"]) for b in pushed]
        pushed.clear()
        return got

    assert report((PATH, True), (PATH8, False)) == [
        ("agent", None, "reporting"), ("hid", PATH, "connected"), ("hid", PATH8, "disconnected")]
    now[0] += timedelta(seconds=10)
    assert report((PATH, True), (PATH8, False)) == []  # the same again: nothing
    assert report((PATH, False), (PATH8, False)) == [("hid", PATH, "disconnected")]
    assert report((PATH, False)) == [("hid", PATH8, "removed")]  # taken out of the agent's file
    now[0] += timedelta(seconds=30)
    assert hid.check() is True and pushed == []  # 30 s is three intervals, not more
    now[0] += timedelta(seconds=1)
    assert hid.check() is False  # silent: told once, then nothing is left to watch
    assert [(b["kind"], b["state"], b["age_s"]) for b in pushed] == [("agent", "unknown", 31.0)]
    pushed.clear()
    assert hid.check() is False and pushed == []
    # back after the silence: the agent and every device are news again
    assert report((PATH, False)) == [("agent", None, "reporting"), ("hid", PATH, "disconnected")]
