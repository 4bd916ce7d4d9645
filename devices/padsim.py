"""`qrate pad-sim`: a simulated rating pad (or caller keypad) on a pty or a TCP port.

    qrate pad-sim --window 3 --link /tmp/pad3       # hall.toml: pad = "/tmp/pad3"
    qrate pad-sim --window 3 --listen 127.0.0.1:7003  # hall.toml: pad = "socket://127.0.0.1:7003"

Type 1-5 and Enter to rate (5 非常满意 … 1 非常不满意), r to resend the last
frame, g to send noise; with --keypad: n NEXT, c RECALL, x NOSHOW, f FINISH, p PAUSE.
Frames from the server are printed as they come. Tests and the bench use
``PtyDevice`` from here as the far end of a pad's wire.
"""
from __future__ import annotations

import os
import pty
import select
import socket
import sys
import threading
import time
import tty
from pathlib import Path
from typing import Optional

import click

from server.i18n import cli_locale, translate

from .frames import Decoder, Frame, encode


class PtyDevice:
    """The device end of a pty; the server opens ``link`` (a symlink to the pty's slave)."""

    def __init__(self, link: Path | str):
        self.link = Path(link)
        self.master: Optional[int] = None
        self.slave: Optional[int] = None
        self.decoder = Decoder(accept={"ASK", "ACK", "NAK", "IDLE", "CUR", "ERR"})
        self.backlog: list[Frame] = []
        self.appear()

    def appear(self) -> None:
        """Plug the device in: a new pty, the link pointed at it (as udev's by-id links are)."""
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        tmp = self.link.with_name(self.link.name + ".new")
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(os.ttyname(self.slave))
        os.replace(tmp, self.link)
        self.decoder = Decoder(accept=self.decoder.accept)

    def vanish(self) -> None:
        """Unplug it: the pty is gone, the link dangles."""
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            _, ready, _ = select.select([], [self.master], [], 5)
            if not ready:
                raise TimeoutError("the server is not reading the pad's port")
            n = os.write(self.master, view[:4096])
            view = view[n:]

    def frames(self, timeout: float = 5.0, until=None) -> list[Frame]:
        """Read frames from the server until ``until(frame)`` is true or the timeout passes."""
        got: list[Frame] = []
        while self.backlog:  # frames read earlier than they were asked for
            frame = self.backlog.pop(0)
            got.append(frame)
            if until is not None and until(frame):
                return got
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            try:
                data = os.read(self.master, 4096)
            except OSError:
                break
            frames = self.decoder.feed(data)
            for i, frame in enumerate(frames):
                got.append(frame)
                if until is not None and until(frame):
                    self.backlog.extend(frames[i + 1:])
                    return got
        return got

    def wait_for(self, kind: str, timeout: float = 5.0, **match) -> Frame:
        def ok(f: Frame) -> bool:
            return f.kind == kind and all(f.fields[int(i[1:])] == v for i, v in match.items())
        got = self.frames(timeout, ok)
        if not got or not ok(got[-1]):
            raise TimeoutError(f"no {kind} {match} from the server; got {[f.raw for f in got]}")
        return got[-1]

    def close(self) -> None:
        self.vanish()
        if self.link.is_symlink():
            self.link.unlink()


class _Socket:
    """The device end of a TCP 'serial' line (the server connects with socket://)."""

    def __init__(self, host: str, port: int):
        self.server = socket.create_server((host, port))
        self.conn: Optional[socket.socket] = None

    def accept(self):
        self.conn, _ = self.server.accept()
        return self.conn

    def write(self, data: bytes) -> None:
        if self.conn:
            self.conn.sendall(data)


@click.command("pad-sim")
@click.option("--window", type=int, default=3, show_default=True, help="The window the pad (or keypad) belongs to.")
@click.option("--link", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Make a pty and a symlink PATH to it; put PATH as the window's pad in hall.toml.")
@click.option("--listen", default=None, help="HOST:PORT to serve as a network serial line (socket://HOST:PORT).")
@click.option("--keypad", is_flag=True, help="Simulate the clerk's caller keypad instead of a rating pad.")
@click.option("--seq", type=int, default=1, show_default=True, help="The first pad sequence number.")
def pad_sim(window: int, link: Optional[Path], listen: Optional[str], keypad: bool, seq: int):
    """A simulated rating pad or caller keypad driven from this terminal. / 模拟评价器或呼叫器。"""
    locale = cli_locale()

    def _t(msgid: str, **params) -> str:
        return translate(msgid, locale, **params)

    if (link is None) == (listen is None):
        raise click.UsageError(_t("Give exactly one of --link PATH or --listen HOST:PORT."))
    ww = f"{window:02d}"
    decoder = Decoder(accept={"ASK", "ACK", "NAK", "IDLE", "CUR", "ERR"})
    last: list[bytes] = [b""]

    def show(frame: Frame) -> None:
        f = frame.fields
        text = {"ASK": lambda: _t("Rate ticket %(number)s now: type 1-5 and Enter.", number=f[-1]),
                "IDLE": lambda: _t("Idle."), "ACK": lambda: _t("Rating %(seq)s recorded.", seq=f[0]),
                "NAK": lambda: _t("Rating %(seq)s refused: %(why)s.", seq=f[0], why=f[1]),
                "CUR": lambda: _t("Now serving: %(number)s", number=f[1]),
                "ERR": lambda: _t("Refused: %(why)s", why=f[1])}.get(frame.kind, str)()
        click.echo(f"<- {frame.raw.decode()}  {text}")

    if link is not None:
        dev = PtyDevice(link)
        click.echo(_t("Pad on %(tty)s, linked as %(link)s. In hall.toml: pad = \"%(link)s\"",
                      tty=os.ttyname(dev.slave), link=str(link.resolve())))
        write = dev.write

        def reader():
            while True:
                ready, _, _ = select.select([dev.master], [], [], 1)
                if ready:
                    try:
                        data = os.read(dev.master, 4096)
                    except OSError:
                        time.sleep(0.5)
                        continue
                    for f in decoder.feed(data):
                        show(f)
    else:
        host, _, port_text = listen.rpartition(":")
        sock = _Socket(host or "127.0.0.1", int(port_text))
        click.echo(_t("Waiting for the server on %(addr)s. In hall.toml: pad = \"socket://%(addr)s\"", addr=listen))
        write = sock.write

        def reader():
            while True:
                conn = sock.accept()
                click.echo(_t("Server connected."))
                while True:
                    data = conn.recv(4096)
                    if not data:
                        click.echo(_t("Server went away; waiting again."))
                        break
                    for f in decoder.feed(data):
                        show(f)
    threading.Thread(target=reader, daemon=True).start()
    keys = {"n": "NEXT", "c": "RECALL", "x": "NOSHOW", "f": "FINISH", "p": "PAUSE"}
    click.echo(_t("Keys: n NEXT, c RECALL, x NOSHOW, f FINISH, p PAUSE; q quits.") if keypad
               else _t("Type 1-5 to rate, r to resend, g for noise, q to quit."))
    for line in sys.stdin:
        cmd = line.strip().lower()
        if cmd == "q":
            break
        if keypad and cmd in keys:
            frame = encode("KEY", ww, keys[cmd])
        elif not keypad and cmd in ("1", "2", "3", "4", "5"):
            frame = encode("RATE", ww, cmd, f"{seq % 10000:04d}")
            seq += 1
        elif cmd == "r" and last[0]:
            frame = last[0]
        elif cmd == "g":
            frame = os.urandom(64)
        else:
            continue
        last[0] = frame if cmd != "g" else last[0]
        write(frame)
        click.echo(f"-> {frame!r}")
