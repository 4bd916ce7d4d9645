"""Floods and timing against a real `qrate serve` (issue 10; docs/security.md).

    python bench/bench_security.py [--requests 10000] [--threads 8]

Prints: the server's RSS before, at the peak of and after 10,000 unauthenticated snapshot
and voice requests (once from one address, rate-limited; once from 1,000 addresses through
a trusted proxy's X-Forwarded-For, so every request is answered), the p50/p99/max of
writes (issue, call-next, finish) meanwhile, the data folder's growth, /healthz while wrong
passwords are hashed, and sign-in timing for a known and an unknown user.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from server import config  # noqa: E402

PASSWORD = "bench-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(p / 100 * len(v) + 0.5) - 1))] if v else float("nan")


def cli(hall, *args, input_text=None):
    out = subprocess.run([sys.executable, "-m", "server.entry", *args, "--hall", str(hall)],
                         input=input_text, capture_output=True, text=True, cwd=ROOT, check=True)
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    hall = Path(tempfile.mkdtemp()) / "hall"
    config.write_demo(hall, always_open=True)
    with open(hall / "hall.toml", "a", encoding="utf-8") as f:
        f.write("\n[security]\nproxies = 1\n")  # the bench plays a proxy for phase two
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(hall / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "server.entry", "serve", "--hall", str(hall),
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        for _ in range(200):
            try:
                if requests.get(url + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        kiosk = {"Authorization": "Bearer " + cli(hall, "device", "add", "k", "--kind", "kiosk")}
        cli(hall, "user", "add", "1001", "--role", "clerk", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        clerk = {"Authorization": "Bearer " + requests.post(url + "/api/login", json={
            "user": "1001", "password": PASSWORD, "window": 1}, timeout=10).json()["token"]}
        numbers = [requests.post(url + "/api/tickets", json={"service": "A"}, headers=kiosk,
                                 timeout=10).json()["number"] for _ in range(5)]
        for n in numbers:  # each called to window 1 and served; the clips of those calls warmed
            t = requests.post(url + "/api/windows/1/call-next", headers=clerk, timeout=10).json()
            requests.post(url + f"/api/tickets/{t['id']}/finish", headers=clerk, timeout=10)
            requests.get(f"{url}/api/voice/call/{n}/1.wav", headers=kiosk, timeout=60)
        data = hall / "data"
        print(f"server pid {proc.pid}; RSS at start {rss_mb(proc.pid):.1f} MB; data {folder_mb(data):.2f} MB")
        for phase, spread in (("one address", False), ("1,000 addresses (X-Forwarded-For)", True)):
            flood(url, proc.pid, data, kiosk, clerk, numbers, args, phase, spread)
        login_timing(url, hall)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def flood(url, pid, data, kiosk, clerk, numbers, args, phase, spread):
    rss0, disk0, voice0 = rss_mb(pid), folder_mb(data), folder_mb(data / "voice" / "cache")
    peak = [rss0]
    stop = threading.Event()
    writes: list[float] = []
    codes: dict[int, int] = {}
    lock = threading.Lock()

    def writer():
        s = requests.Session()
        while not stop.is_set():
            t0 = time.perf_counter()
            s.post(url + "/api/tickets", json={"service": "A"}, headers=kiosk, timeout=30)
            t1 = time.perf_counter()
            r = s.post(url + "/api/windows/1/call-next", headers=clerk, timeout=30)
            t2 = time.perf_counter()
            if r.status_code == 200:
                s.post(url + f"/api/tickets/{r.json()['id']}/finish", headers=clerk, timeout=30)
            t3 = time.perf_counter()
            writes.extend([t1 - t0, t2 - t1, t3 - t2])
            time.sleep(0.05)

    def sampler():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.1)

    per = args.requests // args.threads

    def reader(k):
        s = requests.Session()
        for i in range(per):
            path = "/api/queue" if i % 2 else f"/api/voice/call/{numbers[i % len(numbers)]}/{1 if i % 4 == 1 else 1 + i % 8}.wav"
            if i % 10 == 9:
                path = f"/api/voice/call/Z{i % 1000:03d}/1.wav"  # a made-up number: 404, no clip made
            headers = {"X-Forwarded-For": f"10.{k}.{(i // 250) % 250}.{i % 250}"} if spread else {}
            r = s.get(url + path, headers=headers, timeout=60)
            with lock:
                codes[r.status_code] = codes.get(r.status_code, 0) + 1

    threads = [threading.Thread(target=writer), threading.Thread(target=sampler)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    readers = [threading.Thread(target=reader, args=(k,)) for k in range(args.threads)]
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    took = time.perf_counter() - t0
    stop.set()
    for t in threads:
        t.join()
    time.sleep(5)
    after = rss_mb(pid)
    print(f"\n{phase}: {per * args.threads} unauthenticated snapshot + voice requests in {took:.1f} s; "
          f"answers {dict(sorted(codes.items()))}")
    print(f"  RSS {rss0:.1f} MB -> peak {peak[0]:.1f} MB (+{peak[0] - rss0:.1f}) -> 5 s after "
          f"{after:.1f} MB (+{after - rss0:.1f})")
    print(f"  writes meanwhile: {len(writes)}; p50 {pct(writes, 50) * 1e3:.1f} ms, p99 "
          f"{pct(writes, 99) * 1e3:.1f} ms, max {max(writes) * 1e3:.1f} ms")
    print(f"  data folder {disk0:.2f} MB -> {folder_mb(data):.2f} MB (+{folder_mb(data) - disk0:.2f}); "
          f"of it the voice cache {voice0:.2f} -> {folder_mb(data / 'voice' / 'cache'):.2f} MB "
          f"(the rest: the writes' tickets and events)")


def login_timing(url, hall, tries: int = 30):
    cli(hall, "user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    s = requests.Session()
    times = {"known": [], "unknown": []}
    for i in range(tries):
        for who, user in (("known", "9001"), ("unknown", "nobody")):
            # each try from its own address, so the throttle does not answer instead of the hash
            t0 = time.perf_counter()
            r = s.post(url + "/api/login", json={"user": user, "password": "wrong"},
                       headers={"X-Forwarded-For": f"10.200.{i}.{1 if who == 'known' else 2}"}, timeout=30)
            times[who].append(time.perf_counter() - t0)
            assert r.status_code == 401, r.text
    print("\nsign-in with a wrong password, over", tries, "tries each:")
    for who, v in times.items():
        print(f"  {who:7s} user: median {statistics.median(v) * 1e3:.1f} ms, p90 {pct(v, 90) * 1e3:.1f} ms")
    # /healthz while wrong passwords are hashed by four callers at once
    stop = threading.Event()

    def hammer(k):
        h = requests.Session()
        i = 0
        while not stop.is_set():
            h.post(url + "/api/login", json={"user": f"u{k}-{i}", "password": "x"},
                   headers={"X-Forwarded-For": f"10.201.{k}.{i % 250}"}, timeout=30)
            i += 1
    hs = [threading.Thread(target=hammer, args=(k,)) for k in range(4)]
    for t in hs:
        t.start()
    lat = []
    time.sleep(0.3)
    for _ in range(100):
        t0 = time.perf_counter()
        s.get(url + "/healthz", timeout=30)
        lat.append(time.perf_counter() - t0)
        time.sleep(0.02)
    stop.set()
    for t in hs:
        t.join()
    print(f"/healthz while 4 callers send wrong passwords: p50 {pct(lat, 50) * 1e3:.1f} ms, "
          f"p99 {pct(lat, 99) * 1e3:.1f} ms, max {max(lat) * 1e3:.1f} ms")


if __name__ == "__main__":
    os.environ.pop("QRATE_TEST_NOW", None)
    main()
