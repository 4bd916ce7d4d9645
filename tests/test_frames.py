"""The serial frame decoder: checksums, resynchronisation, and that noise never becomes a rating."""
import re

import pytest
from hypothesis import given, settings, strategies as st

from devices.frames import MAX_FRAME, Decoder, checksum, encode, parse

pytestmark = pytest.mark.unit


def test_design_examples_round_trip():
    frame = encode("RATE", "03", 5, "0017")
    assert frame.startswith(b"$RATE,03,5,0017*") and frame.endswith(b"\r\n")
    assert int(frame[-4:-2], 16) == checksum(b"RATE,03,5,0017")
    got = Decoder().feed(frame)
    assert [(f.kind, f.fields) for f in got] == [("RATE", ("03", "5", "0017"))]
    assert parse(encode("ASK", "03", "A023")[:-2], accept={"ASK"}).fields == ("03", "A023")


def test_dollar_starts_a_new_frame_and_the_cut_one_is_counted():
    d = Decoder()
    got = d.feed(b"noise$RATE,03,4,00" + encode("RATE", "03", 4, "0001"))
    assert [f.fields for f in got] == [("03", "4", "0001")]
    assert d.dropped == 1 and d.noise == 5


def test_bad_frames_are_dropped_and_counted():
    good = encode("KEY", "03", "NEXT")
    bad_sum = good.replace(good[-4:-2], b"00" if good[-4:-2] != b"00" else b"11")
    lower_hex = b"$RATE,03,5,0017*" + (b"%02x" % checksum(b"RATE,03,5,0017")) + b"\r\n"
    unknown = b"$HELLO,1*" + b"%02X" % checksum(b"HELLO,1") + b"\r\n"
    bad_score = b"$RATE,03,7,0017*" + b"%02X" % checksum(b"RATE,03,7,0017") + b"\r\n"
    too_long = b"$KEY,03," + b"N" * MAX_FRAME + b"*00\r\n"
    d = Decoder()
    frames = d.feed(bad_sum + lower_hex + unknown + bad_score + too_long + good)
    assert [f.kind for f in frames] == ["KEY"]
    assert d.dropped == 5


def test_server_frames_are_not_accepted_from_a_device():
    d = Decoder()
    assert d.feed(encode("ACK", "0017")) == [] and d.dropped == 1


valid_frames = st.one_of(
    st.builds(lambda w, s, q: encode("RATE", f"{w:02d}", s, f"{q:04d}"),
              st.integers(0, 99), st.integers(1, 5), st.integers(0, 9999)),
    st.builds(lambda w, k: encode("KEY", f"{w:02d}", k),
              st.integers(0, 99), st.sampled_from(["NEXT", "RECALL", "NOSHOW", "FINISH", "PAUSE"])))
noise = st.binary(max_size=120) | st.sampled_from([b"$", b"\r\n", b"$RATE,03,5,", b"*4F\r\n", b"\n"])
WHOLE = re.compile(rb"\$([^$]*)\*([0-9A-F]{2})\r?\n")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.booleans(), valid_frames, noise), max_size=12), st.data())
def test_noise_never_becomes_a_frame(parts, data):
    """Any stream: every frame decoded was sent whole and valid; every frame sent whole is decoded."""
    stream, sent = b"", []
    for before, frame, junk in parts:
        if before:
            stream += junk
        stream += frame
        sent.append(frame[:-2])
        if not before:
            stream += junk
    # feed in arbitrary chunks: the result must not depend on the chunking
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    d, got = Decoder(), []
    for a, b in zip([0, *cuts], [*cuts, len(stream)]):
        got += d.feed(stream[a:b])
    raws = [f.raw for f in got]
    # each decoded frame is a whole, checksummed frame that occurs in the stream
    for raw in raws:
        assert raw + b"\r\n" in stream or raw + b"\n" in stream
        body = raw[1:-3]
        assert int(raw[-2:], 16) == checksum(body)
        assert parse(raw) is not None
    # every frame we sent whole comes out, in order (noise may add only valid frames of its own)
    it = iter(raws)
    assert all(any(r == s for r in it) for s in sent)
    assert d.frames == len(raws)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_alone_give_no_frame_unless_one_is_in_them(blob):
    frames = Decoder().feed(blob)
    for f in frames:
        assert WHOLE.search(blob) and f.raw in blob
