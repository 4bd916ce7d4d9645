"""Time from the clerk's finish to the pad showing the question, for the browser pad and the serial pad.

    /work/venv/bin/python bench/bench_pad.py [--rounds 200]

Starts `qrate serve` on a temp hall whose window 3 has a serial pad on a pty
(the far end read by a thread here, which timestamps each $ASK as it arrives)
and opens /pad for window 3 in headless Chromium (the page records when it
painted each question: performance.timeOrigin + now(), the same wall clock).
Each round issues a ticket, calls it and times POST /finish from just before
the request. Prints mean, p50, p90, p99 and max in milliseconds.
"""
from __future__ import annotations

import argparse
import math
import os
import select
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import CHROMIUM_ARGS, PASSWORD, LiveServer, bearer  # noqa: E402
from devices.padsim import PtyDevice  # noqa: E402
from server import config  # noqa: E402


def rank(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def summary(name: str, ms: list[float]) -> str:
    return (f"{name:<14} n={len(ms):4d}  mean {sum(ms) / len(ms):6.1f}  p50 {rank(ms, .5):6.1f}  "
            f"p90 {rank(ms, .9):6.1f}  p99 {rank(ms, .99):6.1f}  max {max(ms):6.1f}  ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-pad-")) / "hall"
    path = config.write_demo(folder, always_open=True)
    link = folder / "pad3"
    pad = PtyDevice(link)
    text = path.read_text(encoding="utf-8").replace(
        'number = 3\nname = "3号窗口"\nservices = ["A", "B"]\n',
        f'number = 3\nname = "3号窗口"\nservices = ["A", "B"]\npad = "{link}"\n').replace(
        "window_minutes = 10\n", "window_minutes = 10\nprompt_seconds = 60\n")
    path.write_text(text, encoding="utf-8")
    live = LiveServer(folder).start()
    asks: dict[str, float] = {}
    stop = threading.Event()

    def read_pad():
        while not stop.is_set():
            ready, _, _ = select.select([pad.master], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(pad.master, 4096)
            except OSError:
                return
            now = time.time()
            for frame in pad.decoder.feed(data):
                if frame.kind == "ASK":
                    asks[frame.fields[1]] = now

    try:
        kiosk = bearer(live.device_token("kiosk-1", "kiosk"))
        pad_token = live.device_token("pad-3", "pad", 3)
        clerk = bearer(live.clerk_token("1003", 3))
        http = requests.Session()
        threading.Thread(target=read_pad, daemon=True).start()
        from playwright.sync_api import sync_playwright
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{live.url}/pad?token={pad_token}")
            page.wait_for_selector("body[data-state=idle]")
            started: dict[str, float] = {}
            finish_ms: list[float] = []
            for i in range(args.rounds + 5):
                t = http.post(live.url + "/api/tickets", json={"service": "A"}, headers=kiosk).json()
                http.post(live.url + "/api/windows/3/call-next", headers=clerk)
                t0 = time.time()
                r = http.post(f"{live.url}/api/tickets/{t['id']}/finish", headers=clerk)
                answered = time.time()
                assert r.status_code == 200, r.text
                if i >= 5:  # warm-up rounds are not counted
                    started[t["number"]] = t0
                    finish_ms.append((answered - t0) * 1000)
                deadline = time.monotonic() + 5
                while t["number"] not in asks and time.monotonic() < deadline:
                    time.sleep(0.001)
                page.wait_for_function(f"window.__asks.some(a => a.number === '{t['number']}')", timeout=5000)
            painted = {a["number"]: a["at"] / 1000 for a in page.evaluate("window.__asks")}
            browser.close()
        browser_ms = [(painted[n] - t0) * 1000 for n, t0 in started.items()]
        serial_ms = [(asks[n] - t0) * 1000 for n, t0 in started.items()]
        print(f"finish -> pad shows the question, {args.rounds} rounds, one server (gevent), 2 shared cores")
        print(summary("browser pad", browser_ms))
        print(summary("serial pad", serial_ms))
        print(summary("finish answer", finish_ms) + "  (the HTTP answer to the clerk, for reference)")
        print(f"load average: {os.getloadavg()[0]:.2f} (other work on the machine shows here)")
    finally:
        stop.set()
        live.kill()
        pad.close()


if __name__ == "__main__":
    main()
