"""USB HID pads, keypads and scanners: the decoder on synthetic evdev events (no
/dev/uinput here), and `qrate agent`'s actions bound to the window of its device token
through the same API and service layer as the touch pad and the keypads."""
from __future__ import annotations

import pytest

from conftest import Accounts
from devices.agent import Agent, load_devices
from devices.hid import EV_KEY, KEY, PRESS, RELEASE, REPEAT, Action, HidDecoder, typed

EV_SYN, EV_MSC = 0, 4


def press(name):
    return [(EV_MSC, 4, 458782), (EV_KEY, KEY[name], PRESS), (EV_SYN, 0, 0),
            (EV_KEY, KEY[name], REPEAT), (EV_KEY, KEY[name], RELEASE), (EV_SYN, 0, 0)]


@pytest.mark.unit
def test_a_pad_key_is_one_score_whatever_the_repeats_and_noise():
    d = HidDecoder("pad")
    assert d.feed_all(press("KEY_2") + press("KEY_KP5") + press("KEY_9")) == \
        [Action("pad", "2"), Action("pad", "5")]
    assert d.ignored == 1 and d.last_key == "KEY_9"


@pytest.mark.unit
def test_keypad_f_keys_and_a_hall_key_map():
    assert [a.value for a in HidDecoder("keypad").feed_all(
        press("KEY_F1") + press("KEY_F4") + press("KEY_F5"))] == ["NEXT", "FINISH", "PAUSE"]
    own = HidDecoder("keypad", {"KEY_KP1": "NEXT", "KEY_KP0": "RECALL"})
    assert [a.value for a in own.feed_all(press("KEY_KP0") + press("KEY_F1"))] == ["RECALL"]
    with pytest.raises(ValueError, match="unknown key names"):
        HidDecoder("pad", {"KEY_NOPE": "1"})
    with pytest.raises(ValueError, match="role"):
        HidDecoder("mouse")


@pytest.mark.unit
def test_a_scanner_types_its_code_then_enter():
    d = HidDecoder("scanner")
    assert d.feed_all(typed("Ab12-x9")) == [Action("scanner", "Ab12-x9")]
    assert d.feed_all(typed("http://h/t/KEY") + press("KEY_ENTER")) == [Action("scanner", "http://h/t/KEY")]
    assert d.feed_all(press("KEY_ENTER")) == []  # Enter alone: nothing scanned


@pytest.mark.unit
def test_the_agents_file_names_stable_devices(tmp_path):
    f = tmp_path / "agent.toml"
    f.write_text('[[devices]]\npath = "/dev/input/by-id/usb-PAD-event-kbd"\nrole = "pad"\n', "utf-8")
    assert load_devices(f)[0]["role"] == "pad"
    f.write_text('[[devices]]\npath = "/tmp/x"\nrole = "pad"\n', "utf-8")
    with pytest.raises(ValueError, match="by-id or by-path"):
        load_devices(f)


def client_api(client, headers):
    def call(method, path, body=None):
        r = client.open(path, method=method, json=body, headers=headers)
        return r.status_code, r.get_json(silent=True)
    return call


@pytest.mark.api
def test_hid_pad_and_keypad_act_on_their_tokens_window(app, client, accounts):
    kiosk = accounts.device("kiosk")
    accounts.clerk(3)  # window 3 open, clerk 1003 signed in
    keypad = Agent(client_api(client, accounts.device("keypad", 3)))
    pad = Agent(client_api(client, accounts.device("pad", 3)))
    assert (keypad.role, keypad.window, pad.window) == ("keypad", 3, 3)
    t = client.post("/api/tickets", json={"service": "A"}, headers=kiosk).get_json()
    decode_keys, decode_pad = HidDecoder("keypad"), HidDecoder("pad")
    done = [keypad.act(a) for a in decode_keys.feed_all(press("KEY_F1"))]
    assert done[0]["status"] == 200 and done[0]["answer"]["number"] == t["number"]
    done = [keypad.act(a) for a in decode_keys.feed_all(press("KEY_F4"))]
    assert done[0]["status"] == 200 and done[0]["answer"]["status"] == "done"
    rated = [pad.act(a) for a in decode_pad.feed_all(press("KEY_2"))]
    assert rated[0]["status"] == 201 and rated[0]["answer"]["window"] == 3
    assert rated[0]["answer"]["ticket"] == t["id"] and rated[0]["answer"]["score"] == 2
    # the same rules as every pad: a second press is refused, never counted twice
    again = pad.act(Action("pad", "5"))
    assert again["status"] == 409
    # a keypad key with nobody at the window is refused plainly
    assert keypad.act(Action("keypad", "FINISH"))["status"] == 409
