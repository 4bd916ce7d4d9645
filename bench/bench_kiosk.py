"""Kiosk bench: the time from a tap's request to the kiosk's answer with the ticket
printer on a 9600-baud pty, and tickets printed per minute on the simulator.

    python bench/bench_kiosk.py [--taps 200] [--rate 10] [--print-tickets 200]

Starts `qrate printer-sim` and `qrate serve` as child processes (stopped by pid at the
end) in a temporary hall folder, and prints the figures.
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qrate(*args, **kw):
    return subprocess.run([sys.executable, "-m", "server.entry", *args], cwd=ROOT,
                          capture_output=True, text=True, check=True, **kw)


def wait(check, timeout, what):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


class Child:
    def __init__(self, args, log: Path, stdin=None):
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=stdin)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdin:
            self.proc.stdin.close()
        self.log.close()


def pct(values, p):
    s = sorted(values)
    return s[max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))]  # nearest rank


def run_hall(folder: Path, printer_url: str):
    from server import config
    config.write_demo(folder, always_open=True)
    text = (folder / "hall.toml").read_text(encoding="utf-8")
    text = text.replace('url = "file://data/printed"', f'url = "{printer_url}"\npoll_s = 5')
    (folder / "hall.toml").write_text(text, encoding="utf-8")
    port = free_port()
    server = Child([sys.executable, "-m", "server.entry", "serve", "--hall", str(folder),
                    "--port", str(port)], folder / "server.log")
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(url + "/healthz", timeout=1).ok
        except requests.RequestException:
            return False
    wait(up, 30, "qrate serve")
    token = qrate("device", "add", "bench-kiosk", "--kind", "kiosk", "--hall", str(folder)
                  ).stdout.strip().splitlines()[-1]
    return server, url, token


def printed_count(sim_log: Path) -> int:
    return len(re.findall(r"^printed ", sim_log.read_text(), re.M))


def bench_taps(tmp: Path, taps: int, rate: float, pty: bool = True) -> dict:
    """Taps at `rate` per second while a 9600-baud pty printer prints every ticket
    (or, for the baseline, with the dummy:// printer)."""
    link = tmp / "tty-printer"
    (tmp / "sim-pty.log").touch()
    sim = None
    if pty:
        sim = Child([sys.executable, "-m", "server.entry", "printer-sim", "--pty", str(link),
                     "--baud", "9600"], tmp / "sim-pty.log", stdin=subprocess.PIPE)
        wait(link.exists, 15, "the pty printer")
    server, url, token = run_hall(tmp / ("hall-pty" if pty else "hall-dummy"),
                                  f"serial://{link}?baudrate=9600" if pty else "dummy://")
    try:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        services = "ABCDE"
        lat = []
        start = time.perf_counter()
        for i in range(taps):
            due = start + i / rate
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
            t0 = time.perf_counter()
            r = s.post(url + "/api/tickets", json={"service": services[i % 5]}, timeout=10)
            lat.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 201, r.text
        issue_done = time.perf_counter()
        printed_then = printed_count(tmp / "sim-pty.log")
        # let the slow printer work for a while to measure its own rate
        t_a, n_a = time.perf_counter(), printed_count(tmp / "sim-pty.log")
        time.sleep(20 if pty else 0)
        t_b, n_b = time.perf_counter(), printed_count(tmp / "sim-pty.log")
        return {"taps": taps, "rate": rate, "p50": pct(lat, 50), "p90": pct(lat, 90),
                "p99": pct(lat, 99), "max": max(lat), "mean": statistics.fmean(lat),
                "issue_s": issue_done - start, "printed_during": printed_then,
                "pty_per_min": (n_b - n_a) / max(1e-9, t_b - t_a) * 60}
    finally:
        server.stop()
        if sim:
            sim.stop()


def bench_print_rate(tmp: Path, tickets: int) -> dict:
    """Tickets printed per minute on the TCP simulator, the spool draining a backlog."""
    port = free_port()
    sim = Child([sys.executable, "-m", "server.entry", "printer-sim", "--tcp", str(port)],
                tmp / "sim-tcp.log", stdin=subprocess.PIPE)
    wait(lambda: "listening" in (tmp / "sim-tcp.log").read_text(), 15, "the TCP printer")
    server, url, token = run_hall(tmp / "hall-tcp", f"tcp://127.0.0.1:{port}")
    try:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        start = time.perf_counter()
        for i in range(tickets):
            s.post(url + "/api/tickets", json={"service": "ABCDE"[i % 5]}, timeout=10)
        wait(lambda: printed_count(tmp / "sim-tcp.log") >= tickets, 600, "every ticket printed")
        took = time.perf_counter() - start
        return {"tickets": tickets, "seconds": took, "per_min": tickets / took * 60}
    finally:
        server.stop()
        sim.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--taps", type=int, default=200)
    ap.add_argument("--rate", type=float, default=5.0, help="taps per second")
    ap.add_argument("--print-tickets", type=int, default=200)
    args = ap.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    with tempfile.TemporaryDirectory(prefix="qrate-bench-") as d:
        tmp = Path(d)
        taps = bench_taps(tmp, args.taps, args.rate)
        print(f"tap -> answer, printer on a 9600-baud pty ({taps['taps']} taps at "
              f"{taps['rate']:g}/s): p50 {taps['p50']:.1f} ms, p90 {taps['p90']:.1f} ms, "
              f"p99 {taps['p99']:.1f} ms, max {taps['max']:.1f} ms, mean {taps['mean']:.1f} ms")
        print(f"  printed while issuing: {taps['printed_during']} of {taps['taps']}; "
              f"the 9600-baud printer's own rate: {taps['pty_per_min']:.0f} tickets/min")
        base = bench_taps(tmp, args.taps, args.rate, pty=False)
        print(f"baseline, same taps with the dummy:// printer: p50 {base['p50']:.1f} ms, "
              f"p90 {base['p90']:.1f} ms, p99 {base['p99']:.1f} ms, max {base['max']:.1f} ms")
        rate = bench_print_rate(tmp, args.print_tickets)
        print(f"tickets printed per minute on the TCP simulator: {rate['per_min']:.0f} "
              f"({rate['tickets']} tickets issued and printed in {rate['seconds']:.1f} s)")


if __name__ == "__main__":
    main()
