"""Serial rating pads and caller keypads over real ptys, against a running `qrate serve`.

Window 3 has a pad and a keypad, each on its own pty behind a symlink (as a
hall's /dev/serial/by-id links are); the tests write frames as a pad would.
"""
import random
import time

import pytest
import requests

from conftest import PASSWORD, LiveServer, bearer
from devices.frames import Decoder, encode
from devices.padsim import PtyDevice
from server import config

pytestmark = pytest.mark.device


def with_devices(text: str, pad: str, keypad: str) -> str:
    text = text.replace('number = 3\nname = "3号窗口"\nservices = ["A", "B"]\n',
                        f'number = 3\nname = "3号窗口"\nservices = ["A", "B"]\npad = "{pad}"\nkeypad = "{keypad}"\n')
    assert pad in text
    # a two-letter service at window 3: its ticket field is AB001 on the wire
    text = text.replace(f'services = ["A", "B"]\npad = "{pad}"', f'services = ["A", "B", "AB"]\npad = "{pad}"')
    text = text.replace("[[windows]]", '[[services]]\ncode = "AB"\nname = "税务综合服务"\nname_en = "Tax"\n\n'
                        "[[windows]]", 1)
    return text.replace("window_minutes = 10\n",
                        "window_minutes = 10\nprompt_seconds = 30\npresses_per_minute = 600\npress_burst = 50\n")


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serial") / "hall"
    path = config.write_demo(folder, always_open=True)
    pad, keypad = PtyDevice(folder / "pad3"), PtyDevice(folder / "keypad3")
    path.write_text(with_devices(path.read_text(encoding="utf-8"), str(folder / "pad3"),
                                 str(folder / "keypad3")), encoding="utf-8")
    live = LiveServer(folder).start()
    try:
        live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        manager = requests.post(live.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                                timeout=5).json()["token"]
        rig = {"live": live, "pad": pad, "keypad": keypad, "clerk": live.clerk_token("1003", 3),
               "kiosk": live.device_token("kiosk-1", "kiosk"), "manager": manager}
        wait_connected(rig, "pad3")
        wait_connected(rig, "keypad3")
        yield rig
    finally:
        live.kill()
        pad.close()
        keypad.close()


def api(rig, method, path, token="clerk", **kw):
    return requests.request(method, rig["live"].url + "/api" + path, headers=bearer(rig[token]),
                            timeout=10, **kw)


def health(rig, name):
    ports = api(rig, "GET", "/devices/serial", "manager").json()["ports"]
    return next(p for p in ports if p["url"].endswith(name))


def wait_connected(rig, name, connected=True, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if health(rig, name)["connected"] is connected:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{name} connected is not {connected}: {health(rig, name)}")


def serve_one(rig) -> dict:
    t = api(rig, "POST", "/tickets", "kiosk", json={"service": "A"}).json()
    assert api(rig, "POST", "/windows/3/call-next").json()["id"] == t["id"]
    assert api(rig, "POST", f"/tickets/{t['id']}/finish").json()["status"] == "done"
    return t


def ratings(rig) -> list[dict]:
    return api(rig, "GET", "/ratings", "manager").json()["ratings"]


SEQ = iter(range(1, 10000))


def test_pad_rates_and_the_rating_lands_on_ticket_window_and_clerk(rig):
    pad = rig["pad"]
    t = serve_one(rig)
    pad.wait_for("ASK", f0="03", f1=t["number"])
    seq = f"{next(SEQ):04d}"
    pad.write(encode("RATE", "03", 4, seq))
    pad.wait_for("ACK", f0=seq)
    pad.wait_for("IDLE", f0="03")
    row = next(r for r in ratings(rig) if r["ticket"] == t["id"])
    assert (row["score"], row["window"], row["clerk"], row["service"], row["source"]) == (4, 3, "1003", "A", "serial")
    assert row["device"].endswith("pad3")


def test_resent_frame_is_acknowledged_and_not_counted_twice(rig):
    pad = rig["pad"]
    t = serve_one(rig)
    pad.wait_for("ASK", f1=t["number"])
    seq = f"{next(SEQ):04d}"
    frame = encode("RATE", "03", 5, seq)
    pad.write(frame)
    pad.wait_for("ACK", f0=seq)
    before, resent = len(ratings(rig)), health(rig, "pad3")["resent"]
    pad.write(frame)  # the pad missed our ACK and sends again
    pad.wait_for("ACK", f0=seq)
    assert len(ratings(rig)) == before
    assert health(rig, "pad3")["resent"] == resent + 1
    # a rating with no question pending is refused, never invented
    other = f"{next(SEQ):04d}"
    pad.write(encode("RATE", "03", 1, other))
    assert pad.wait_for("NAK", f0=other).fields[1] == "NOASK"
    assert len(ratings(rig)) == before


def test_one_megabyte_of_noise_yields_exactly_the_valid_ratings(rig):
    pad = rig["pad"]
    rnd = random.Random(20261127)
    start = health(rig, "pad3")
    count_before = len(ratings(rig))
    stream, rated = b"", []
    for i in range(5):
        t = serve_one(rig)
        pad.wait_for("ASK", f1=t["number"])
        seq = f"{next(SEQ):04d}"
        score = 1 + i % 5
        chunk = rnd.randbytes(200_000) + encode("RATE", "03", score, seq)
        stream += chunk
        pad.write(chunk)
        pad.wait_for("ACK", f0=seq, timeout=30)
        rated.append((t["id"], score))
    tail = rnd.randbytes(1_048_576 - len(stream))  # 1 MB in all
    stream += tail
    pad.write(tail)
    deadline = time.monotonic() + 30
    while health(rig, "pad3")["bytes"] - start["bytes"] < len(stream) and time.monotonic() < deadline:
        time.sleep(0.05)
    after = health(rig, "pad3")
    assert len(stream) == 1_048_576 and after["bytes"] - start["bytes"] == len(stream)
    got = [(r["ticket"], r["score"]) for r in ratings(rig)][count_before:]
    assert got == rated
    expected = Decoder()
    expected.feed(stream)
    assert expected.frames == 5 and expected.dropped > 100
    assert after["dropped"] - start["dropped"] == expected.dropped
    assert after["frames"] - start["frames"] == 5


def test_port_vanishing_and_returning_loses_no_later_rating(rig):
    pad = rig["pad"]
    pad.vanish()
    wait_connected(rig, "pad3", connected=False)
    t = serve_one(rig)  # finished while the pad is unplugged
    pad.appear()
    wait_connected(rig, "pad3")
    pad.wait_for("ASK", f1=t["number"])  # asked again on reconnect
    seq = f"{next(SEQ):04d}"
    pad.write(encode("RATE", "03", 3, seq))
    pad.wait_for("ACK", f0=seq)
    later = serve_one(rig)
    pad.wait_for("ASK", f1=later["number"])
    seq2 = f"{next(SEQ):04d}"
    pad.write(encode("RATE", "03", 5, seq2))
    pad.wait_for("ACK", f0=seq2)
    scores = {r["ticket"]: r["score"] for r in ratings(rig)}
    assert scores[t["id"]] == 3 and scores[later["id"]] == 5
    assert health(rig, "pad3")["opened"] >= 2


def test_keypad_drives_the_window_and_the_pad_asks_after_its_finish(rig):
    keypad, pad = rig["keypad"], rig["pad"]
    t = api(rig, "POST", "/tickets", "kiosk", json={"service": "B"}).json()
    keypad.write(encode("KEY", "03", "NEXT"))
    assert keypad.wait_for("CUR").fields[1] == t["number"]
    keypad.write(encode("KEY", "03", "RECALL"))
    assert keypad.wait_for("CUR").fields[1] == t["number"]
    keypad.write(encode("KEY", "03", "FINISH"))
    assert keypad.wait_for("CUR").fields[1] == "----"
    pad.wait_for("ASK", f1=t["number"])
    assert api(rig, "GET", f"/tickets/{t['id']}").json()["status"] == "done"
    keypad.write(encode("KEY", "03", "FINISH"))
    assert keypad.wait_for("ERR").fields[1] == "NO_TICKET"
    keypad.write(encode("KEY", "03", "PAUSE"))
    keypad.wait_for("CUR")
    assert api(rig, "GET", "/windows").json()["windows"][2]["status"] == "paused"
    keypad.write(encode("KEY", "03", "PAUSE"))
    keypad.wait_for("CUR")
    assert api(rig, "GET", "/windows").json()["windows"][2]["status"] == "open"
    keypad.write(encode("KEY", "04", "NEXT"))  # another window's key on this wire
    assert keypad.wait_for("ERR").fields[1] == "WINDOW"


def test_a_two_letter_ticket_field_and_the_heartbeat_on_the_wire(rig):
    pad = rig["pad"]
    t = api(rig, "POST", "/tickets", "kiosk", json={"service": "AB"}).json()
    assert t["number"] == "AB001"
    r = api(rig, "POST", "/windows/3/call", json={"ticket": t["id"], "reason": "测试"})
    assert r.status_code == 200, r.json()
    assert api(rig, "POST", f"/tickets/{t['id']}/finish").json()["status"] == "done"
    pad.wait_for("ASK", f0="03", f1="AB001")
    seq = f"{next(SEQ):04d}"
    pad.write(encode("RATE", "03", 5, seq))
    pad.wait_for("ACK", f0=seq)
    assert next(r for r in ratings(rig) if r["ticket"] == t["id"])["score"] == 5

    # a keypad that never sent a heartbeat is "unknown", not "disconnected"
    keypad = health(rig, "keypad3")
    assert keypad["connected"] is True and keypad["heartbeat"] == "unknown"
    pad.write(encode("HB", "03"))
    deadline = time.monotonic() + 5
    while health(rig, "pad3")["heartbeats"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    h = health(rig, "pad3")
    assert h["heartbeats"] == 1 and h["heartbeat"] == "ok" and h["heartbeat_at"]
