"""The city at scale: ingest, database size, dashboard queries over a month and a year, forward lag.

    python bench/bench_city.py [--halls 50 --windows 10 --days 365] [--sample-halls 4
        --sample-days 7] [--live-seconds 30] [--db URL]

Without --db it starts its own PostgreSQL (tests/city_kit.py: initdb into a temporary
folder, a free port, stopped at the end) and a real `qrate city serve`. Three parts:

1. The intake, for real (--sample-halls x --windows x --sample-days): the halls' past made
   by the hall's own generator (server/seed.py, as `qrate seed-history`) and sent over HTTP
   in batches of 500, four halls at a time; the city stores each batch and keeps its
   per-day summary in the same transaction. Prints events/s stored, the database's bytes
   per million events (events partitions, ratings, cases, the summary, with indexes), and
   checks that the summary's figures equal the raw computation for these halls.
2. The scale (--halls x --windows x --days): summary-ready data made fast with numpy and
   loaded with COPY straight into the summary tables (city_cells, city_periods, city_bins,
   and the promises' city_promise_cells, city_reasons, city_window_days: every wait judged
   against its service's target, the 差评 reasons, each window's day opened at 8:30, paused
   for lunch, closed at 17:30 or now and then left open overnight) and the cases table, in
   exactly the layout the intake keeps (server/city/summary.py), with times at millisecond
   resolution as a live hall's clock gives them. The events
   behind it are not generated (a year of 50 halls is ~120 million events); the
   dashboard reads only the summary and the cases.
3. The dashboard over HTTP, each the median of --repeat calls: all halls over the last
   30 days and over the whole range, one hall's windows over the whole range, the trend
   by day, the promises kept (all halls; one hall by window and by clerk), and the /city
   page's own requests sent at once as the page sends them (the board: halls, trend,
   promises; a hall's drill-down: windows, clerks and their promises); target: < 2 s for a
   year across all halls. The sample of part 1 also checks that the promises from the
   summary equal the raw events' (hall, window and clerk rows). Then the forward lag of a live
   hall (--live-seconds, 0 to skip): commit at the hall to the city's acknowledgement.

The figures are printed; docs/city.md keeps the last run's.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
import requests  # noqa: E402

from city_kit import CityServer, Postgres, synthetic_days  # noqa: E402
from server import auth, config, forward, seed, store  # noqa: E402
from server.city import db as city_db  # noqa: E402
from server.city import stats as city_stats  # noqa: E402
from server.city import summary  # noqa: E402
from server.forward import Forwarder  # noqa: E402
from server.operations import Operations  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
PASSWORD = "bench-password"


def pct(values, p):
    values = sorted(values)
    return values[max(0, (p * len(values) + 99) // 100 - 1)] if values else None


def ingest(city_url: str, db_url: str, halls: int, cfg, first: date, last: date, batch: int,
           promises: Optional[dict] = None):
    with psycopg.connect(db_url, autocommit=True) as conn:
        tokens = [city_db.add_hall(conn, f"大厅{i + 1:03d}") for i in range(halls)]
    gen_s = [0.0]
    lock = threading.Lock()

    def one(i):
        hall_id, token = tokens[i]
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        after, sent, post_s = 0, 0, 0.0
        t = time.perf_counter()
        days = list(synthetic_days(cfg, 1000 + i, first, last))
        with lock:
            gen_s[0] += time.perf_counter() - t
        for _, events in days:
            for k in range(0, len(events), batch):
                part = events[k:k + batch]
                if promises is not None:  # as the forwarder does: the configuration in force
                    part = [dict(part[0], config={"seq": 0, "promises": promises})] + part[1:]
                t = time.perf_counter()
                r = s.post(city_url + "/api/city/ingest", timeout=120,
                           json={"hall_id": hall_id, "epoch": 1, "after": after, "events": part})
                post_s += time.perf_counter() - t
                r.raise_for_status()
                after = part[-1]["seq"]
                sent += len(part)
        return sent, post_s

    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(halls)))
    wall = time.perf_counter() - started
    events = sum(r[0] for r in results)
    return events, wall, gen_s[0], sum(r[1] for r in results)


def forward_lag(city_url: str, db_url: str, folder: Path, seconds: float, rate: float):
    """A live hall at ``rate`` events/s for ``seconds``, its forwarder pushing to the city."""
    hall = folder / "live-hall"
    config.write_demo(hall, always_open=True)
    with psycopg.connect(db_url, autocommit=True) as conn:
        hall_id, token = city_db.add_hall(conn, "直播大厅")
    cfg = config.load(hall, {"ratings": {"press_burst": 1000, "presses_per_minute": 6000}})
    store.open_and_migrate(cfg.db_path)
    ops = Operations(cfg)
    fw = Forwarder(cfg.db_path, city_url, token, hall_id, retry_max_s=1)
    ops.subscribe(fw.notify)
    committed: dict[int, float] = {}
    ops.subscribe(lambda body: committed.__setitem__(body["seq"], time.monotonic()))
    acked: list[tuple[float, int]] = []
    stop = threading.Event()

    def watch():
        with psycopg.connect(db_url, autocommit=True) as conn:
            while not stop.is_set():
                row = conn.execute("SELECT acked_seq FROM hall_progress WHERE hall_id = %s",
                                   [hall_id]).fetchone()
                acked.append((time.monotonic(), row[0] if row else 0))
                time.sleep(0.005)

    threads = [threading.Thread(target=fw.run_forever, daemon=True),
               threading.Thread(target=watch, daemon=True)]
    for t in threads:
        t.start()
    for w in (1, 2, 3):
        ops.sign_in(w, f"10{w:02d}")
    end = time.monotonic() + seconds
    gap = 1 / rate
    n = 0
    while time.monotonic() < end:
        n += 1
        ops.issue("A", False)
        w = (1, 2, 3)[n % 3]
        called = ops.call_next(w)
        if called:
            ops.finish(called["id"], w)
            ops.rate(called["id"], w, 5)
        time.sleep(max(0.0, gap * 4 - 0.001))  # four events a round
    deadline = time.monotonic() + 30
    last = max(committed)
    while time.monotonic() < deadline and (not acked or acked[-1][1] < last):
        time.sleep(0.05)
    stop.set()
    fw.stop()
    lags = []
    j = 0
    for seq in sorted(committed):
        while j < len(acked) and acked[j][1] < seq:
            j += 1
        if j < len(acked):
            lags.append(max(0.0, acked[j][0] - committed[seq]))
    ops.close()
    return lags, len(committed)


def timed_get(url: str, headers: dict, repeat: int = 3) -> float:
    """The median time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = requests.get(url, headers=headers, timeout=600)
        r.raise_for_status()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def timed_page(base: str, paths: list[str], headers: dict, repeat: int = 3) -> float:
    """The median wall time of sending ``paths`` at once (as the dashboard's Promise.all) until
    the last answer."""
    times = []
    with ThreadPoolExecutor(len(paths)) as pool:
        for _ in range(repeat):
            t = time.perf_counter()
            for r in pool.map(lambda p: requests.get(base + p, headers=headers, timeout=600), paths):
                r.raise_for_status()
            times.append(time.perf_counter() - t)
    return statistics.median(times)


# --- summary-ready data, fast ------------------------------------------------------------

SERVICES = "ABCDE"
MEAN_SERVICE_S = {"A": 75, "B": 95, "C": 190, "D": 115, "E": 45}
WEEKDAY = {1: 1.15, 2: 1.05, 3: 1.0, 4: 0.95, 5: 1.05, 6: 0.6, 7: 0.3}
LEVELS_P = [0.004, 0.006, 0.02, 0.13, 0.84]


def _arr(values) -> str:
    return "{" + ",".join(map(str, values)) + "}"


def _bins_rows(out, hall: str, kind: str, grain: str, period: str, values: np.ndarray) -> int:
    """city_bins rows of one period: exact distinct values and counts per bin."""
    if not len(values):
        return 0
    vals, cnts = np.unique(values, return_counts=True)
    bins = summary.buckets(vals) >> summary.BIN_SHIFT[grain]
    cut = np.flatnonzero(np.diff(bins)) + 1
    n = 0
    for v, c in zip(np.split(vals, cut), np.split(cnts, cut)):
        out.write(f"{hall}\t{kind}\t{summary.bucket(int(v[0])) >> summary.BIN_SHIFT[grain]}\t"
                  f"{grain}\t{period}\t{_arr(v.tolist())}\t{_arr(c.tolist())}\n")
        n += 1
    return n


class _PeriodAcc:
    def __init__(self):
        self.n = np.zeros(12, dtype=np.int64)  # legs issued called served no_show transferred r1..r5 untied
        self.waits: list[np.ndarray] = []
        self.services: list[np.ndarray] = []

    def row(self, grain: str, period: str, hall: str) -> str:
        w = np.concatenate(self.waits) if self.waits else np.zeros(0, np.int64)
        s = np.concatenate(self.services) if self.services else np.zeros(0, np.int64)
        wh = np.bincount(summary.buckets(w)) if len(w) else []
        sh = np.bincount(summary.buckets(s)) if len(s) else []
        n = self.n.tolist()
        return "\t".join(map(str, [grain, period, hall, *n[:6], int(w.sum()),
                                    int(w.max()) if len(w) else "\\N", int(s.sum()),
                                    int(s.max()) if len(s) else "\\N", _arr(list(wh)),
                                    _arr(list(sh)), *n[6:]])) + "\n"


CELL_COLS = ('hall_id, day, "window", clerk, service, legs, issued, called, served, no_show, '
             "transferred, wait_sum, service_sum, waits, services, r1, r2, r3, r4, r5, untied")
PERIOD_COLS = ("grain, period, hall_id, legs, issued, called, served, no_show, transferred, "
               "wait_sum, wait_max, service_sum, service_max, wait_hist, service_hist, "
               "r1, r2, r3, r4, r5, untied")
PROMISE_COLS = ('hall_id, day, "window", clerk, service, ' + ", ".join(summary.PROMISE_COUNTS))
REASON_COLS = 'hall_id, day, "window", clerk, service, kind, reason, n'
WINDOW_DAY_COLS = ('hall_id, "window", day, tz, ts, status, clerks, end_epoch, end_seq, end_status, '
                   "end_clerk, first_ms, seg_clerks, seg_ms, seg_total, has_segs")
TARGET_WAIT_MS = {"A": 600_000, "B": 900_000, "C": 1_200_000, "D": 600_000, "E": 300_000}
TARGET_SERVICE_MS = {"A": 300_000, "B": 300_000, "C": 600_000, "D": 300_000, "E": 120_000}
TAGS = ("long_wait", "attitude", "knowledge", "other")
NATIONAL = {"long_wait": "efficiency", "attitude": "attitude", "knowledge": "level", "other": "other"}


def _window_day(hall: str, w: int, d: date, clerk: str, rng, seq: int) -> str:
    """One window's day as the intake keeps it: opened at 8:30, paused for lunch, open again
    at 13:30 (the clerk handed over now and then), closed at 17:30, or left open overnight."""
    base = datetime.combine(d, datetime.min.time(), TZ).timestamp()
    evs = [(1, seq, base + 8.5 * 3600 + rng.integers(0, 600), "open", clerk),
           (1, seq + 1, base + 12 * 3600 + rng.integers(0, 300), "paused", clerk),
           (1, seq + 2, base + 13.5 * 3600 + rng.integers(0, 300), "open",
            clerk if rng.random() > 0.1 else str(1900 + w))]
    if rng.random() > 0.03:
        evs.append((1, seq + 3, base + 17.5 * 3600 + rng.integers(0, 900), "closed", None))
    row = summary.window_day_row(hall, w, d, "Asia/Shanghai", [(e, q, float(t), st, c) for e, q, t, st, c in evs])
    first = row[11]
    return "\t".join([hall, str(w), d.isoformat(), row[3], _arr(row[4]), _tarr(row[5]),
                      _tarr(row[6]), str(row[7]), str(row[8]), row[9] or "\\N", row[10],
                      "\\N" if first is None else str(first), _tarr(row[12]), _arr(row[13]), str(row[14]), "t" if row[15] else "f"]) + "\n"


def _tarr(values) -> str:
    return "{" + ",".join(f'"{v}"' for v in values) + "}"


CASE_COLS = ('hall_id, epoch, case_id, rating_id, "window", clerk, service, opened_at, '
             "callback_due, callback_done_at, rectify_due, rectified_at, replied_at, seq")


def load_scale(db_url: str, halls: int, windows: int, first: date, last: date,
               workers: int = 2) -> dict:
    """Summary rows for ``halls`` x ``windows`` x the days first..last, by COPY (one hall a
    task, ``workers`` processes: generating in one overlaps COPY in the other)."""
    from concurrent.futures import ProcessPoolExecutor
    counts: dict[str, int] = {}
    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(_load_hall, db_url, i, windows, first, last) for i in range(halls)]
        for k, f in enumerate(futures):
            for key, v in f.result().items():
                counts[key] = counts.get(key, 0) + v
            if (k + 1) % 10 == 0 or k + 1 == halls:
                print(f"  scale: {k + 1}/{halls} halls loaded", flush=True)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # as autovacuum leaves a table that is read, not written
    return counts


def _load_hall(db_url: str, i: int, windows: int, first: date, last: date) -> dict:
    rng = np.random.default_rng(20261201 + i)
    counts = {"cells": 0, "periods": 0, "bins": 0, "cases": 0, "waits": 0, "services": 0,
              "events_behind": 0, "promise_cells": 0, "reasons": 0, "window_days": 0}
    with psycopg.connect(db_url, autocommit=True) as conn:
        if True:
            hall = f"B{i + 1:03d}"
            conn.execute("INSERT INTO halls (hall_id, name, token_hash) VALUES (%s, %s, %s)",
                         [hall, f"规模大厅{i + 1:03d}", f"bench-{hall}"])
            cells, periods, bins, cases = io.StringIO(), io.StringIO(), io.StringIO(), io.StringIO()
            kept, reasons, wdays = io.StringIO(), io.StringIO(), io.StringIO()
            seq = 0
            month_acc: dict[str, _PeriodAcc] = {}
            case_id = 0
            d = first
            while d <= last:
                day_acc = _PeriodAcc()
                macc = month_acc.setdefault(d.replace(day=1).isoformat(), _PeriodAcc())
                factor = WEEKDAY[d.isoweekday()]
                for w in range(1, windows + 1):
                    code = SERVICES[(w - 1) % len(SERVICES)]
                    clerk = str(1000 + w) if rng.random() > 0.3 / max(windows, 1) * 3 else str(1900 + w)
                    called = int(rng.poisson(150 * factor * 75 / MEAN_SERVICE_S[code] ** 0.5 / 8.66))
                    if not called:
                        continue
                    no_show = int(rng.binomial(called, 0.04))
                    transferred = int(rng.binomial(called - no_show, 0.015))
                    served = called - no_show - transferred
                    issued = called + int(rng.poisson(1))
                    waits = np.sort(np.rint(rng.gamma(1.6, 260.0, called) * 1000).astype(np.int64))
                    services = np.sort(np.rint(rng.lognormal(np.log(MEAN_SERVICE_S[code]) - 0.18, 0.6,
                                                             served) * 1000).astype(np.int64) + 20_000)
                    levels = rng.multinomial(int(rng.binomial(served, 0.65)), LEVELS_P)
                    legs = issued + called + served + no_show + transferred
                    counts["events_behind"] += legs + int(levels.sum()) + called // 20
                    cells.write("\t".join(map(str, [hall, d, w, clerk, code, legs, issued, called, served,
                                                    no_show, transferred, int(waits.sum()),
                                                    int(services.sum()), _arr(waits.tolist()),
                                                    _arr(services.tolist()), *levels.tolist(), 0])) + "\n")
                    counts["cells"] += 1
                    # promises kept: over-target counts (every service has a target here), the
                    # 差评 reasons, the window's day of open time
                    w_over = int(np.count_nonzero(waits > TARGET_WAIT_MS[code]))
                    s_over = int(np.count_nonzero(services > TARGET_SERVICE_MS[code]))
                    kept.write("\t".join(map(str, [hall, d, w, clerk, code, called, w_over, called, served,
                                                   s_over, served, int(services.sum())])) + "\n")
                    counts["promise_cells"] += 1
                    low = int(levels[0] + levels[1])
                    if low:
                        tags: dict = {}
                        for _ in range(low):
                            for tag in rng.choice(TAGS, size=int(rng.integers(1, 3)), replace=False):
                                tags[str(tag)] = tags.get(str(tag), 0) + 1
                        for tag, n_tag in sorted(tags.items()):
                            for kind, reason in (("h", tag), ("n", NATIONAL[tag])):
                                reasons.write(f"{hall}\t{d}\t{w}\t{clerk}\t{code}\t{kind}\t{reason}\t{n_tag}\n")
                                counts["reasons"] += 1
                    wdays.write(_window_day(hall, w, d, clerk, rng, seq))
                    seq += 4
                    counts["window_days"] += 1
                    counts["waits"] += called
                    counts["services"] += served
                    n = np.array([legs, issued, called, served, no_show, transferred, *levels, 0])
                    for acc in (day_acc, macc):
                        acc.n += n
                        acc.waits.append(waits)
                        acc.services.append(services)
                    for _ in range(int(levels[0] + levels[1])):
                        case_id += 1
                        opened = datetime.combine(d, datetime.min.time(), TZ) + timedelta(hours=10)
                        done = opened + timedelta(hours=int(rng.integers(1, 40)))
                        cases.write("\t".join(map(str, [hall, 1, case_id, case_id, w, clerk, code,
                                                        opened.isoformat(), (opened + timedelta(hours=24)).isoformat(),
                                                        done.isoformat(), (opened + timedelta(days=5)).isoformat(),
                                                        done.isoformat(), done.isoformat(), case_id])) + "\n")
                        counts["cases"] += 1
                periods.write(day_acc.row("d", d.isoformat(), hall))
                counts["periods"] += 1
                for kind, parts in (("w", day_acc.waits), ("s", day_acc.services)):
                    if parts:
                        counts["bins"] += _bins_rows(bins, hall, kind, "d", d.isoformat(), np.concatenate(parts))
                d += timedelta(days=1)
            for month, acc in month_acc.items():
                periods.write(acc.row("m", month, hall))
                counts["periods"] += 1
                for kind, parts in (("w", acc.waits), ("s", acc.services)):
                    if parts:
                        counts["bins"] += _bins_rows(bins, hall, kind, "m", month, np.concatenate(parts))
            with conn.transaction():
                for table, cols, buf in (("city_cells", CELL_COLS, cells),
                                         ("city_periods", PERIOD_COLS, periods),
                                         ("city_bins", "hall_id, kind, bin, grain, period, vals, cnts", bins),
                                         ("cases", CASE_COLS, cases),
                                         ("city_promise_cells", PROMISE_COLS, kept),
                                         ("city_reasons", REASON_COLS, reasons),
                                         ("city_window_days", WINDOW_DAY_COLS, wdays)):
                    with conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
                        cp.write(buf.getvalue())
    return counts


SIZE_SQL = """
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
WHERE c.relkind = 'r' AND (c.relname LIKE 'events_%%' OR c.relname = ANY(%s))
"""


def sizes(conn) -> tuple[int, int]:
    """(bytes of events, ratings and cases; bytes of the summary), indexes and TOAST included."""
    raw = conn.execute(SIZE_SQL, [["ratings", "cases"]]).fetchone()[0]
    summ = conn.execute(SIZE_SQL.replace("c.relname LIKE 'events_%%' OR ", ""),
                        [["city_cells", "city_periods", "city_bins", "city_promise_cells",
                          "city_reasons", "city_window_days"]]).fetchone()[0]
    return int(raw), int(summ)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--halls", type=int, default=50)
    ap.add_argument("--windows", type=int, default=10)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--sample-halls", type=int, default=4)
    ap.add_argument("--sample-days", type=int, default=7)
    ap.add_argument("--end", default="2026-11-26")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--live-seconds", type=float, default=30)
    ap.add_argument("--live-rate", type=float, default=20, help="events/s at the live hall")
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    pg = None
    folder = Path(tempfile.mkdtemp(prefix="qrate-bench-city-"))
    if args.db is None:
        pg = Postgres().start()
        db_url = pg.new_database("bench")
    else:
        db_url = args.db
    city = None
    started = time.perf_counter()
    try:
        print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f} "
              f"on {os.cpu_count()} cores", flush=True)
        with psycopg.connect(db_url, autocommit=True) as conn:
            city_db.migrate(conn)
            city_db.add_user(conn, "B9001", "manager", PASSWORD)
        city = CityServer(db_url, folder).start()
        hall = folder / "hall"
        config.write_demo(hall, always_open=True)
        seed.expand_hall(hall, args.windows)
        cfg = config.load(hall)
        last = date.fromisoformat(args.end)
        first = last - timedelta(days=args.days - 1)
        s_first = last - timedelta(days=args.sample_days - 1)
        # 1. the intake, for real
        print(f"intake: {args.sample_halls} halls x {len(cfg.windows)} windows x {args.sample_days} days "
              f"({s_first}..{last}), HTTP, batches of {args.batch}", flush=True)
        import tomllib
        promises = forward.promises(tomllib.loads((hall / "hall.toml").read_text(encoding="utf-8")))
        events, wall, gen_s, post_s = ingest(city.url, db_url, args.sample_halls, cfg, s_first, last,
                                             args.batch, promises)
        print(f"ingest: {events} events in {wall:.1f} s wall ({gen_s:.1f} s of it generating, "
              f"spread over 4 senders): {events / max(wall - gen_s / 4, 1e-9):.0f} events/s stored "
              f"with the summary (HTTP time {post_s:.1f} s: {events / post_s:.0f} events/s per "
              f"sender-second)", flush=True)
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            stored = conn.execute("SELECT count(*) FROM events").fetchone()[0]
            raw_b, sum_b = sizes(conn)
            a = dict(start=s_first.isoformat(), end=last.isoformat(), now=datetime.now(TZ))
            same = city_stats.rows(conn, dim="hall", **a) == city_stats.rows_raw(conn, dim="hall", **a)
            same = same and all(
                city_stats.rows(conn, dim="window", hall=h, **a) ==
                city_stats.rows_raw(conn, dim="window", hall=h, **a)
                for h in [f"H{i + 1:03d}" for i in range(args.sample_halls)])
            same_kept = city_stats.promises(conn, dim="hall", **a) == \
                city_stats.promises_raw(conn, dim="hall", **a)
            same_kept = same_kept and all(
                city_stats.promises(conn, dim=by, hall=h, **a) ==
                city_stats.promises_raw(conn, dim=by, hall=h, **a)
                for h in [f"H{i + 1:03d}" for i in range(args.sample_halls)] for by in ("window", "staff"))
            t = time.perf_counter()
            sample_kept = city_stats.promises(conn, dim="hall", **a)
            kept_fast = time.perf_counter() - t
            same_kept = same_kept and len(sample_kept) == args.sample_halls and all(
                r["judged_waits"] == r["waits"] > 0 and r["open_s"] > 0 for r in sample_kept)
            t = time.perf_counter()
            city_stats.promises_raw(conn, dim="hall", **a)
            kept_raw = time.perf_counter() - t
            parts = city_db.partitions(conn)
        print(f"size: {(raw_b + sum_b) / 1e6:.0f} MB for {stored} events: "
              f"{(raw_b + sum_b) / stored * 1e6 / 1e9:.3f} GB per million events "
              f"(events, ratings, cases {raw_b / stored * 1e6 / 1e9:.3f}; summary "
              f"{sum_b / stored * 1e6 / 1e9:.3f}); partitions {parts[0]}..{parts[-1]} ({len(parts)})",
              flush=True)
        print(f"exact: the summary's hall and window rows equal the raw events' -> {same}", flush=True)
        print(f"exact: the promises (hall, window and staff rows) from the summary equal the raw "
              f"events' -> {same_kept}; by hall over the sample: summary {kept_fast:.3f} s, raw events "
              f"{kept_raw:.3f} s", flush=True)
        assert same and same_kept
        # 2. the scale
        print(f"scale: {args.halls} halls x {args.windows} windows x {args.days} days ({first}..{last}), "
              "summary-ready rows by COPY", flush=True)
        t = time.perf_counter()
        n = load_scale(db_url, args.halls, args.windows, first, last)
        with psycopg.connect(db_url, autocommit=True) as conn:
            _, sum_b2 = sizes(conn)
        print(f"scale: loaded in {time.perf_counter() - t:.0f} s: {n['cells']} cells, {n['periods']} "
              f"period rows, {n['bins']} bin rows, {n['cases']} cases, {n['promise_cells']} promise "
              f"cells, {n['reasons']} reason rows, {n['window_days']} window days; {n['waits']} waits and "
              f"{n['services']} service times behind them (~{n['events_behind'] / 1e6:.0f} million "
              f"events); summary {sum_b2 / 1e9:.2f} GB", flush=True)
        # 3. the dashboard
        r = requests.post(city.url + "/api/login", json={"user": "B9001", "password": PASSWORD}, timeout=10)
        mgr = {"Authorization": f"Bearer {r.json()['token']}"}
        month_from = (last - timedelta(days=29)).isoformat()
        requests.get(f"{city.url}/api/city/stats/halls?from={first}&to={last}", headers=mgr, timeout=600)
        q_month = timed_get(f"{city.url}/api/city/stats/halls?from={month_from}&to={last}", mgr, args.repeat)
        q_all = timed_get(f"{city.url}/api/city/stats/halls?from={first}&to={last}", mgr, args.repeat)
        q_hall = timed_get(f"{city.url}/api/city/stats/halls/B001/windows?from={first}&to={last}", mgr,
                           args.repeat)
        q_days = timed_get(f"{city.url}/api/city/stats/days?from={first}&to={last}", mgr, args.repeat)
        rows = requests.get(f"{city.url}/api/city/stats/halls?from={first}&to={last}", headers=mgr,
                            timeout=600).json()["rows"]
        p_month = timed_get(f"{city.url}/api/city/stats/promises?from={month_from}&to={last}", mgr, args.repeat)
        p_all = timed_get(f"{city.url}/api/city/stats/promises?from={first}&to={last}", mgr, args.repeat)
        p_win = timed_get(f"{city.url}/api/city/stats/promises?from={first}&to={last}&hall=B001&by=window",
                          mgr, args.repeat)
        p_staff = timed_get(f"{city.url}/api/city/stats/promises?from={first}&to={last}&hall=B001&by=staff",
                            mgr, args.repeat)
        q = f"from={first}&to={last}"
        board = ["/api/city/stats/halls?", "/api/city/stats/days?", "/api/city/stats/promises?"]
        drill = ["/api/city/stats/halls/B001/windows?", "/api/city/stats/halls/B001/staff?",
                 "/api/city/stats/promises?hall=B001&by=window&", "/api/city/stats/promises?hall=B001&by=staff&"]
        b_month = timed_page(city.url, [u + f"from={month_from}&to={last}" for u in board], mgr, args.repeat)
        b_all = timed_page(city.url, [u + q for u in board], mgr, args.repeat)
        d_all = timed_page(city.url, [u + q for u in drill], mgr, args.repeat)
        kept_rows = requests.get(f"{city.url}/api/city/stats/promises?{q}", headers=mgr, timeout=600).json()["rows"]
        print(f"promises ({len(kept_rows)} halls, median of {args.repeat}): all halls, last 30 days "
              f"{p_month:.2f} s; all halls, {args.days} days {p_all:.2f} s; one hall by window, {args.days} "
              f"days {p_win:.2f} s; by clerk {p_staff:.2f} s; target < 2 s for {args.days} days: "
              f"{'met' if p_all < 2 else 'NOT met'}", flush=True)
        print(f"/city page (its requests at once, as the page sends them; median of {args.repeat}): "
              f"halls + trend + promises, last 30 days {b_month:.2f} s; {args.days} days {b_all:.2f} s; "
              f"drill-down to one hall (windows, clerks, their promises), {args.days} days {d_all:.2f} s",
              flush=True)
        print(f"dashboard ({len(rows)} halls, median of {args.repeat}): all halls, last 30 days "
              f"{q_month:.2f} s; all halls, {args.days} days {q_all:.2f} s; one hall's windows, "
              f"{args.days} days {q_hall:.2f} s; trend by day, {args.days} days {q_days:.2f} s; "
              f"target < 2 s for {args.days} days: {'met' if q_all < 2 else 'NOT met'}", flush=True)
        print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}", flush=True)
        if args.live_seconds > 0:
            lags, n_live = forward_lag(city.url, db_url, folder, args.live_seconds, args.live_rate)
            print(f"forward lag at {args.live_rate:g} events/s for {args.live_seconds:g} s "
                  f"({n_live} events): p50 {statistics.median(lags) * 1000:.0f} ms, "
                  f"p99 {pct(lags, 99) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms", flush=True)
        print(f"wall: {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        if city:
            city.kill()
        if pg:
            pg.stop()


if __name__ == "__main__":
    main()
