"""Printer test helpers: emupos (a printer emulator we did not write) and `qrate printer-sim`,
each run as a subprocess and stopped by its pid.

emupos lives in .emupos-venv (Python 3.13; `./dev test` builds it). A test that needs it
FAILS when it is missing; set QRATE_SKIP_EMUPOS=1 to skip those tests instead, with the
reason in pytest's summary (test_printer_emupos.py, test_print_spool.py)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
EMUPOS = ROOT / ".emupos-venv" / "bin" / "emupos"
EMUPOS_PY = ROOT / ".emupos-venv" / "bin" / "python"


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float = 10.0, every: float = 0.05, what: str = "condition"):
    """Poll until check() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


SKIP_EMUPOS = "QRATE_SKIP_EMUPOS"


def need_emupos() -> None:
    """Fail without emupos, unless QRATE_SKIP_EMUPOS=1 says to skip (loudly: pytest -rs)."""
    if EMUPOS.exists():
        return
    missing = f"emupos is missing ({EMUPOS}): ./dev test builds .emupos-venv with Python 3.13"
    if os.environ.get(SKIP_EMUPOS) == "1":
        pytest.skip(f"{missing}; skipped because {SKIP_EMUPOS}=1")
    pytest.fail(f"{missing}, or set {SKIP_EMUPOS}=1 to skip the emupos tests", pytrace=False)


class Emupos:
    """An emupos printer `front` (Xprinter XP-80T profile) on a TCP port and a pty."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.api_port, self.tcp_port = free_port(), free_port()
        self.receipts_dir = folder / "receipts"
        self.link = folder / "emupos" / "front"
        self.proc: subprocess.Popen | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v1"

    @property
    def tcp_url(self) -> str:
        return f"tcp://127.0.0.1:{self.tcp_port}"

    @property
    def serial_url(self) -> str:
        return f"serial://{self.link}?baudrate=9600"

    def start(self) -> "Emupos":
        need_emupos()
        config = {"schema": 1, "api": {"host": "127.0.0.1", "port": self.api_port},
                  "devices": [{"id": "front", "type": "printer", "profile": "xprinter-xp80t",
                               "job_idle_timeout_ms": 1500, "receipts_dir": "./receipts",
                               "connections": [{"tcp": {"port": self.tcp_port}},
                                               {"serial": {"pty": True, "link": "front"}}]}]}
        (self.folder / "emupos.yaml").write_text(json.dumps(config))  # JSON is YAML
        self.log = open(self.folder / "emupos.log", "ab")
        env = {**os.environ, "TMPDIR": str(self.folder), "COLUMNS": "200", "NO_COLOR": "1"}
        self.proc = subprocess.Popen([str(EMUPOS), "run", "--config", "emupos.yaml"],
                                     cwd=self.folder, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)

        def up():
            if self.proc.poll() is not None:
                pytest.fail("emupos exited: " + (self.folder / "emupos.log").read_text())
            try:
                return requests.get(self.api + "/health", timeout=1).ok and self.link.exists()
            except requests.RequestException:
                return False
        wait_for(up, 30, 0.1, "emupos to start")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "log", None):
            self.log.close()

    def fault(self, name: str, active: bool = True) -> None:
        url = f"{self.api}/devices/front/faults/{name}"
        r = (requests.put if active else requests.delete)(url, timeout=5)
        assert r.status_code == 204, r.text

    def receipts(self) -> list[dict]:
        """Completed receipts, oldest first: {"id", "text", "png"}."""
        r = requests.get(f"{self.api}/devices/front/receipts", timeout=5)
        r.raise_for_status()
        out = []
        for meta in reversed(r.json()):
            rid = meta["id"]
            out.append({"id": rid, "text": (self.receipts_dir / f"{rid}.txt").read_text("utf-8"),
                        "png": self.receipts_dir / f"{rid}.png"})
        return out


def emupos_tokens(data: bytes) -> list[tuple[str, bytes]]:
    """Tokenize ESC/POS bytes with emupos's own parser (in its Python 3.13 venv)."""
    need_emupos()
    code = ("import sys, json\n"
            "from emupos.printer.escpos.tokenizer import Tokenizer, Text, Command\n"
            "t = Tokenizer(); out = []\n"
            "for tok in list(t.feed(sys.stdin.buffer.read())):\n"
            "    if isinstance(tok, Text): out.append(['text', tok.data.hex()])\n"
            "    elif isinstance(tok, Command): out.append([tok.name, tok.raw.hex()])\n"
            "    else: out.append(['unknown', tok.raw.hex()])\n"
            "print(json.dumps(out))\n")
    res = subprocess.run([str(EMUPOS_PY), "-c", code], input=data, capture_output=True,
                         timeout=60, check=True)
    return [(name, bytes.fromhex(h)) for name, h in json.loads(res.stdout)]


def chinese_lines(tokens: list[tuple[str, bytes]]) -> list[str]:
    """Text printed after FS & (Chinese mode), decoded as GB18030, line by line."""
    lines, current, chinese = [], bytearray(), False
    for name, raw in tokens:
        if name == "FS &":
            chinese = True
        elif name == "FS .":
            chinese = False
        elif name == "text":
            current += raw
        elif name == "LF":
            lines.append(current.decode("gb18030" if chinese else "ascii", "replace"))
            current = bytearray()
    return lines


def decode_qr(png: Path) -> list[str]:
    import zxingcpp
    from PIL import Image
    return [r.text for r in zxingcpp.read_barcodes(Image.open(png))
            if r.format == zxingcpp.BarcodeFormat.QRCode]


class PrinterSim:
    """`qrate printer-sim` in a child process, commanded through its stdin."""

    def __init__(self, folder: Path, tcp: bool = True, pty: Path | None = None,
                 baud: int | None = None, port: int | None = None):
        self.folder = folder
        self.port = port if port is not None else (free_port() if tcp else None)
        self.pty, self.baud = pty, baud
        self.out = folder / "printed"
        self.proc: subprocess.Popen | None = None

    def start(self, paper_out: bool = False) -> "PrinterSim":
        args = [sys.executable, "-m", "server.entry", "printer-sim", "--out", str(self.out)]
        if self.port is not None:
            args += ["--tcp", f"127.0.0.1:{self.port}"]
        if self.pty is not None:
            args += ["--pty", str(self.pty)]
        if self.baud:
            args += ["--baud", str(self.baud)]
        if paper_out:
            args.append("--paper-out")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log_path = self.folder / "sim.log"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=ROOT)
        wait_for(lambda: self.log_path.read_text().count("listening") >= 1
                 and (self.pty is None or self.pty.exists()), 15, 0.05, "printer-sim to listen")
        return self

    @property
    def url(self) -> str:
        if self.pty is not None:
            return f"serial://{self.pty}?baudrate={self.baud or 9600}"
        return f"tcp://127.0.0.1:{self.port}"

    def say(self, command: str) -> None:
        self.proc.stdin.write((command + "\n").encode())
        self.proc.stdin.flush()

    def printed(self) -> list[str]:
        return [p.read_text("utf-8") for p in sorted(self.out.glob("*.txt"))]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.say("quit")
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)
        if self.proc and self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if getattr(self, "log", None):
            self.log.close()


def set_printer(hall_dir, url: str, **extra) -> None:
    path = hall_dir / "hall.toml"
    text = path.read_text(encoding="utf-8")
    settings = "".join(f"{k} = {v}\n" for k, v in extra.items())
    text = re.sub(r'url = "file://data/printed"\n', f'url = "{url}"\n{settings}', text)
    path.write_text(text, encoding="utf-8")
