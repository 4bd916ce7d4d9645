"""A serial pad sends the three sub-scores (服务效率/服务水平/服务态度) in an optional
fourth field of $RATE, over a real pty against a running `qrate serve`; old frames still
work, and a malformed sub-score field drops the whole frame (counted), never a rating."""
import itertools
import time

import pytest

from devices.frames import Decoder, encode, parse, rate_dimensions
from test_serial_pty import api, health, ratings, rig, serve_one  # noqa: F401  (rig: the module's fixture)

SEQ = itertools.count(8000)


def frame(*fields) -> bytes:
    return encode(*fields).rstrip(b"\r\n")


@pytest.mark.unit
def test_the_sub_score_field_is_optional_and_checked_like_every_field():
    old = parse(frame("RATE", "03", "4", "0017"))
    assert old is not None and rate_dimensions(old) is None
    full = parse(frame("RATE", "03", "4", "0017", "453"))
    assert rate_dimensions(full) == {"efficiency": 4, "level": 5, "attitude": 3}
    assert rate_dimensions(parse(frame("RATE", "03", "2", "0018", "-1-"))) == {"level": 1}
    assert rate_dimensions(parse(frame("RATE", "03", "2", "0018", "---"))) is None
    for bad in ("463", "45", "4535", "", "abc", "4 5"):
        assert parse(frame("RATE", "03", "4", "0017", bad)) is None, bad
    assert parse(frame("RATE", "03", "4", "0017", "453", "1")) is None  # one field too many
    # only RATE has the optional field
    assert parse(frame("HB", "03", "453")) is None
    # a good body with a wrong checksum is still dropped
    good = frame("RATE", "03", "4", "0017", "453")
    assert parse(good[:-2] + (b"00" if good[-2:] != b"00" else b"01")) is None
    d = Decoder()
    got = d.feed(encode("RATE", "03", "4", "0017", "453") + encode("RATE", "03", "4", "0018", "9")
                 + encode("RATE", "03", "5", "0019"))
    assert [f.fields for f in got] == [("03", "4", "0017", "453"), ("03", "5", "0019")]
    assert (d.frames, d.dropped) == (2, 1)


def _rate(rig, score, *extra):
    pad = rig["pad"]
    t = serve_one(rig)
    pad.wait_for("ASK", f0="03", f1=t["number"])
    seq = f"{next(SEQ):04d}"
    pad.write(encode("RATE", "03", score, seq, *extra))
    pad.wait_for("ACK", f0=seq)
    pad.wait_for("IDLE", f0="03")
    return next(r for r in ratings(rig) if r["ticket"] == t["id"])


@pytest.mark.device
def test_a_pad_sends_sub_scores_and_the_rating_keeps_them(rig):  # noqa: F811
    row = _rate(rig, 4, "453")
    assert (row["score"], row["source"]) == (4, "serial")
    assert row["dimensions"] == {"efficiency": 4, "level": 5, "attitude": 3}
    # only some given: '-' for the others
    row = _rate(rig, 2, "2-1")
    assert row["dimensions"] == {"efficiency": 2, "attitude": 1}
    # an old pad's frame, as before: no sub-scores
    row = _rate(rig, 5)
    assert row["score"] == 5 and not row.get("dimensions")


@pytest.mark.device
def test_a_bad_sub_score_field_drops_the_frame_and_the_pad_sends_again(rig):  # noqa: F811
    pad = rig["pad"]
    t = serve_one(rig)
    pad.wait_for("ASK", f0="03", f1=t["number"])
    before, dropped = len(ratings(rig)), health(rig, "pad3")["dropped"]
    seq = f"{next(SEQ):04d}"
    pad.write(encode("RATE", "03", 4, seq, "463"))  # a 6 is no level: the frame is dropped
    pad.write(encode("RATE", "03", 4, seq, "45"))  # too short
    deadline = time.monotonic() + 10
    while health(rig, "pad3")["dropped"] < dropped + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert health(rig, "pad3")["dropped"] == dropped + 2
    assert len(ratings(rig)) == before  # nothing was recorded, nothing answered
    pad.write(encode("RATE", "03", 4, seq, "445"))  # the pad's resend, well formed
    pad.wait_for("ACK", f0=seq)
    row = next(r for r in ratings(rig) if r["ticket"] == t["id"])
    assert row["dimensions"] == {"efficiency": 4, "level": 4, "attitude": 5}
