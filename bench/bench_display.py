"""From a console click to the call shown on 50 lobby Socket.IO clients.

    python bench/bench_display.py [--clients 50] [--rounds 100]

Starts `qrate serve` on a temp hall (stopped by its pid at the end), connects
N Socket.IO clients the way the lobby page does (WebSocket, snapshot then
events), signs a clerk in on the real console page in headless Chromium and
presses N (Next) there, round after round. The delay of one delivery is from
just before the key press to the moment a client has the `event` of that call.
Prints p50/p99/max over every delivery and over the slowest client of each
click; the same for a bare HTTP POST /call-next instead of the click.
All clocks are this process's `time.perf_counter`.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server import config  # noqa: E402
from tests.conftest import CHROMIUM_ARGS, PASSWORD, LiveServer, bearer  # noqa: E402


def rank(values, q):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _lobby_worker(url: str, n: int, out, ready, stop) -> None:
    """One process holding n lobby clients (a lobby page is its own machine, so its
    clients must not share one interpreter's lock with 49 others)."""
    clients = []

    def on_event(ev):
        if ev.get("type") == "ticket.called":
            out.put((ev["ticket"]["number"], time.perf_counter()))
    for _ in range(n):
        c = socketio.Client(reconnection=False)
        c.on("event", on_event)
        c.connect(url, transports=["websocket"], wait_timeout=10)
        clients.append(c)
    ready.put(n)
    stop.wait()
    for c in clients:
        c.disconnect()


class Lobby:
    """N Socket.IO clients over a few processes; records when each has a call.
    time.perf_counter is CLOCK_MONOTONIC on Linux: one clock for every process."""

    def __init__(self, url: str, n: int, processes: int = 5):
        import multiprocessing as mp
        ctx = mp.get_context("fork")
        self.n = n
        self.seen: dict[str, list[float]] = {}
        self.cond = threading.Condition()
        self.out, ready, self.stop = ctx.Queue(), ctx.Queue(), ctx.Event()
        sizes = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
        self.procs = [ctx.Process(target=_lobby_worker, args=(url, k, self.out, ready, self.stop),
                                  daemon=True) for k in sizes if k]
        for p in self.procs:
            p.start()
        for _ in self.procs:
            ready.get(timeout=60)
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self):
        while True:
            number, at = self.out.get()
            with self.cond:
                self.seen.setdefault(number, []).append(at)
                self.cond.notify_all()

    def wait_for(self, number: str, timeout: float = 10) -> list[float]:
        end = time.monotonic() + timeout
        with self.cond:
            while len(self.seen.get(number, [])) < self.n:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{number}: {len(self.seen.get(number, []))} of {self.n}")
                self.cond.wait(left)
            return list(self.seen[number])

    def close(self):
        self.stop.set()
        for p in self.procs:
            p.join(10)
            if p.is_alive():
                p.kill()


def report(name: str, deliveries: list[float], slowest: list[float]) -> None:
    ms = lambda v: f"{v * 1000:7.1f}"  # noqa: E731
    print(f"{name}")
    print(f"  every delivery   n={len(deliveries):5d}  p50 {ms(rank(deliveries, .5))} ms"
          f"  p99 {ms(rank(deliveries, .99))} ms  max {ms(max(deliveries))} ms")
    print(f"  slowest client   n={len(slowest):5d}  p50 {ms(rank(slowest, .5))} ms"
          f"  p99 {ms(rank(slowest, .99))} ms  max {ms(max(slowest))} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--processes", type=int, default=5, help="processes holding the clients")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp()) / "hall"
    config.write_demo(folder, always_open=True)
    live = LiveServer(folder).start()
    lobby = None
    try:
        kiosk = bearer(live.device_token("kiosk-1", "kiosk"))
        live.cli("user", "add", "1005", "--role", "clerk", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        total = 2 * args.rounds + 2
        numbers = []
        with requests.Session() as http:
            for _ in range(total):
                numbers.append(http.post(live.url + "/api/tickets", json={"service": "B"},
                                         headers=kiosk, timeout=5).json()["number"])
        lobby = Lobby(live.url, args.clients, args.processes)
        from playwright.sync_api import sync_playwright
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1600, "height": 900}).new_page()
            page.goto(live.url + "/console")
            page.fill("#login-user", "1005")
            page.fill("#login-password", PASSWORD)
            page.select_option("#login-window", "5")
            page.click("#login-submit")
            page.wait_for_selector("html.online")
            clerk = {"Cookie": "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())}
            http = requests.Session()
            http.headers.update(clerk)

            def finish_current():
                cur = http.get(live.url + "/api/windows", timeout=5).json()["windows"][4]["current"]
                if cur:
                    http.post(f"{live.url}/api/tickets/{cur['id']}/finish", timeout=5)

            # warm-up: one click, not counted
            it = iter(numbers)
            page.keyboard.press("n")
            lobby.wait_for(next(it))
            click_all, click_slowest = [], []
            for _ in range(args.rounds):
                finish_current()
                page.wait_for_selector('[data-act="next"]:not([disabled])')
                number = next(it)
                t0 = time.perf_counter()
                page.keyboard.press("n")
                got = lobby.wait_for(number)
                click_all += [t - t0 for t in got]
                click_slowest.append(max(got) - t0)
            http_all, http_slowest, http_answer, http_first = [], [], [], []
            for _ in range(args.rounds):
                finish_current()
                time.sleep(0.05)  # pacing like the click loop: the finish has been pushed
                number = next(it)
                t0 = time.perf_counter()
                http.post(live.url + "/api/windows/5/call-next", timeout=5)
                http_answer.append(time.perf_counter() - t0)
                got = lobby.wait_for(number)
                http_first.append(min(got) - t0)
                http_all += [t - t0 for t in got]
                http_slowest.append(max(got) - t0)
            browser.close()
        import os
        print(f"qrate display bench: {args.clients} lobby Socket.IO clients in {args.processes} "
              f"processes, {args.rounds} calls each way; load average {os.getloadavg()[0]:.2f} "
              f"on {os.cpu_count()} CPUs")
        report("console key press (N) -> call event at the lobby clients", click_all, click_slowest)
        report("HTTP POST /call-next -> call event at the lobby clients", http_all, http_slowest)
        print(f"  (the HTTP answer itself: p50 {rank(http_answer, .5) * 1000:.1f} ms, p99 "
              f"{rank(http_answer, .99) * 1000:.1f} ms; first client: p50 "
              f"{rank(http_first, .5) * 1000:.1f} ms)")
    finally:
        if lobby:
            lobby.close()
        live.kill()


if __name__ == "__main__":
    main()
