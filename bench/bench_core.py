"""Benchmark of the hall server core: starts `qrate serve` on a temp hall and prints figures.

  python bench/bench_core.py [--ops 300] [--clients 200] [--calls 40]

- issue / call-next / finish over HTTP on loopback, 1 and 8 concurrent clients:
  ops/s and p50/p99 latency of each operation;
- the delay from a call-next request to its `event` arriving at N connected
  Socket.IO clients (p50/p99 over every client and call);
- the server's RSS after the load.
Targets (issue 2): p99 < 15 ms per operation with one client, push p99 < 100 ms
with 200 clients, RSS < 150 MB. Everything runs on 127.0.0.1 and stops by itself.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import LiveServer, bearer  # noqa: E402
from server import config  # noqa: E402

WINDOW_SERVICE = {1: "E", 2: "A", 3: "A", 4: "B", 5: "B", 6: "C", 7: "C", 8: "D"}


def pct(values, q):
    """Nearest-rank percentile."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(1, int(-(-q * len(s) // 100)))
    return s[min(k, len(s)) - 1]


def fmt(ms):
    return f"p50 {pct(ms, 50):6.2f} ms  p99 {pct(ms, 99):6.2f} ms"


def run_ops(url, kiosk, clerks, windows, ops_per_client):
    lat = {"issue": [], "call-next": [], "finish": []}
    lock = threading.Lock()

    def client(n):
        s = requests.Session()
        mine = {"issue": [], "call-next": [], "finish": []}
        for _ in range(ops_per_client):
            t0 = time.perf_counter()
            r = s.post(url + "/api/tickets", json={"service": WINDOW_SERVICE[n]}, headers=bearer(kiosk))
            mine["issue"].append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 201, r.text
            t0 = time.perf_counter()
            r = s.post(url + f"/api/windows/{n}/call-next", headers=bearer(clerks[n]))
            mine["call-next"].append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                continue
            t0 = time.perf_counter()
            f = s.post(url + f"/api/tickets/{r.json()['id']}/finish", headers=bearer(clerks[n]))
            mine["finish"].append((time.perf_counter() - t0) * 1000)
            assert f.status_code == 200, f.text
        with lock:
            for k in lat:
                lat[k].extend(mine[k])

    threads = [threading.Thread(target=client, args=(n,)) for n in windows]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    total = sum(len(v) for v in lat.values())
    return lat, total / elapsed


def _listen(url: str, n_clients: int, out, ready, stop) -> None:
    """One client process: n Socket.IO clients; reports (ticket id, wall time) of each call."""
    import socketio

    async def run():
        clients = []

        async def make():
            c = socketio.AsyncClient(reconnection=False)

            @c.on("event")
            async def on_event(data):
                if data.get("type") == "ticket.called":
                    out.put((data["ticket"]["id"], time.time()))
            await c.connect(url, transports=["websocket"], wait_timeout=20)
            clients.append(c)
        for i in range(0, n_clients, 10):
            await asyncio.gather(*(make() for _ in range(min(10, n_clients - i))))
        ready.put(len(clients))
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await asyncio.gather(*(c.disconnect() for c in clients))
    asyncio.run(run())


def push_delays(url, kiosk, clerk, n_clients, n_calls, processes=4):
    """Delay from a call-next request to its `event` at each of n clients (spread over
    several processes, so the clients' own decoding is not measured as server time)."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    out, ready, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    share = [n_clients // processes + (i < n_clients % processes) for i in range(processes)]
    procs = [ctx.Process(target=_listen, args=(url, k, out, ready, stop)) for k in share if k]
    for p in procs:
        p.start()
    connected = sum(ready.get(timeout=120) for _ in procs)
    assert connected == n_clients, connected
    s = requests.Session()
    delays = []
    try:
        for _ in range(n_calls):
            assert s.post(url + "/api/tickets", json={"service": "A"}, headers=bearer(kiosk)).status_code == 201
            time.sleep(0.05)  # let the push settle: measure the call alone
            t0 = time.time()
            ticket = s.post(url + "/api/windows/2/call-next", headers=bearer(clerk)).json()
            got = []
            while len(got) < n_clients:
                tid, at = out.get(timeout=10)
                if tid == ticket["id"]:
                    got.append(at)
            delays.extend((at - t0) * 1000 for at in got)
            assert s.post(url + f"/api/tickets/{ticket['id']}/finish", headers=bearer(clerk)).status_code == 200
    finally:
        stop.set()
        for p in procs:
            p.join(20)
    return delays


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=300, help="issue/call/finish rounds per client")
    ap.add_argument("--clients", type=int, default=200, help="Socket.IO clients for the push test")
    ap.add_argument("--calls", type=int, default=40, help="calls measured in the push test")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "hall"
        config.write_demo(folder, always_open=True)
        toml = folder / "hall.toml"  # no daily caps or slot quotas: the bench issues thousands
        toml.write_text("\n".join(line for line in toml.read_text(encoding="utf-8").splitlines()
                                  if not line.startswith(("daily_cap", "slots"))), encoding="utf-8")
        server = LiveServer(folder).start()
        try:
            kiosk = server.device_token("bench-kiosk", "kiosk")
            clerks = {n: server.clerk_token(f"10{n:02d}", n) for n in WINDOW_SERVICE}
            print(f"qrate core bench  (server pid {server.proc.pid}, {server.url})")
            for n_clients in (1, 8):
                windows = [2] if n_clients == 1 else list(WINDOW_SERVICE)
                lat, ops = run_ops(server.url, kiosk, clerks, windows,
                                   args.ops if n_clients == 1 else max(1, args.ops // 4))
                print(f"\n{n_clients} client(s): {ops:7.1f} ops/s")
                for op, ms in lat.items():
                    print(f"  {op:10s} n={len(ms):5d}  {fmt(ms)}  max {max(ms):7.2f} ms")
            delays = push_delays(server.url, kiosk, clerks[2], args.clients, args.calls)
            print(f"\npush: call-next -> `event` at {args.clients} Socket.IO clients, "
                  f"{args.calls} calls: {fmt(delays)}  max {max(delays):.2f} ms")
            print(f"server RSS after the load: {rss_mb(server.proc.pid):.1f} MB")
        finally:
            server.kill()


if __name__ == "__main__":
    main()
