"""qrate beside the floor, in one run: server CPU per change, flat cost over the day, push under a report.

  .venv/bin/python bench/bench_house.py --quick            # a smoke run, about 2 minutes
  .venv/bin/python bench/bench_house.py [--json out.json]  # the full run, about 12-15 minutes

This is a benchmark that prints figures, not a test: it judges nothing beyond printing each
target of issue 16 beside what it measured. What it runs, all on 127.0.0.1 on free ports:

- the floor: bench/floor_app.py, a bare Flask-SocketIO app on gevent (one write lock, one
  SQLite transaction and one emit per change, its long report in gevent's thread pool);
- qrate: `python -m server.entry serve` on the demo hall from `server.entry init`, with
  opening hours, daily caps and slots lifted and four windows serving service A; tokens made
  with the CLI (`device add`, `user add`) and `POST /api/login`, as a hall's IT person would.

Parts (each timed):
1. SQL statements per change: qrate in-process (create_app + Flask test client), every
   sqlite3 connection traced with set_trace_callback.
2. Changes: for each day size (tickets issued, called and finished today before the measured
   phase: 100 and 10,000; --quick: 100 and 1,000), each connection mode (keep-alive: one
   requests.Session per client; new: a new connection per request) and 1 and 8 concurrent
   clients (client processes), the floor and qrate, each on a fresh copy of a hall filled to
   that day size through the API: an issue phase, then a call-next + finish phase. Per phase:
   server CPU per op (utime + stime of the server process from /proc/PID/stat over the phase /
   ops), ops/s, client latency p50/p99 (nearest rank, every request of the phase).
   A window holds one called ticket at a time, so in the call phase clients share the four
   windows (8 clients: two per window, taking turns); the floor gets the same client.
3. Push: 200 Socket.IO clients (4 processes of 50, websocket); the time from sending
   call-next to its `event` at each client; nearest-rank p99 per run, median of 3 runs; once
   alone and once while a year-long report loops in another process (qrate:
   GET /api/stats/windows over a `seed-history --days 365 --windows 10` hall; the floor: its
   report, repeated until it takes as long as qrate's).
4. Profile: cProfile of call-next and finish in-process on a copy of qrate's largest day.

Every server is stopped by its pid at the end, also on errors; every loop is bounded.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue as queue_mod
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable
PASSWORD = "bench-pw-16"
HALL_TZ = timezone(timedelta(hours=8))  # the demo hall's Asia/Shanghai
WINDOWS = (1, 2, 3, 4)
CLERKS = {w: f"{1000 + w}" for w in WINDOWS}
TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")

SIZES = {
    "full": dict(days=(100, 10_000), ops={1: 400, 8: 800}, warm=20, year_days=365,
                 push_clients=200, push_calls=30, push_runs=3, floor_events=100_000,
                 profile_cycles=200),
    "quick": dict(days=(100, 1_000), ops={1: 60, 8: 80}, warm=10, year_days=30,
                  push_clients=200, push_calls=10, push_runs=1, floor_events=20_000,
                  profile_cycles=40),
}
TARGETS = {"issue": 2.0, "cycle": 4.0, "growth": 1.2, "push": 1.3}


# -- small helpers -------------------------------------------------------------------------
def pct(values, q):
    """Nearest-rank percentile."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(1, -(-q * len(s) // 100))
    return s[min(int(k), len(s)) - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])  # fields 14 and 15 of proc(5)


def settle(pid: int, limit_s: float = 20.0, interval: float = 0.3) -> float:
    """Wait until the process is idle (at most one tick in `interval`); returns the seconds waited."""
    t0 = time.monotonic()
    last = cpu_ticks(pid)
    while time.monotonic() - t0 < limit_s:
        time.sleep(interval)
        now = cpu_ticks(pid)
        if now - last <= 1:
            break
        last = now
    return time.monotonic() - t0


def hall_today() -> date:
    return datetime.now(HALL_TZ).date()


def loadavg() -> str:
    """The machine's 1-minute load average: other work on the same cores colours every figure."""
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


def log(msg: str) -> None:
    print(msg, flush=True)


class Server:
    """A server in a child process on 127.0.0.1, stopped by its pid."""

    running: list["Server"] = []

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict | None = None):
        self.name, self.argv, self.log_path = name, argv, log_path
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen | None = None

    @classmethod
    def qrate(cls, hall: Path) -> "Server":
        port = free_port()
        s = cls("qrate", [PY, "-m", "server.entry", "serve", "--hall", str(hall), "--port", str(port)],
                hall / f"server-{port}.log")
        s.url = f"http://127.0.0.1:{port}"
        return s

    @classmethod
    def floor(cls, folder: Path) -> "Server":
        port = free_port()
        s = cls("floor", [PY, str(BENCH / "floor_app.py"), "--db", str(folder / "floor.db"),
                          "--port", str(port)], folder / f"server-{port}.log")
        s.url = f"http://127.0.0.1:{port}"
        return s

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self, timeout: float = 60) -> "Server":
        import requests
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=ROOT, env=self.env)
        Server.running.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start in {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self in Server.running:
            Server.running.remove(self)
        if getattr(self, "_log", None):
            self._log.close()


def cli(hall: Path | None, *args: str, stdin: str | None = None) -> str:
    """`python -m server.entry ARGS --hall HALL` (no --hall when hall is None)."""
    argv = [PY, "-m", "server.entry", *args] + (["--hall", str(hall)] if hall is not None else [])
    out = subprocess.run(argv, input=stdin,
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"server.entry {' '.join(args)}: {out.stderr or out.stdout}")
    return out.stdout


def edit_hall(hall: Path, four_windows: bool) -> None:
    """Lift opening hours, caps and slots; optionally keep only four windows serving A."""
    import tomllib
    path = hall / "hall.toml"
    text = path.read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^enforce_hours = true$", "enforce_hours = false", text)
    assert n == 1, "enforce_hours not found in the demo hall"
    text = "\n".join(line for line in text.splitlines()
                     if not line.startswith(("daily_cap", "slots"))) + "\n"
    if four_windows:
        text, n = re.subn(r'\[\[windows\]\]\nnumber = \d+\nname = "[^"]*"\nservices = \[[^\]]*\]\n\n?',
                          "", text)
        assert n >= 4, "the demo hall's windows were not found"
        blocks = "".join(f'[[windows]]\nnumber = {w}\nname = "{w}号窗口"\nservices = ["A"]\n\n'
                         for w in WINDOWS)
        text = text.replace("[[staff]]", blocks + "[[staff]]", 1)
    path.write_text(text, encoding="utf-8")
    raw = tomllib.loads(text)
    assert raw["hall"]["enforce_hours"] is False
    assert all("daily_cap" not in s and "slots" not in s for s in raw["services"])
    if four_windows:
        assert [(w["number"], w["services"]) for w in raw["windows"]] == [(w, ["A"]) for w in WINDOWS]


def login(url: str, user: str, window: int | None = None) -> str:
    import requests
    body = {"user": user, "password": PASSWORD}
    if window is not None:
        body["window"] = window
    r = requests.post(url + "/api/login", json=body, timeout=10)
    if r.status_code != 200:
        raise RuntimeError(f"login {user}: {r.status_code} {r.text}")
    return r.json()["token"]


# -- the client processes -------------------------------------------------------------------
_LOCKS = None


def _init_worker(locks) -> None:
    global _LOCKS
    _LOCKS = locks
    import requests  # noqa: F401  (imported once, before any phase starts)


def _client(spec: dict) -> dict:
    """One client: `issue` (n issues), `cycle` (n call-next + finish at its window) or `fill`
    (n issue + call-next + finish). Waits for spec['start_at'] so every client starts together."""
    import requests
    url, kind, n, mode = spec["url"], spec["kind"], spec["n"], spec["mode"]
    kiosk = {"Authorization": f"Bearer {spec['kiosk']}"}
    clerk = {"Authorization": f"Bearer {spec.get('clerk', '')}"}
    window = spec.get("window")
    lock = _LOCKS[WINDOWS.index(window)] if window is not None else None
    keep = requests.Session() if mode == "keep" else None
    lat = {"issue": [], "call-next": [], "finish": []}
    errors: list[str] = []
    empty = 0

    def timed(op, path, headers, body=None):
        t0 = time.perf_counter()
        if keep is not None:
            r = keep.post(url + path, json=body, headers=headers, timeout=30)
        else:
            with requests.Session() as s:
                r = s.post(url + path, json=body, headers={**headers, "Connection": "close"},
                           timeout=30)
        lat[op].append((time.perf_counter() - t0) * 1000)
        return r

    delay = spec["start_at"] - time.time()
    if delay > 0:
        time.sleep(delay)
    t0 = time.time()
    deadline = t0 + spec.get("limit_s", 600)
    done = 0
    while done < n and time.time() < deadline and len(errors) < 20:
        if kind in ("issue", "fill"):
            r = timed("issue", "/api/tickets", kiosk, {"service": "A"})
            if r.status_code != 201:
                errors.append(f"issue {r.status_code} {r.text[:200]}")
                continue
        if kind in ("cycle", "fill"):
            with lock:
                r = timed("call-next", f"/api/windows/{window}/call-next", clerk)
                if r.status_code == 204:  # nothing waits (cannot happen as the phases are laid out)
                    empty += 1
                    if empty > 20:
                        errors.append("nothing waits")
                    continue
                if r.status_code != 200:
                    errors.append(f"call-next {r.status_code} {r.text[:200]}")
                    continue
                f = timed("finish", f"/api/tickets/{r.json()['id']}/finish", clerk)
                if f.status_code != 200:
                    errors.append(f"finish {f.status_code} {f.text[:200]}")
                    continue
        done += 1
    t1 = time.time()
    if keep is not None:
        keep.close()
    return {"t0": t0, "t1": t1, "done": done, "lat": lat, "errors": errors, "empty": empty}


def split(n: int, k: int) -> list[int]:
    return [n // k + (i < n % k) for i in range(k)]


class Clients:
    """A pool of 8 client processes (spawned once) and the window locks they share."""

    def __init__(self):
        ctx = mp.get_context("spawn")
        self.locks = [ctx.Lock() for _ in WINDOWS]
        self.pool = ctx.Pool(8, initializer=_init_worker, initargs=(self.locks,))

    def run(self, specs: list[dict], pid: int | None = None) -> dict:
        """Run the specs together; with pid, also the server's CPU over the phase."""
        if pid is not None:
            settle(pid)
            c0 = cpu_ticks(pid)
        start_at = time.time() + 0.3
        for s in specs:
            s["start_at"] = start_at
        results = self.pool.map(_client, specs, chunksize=1)
        out = {"done": sum(r["done"] for r in results),
               "t0": min(r["t0"] for r in results), "t1": max(r["t1"] for r in results),
               "errors": [e for r in results for e in r["errors"]],
               "lat": {k: [x for r in results for x in r["lat"][k]] for k in ("issue", "call-next", "finish")}}
        if pid is not None:
            out["settle_s"] = settle(pid, limit_s=10)  # trailing work of the phase (e.g. the print spool)
            out["cpu_ms"] = (cpu_ticks(pid) - c0) * TICK_MS
        return out

    def close(self):
        self.pool.terminate()
        self.pool.join()


def fill(clients: Clients, url: str, kiosk: str, clerks: dict, n: int, limit_s: float) -> int:
    """n tickets issued, called and finished through the API by 8 keep-alive clients."""
    if n <= 0:
        return 0
    specs = [{"url": url, "kind": "fill", "n": k, "mode": "keep", "kiosk": kiosk,
              "clerk": clerks[WINDOWS[i % 4]], "window": WINDOWS[i % 4], "limit_s": limit_s}
             for i, k in enumerate(split(n, 8)) if k]
    res = clients.run(specs)
    if res["errors"] or res["done"] != n:
        raise RuntimeError(f"fill: {res['done']} of {n} done; {res['errors'][:5]}")
    return res["done"]


# -- part 1: SQL statements per change -------------------------------------------------------
def sql_counts(base: Path, work: Path, kiosk: str) -> dict:
    import sqlite3
    hall = work / "sql-hall"
    shutil.copytree(base, hall)
    captured: list[str] = []
    counting = [False]
    real_connect = sqlite3.connect

    def traced(*a, **kw):
        conn = real_connect(*a, **kw)
        conn.set_trace_callback(lambda sql: captured.append(sql) if counting[0] else None)
        return conn

    sqlite3.connect = traced
    app = None
    try:
        sys.path.insert(0, str(ROOT))
        from server.app import create_app
        app = create_app({"HALL": hall, "TESTING": True})
        c = app.test_client()
        r = c.post("/api/login", json={"user": CLERKS[1], "password": PASSWORD, "window": 1})
        assert r.status_code == 200, r.get_json()
        clerk = {"Authorization": f"Bearer {r.get_json()['token']}"}
        kh = {"Authorization": f"Bearer {kiosk}"}

        def count(fn):
            captured.clear()
            counting[0] = True
            try:
                r = fn()
            finally:
                counting[0] = False
            assert r.status_code in (200, 201), (r.status_code, r.get_json())
            return r, list(captured)

        runs = {"issue": [], "call-next": [], "finish": []}
        for i in range(6):  # the first change of a day also closes the last day's leftovers
            _, st_i = count(lambda: c.post("/api/tickets", json={"service": "A"}, headers=kh))
            r, st_c = count(lambda: c.post("/api/windows/1/call-next", headers=clerk))
            tid = r.get_json()["id"]
            _, st_f = count(lambda: c.post(f"/api/tickets/{tid}/finish", headers=clerk))
            if i:
                runs["issue"].append(st_i)
                runs["call-next"].append(st_c)
                runs["finish"].append(st_f)
    finally:
        sqlite3.connect = real_connect
        if app is not None:
            app.extensions["qrate"].close()

    def kinds(stmts):
        """CPython's trace callback repeats the statement's text for each trigger program it
        runs (stats_dirty_* here), so a repeat right after a statement is counted as a trigger."""
        k = {"select": 0, "insert": 0, "update": 0, "delete": 0, "pragma": 0,
             "transaction": 0, "trigger": 0}
        prev = None
        for s in stmts:
            word = s.lstrip().split(None, 1)[0].lower() if s.strip() else ""
            if s == prev and word in ("insert", "update", "delete"):
                k["trigger"] += 1
            elif word in ("begin", "commit", "rollback", "savepoint", "release", "end"):
                k["transaction"] += 1
            elif word in k:
                k[word] += 1
            else:
                k["select" if word == "with" else "pragma"] += 1
            prev = s
        k["sql"] = sum(k[x] for x in ("select", "insert", "update", "delete", "pragma"))
        return k

    out = {}
    for op, lists in runs.items():
        n = statistics.median(len(x) for x in lists)
        typical = min(lists, key=lambda x: abs(len(x) - n))
        out[op] = {"traced": len(typical), "kinds": kinds(typical), "sql": typical}
    return out


# -- part 2: the changes ---------------------------------------------------------------------
def make_qrate_base(work: Path) -> tuple[Path, str]:
    base = work / "qrate-base"
    cli(None, "init", "--demo", str(base))
    edit_hall(base, four_windows=True)
    kiosk = cli(base, "device", "add", "bench-kiosk", "--kind", "kiosk").strip().splitlines()[-1]
    for w in WINDOWS:
        cli(base, "user", "add", CLERKS[w], "--role", "clerk", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    return base, kiosk


def make_floor_base(work: Path) -> Path:
    sys.path.insert(0, str(BENCH))
    import floor_app
    base = work / "floor-base"
    base.mkdir()
    floor_app.connect(str(base / "floor.db")).close()
    return base


def copy_hall(src: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("server-*.log", "printed", "logs"))
    return dest


def build_template(system: str, clients: Clients, base: Path, dest: Path, kiosk: str,
                   n_done: int) -> dict:
    """A copy of the base filled to n_done tickets done today; returns its clerk tokens."""
    copy_hall(base, dest)
    server = Server.qrate(dest) if system == "qrate" else Server.floor(dest)
    server.start()
    try:
        clerks = ({w: login(server.url, CLERKS[w], w) for w in WINDOWS} if system == "qrate"
                  else {w: "" for w in WINDOWS})
        fill(clients, server.url, kiosk, clerks, n_done, limit_s=1200)
        settle(server.pid, limit_s=60)  # e.g. the print spool catching up
    finally:
        server.stop()
    done = done_today(dest, system)
    if done != n_done:
        raise RuntimeError(f"{system} template: {done} tickets done today, not {n_done}")
    return clerks


def done_today(folder: Path, system: str) -> int:
    """Tickets of today's hall day that are done, read from the stopped server's database."""
    import sqlite3
    path = folder / ("data/qrate.db" if system == "qrate" else "floor.db")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM tickets WHERE day = ? AND status = 'done'",
                            [hall_today().isoformat()]).fetchone()[0]
    finally:
        conn.close()


def run_combo(system, clients, template, run_dir, kiosk, clerks, mode, n_clients, ops, warm):
    copy_hall(template, run_dir)
    server = Server.qrate(run_dir) if system == "qrate" else Server.floor(run_dir)
    server.start()
    try:
        fill(clients, server.url, kiosk, clerks, warm, limit_s=120)  # warm-up: part of the day
        phases = {}
        for phase in ("issue", "cycle"):
            specs = []
            for i, k in enumerate(split(ops, n_clients)):
                w = WINDOWS[i % 4]
                specs.append({"url": server.url, "kind": phase, "n": k, "mode": mode, "kiosk": kiosk,
                              "clerk": clerks[w], "window": w, "limit_s": 600})
            res = clients.run(specs, server.pid)
            if res["errors"] or res["done"] != ops:
                raise RuntimeError(f"{system} {phase} {mode} x{n_clients}: {res['done']} of {ops}; "
                                   f"{res['errors'][:5]}")
            lat = res["lat"]["issue"] if phase == "issue" else res["lat"]["call-next"] + res["lat"]["finish"]
            elapsed = res["t1"] - res["t0"]
            phases[phase] = {
                "ops": res["done"], "cpu_ms_per_op": res["cpu_ms"] / res["done"],
                "cpu_ms": res["cpu_ms"], "ops_per_s": res["done"] / elapsed, "elapsed_s": elapsed,
                "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "requests": len(lat),
                "settle_s": res["settle_s"],
                "by_request": {k: {"n": len(v), "p50_ms": pct(v, 50), "p99_ms": pct(v, 99)}
                               for k, v in res["lat"].items() if v},
            }
    finally:
        server.stop()
        errors = server_errors(run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)
    if errors:
        log(f"  WARNING: {system} logged {len(errors)} error lines, e.g. {errors[0][:200]}")
    for fig in phases.values():
        fig["server_error_lines"] = len(errors)
    return phases


def server_errors(folder: Path) -> list[str]:
    """Lines of the server's logs that tell of an error (unhandled exceptions, ERROR records)."""
    found = []
    for path in list(folder.glob("server-*.log")) + list(folder.glob("data/logs/*.log*")):
        for line in path.read_text(errors="replace").splitlines():
            if "Traceback" in line or " ERROR " in line or " CRITICAL " in line:
                found.append(line)
    return found


def changes_part(cfg: dict, work: Path, clients: Clients, qbase: Path, kiosk: str, fbase: Path,
                 timings: dict) -> tuple[list, dict]:
    rows = []
    templates = {}
    for day in cfg["days"]:
        t0 = time.monotonic()
        for system, base in (("floor", fbase), ("qrate", qbase)):
            dest = work / f"{system}-day{day}"
            clerks = build_template(system, clients, base, dest, kiosk if system == "qrate" else "",
                                    day - cfg["warm"])
            templates[(system, day)] = (dest, clerks)
        timings[f"fill to day {day} (floor + qrate)"] = time.monotonic() - t0
        t0 = time.monotonic()
        for mode in ("keep", "new"):
            for n_clients in (1, 8):
                for system in ("floor", "qrate"):  # side by side, one after the other
                    dest, clerks = templates[(system, day)]
                    phases = run_combo(system, clients, dest, work / f"run-{system}", kiosk,
                                       clerks, mode, n_clients, cfg["ops"][n_clients], cfg["warm"])
                    for phase, fig in phases.items():
                        rows.append({"system": system, "day": day, "mode": mode,
                                     "clients": n_clients, "phase": phase, **fig})
                        log(row_line(rows[-1]))
        timings[f"changes at day {day}"] = time.monotonic() - t0
    return rows, templates


HEADER = (f"{'system':6} {'day':>6} {'mode':4} {'cl':>2} {'phase':18} {'ops':>5} {'cpu ms/op':>9} "
          f"{'ops/s':>7} {'p50 ms':>7} {'p99 ms':>7}")


def row_line(r: dict) -> str:
    phase = "issue" if r["phase"] == "issue" else "call-next+finish"
    return (f"{r['system']:6} {r['day']:>6} {r['mode']:4} {r['clients']:>2} {phase:18} {r['ops']:>5} "
            f"{r['cpu_ms_per_op']:>9.2f} {r['ops_per_s']:>7.1f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f}")


# -- part 3: push latency ------------------------------------------------------------------
def _listen(url: str, n_clients: int, out, ready, stop) -> None:
    """One client process: n Socket.IO clients (websocket); reports (ticket id, wall time) of each call."""
    import socketio
    out.cancel_join_thread()  # exit without waiting for the parent to drain what is left
    clients = []

    def on_event(data):
        if isinstance(data, dict) and data.get("type") == "ticket.called":
            out.put((data["ticket"]["id"], time.time()))

    try:
        for _ in range(n_clients):
            c = socketio.Client(reconnection=False)
            c.on("event", on_event)
            c.connect(url, transports=["websocket"], wait_timeout=20)
            clients.append(c)
        ready.put(len(clients))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which stops
        ready.put(f"error: {exc!r}")
    stop.wait(1800)
    # Leave without a goodbye per client (a sync disconnect takes about a second each): the
    # server sees the sockets close.
    os._exit(0)


def _report_loop(url: str, path: str, token: str, stop, started, out) -> None:
    """GET the long report again and again until told to stop (at most 5,000 times, 30 minutes)."""
    import requests
    s = requests.Session()
    took, errors = [], 0
    deadline = time.time() + 1800
    while not stop.is_set() and len(took) < 5000 and time.time() < deadline:
        t0 = time.perf_counter()
        r = s.get(url + path, headers={"Authorization": f"Bearer {token}"}, timeout=120)
        took.append(time.perf_counter() - t0)
        if r.status_code != 200:
            errors += 1
        started.set()
    out.put({"n": len(took), "errors": errors, "median_s": statistics.median(took) if took else None})


def calls(url, kiosk, clerk, window, n_clients, n_calls, out) -> tuple[list, int]:
    """n_calls times: issue, then call-next and collect its `event` at every client."""
    import requests
    s = requests.Session()
    kh, ch = {"Authorization": f"Bearer {kiosk}"}, {"Authorization": f"Bearer {clerk}"}
    delays, missing = [], 0
    for _ in range(n_calls):
        r = s.post(url + "/api/tickets", json={"service": "A"}, headers=kh, timeout=30)
        assert r.status_code == 201, r.text
        time.sleep(0.05)  # let the push settle: measure the call alone
        t0 = time.time()
        r = s.post(url + f"/api/windows/{window}/call-next", headers=ch, timeout=30)
        assert r.status_code == 200, r.text
        tid = r.json()["id"]
        got, deadline = 0, time.time() + 15
        while got < n_clients and time.time() < deadline:
            try:
                seen, at = out.get(timeout=max(0.05, deadline - time.time()))
            except queue_mod.Empty:
                break
            if seen == tid:
                delays.append((at - t0) * 1000)
                got += 1
        missing += n_clients - got
        f = s.post(url + f"/api/tickets/{tid}/finish", headers=ch, timeout=30)
        assert f.status_code == 200, f.text
        time.sleep(0.05)
    return delays, missing


def push_runs(system, url, kiosk, clerk, window, report_path, report_token, cfg) -> dict:
    ctx = mp.get_context("spawn")
    out, ready, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    share = split(cfg["push_clients"], 4)
    listeners = [ctx.Process(target=_listen, args=(url, k, out, ready, stop), daemon=True) for k in share]
    reporter = None
    runs = {"alone": [], "report": []}
    reports = []
    try:
        t0 = time.monotonic()
        for p in listeners:
            p.start()
        got = [ready.get(timeout=180) for _ in listeners]
        log(f"  {system}: {sum(g for g in got if isinstance(g, int))} clients connected in "
            f"{time.monotonic() - t0:.1f} s")
        bad = [g for g in got if not isinstance(g, int)]
        if bad or sum(got) != cfg["push_clients"]:
            raise RuntimeError(f"{system}: listeners: {got}")
        for _ in range(cfg["push_runs"]):
            for kind in ("alone", "report"):  # alternate, so drift hits both alike
                if kind == "report":
                    r_stop, r_started, r_out = ctx.Event(), ctx.Event(), ctx.Queue()
                    reporter = ctx.Process(target=_report_loop, daemon=True,
                                           args=(url, report_path, report_token, r_stop, r_started, r_out))
                    reporter.start()
                    if not r_started.wait(120):
                        raise RuntimeError(f"{system}: the report loop did not get an answer")
                t0 = time.monotonic()
                delays, missing = calls(url, kiosk, clerk, window, cfg["push_clients"],
                                        cfg["push_calls"], out)
                log(f"  {system} {kind:6}: p99 {pct(delays, 99):6.1f} ms, p50 {pct(delays, 50):6.1f} ms, "
                    f"{len(delays)} deliveries, {missing} missing, {time.monotonic() - t0:.1f} s")
                runs[kind].append({"n": len(delays), "missing": missing, "p50_ms": pct(delays, 50),
                                   "p99_ms": pct(delays, 99), "max_ms": max(delays) if delays else None})
                if kind == "report":
                    r_stop.set()
                    reports.append(r_out.get(timeout=180))
                    reporter.join(30)
                    reporter = None
    finally:
        stop.set()
        if reporter is not None:
            reporter.terminate()
        deadline = time.monotonic() + 60
        for p in listeners:
            while p.is_alive() and time.monotonic() < deadline:
                try:  # keep the pipe drained while they disconnect
                    while True:
                        out.get_nowait()
                except queue_mod.Empty:
                    pass
                p.join(0.2)
            if p.is_alive():
                p.terminate()
    med = {k: statistics.median(r["p99_ms"] for r in v) for k, v in runs.items()}
    return {"runs": runs, "p99_alone_ms": med["alone"], "p99_report_ms": med["report"],
            "ratio": med["report"] / med["alone"], "report_loops": reports}


def time_report(url, path, token, n=3) -> float:
    import requests
    took = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = requests.get(url + path, headers={"Authorization": f"Bearer {token}"}, timeout=120)
        r.raise_for_status()
        took.append(time.perf_counter() - t0)
    return statistics.median(took)


def push_part(cfg: dict, work: Path, timings: dict, year_hall: Path | None) -> dict:
    result = {}
    t0 = time.monotonic()
    today = hall_today()
    report_path = f"/api/stats/windows?from={(today - timedelta(days=364)).isoformat()}&to={today.isoformat()}"
    hall = year_hall or work / "year-hall"
    if not (hall / "hall.toml").exists():
        cli(None, "init", "--demo", str(hall))
        edit_hall(hall, four_windows=False)
        seeded = cli(hall, "seed-history", "--days", str(cfg["year_days"]), "--windows", "10")
        log(f"  seed-history: {seeded.strip()}")
        kiosk = cli(hall, "device", "add", "bench-kiosk", "--kind", "kiosk").strip().splitlines()[-1]
        cli(hall, "user", "add", CLERKS[2], "--role", "clerk", stdin=f"{PASSWORD}\n{PASSWORD}\n")
        cli(hall, "user", "add", "9001", "--role", "manager", stdin=f"{PASSWORD}\n{PASSWORD}\n")
        (hall / "bench-kiosk.token").write_text(kiosk)
    if not (hall / "bench-kiosk.token").exists():
        raise RuntimeError(f"{hall} was not made by this bench (no bench-kiosk.token): pass an "
                           "empty or missing folder to --year-hall")
    kiosk = (hall / "bench-kiosk.token").read_text().strip()
    timings["push: year hall"] = time.monotonic() - t0

    t0 = time.monotonic()
    server = Server.qrate(hall)
    server.start()
    try:
        clerk = login(server.url, CLERKS[2], 2)  # window 2 serves A in the demo hall
        manager = login(server.url, "9001")
        settle(server.pid, limit_s=60)  # the first start makes the voice clips
        q_report_s = time_report(server.url, report_path, manager)
        log(f"  qrate year report GET /api/stats/windows alone: {q_report_s * 1000:.0f} ms")
        result["qrate"] = push_runs("qrate", server.url, kiosk, clerk, 2, report_path, manager, cfg)
        result["qrate"]["report_alone_s"] = q_report_s
    finally:
        server.stop()
    timings["push: qrate"] = time.monotonic() - t0

    t0 = time.monotonic()
    fdir = work / "floor-year"
    fdir.mkdir(exist_ok=True)
    subprocess.run([PY, str(BENCH / "floor_app.py"), "--db", str(fdir / "floor.db"),
                    "--seed-events", str(cfg["floor_events"])], check=True, cwd=ROOT, timeout=600)
    server = Server.floor(fdir)
    server.start()
    try:
        one = time_report(server.url, "/api/report?repeat=1", "")
        repeat = max(1, min(50, round(q_report_s / one)))
        f_path = f"/api/report?from={(today - timedelta(days=364)).isoformat()}&to={today.isoformat()}&repeat={repeat}"
        f_report_s = time_report(server.url, f_path, "")
        log(f"  floor report: {one * 1000:.0f} ms a pass over {cfg['floor_events']} events, x{repeat}: "
            f"{f_report_s * 1000:.0f} ms")
        result["floor"] = push_runs("floor", server.url, "", "", 1, f_path, "", cfg)
        result["floor"].update(report_alone_s=f_report_s, report_repeat=repeat)
    finally:
        server.stop()
    timings["push: floor"] = time.monotonic() - t0
    return result


# -- part 4: profile -------------------------------------------------------------------------
def profile_part(template: Path, work: Path, kiosk: str, clerks: dict, cycles: int) -> dict:
    import cProfile
    import io
    import pstats
    hall = copy_hall(template, work / "profile-hall")
    sys.path.insert(0, str(ROOT))
    from server.app import create_app
    app = create_app({"HALL": hall, "TESTING": True})
    out = {}
    try:
        c = app.test_client()
        kh = {"Authorization": f"Bearer {kiosk}"}
        ch = {"Authorization": f"Bearer {clerks[1]}"}
        for _ in range(cycles):
            assert c.post("/api/tickets", json={"service": "A"}, headers=kh).status_code == 201
        profs = {"call-next": cProfile.Profile(), "finish": cProfile.Profile()}
        for _ in range(cycles):
            profs["call-next"].enable()
            r = c.post("/api/windows/1/call-next", headers=ch)
            profs["call-next"].disable()
            assert r.status_code == 200, r.get_json()
            tid = r.get_json()["id"]
            profs["finish"].enable()
            f = c.post(f"/api/tickets/{tid}/finish", headers=ch)
            profs["finish"].disable()
            assert f.status_code == 200, f.get_json()
        for op, prof in profs.items():
            for key, title in (("cumulative", "cumulative"), ("tottime", "own time")):
                buf = io.StringIO()
                st = pstats.Stats(prof, stream=buf)
                st.sort_stats(key).print_stats(12)
                out[f"{op} by {title}"] = trim_stats(buf.getvalue())
            buf = io.StringIO()
            st = pstats.Stats(prof, stream=buf)
            st.sort_stats("cumulative").print_stats(r"(server|devices)/", 15)
            out[f"{op}: qrate's own functions by cumulative"] = trim_stats(buf.getvalue())
    finally:
        app.extensions["qrate"].close()
        shutil.rmtree(hall, ignore_errors=True)
    return out


def trim_stats(text: str) -> str:
    lines = text.splitlines()
    keep = [ln for ln in lines if ln.strip() and not ln.startswith(("Ordered by", "   List reduced"))]
    return "\n".join(ln.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "")
                     for ln in keep)


# -- the summary -----------------------------------------------------------------------------
def summary(rows: list, push: dict | None, days) -> list[str]:
    by = {(r["system"], r["day"], r["mode"], r["clients"], r["phase"]): r for r in rows}
    small, big = days
    lines = ["", "qrate / floor (server CPU per op; call-next+finish is set against ONE floor "
             "request of its call phase, i.e. half the floor's cycle)",
             f"{'day':>6} {'mode':4} {'cl':>2} {'issue':>8} {'cycle':>8}"]
    ratios = {"issue": [], "cycle": [], "growth": []}
    for day in days:
        for mode in ("keep", "new"):
            for cl in (1, 8):
                f_i, q_i = by[("floor", day, mode, cl, "issue")], by[("qrate", day, mode, cl, "issue")]
                f_c, q_c = by[("floor", day, mode, cl, "cycle")], by[("qrate", day, mode, cl, "cycle")]
                ri = q_i["cpu_ms_per_op"] / f_i["cpu_ms_per_op"]
                rc = q_c["cpu_ms_per_op"] / (f_c["cpu_ms_per_op"] / 2)
                ratios["issue"].append(ri)
                ratios["cycle"].append(rc)
                lines.append(f"{day:>6} {mode:4} {cl:>2} {ri:>7.2f}x {rc:>7.2f}x")
    lines += ["", f"cost at day {big} / cost at day {small} (server CPU per op)",
              f"{'mode':4} {'cl':>2} {'qrate issue':>12} {'qrate cycle':>12} {'floor issue':>12} {'floor cycle':>12}"]
    for mode in ("keep", "new"):
        for cl in (1, 8):
            g = {}
            for system in ("qrate", "floor"):
                for phase in ("issue", "cycle"):
                    g[(system, phase)] = (by[(system, big, mode, cl, phase)]["cpu_ms_per_op"]
                                          / by[(system, small, mode, cl, phase)]["cpu_ms_per_op"])
            ratios["growth"] += [g[("qrate", "issue")], g[("qrate", "cycle")]]
            lines.append(f"{mode:4} {cl:>2} {g[('qrate', 'issue')]:>11.2f}x {g[('qrate', 'cycle')]:>11.2f}x "
                         f"{g[('floor', 'issue')]:>11.2f}x {g[('floor', 'cycle')]:>11.2f}x")
    lines += ["", "targets (issue 16): the median and the worst over the combinations above"]

    def verdict(v, t):
        return "within" if v <= t else "OVER"
    for key, text in (("issue", "server CPU per issue vs the floor's issue"),
                      ("cycle", "per call-next + finish vs one floor call"),
                      ("growth", f"qrate cost at day {big} vs day {small}")):
        vals = ratios[key]
        lines.append(f"  {text:44} median {statistics.median(vals):5.2f}x  worst {max(vals):5.2f}x  "
                     f"target <= {TARGETS[key]}x  {verdict(max(vals), TARGETS[key])}")
    if push:
        q = push["qrate"]
        lines.append(f"  {'push p99, year report looping vs alone (qrate)':44} median of runs {q['ratio']:5.2f}x"
                     f"{'':8} target <= {TARGETS['push']}x  {verdict(q['ratio'], TARGETS['push'])}")
    return lines


def push_lines(push: dict, cfg: dict) -> list[str]:
    lines = ["", f"push: call-next -> `event` at {cfg['push_clients']} Socket.IO clients (4 processes, "
             f"websocket), {cfg['push_calls']} calls a run, nearest-rank p99, median of {cfg['push_runs']} run(s)",
             f"{'system':6} {'p99 alone':>10} {'p99 +report':>12} {'ratio':>6}  {'p50 alone':>10} "
             f"{'p50 +report':>12}  report (alone / while looping, median)"]
    for system in ("floor", "qrate"):
        p = push[system]
        p50a = statistics.median(r["p50_ms"] for r in p["runs"]["alone"])
        p50r = statistics.median(r["p50_ms"] for r in p["runs"]["report"])
        loops = [x["median_s"] for x in p["report_loops"] if x["median_s"] is not None]
        missing = sum(r["missing"] for v in p["runs"].values() for r in v)
        extra = f" x{p['report_repeat']}" if "report_repeat" in p else ""
        lines.append(f"{system:6} {p['p99_alone_ms']:>8.1f}ms {p['p99_report_ms']:>10.1f}ms "
                     f"{p['ratio']:>5.2f}x  {p50a:>8.1f}ms {p50r:>10.1f}ms  "
                     f"{p['report_alone_s'] * 1000:.0f} ms{extra} / "
                     f"{statistics.median(loops) * 1000 if loops else float('nan'):.0f} ms, "
                     f"{sum(x['n'] for x in p['report_loops'])} reports"
                     + (f"  ({missing} events missing)" if missing else ""))
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller counts: a smoke run of about 2 minutes")
    ap.add_argument("--json", type=Path, default=None, help="write every figure to this file")
    ap.add_argument("--parts", default="sql,changes,push,profile",
                    help="comma-separated subset of sql,changes,push,profile")
    ap.add_argument("--year-hall", type=Path, default=None,
                    help="a hall folder to keep the seeded year in (made there if missing, reused after)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (printed at the start)")
    args = ap.parse_args()
    cfg = SIZES["quick" if args.quick else "full"]
    parts = set(args.parts.split(","))
    started = time.monotonic()
    day0 = hall_today()
    work = Path(tempfile.mkdtemp(prefix="qrate-bench-house-"))
    timings: dict[str, float] = {}
    loads: dict[str, str] = {"start": loadavg()}
    figures: dict = {"run": "quick" if args.quick else "full", "hall_day": day0.isoformat(),
                     "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "sizes": cfg, "cpu_tick_ms": TICK_MS, "nproc": os.cpu_count()}
    log(f"qrate beside the floor ({figures['run']} run), hall day {day0}, {os.cpu_count()} cores, "
        f"work folder {work}")
    clients = None
    try:
        t0 = time.monotonic()
        qbase, kiosk = make_qrate_base(work)
        fbase = make_floor_base(work)
        timings["halls made (CLI)"] = time.monotonic() - t0

        if "sql" in parts:
            loads["sql"] = loadavg()
            t0 = time.monotonic()
            counts = sql_counts(qbase, work, kiosk)
            figures["sql"] = counts
            timings["sql counts"] = time.monotonic() - t0
            log("\nSQL statements per change (qrate in-process, every connection traced):")
            log(f"  {'':10} {'SQL':>4}  {'select':>6} {'insert':>6} {'update':>6} {'delete':>6} "
                f"{'pragma':>6} | {'trigger':>7} {'begin/commit/savepoint':>22} {'traced':>6}")
            for op, c in counts.items():
                k = c["kinds"]
                log(f"  {op:10} {k['sql']:>4}  {k['select']:>6} {k['insert']:>6} {k['update']:>6} "
                    f"{k['delete']:>6} {k['pragma']:>6} | {k['trigger']:>7} {k['transaction']:>22} "
                    f"{c['traced']:>6}")

        rows = []
        templates = {}
        if "changes" in parts or "profile" in parts:
            clients = Clients()
        if "changes" in parts:
            loads["changes"] = loadavg()
            log(f"\nchanges (server CPU per op = utime+stime of the server over the phase / ops; "
                f"cycle = call-next + finish; 1 tick = {TICK_MS:.0f} ms)\n{HEADER}")
            rows, templates = changes_part(cfg, work, clients, qbase, kiosk, fbase, timings)
            figures["changes"] = rows

        if "profile" in parts:
            loads["profile"] = loadavg()
            t0 = time.monotonic()
            big = cfg["days"][-1]
            if ("qrate", big) not in templates:
                dest = work / f"qrate-day{big}"
                templates[("qrate", big)] = (dest, build_template("qrate", clients, qbase, dest, kiosk, big))
            dest, clerks = templates[("qrate", big)]
            figures["profile"] = profile_part(dest, work, kiosk, clerks, cfg["profile_cycles"])
            figures["profile"]["day"] = big
            timings["profile"] = time.monotonic() - t0
        if clients is not None:
            clients.close()
            clients = None

        push = None
        if "push" in parts:
            loads["push"] = loadavg()
            log("\npush latency")
            push = push_part(cfg, work, timings, args.year_hall)
            figures["push"] = push

        # the table, all together
        log("\n" + "=" * 78)
        log(f"qrate beside the floor, {figures['run']} run, hall day {day0}")
        if "sql" in figures:
            log("\nSQL statements per change (qrate; + trigger programs, + transaction/savepoint "
                "statements):  " + ",  ".join(f"{op} {c['kinds']['sql']} (+{c['kinds']['trigger']}, "
                                              f"+{c['kinds']['transaction']})"
                                              for op, c in figures["sql"].items()))
        if rows:
            log("\n" + HEADER)
            for r in rows:
                log(row_line(r))
        if push:
            log("\n".join(push_lines(push, cfg)))
        if rows:
            log("\n".join(summary(rows, push, cfg["days"])))
        elif push:
            q = push["qrate"]
            log(f"\n  push p99 with the year report looping / alone (qrate): {q['ratio']:.2f}x "
                f"(target <= {TARGETS['push']}x)")
        if "profile" in figures:
            log(f"\ncProfile, qrate in-process (Flask test client, threading mode), "
                f"{cfg['profile_cycles']} call-next + finish at day {figures['profile']['day']}:")
            for title, text in figures["profile"].items():
                if title != "day":
                    log(f"\n-- {title}\n{text}")
        if hall_today() != day0:
            log(f"\nNOTE: the hall day changed during the run ({day0} -> {hall_today()}): "
                "the day sizes are not what they say")
    finally:
        if clients is not None:
            clients.close()
        for s in list(Server.running):
            s.stop()
        timings["total"] = time.monotonic() - started
        log("\ntime per part: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
        figures["load_1min"] = loads
        log("load average (1 min) at the start of each part: " + ", ".join(f"{k} {v}" for k, v in loads.items()))
        figures["timings_s"] = timings
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False, default=str))
            log(f"figures written to {args.json}")
        if args.keep:
            log(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
