"""Serial line frames of rating pads and caller keypads, in the style of NMEA 0183.

``$TYPE,field,...*HH\\r\\n`` where HH is the XOR of every byte between ``$`` and
``*`` as two upper-case hex digits. A ``$`` always starts a new frame; frames
longer than ``MAX_FRAME`` bytes, with a bad checksum, of an unknown type or
with malformed fields are dropped and counted. See docs/serial-protocol.md.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

MAX_FRAME = 80  # bytes from '$' to the last checksum digit; the CR LF is not counted
KEYS = ("NEXT", "RECALL", "NOSHOW", "FINISH", "PAUSE")

# what each frame type's fields must look like (from the device to the server and back)
FIELDS = {
    "RATE": (re.compile(r"\d{2}"), re.compile(r"[1-5]"), re.compile(r"\d{4}")),  # window, score, seq
    "KEY": (re.compile(r"\d{2}"), re.compile("|".join(KEYS))),  # window, key
    "HB": (re.compile(r"\d{2}"),),  # window: the device's heartbeat (docs/serial-protocol.md)
    # window, ticket number; or '#' and the case number (办件编号) where no ticket is called
    "ASK": (re.compile(r"\d{2}"), re.compile(r"[A-Z]{1,2}\d{3,5}|#[0-9A-Za-z._-]{1,64}")),
    "ACK": (re.compile(r"\d{4}"),),  # the sequence number of the RATE acknowledged
    "NAK": (re.compile(r"\d{4}"), re.compile(r"[A-Z_]{1,16}")),  # seq, why
    "IDLE": (re.compile(r"\d{2}"),),  # window
    "CUR": (re.compile(r"\d{2}"), re.compile(r"[A-Z]{1,2}\d{3,5}|----")),  # window, current ticket
    "ERR": (re.compile(r"\d{2}"), re.compile(r"[A-Z_]{1,16}")),  # window, why (keypad)
}
# optional trailing fields (an extension old devices never send; old frames stay valid)
OPTIONAL = {
    # the three sub-scores 服务效率/服务水平/服务态度 (efficiency, level, attitude), one
    # character each: 1-5, or '-' when the citizen gave none: $RATE,03,4,0017,45-*HH
    "RATE": (re.compile(r"[1-5-]{3}"),),
}
FROM_DEVICE = frozenset({"RATE", "KEY", "HB"})
TO_DEVICE = frozenset({"ASK", "ACK", "NAK", "IDLE", "CUR", "ERR"})
_BODY = re.compile(rb"[A-Z]{2,5}(,[\x20-\x23\x25-\x29\x2b-\x7e]*)*")  # printable, no '$' or '*'


def checksum(body: bytes) -> int:
    """XOR of every byte between '$' and '*'."""
    value = 0
    for b in body:
        value ^= b
    return value


def encode(kind: str, *fields) -> bytes:
    """One frame with its checksum and CR LF, e.g. encode('ACK', '0017')."""
    body = ",".join([kind, *(str(f) for f in fields)]).encode("ascii")
    frame = b"$" + body + b"*" + b"%02X" % checksum(body)
    if len(frame) > MAX_FRAME:
        raise ValueError(f"frame longer than {MAX_FRAME} bytes: {frame!r}")
    return frame + b"\r\n"


@dataclass(frozen=True)
class Frame:
    kind: str
    fields: tuple[str, ...]
    raw: bytes  # from '$' to the checksum digits


def parse(raw: bytes, accept: Iterable[str] = FROM_DEVICE) -> Frame | None:
    """A whole frame '$...*HH' (without CR LF) checked in full, or None."""
    if len(raw) > MAX_FRAME or len(raw) < 5 or raw[:1] != b"$" or raw[-3:-2] != b"*":
        return None
    body, given = raw[1:-3], raw[-2:]
    if not re.fullmatch(rb"[0-9A-F]{2}", given) or int(given, 16) != checksum(body):
        return None
    if not _BODY.fullmatch(body):
        return None
    kind, *fields = body.decode("ascii").split(",")
    shape = FIELDS.get(kind)
    if kind not in accept or shape is None:
        return None
    extra = OPTIONAL.get(kind, ())
    if not len(shape) <= len(fields) <= len(shape) + len(extra):
        return None
    shape = shape + extra[:len(fields) - len(shape)]
    if not all(p.fullmatch(f) for p, f in zip(shape, fields)):
        return None
    return Frame(kind, tuple(fields), bytes(raw))


DIMENSION_ORDER = ("efficiency", "level", "attitude")


def rate_dimensions(frame: Frame) -> dict | None:
    """The sub-scores a RATE frame carries ({"efficiency": 4, ...}, only those given), or None."""
    if frame.kind != "RATE" or len(frame.fields) < 4:
        return None
    given = {k: int(c) for k, c in zip(DIMENSION_ORDER, frame.fields[3]) if c != "-"}
    return given or None


class Decoder:
    """Turns a byte stream into valid frames; resynchronises on every '$'.

    ``dropped`` counts started frames that were abandoned or invalid; ``noise``
    counts bytes outside any frame. Feeding the stream in any chunking gives
    the same frames and counts.
    """

    def __init__(self, accept: Iterable[str] = FROM_DEVICE):
        self.accept = frozenset(accept)
        self.buf = bytearray()
        self.in_frame = False
        self.frames = 0
        self.dropped = 0
        self.noise = 0

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        for byte in data:
            if byte == 0x24:  # '$': whatever was being read is cut short
                if self.in_frame:
                    self.dropped += 1
                self.buf = bytearray(b"$")
                self.in_frame = True
            elif not self.in_frame:
                self.noise += 1
            elif byte == 0x0A:  # LF ends a frame (an optional CR before it)
                raw = bytes(self.buf[:-1] if self.buf.endswith(b"\r") else self.buf)
                self.in_frame = False
                self.buf = bytearray()
                frame = parse(raw, self.accept)
                if frame is None:
                    self.dropped += 1
                else:
                    self.frames += 1
                    out.append(frame)
            else:
                self.buf.append(byte)
                if len(self.buf) > MAX_FRAME + 1:  # +1: room for the CR
                    self.dropped += 1
                    self.in_frame = False
                    self.buf = bytearray()
        return out
