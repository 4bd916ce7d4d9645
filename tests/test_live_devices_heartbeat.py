"""A keypad's `$HB` heartbeat is a sign of life at its window: the silence rule
([signin] silent_minutes pauses a window whose console and keypad are silent) leaves
a window open while its keypad beats, and pauses it once the beats stop. A pad's
heartbeat says only that the pad is powered (it faces the citizen), so it keeps no
window open. Real ptys and the serial threads; the presence clock is the test's."""
from __future__ import annotations

import time

import pytest

from conftest import PASSWORD
from devices.frames import encode
from devices.padsim import PtyDevice
from server import auth, config
from server import presence as presence_mod
from server.app import create_app

pytestmark = pytest.mark.device


def wait_for(check, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def hall(tmp_path):
    folder = tmp_path / "hall"
    path = config.write_demo(folder, always_open=True)
    keypad, pad = PtyDevice(folder / "keypad3"), PtyDevice(folder / "pad4")
    text = path.read_text(encoding="utf-8")
    text = text.replace('number = 3\nname = "3号窗口"\nservices = ["A", "B"]\n',
                        f'number = 3\nname = "3号窗口"\nservices = ["A", "B"]\nkeypad = "{folder / "keypad3"}"\n')
    text = text.replace('number = 4\nname = "4号窗口"\nservices = ["B"]\n',
                        f'number = 4\nname = "4号窗口"\nservices = ["B"]\npad = "{folder / "pad4"}"\n')
    assert "keypad3" in text and "pad4" in text
    path.write_text(text, encoding="utf-8")
    app = create_app({"HALL": folder, "TESTING": True, "START_DEVICES": True})
    yield app, keypad, pad
    app.extensions["qrate_devices"].stop()
    app.extensions["qrate"].close()
    keypad.close()
    pad.close()


def test_a_keypad_heartbeat_keeps_its_window_open_until_it_stops(hall):
    app, keypad, pad = hall
    ops, hub = app.extensions["qrate"], app.extensions["qrate_devices"]
    presence = app.extensions["qrate_presence"]
    now = [5000.0]
    presence.clock = lambda: now[0]
    presence.started = now[0]
    client = app.test_client()
    with ops.store() as s:
        for no in ("1003", "1004"):
            auth.add_user(s.db, no, "clerk", PASSWORD)
    for no, window in (("1003", 3), ("1004", 4)):
        r = client.post("/api/login", json={"user": no, "password": PASSWORD, "window": window})
        assert r.status_code == 200, r.get_json()
    wait_for(lambda: all(p.stats["connected"] for p in hub.serial.ports), "both ports open")
    windows = lambda: ops.snapshot()["windows"]  # noqa: E731
    minutes = float(ops.cfg.raw["signin"]["silent_minutes"])
    assert minutes == 20

    # the keypad beats every few minutes: window 3 stays open; window 4 (its pad beats) does not
    for _ in range(3):
        now[0] += 15 * 60
        keypad.write(encode("HB", "03"))
        pad.write(encode("HB", "04"))
        wait_for(lambda: presence.last.get(3) == now[0], "the keypad's heartbeat seen")
        wait_for(lambda: hub.serial.pads[4].stats["heartbeats"] >= 1, "the pad's heartbeat read")
    assert presence.last.get(4) != now[0]  # the pad's heartbeat is not the clerk's presence
    assert presence.silent(windows(), minutes) == [4]

    # the beats stop (the keypad is unplugged, the clerk went home): paused after the minutes
    now[0] += 19 * 60
    assert 3 not in presence.silent(windows(), minutes)
    now[0] += 61
    assert presence.silent(windows(), minutes) == [3, 4]
    rounds = []

    def one_round(_s):
        rounds.append(_s)
        if len(rounds) > 1:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        presence_mod.watch(ops, presence, one_round)
    status = {w["number"]: (w["status"]) for w in windows()}
    assert status[3] == "paused" and status[4] == "paused"
    with ops.store() as s:
        paused = [e for e in s.events() if e.type == "window.changed" and e.window == 3][-1]
    assert paused.data["reason"] == "silent"
