"""Serial rating pads and caller keypads: one reader per port URL from hall.toml.

Each port is opened with ``serial.serial_for_url`` (so ``/dev/ttyUSB0``,
``socket://``, ``loop://``, ``spy://`` and ``hwgrep://`` all work) and read by a
``serial.threaded.ReaderThread`` whose protocol feeds a frame ``Decoder``.
When the port vanishes the reader ends and the supervisor reopens it with
backoff. Frames to the device (ASK, ACK, NAK, IDLE, CUR, ERR) go through an
outbox drained by a writer, so a change in the hall never waits on a wire.

Under ``qrate serve`` the standard library is monkey-patched by gevent, so
these "threads" are greenlets and pyserial's select-based reads and writes
are cooperative: a reader waiting on a quiet port costs nothing and never
holds the loop (docs/serial-protocol.md, "Threads and gevent").

Everything the pads and keypads do in the hall goes through the device port
(``rating_due``, ``rate``, ``pad_sequence``, ``save_pad_sequence``,
``window_state``, ``call_next`` ...); they learn of finishes and ratings from
the events the port pushes after each commit.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Optional

import serial
import serial.threaded

from server.engine import QueueError

from .frames import Decoder, Frame, encode, rate_dimensions

log = logging.getLogger("qrate.serial")


class FrameProtocol(serial.threaded.Protocol):
    """Bytes in, frames out; the port decides what each frame means."""

    def __init__(self, port: "SerialPort"):
        self.port = port
        self.decoder = Decoder()

    def connection_made(self, transport):
        self.port.connected(transport)

    def data_received(self, data: bytes):
        frames = self.decoder.feed(data)
        self.port.count(self.decoder, len(data))
        for frame in frames:
            try:
                self.port.handle(frame)
            except Exception:  # a failure in the hall never kills the reader
                log.exception("serial frame %r failed", frame.raw)

    def connection_lost(self, exc):
        self.port.lost(exc)


HEARTBEAT_LATE_S = 35.0  # a device sends $HB every 10 s; three missed in a row is late ([serial] heartbeat_late_s)


class SerialPort:
    """One port URL; a pad and/or a keypad of one window may share it."""

    def __init__(self, devices: "SerialDevices", url: str, pad: Optional[int], keypad: Optional[int]):
        self.devices, self.url, self.pad, self.keypad = devices, url, pad, keypad
        self.name = f"serial:{url}"
        self.outbox: "queue.Queue[bytes]" = queue.Queue(maxsize=200)
        self.reader: Optional[serial.threaded.ReaderThread] = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.asking: Optional[dict] = None  # {"ticket", "number", "until"}
        self.last_seq: Optional[tuple[str, str, float]] = None  # (seq, reply, monotonic)
        self.stats = {"url": url, "pad_window": pad, "keypad_window": keypad, "connected": False,
                      "opened": 0, "bytes": 0, "frames": 0, "dropped": 0, "noise_bytes": 0,
                      "ratings": 0, "resent": 0, "refused": 0, "keys": 0, "last_error": None,
                      "last_frame_at": None, "heartbeats": 0, "heartbeat_at": None, "baudrate": None}
        self._heartbeat_mono: Optional[float] = None
        self._base = (0, 0, 0)
        self._told: Optional[tuple[bool, str]] = None  # (connected, heartbeat) last pushed
        self._told_lock = threading.Lock()

    # -- threads -------------------------------------------------------------
    def start(self) -> None:
        for target, name in ((self._supervise, "reader"), (self._write_loop, "writer")):
            t = threading.Thread(target=target, name=f"serial-{name} {self.url}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        reader = self.reader
        if reader is not None:
            try:
                reader.close()
            except Exception:
                pass
        try:
            self.outbox.put_nowait(b"")
        except queue.Full:
            pass

    def _supervise(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                port = serial.serial_for_url(self.url, baudrate=self.devices.baudrate, timeout=None)
            except (serial.SerialException, OSError, ValueError) as exc:
                self.stats["last_error"] = str(exc)[:200]
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.2
            if self._stop.is_set():  # closed while it was opening (its window's URL changed)
                port.close()
                break
            self.stats["baudrate"] = getattr(port, "baudrate", None)  # as opened ([serial] baudrate)
            reader = serial.threaded.ReaderThread(port, lambda: FrameProtocol(self))
            self.reader = reader
            reader.start()
            reader.join()
            self.reader = None
            try:
                port.close()
            except Exception:
                pass
            self._stop.wait(0.2)

    def _write_loop(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.outbox.get(timeout=0.5)
            except queue.Empty:
                data = None
            if self.asking and time.monotonic() > self.asking["until"]:
                self.asking = None  # nobody answered: back to idle, nothing is recorded
                self._write(encode("IDLE", f"{self.pad:02d}"))
            if data:
                self._write(data)
            self.tell()  # a heartbeat that went late says so itself: nothing else happens then

    def _write(self, data: bytes) -> None:
        reader = self.reader
        if reader is None or not reader.alive:
            return  # the device is away; on reconnect it gets the current state
        try:
            reader.write(data)
        except (serial.SerialException, OSError) as exc:
            self.stats["last_error"] = str(exc)[:200]

    def send(self, data: bytes) -> None:
        try:
            self.outbox.put_nowait(data)
        except queue.Full:
            self.stats["last_error"] = "outbox full"

    # -- protocol callbacks --------------------------------------------------
    def connected(self, transport) -> None:
        self.stats["connected"] = True
        self.stats["opened"] += 1
        self.stats["last_error"] = None
        self._base = (self.stats["frames"], self.stats["dropped"], self.stats["noise_bytes"])
        self.tell()
        if self.pad is not None:
            self.devices.resume_pad(self)

    def lost(self, exc) -> None:
        self.stats["connected"] = False
        if exc is not None:
            self.stats["last_error"] = str(exc)[:200]
        self.tell()

    def tell(self) -> None:
        """Push the port's health to the managers when it changed: opened or closed, the
        heartbeat ok, late or back. Only a change goes out, never each heartbeat."""
        now = (bool(self.stats["connected"]), self.heartbeat())
        with self._told_lock:
            before, self._told = self._told, now
        if before is None and not now[0]:
            return  # not open from the start: nothing changed (the dashboard reads it as is)
        if before == now or self._stop.is_set():
            return
        push = getattr(self.devices.device_port, "health_changed", None)  # a bare port in tests has none
        if push is None:
            return
        try:
            push(
                {"kind": "serial", "url": self.url, "pad_window": self.pad, "keypad_window": self.keypad,
                 "connected": now[0], "heartbeat": now[1], "was": None if before is None else
                 {"connected": before[0], "heartbeat": before[1]}, "at": self.devices.device_port.now().isoformat()})
        except Exception:  # a push that fails must never stop the reader
            log.exception("could not push the health of %s", self.url)

    def count(self, decoder: Decoder, nbytes: int) -> None:
        f, d, n = self._base
        self.stats["bytes"] += nbytes
        self.stats["frames"], self.stats["dropped"], self.stats["noise_bytes"] = \
            f + decoder.frames, d + decoder.dropped, n + decoder.noise

    def handle(self, frame: Frame) -> None:
        self.stats["last_frame_at"] = self.devices.device_port.now().isoformat()
        if frame.kind == "RATE" and self.pad is not None:
            self.devices.rate(self, frame)
        elif frame.kind == "HB":
            # a pad or keypad that sends $HB,03*HH is known alive; one that never does is
            # "unknown", never "disconnected" (the port may still be open)
            self.stats["heartbeats"] += 1
            self.stats["heartbeat_at"] = self.stats["last_frame_at"]
            self._heartbeat_mono = time.monotonic()
            self.tell()  # the first one, or back after going late; else nothing changed
            if self.keypad is not None and frame.fields[0] == f"{self.keypad:02d}":
                # the clerk's keypad is there: its window is not silent ([signin] silent_minutes)
                self.devices.device_port.keypad_alive(self.keypad)
        elif frame.kind == "KEY" and self.keypad is not None:
            self.stats["keys"] += 1
            self.devices.key(self, frame)
        else:
            self.stats["refused"] += 1

    def health(self) -> dict:
        return dict(self.stats, asking=self.asking["number"] if self.asking else None,
                    heartbeat=self.heartbeat())

    def heartbeat(self) -> str:
        """"unknown" (never sent one), "ok" (within [serial] heartbeat_late_s) or "late"."""
        if self._heartbeat_mono is None:
            return "unknown"
        return "ok" if time.monotonic() - self._heartbeat_mono <= self.devices.heartbeat_late_s else "late"


def asked_as(item: dict) -> str:
    """What $ASK names: the ticket number, or '#' and the case number where no ticket is
    called (a rating request of the business system, docs/serial-protocol.md)."""
    if item.get("number"):
        return item["number"]
    return "#" + str(item.get("case_no") or "")


class SerialDevices:
    """Every serial port of the hall: readers, the pad questions and the keypad actions."""

    def __init__(self, device_port, cfg):
        self.device_port, self.cfg = device_port, cfg  # the hall's device port (not a serial port)
        self.baudrate = self._baudrate()
        self.heartbeat_late_s = self._heartbeat_late_s()
        self.ports = [SerialPort(self, url, roles["pad"], roles["keypad"])
                      for url, roles in self._wanted().items()]
        self.pads = {p.pad: p for p in self.ports if p.pad is not None}
        self.started = False

    def _baudrate(self) -> int:
        return int(self.cfg.raw.get("serial", {}).get("baudrate", 9600))

    def _heartbeat_late_s(self) -> float:
        return float(self.cfg.raw.get("serial", {}).get("heartbeat_late_s", HEARTBEAT_LATE_S))

    def _wanted(self) -> dict[str, dict]:
        """Port URL -> the window whose pad and whose keypad are on it, from the hall's windows."""
        by_url: dict[str, dict] = {}
        for number, dev in self.cfg.window_devices.items():
            for role in ("pad", "keypad"):
                url = dev.get(role)
                if url:
                    by_url.setdefault(str(url), {"pad": None, "keypad": None})[role] = number
        return by_url

    def reconfigure(self) -> list[str]:
        """Follow the configuration as it is now (a change made in the browser): close the
        ports no window names any more (or whose pad/keypad moved), open the new ones; a new
        [serial] baudrate reopens every port. Returns what changed, for the log."""
        wanted, baudrate = self._wanted(), self._baudrate()
        self.heartbeat_late_s = self._heartbeat_late_s()
        again = baudrate != self.baudrate
        self.baudrate = baudrate
        keep, gone = [], []
        for port in self.ports:
            if not again and wanted.get(port.url) == {"pad": port.pad, "keypad": port.keypad}:
                keep.append(port)
            else:
                gone.append(port)
        kept = {p.url for p in keep}
        new = [SerialPort(self, url, roles["pad"], roles["keypad"])
               for url, roles in wanted.items() if url not in kept]
        self.ports = keep + new
        self.pads = {p.pad: p for p in self.ports if p.pad is not None}
        for port in gone:
            port.stop()
        if self.started:
            for port in new:
                port.start()
        return [f"closed {p.url}" for p in gone] + [f"opened {p.url}" for p in new]

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        for port in self.ports:
            port.start()

    def stop(self) -> None:
        for port in self.ports:
            port.stop()

    def health(self) -> list[dict]:
        return [p.health() for p in self.ports]

    # -- pads ----------------------------------------------------------------
    def _ask(self, port: SerialPort, ticket: int, number: str, seconds: float) -> None:
        port.asking = {"ticket": ticket, "number": number, "until": time.monotonic() + seconds}
        port.send(encode("ASK", f"{port.pad:02d}", number))

    def on_event(self, payload: dict) -> None:
        """A change in the hall (pushed after its commit): light up or clear that window's pad."""
        if not self.started:
            return
        port = self.pads.get(payload.get("window"))
        if port is None:
            return
        if payload["type"] == "ticket.finished":
            seconds = float(self.device_port.settings()["prompt_seconds"])
            self._ask(port, payload["ticket"]["id"], payload["ticket"]["number"], seconds)
        elif payload["type"] == "rating.requested":  # a case to rate (一次一评): its ticket or '#case'
            self._ask(port, payload.get("ticket_id"), asked_as(payload), float(payload["expires_in_s"]))
        elif payload["type"] == "rating.created" and port.asking and port.asking["number"] == asked_as(payload):
            port.asking = None
            port.send(encode("IDLE", f"{port.pad:02d}"))

    def resume_pad(self, port: SerialPort) -> None:
        """A pad (re)connected: ask again if a rating is still due, else idle."""
        due = self.device_port.rating_due(port.pad)
        if due:
            self._ask(port, due["ticket"], asked_as(due), due["expires_in_s"])
        else:
            port.asking = None
            port.send(encode("IDLE", f"{port.pad:02d}"))

    def _answer(self, port: SerialPort, seq: str, reply: bytes) -> None:
        """Remember the answer to this sequence (for a resend) and send it."""
        port.last_seq = (seq, reply, time.monotonic())
        port.send(reply)

    def _refuse(self, port: SerialPort, seq: str, reply: bytes) -> None:
        """A NAK: stored through the port (so a resend after a restart gets it too), then sent."""
        port.stats["refused"] += 1
        try:
            self.device_port.save_pad_sequence(port.url, seq, reply.decode("ascii"))
        except Exception:
            log.exception("could not store the pad sequence")
        self._answer(port, seq, reply)

    def _last_seq(self, port: SerialPort) -> Optional[tuple[str, bytes, float]]:
        """(seq, reply, age in seconds) of the last RATE this port answered, or None."""
        if port.last_seq is not None:
            seq, reply, at = port.last_seq
            return seq, reply, time.monotonic() - at
        stored = self.device_port.pad_sequence(port.url)
        if not stored:
            return None
        seq, reply, ts = stored  # ts: the POSIX time it was saved (wall clock)
        return seq, reply.encode("ascii"), time.time() - ts

    def rate(self, port: SerialPort, frame: Frame) -> None:
        """$RATE,WW,S,QQQQ[,ELA]: rate the ticket this pad was asked about; a resent QQQQ is acked again."""
        window, score, seq = int(frame.fields[0]), int(frame.fields[1]), frame.fields[2]
        last = self._last_seq(port)
        keep_s = float(self.device_port.settings()["rating_window_s"])
        if last is not None and last[0] == seq and last[2] < keep_s:
            port.stats["resent"] += 1
            port.send(last[1])
            return
        if window != port.pad:
            return self._refuse(port, seq, encode("NAK", seq, "WINDOW"))
        due = self.device_port.rating_due(port.pad)
        if due is None:
            return self._refuse(port, seq, encode("NAK", seq, "NOASK"))
        ack = encode("ACK", seq)
        dims = rate_dimensions(frame)  # the optional sub-scores field (docs/serial-protocol.md)
        asked, port.asking = port.asking, None  # so the rating's own push sends no IDLE before our ACK
        try:
            self.device_port.rate(due["ticket"], port.pad, score, source="serial", device=port.name,
                                  pad_sequence=(port.url, seq, ack.decode("ascii")),
                                  **({"request": due["request"]} if due.get("request") else {}),
                                  **({"dimensions": dims} if dims else {}))
        except QueueError as exc:
            port.asking = asked
            return self._refuse(port, seq, encode("NAK", seq, exc.code.upper()[:16]))
        port.stats["ratings"] += 1
        self._answer(port, seq, ack)
        port.send(encode("IDLE", f"{port.pad:02d}"))

    # -- keypads -------------------------------------------------------------
    def key(self, port: SerialPort, frame: Frame) -> None:
        """$KEY,WW,ACTION: the clerk's keypad drives the window like the console."""
        window, action = int(frame.fields[0]), frame.fields[1]
        ww = f"{window:02d}"
        if window != port.keypad:
            port.stats["refused"] += 1
            port.send(encode("ERR", ww, "WINDOW"))
            return
        p = self.device_port
        try:
            state = p.window_state(window)
            current, status = state["current"], state["status"]
            if action == "NEXT":
                t = p.call_next(window)
                number = t["number"] if t else "----"
            elif action == "PAUSE":
                if status == "closed":  # nobody signed in: the keypad does not open the window
                    port.send(encode("ERR", ww, "WINDOW_CLOSED"))
                    return
                (p.pause if status == "open" else p.resume)(window)
                number = current["number"] if current else "----"
            else:
                if current is None:
                    port.send(encode("ERR", ww, "NO_TICKET"))
                    return
                {"RECALL": p.recall, "NOSHOW": p.no_show, "FINISH": p.finish}[action](
                    current["id"], window)
                number = current["number"] if action == "RECALL" else "----"
        except QueueError as exc:
            port.send(encode("ERR", ww, exc.code.upper()[:16]))
            return
        port.send(encode("CUR", ww, number))
