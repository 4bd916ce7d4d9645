"""`qrate printer-sim`: a ticket printer without hardware, on a TCP port or a pty.

It accepts ESC/POS, answers DLE EOT 1/2/4 at once (even while it holds data),
saves each job (ended by a cut) as NNNN.bin and NNNN.txt, and obeys commands on
standard input: `paper out`, `paper low`, `paper ok`, `cover open`, `cover close`,
`offline`, `online`, `quit`. While paper is out or the cover is open it holds
what it receives and prints it once the fault is cleared, as real printers do.
With --baud it reads no faster than that serial line would carry.
"""
from __future__ import annotations

import os
import re
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10


class SimPrinter:
    """The printer's state and its ESC/POS reader; transports feed it bytes."""

    def __init__(self, out_dir: Optional[Path] = None, echo: Callable[[str], None] = print):
        self.out_dir = out_dir
        self.echo = echo
        self.paper = "ok"  # ok | low | out
        self.cover_open = False
        self.offline = False
        self.jobs: list[bytes] = []
        self.lock = threading.Lock()
        self._held = bytearray()  # data received while a fault blocks printing
        self._job = bytearray()
        self._buf = bytearray()

    # -- faults
    @property
    def blocked(self) -> bool:
        return self.paper == "out" or self.cover_open or self.offline

    def command(self, line: str) -> bool:
        """Apply one control command; False for `quit`."""
        words = line.strip().lower().split()
        with self.lock:
            if words == ["paper", "out"]:
                self.paper = "out"
            elif words == ["paper", "low"]:
                self.paper = "low"
            elif words == ["paper", "ok"]:
                self.paper = "ok"
            elif words == ["cover", "open"]:
                self.cover_open = True
            elif words in (["cover", "close"], ["cover", "closed"]):
                self.cover_open = False
            elif words == ["offline"]:
                self.offline = True
            elif words == ["online"]:
                self.offline = False
            elif words == ["quit"]:
                return False
            elif words:
                self.echo(f"unknown command: {line.strip()}")
                return True
            if not self.blocked and self._held:
                held, self._held = bytes(self._held), bytearray()
                self._print(held)
        self.echo(f"state paper={self.paper} cover={'open' if self.cover_open else 'closed'} "
                  f"{'offline' if self.offline else 'online'}")
        return True

    def status_byte(self, n: int) -> Optional[int]:
        if n == 1:
            return 0x12 | (0x08 if self.blocked else 0)
        if n == 2:
            return 0x12 | (0x04 if self.cover_open else 0) | (0x20 if self.paper == "out" else 0)
        if n == 3:
            return 0x12
        if n == 4:
            return 0x12 | (0x0C if self.paper in ("low", "out") else 0) | (
                0x60 if self.paper == "out" else 0)
        return None

    # -- the byte stream
    def feed(self, data: bytes, reply: Callable[[bytes], None]) -> None:
        """Take bytes from the host; answer real-time status requests at once."""
        with self.lock:
            self._buf += data
            out = bytearray()
            i, buf = 0, self._buf
            while i < len(buf):
                b = buf[i]
                if b == DLE:
                    if i + 2 >= len(buf):
                        break
                    if buf[i + 1] == 0x04:
                        st = self.status_byte(buf[i + 2])
                        if st is not None:
                            reply(bytes([st]))
                        i += 3
                        continue
                skip = self._block_length(buf, i)
                if skip is None:
                    break  # a command cut in two: wait for the rest
                out += buf[i:i + skip]
                i += skip
            del buf[:i]
            if out:
                if self.blocked:
                    self._held += out
                else:
                    self._print(bytes(out))

    @staticmethod
    def _block_length(buf: bytearray, i: int) -> Optional[int]:
        """Length of the command or byte at i (so image and QR data are not scanned for DLE)."""
        b = buf[i]
        if b in (ESC, GS, FS) and i + 1 >= len(buf):
            return None
        if b == ESC:
            return 2 if buf[i + 1] == 0x40 else (3 if i + 2 < len(buf) else None)
        if b == FS:
            return 2
        if b == GS and buf[i + 1] not in (0x76, 0x28, 0x56):
            return 3 if i + 2 < len(buf) else None
        if buf[i] == GS and i + 1 < len(buf):
            if buf[i + 1] == 0x76:  # GS v 0 m xL xH yL yH data
                if i + 8 > len(buf):
                    return None
                n = 8 + (buf[i + 4] | buf[i + 5] << 8) * (buf[i + 6] | buf[i + 7] << 8)
                return n if i + n <= len(buf) else None
            if buf[i + 1] == 0x28:  # GS ( x pL pH data
                if i + 5 > len(buf):
                    return None
                n = 5 + (buf[i + 3] | buf[i + 4] << 8)
                return n if i + n <= len(buf) else None
        return 1

    def _print(self, data: bytes) -> None:
        # A job ends at a cut (GS V m [n]).
        self._job += data
        while True:
            m = re.search(rb"\x1dV(?:[\x00\x01\x30\x31]|[\x41\x42].)", bytes(self._job), re.S)
            if not m:
                return
            job = bytes(self._job[:m.end()])
            del self._job[:m.end()]
            self.jobs.append(job)
            self._save(len(self.jobs), job)

    def _save(self, n: int, job: bytes) -> None:
        text = job_text(job)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / f"{n:04d}.bin").write_bytes(job)
            (self.out_dir / f"{n:04d}.txt").write_text(text, encoding="utf-8")
        first = next((ln for ln in text.splitlines() if re.fullmatch(r"[A-Z]{1,2}\d{3,5}", ln.strip())), "")
        self.echo(f"printed {n} {first.strip()} {len(job)} bytes")


def job_text(job: bytes) -> str:
    """What a job prints, as text: GB18030 between commands, [QR ...] and [image WxH]."""
    out, i, text = [], 0, bytearray()

    def flush():
        if text:
            out.append(text.decode("gb18030", "replace"))
            text.clear()
    while i < len(job):
        b = job[i]
        if b == ESC and i + 1 < len(job):
            i += 2 if job[i + 1] == 0x40 else 3
        elif b == FS and i + 1 < len(job):
            i += 2
        elif b == GS and i + 1 < len(job):
            c = job[i + 1]
            if c == 0x76:
                w, h = job[i + 4] | job[i + 5] << 8, job[i + 6] | job[i + 7] << 8
                flush()
                out.append(f"[image {w * 8}x{h}]\n")
                i += 8 + w * h
            elif c == 0x28:
                n = job[i + 3] | job[i + 4] << 8
                body = job[i + 5:i + 5 + n]
                if body[:3] == b"1P0":
                    flush()
                    out.append(f"[QR {body[3:].decode('latin-1')}]")
                i += 5 + n
            elif c == 0x56:
                i += 4 if job[i + 2] in (0x41, 0x42) else 3
            else:
                i += 3
        elif b == DLE:
            i += 3
        else:
            text.append(b)
            i += 1
    flush()
    return "".join(out)


def serve_tcp(printer: SimPrinter, host: str, port: int, stop: threading.Event) -> int:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(4)
    srv.settimeout(0.2)

    def client(conn: socket.socket) -> None:
        conn.settimeout(0.2)
        with conn:
            while not stop.is_set():
                try:
                    data = conn.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                printer.feed(data, conn.sendall)

    def accept() -> None:
        with srv:
            while not stop.is_set():
                try:
                    conn, _ = srv.accept()
                except socket.timeout:
                    continue
                threading.Thread(target=client, args=(conn,), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    return srv.getsockname()[1]


def serve_pty(printer: SimPrinter, link: Path, baud: Optional[int], stop: threading.Event) -> str:
    """A pty whose slave end is published at ``link``; reads no faster than ``baud``."""
    import select
    import tty
    master, slave = os.openpty()
    tty.setraw(slave)
    name = os.ttyname(slave)
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(name)

    def reply(data: bytes) -> None:
        os.write(master, data)

    def run() -> None:
        # We keep the slave open too, so the master does not read EIO between clients.
        while not stop.is_set():
            r, _, _ = select.select([master], [], [], 0.2)
            if not r:
                continue
            try:
                data = os.read(master, 64 if baud else 4096)
            except OSError:
                time.sleep(0.05)
                continue
            if baud:
                time.sleep(len(data) * 10 / baud)  # 8N1: ten bits a byte
            printer.feed(data, reply)
        try:
            link.unlink()
        except OSError:
            pass
        os.close(master)
        os.close(slave)
    threading.Thread(target=run, daemon=True).start()
    return name


def main(tcp: Optional[str], pty: Optional[Path], baud: Optional[int], out_dir: Optional[Path],
         paper_out: bool) -> None:
    """Run until `quit` on stdin, end of stdin, or a signal."""
    def echo(msg: str) -> None:
        sys.stdout.write(msg + "\n")
        sys.stdout.flush()
    printer = SimPrinter(out_dir, echo)
    if paper_out:
        printer.paper = "out"
    stop = threading.Event()
    if tcp is not None:
        host, _, port = tcp.rpartition(":")
        bound = serve_tcp(printer, host or "127.0.0.1", int(port or 9100), stop)
        echo(f"listening tcp://{host or '127.0.0.1'}:{bound}")
    if pty is not None:
        name = serve_pty(printer, pty, baud, stop)
        echo(f"listening serial://{pty} ({name}){f' at {baud} baud' if baud else ''}")
    try:
        for line in sys.stdin:
            if not printer.command(line):
                break
        else:
            while True:  # stdin closed (e.g. started with </dev/null): run until killed
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        time.sleep(0.3)
