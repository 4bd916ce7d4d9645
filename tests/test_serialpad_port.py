"""Serial rating pads and caller keypads against the device port, in memory (FakePort):
the pad is asked on a finish at its window and goes idle on a rating; a resent
sequence is acked again without a second rating (also after a restart); every NAK;
the keypad's keys. Frames to the device are read from the port's outbox, so no
serial line is opened, except in the last test, over pyserial's loop://."""
from __future__ import annotations

import queue
import time

import pytest

from devices.frames import TO_DEVICE, Decoder, encode, parse
from devices.serialpad import SerialDevices
from fake_port import FakePort, hall_config
from server import engine

pytestmark = pytest.mark.unit

PAD, KEYPAD = "loop://pad3", "loop://keypad3"


@pytest.fixture
def cfg(tmp_path):
    cfg = hall_config(tmp_path / "hall")
    cfg.window_devices = {3: {"pad": PAD, "keypad": KEYPAD}, 4: {"pad": None, "keypad": None}}
    return cfg


@pytest.fixture
def port():
    port = FakePort(prompt_seconds=30)
    port.open_window(3)
    port.open_window(4)
    return port


def devices_for(port, cfg) -> SerialDevices:
    """SerialDevices subscribed to the port, as if started, without opening any line."""
    devices = SerialDevices(port, cfg)
    devices.started = True
    port.subscribe(devices.on_event)
    return devices


@pytest.fixture
def devices(port, cfg):
    return devices_for(port, cfg)


def line(devices, url):
    return next(p for p in devices.ports if p.url == url)


def sent(ser) -> list[tuple]:
    """Frames queued for the device since the last look: (kind, *fields)."""
    out = []
    decoder = Decoder(accept=TO_DEVICE)
    while True:
        try:
            data = ser.outbox.get_nowait()
        except queue.Empty:
            return out
        out += [(f.kind, *f.fields) for f in decoder.feed(data)]


def frame(kind, *fields):
    return parse(encode(kind, *fields).rstrip(b"\r\n"))


def serve(port, number="A001", window=3) -> dict:
    port.issue(number)
    t = port.call_next(window)
    port.finish(t["id"], window)
    return t


# --- pads ---------------------------------------------------------------------

def test_a_finish_at_the_pads_window_asks_and_a_rating_elsewhere_idles_it(port, devices):
    pad = line(devices, PAD)
    serve(port, "A001", window=4)
    assert sent(pad) == []  # another window's finish
    t = serve(port, "A002", window=3)
    assert sent(pad) == [("ASK", "03", "A002")]
    assert pad.asking["ticket"] == t["id"]
    assert pad.asking["until"] - time.monotonic() == pytest.approx(30, abs=1)  # prompt_seconds
    port.rate(t["id"], 3, 5, source="touch", device="pad-page")  # rated on the touch page
    assert sent(pad) == [("IDLE", "03")] and pad.asking is None


def test_a_rate_frame_rates_the_asked_ticket_with_its_sequence(port, devices):
    pad = line(devices, PAD)
    t = serve(port)
    sent(pad)
    devices.rate(pad, frame("RATE", "03", 4, "0017"))
    [rating] = port.ratings
    assert (rating["ticket"], rating["score"], rating["source"], rating["device"]) == \
        (t["id"], 4, "serial", f"serial:{PAD}")
    assert port.sequences[PAD][:2] == ("0017", encode("ACK", "0017").decode("ascii"))
    assert sent(pad) == [("ACK", "0017"), ("IDLE", "03")]  # ACK first: the push sent no IDLE
    assert pad.stats["ratings"] == 1


def test_a_resent_sequence_is_acked_again_and_not_counted_twice(port, cfg, devices):
    pad = line(devices, PAD)
    serve(port)
    devices.rate(pad, frame("RATE", "03", 5, "0042"))
    sent(pad)
    devices.rate(pad, frame("RATE", "03", 5, "0042"))  # the pad missed our ACK
    assert sent(pad) == [("ACK", "0042")] and len(port.ratings) == 1
    assert pad.stats["resent"] == 1
    # after a restart the answer comes from the port (stored with the rating)
    again = devices_for(port, cfg)
    pad2 = line(again, PAD)
    again.rate(pad2, frame("RATE", "03", 5, "0042"))
    assert sent(pad2) == [("ACK", "0042")] and len(port.ratings) == 1
    assert pad2.stats["resent"] == 1


def test_the_same_sequence_after_the_rating_window_is_a_new_press(port, cfg, devices):
    pad = line(devices, PAD)
    serve(port)
    devices.rate(pad, frame("RATE", "03", 5, "0042"))
    seq, reply, ts = port.sequences[PAD]
    port.sequences[PAD] = (seq, reply, ts - 601)  # saved longer ago than rating_window_s (600)
    again = devices_for(port, cfg)  # a restart: the answer comes from the port
    pad2 = line(again, PAD)
    again.rate(pad2, frame("RATE", "03", 3, "0042"))
    assert sent(pad2) == [("NAK", "0042", "NOASK")] and len(port.ratings) == 1


def test_nak_another_windows_frame_and_no_question_and_stored(port, devices):
    pad = line(devices, PAD)
    devices.rate(pad, frame("RATE", "03", 5, "0001"))
    assert sent(pad) == [("NAK", "0001", "NOASK")]
    assert port.sequences[PAD][:2] == ("0001", encode("NAK", "0001", "NOASK").decode("ascii"))
    serve(port)
    sent(pad)
    devices.rate(pad, frame("RATE", "04", 5, "0002"))
    assert sent(pad) == [("NAK", "0002", "WINDOW")]
    assert port.ratings == [] and pad.stats["refused"] == 2
    devices.rate(pad, frame("RATE", "04", 5, "0002"))  # resent: the same NAK, counted as resent
    assert sent(pad) == [("NAK", "0002", "WINDOW")] and pad.stats["refused"] == 2


def test_nak_with_the_halls_rule_code_keeps_asking(port, devices):
    pad = line(devices, PAD)
    t = serve(port)
    sent(pad)
    port.fail_next_rate = engine.NotRateable()
    devices.rate(pad, frame("RATE", "03", 2, "0005"))
    assert sent(pad) == [("NAK", "0005", "NOT_RATEABLE")]
    assert pad.asking["ticket"] == t["id"]  # still asking: the citizen may press again
    assert port.sequences[PAD][1] == encode("NAK", "0005", "NOT_RATEABLE").decode("ascii")
    devices.rate(pad, frame("RATE", "03", 2, "0006"))
    assert sent(pad) == [("ACK", "0006"), ("IDLE", "03")] and len(port.ratings) == 1


def test_a_rating_already_given_elsewhere_is_noask(port, devices):
    pad = line(devices, PAD)
    t = serve(port)
    port.rate(t["id"], 3, 4, source="touch", device=None)
    sent(pad)
    devices.rate(pad, frame("RATE", "03", 1, "0009"))
    assert sent(pad) == [("NAK", "0009", "NOASK")] and len(port.ratings) == 1


def test_a_reconnected_pad_is_asked_again_while_the_rating_is_due(port, devices):
    pad = line(devices, PAD)
    serve(port)
    sent(pad)
    port.advance(10)
    devices.resume_pad(pad)
    assert sent(pad) == [("ASK", "03", "A001")]
    assert pad.asking["until"] - time.monotonic() == pytest.approx(20, abs=1)
    port.advance(30)  # past prompt_seconds
    devices.resume_pad(pad)
    assert sent(pad) == [("IDLE", "03")] and pad.asking is None


def test_nothing_is_queued_for_devices_that_were_not_started(port, cfg):
    devices = SerialDevices(port, cfg)
    port.subscribe(devices.on_event)
    serve(port)
    assert sent(line(devices, PAD)) == []


# --- keypads ------------------------------------------------------------------

def press(devices, key, window="03"):
    kp = line(devices, KEYPAD)
    devices.key(kp, frame("KEY", window, key))
    return sent(kp)


def test_keypad_drives_the_window_through_the_port(port, devices):
    assert press(devices, "NEXT") == [("CUR", "03", "----")]  # nobody waiting
    port.issue("B001")
    port.issue("B002")
    assert press(devices, "NEXT") == [("CUR", "03", "B001")]
    assert press(devices, "NEXT") == [("ERR", "03", "WINDOW_BUSY")]
    assert press(devices, "NOSHOW") == [("ERR", "03", "TOO_FEW_RECALLS")]
    assert press(devices, "RECALL") == [("CUR", "03", "B001")]
    assert press(devices, "FINISH") == [("CUR", "03", "----")]
    assert sent(line(devices, PAD)) == [("ASK", "03", "B001")]  # the pad asks after its finish
    assert port.tickets[1]["status"] == "done"
    assert press(devices, "FINISH") == [("ERR", "03", "NO_TICKET")]
    assert press(devices, "PAUSE") == [("CUR", "03", "----")]
    assert port.window_state(3)["status"] == "paused"
    assert press(devices, "NEXT") == [("ERR", "03", "WINDOW_NOT_OPEN")]
    assert press(devices, "PAUSE") == [("CUR", "03", "----")]
    assert port.window_state(3)["status"] == "open"
    assert press(devices, "NEXT") == [("CUR", "03", "B002")]
    assert press(devices, "PAUSE") == [("CUR", "03", "B002")]  # paused while serving B002


def test_keypad_never_opens_a_closed_window_or_drives_another(port, devices):
    port.windows[3]["status"] = "closed"
    assert press(devices, "PAUSE") == [("ERR", "03", "WINDOW_CLOSED")]
    assert port.window_state(3)["status"] == "closed"
    assert press(devices, "NEXT", window="04") == [("ERR", "04", "WINDOW")]
    assert line(devices, KEYPAD).stats["refused"] == 1


# --- the whole reader path, over pyserial's loop:// ------------------------------------

def test_a_rate_frame_through_a_real_reader_over_loop(tmp_path):
    """loop:// echoes what is written: the RATE we write comes back to the reader as if
    the pad had sent it; the server's own ASK/ACK/IDLE echoes are dropped (not from a device)."""
    port = FakePort()
    port.open_window(3)
    cfg = hall_config(tmp_path / "hall")
    cfg.window_devices = {3: {"pad": "loop://", "keypad": None}}
    devices = SerialDevices(port, cfg)
    port.subscribe(devices.on_event)
    serve(port)
    devices.start()
    pad = devices.ports[0]
    try:
        deadline = time.monotonic() + 5
        while not (pad.stats["connected"] and pad.asking) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pad.asking and pad.asking["number"] == "A001"  # asked on connect
        pad.reader.write(b"noise" + encode("RATE", "03", 5, "0100"))
        while not port.ratings and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [(r["score"], r["source"]) for r in port.ratings] == [(5, "serial")]
        assert port.sequences["loop://"][0] == "0100"
        assert pad.stats["frames"] == 1 and pad.stats["noise_bytes"] >= 5
    finally:
        devices.stop()
