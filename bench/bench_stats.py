"""Time every stats query over the last 30 and 365 days of a generated year.

    python bench/bench_stats.py [--hall /tmp/qrate-year] [--runs 5]

Without a hall folder it first builds one: `qrate init`, then
`qrate seed-history --days 365 --windows 40` (a 40-window hall, about 2.5
million tickets; several minutes), and prints how long that took. Queries go
through the HTTP API (Flask test client, a manager's token), as the dashboard
sends them. Prints the first (cold) and the median of the next runs, the cost
of summarising one busy day from the log (what a query over a range including
today pays), and the data folder's size.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hall", default="/tmp/qrate-year", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    hall = args.hall
    if not (hall / "data" / "qrate.db").exists():
        subprocess.run([sys.executable, "-m", "server.entry", "init", "--demo", str(hall)], cwd=ROOT, check=True)
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "server.entry", "seed-history", "--hall", str(hall),
                        "--days", "365", "--windows", "40"], cwd=ROOT, check=True)
        print(f"generated the year in {time.monotonic() - started:.0f} s")

    from zoneinfo import ZoneInfo

    from server import auth, config, store
    from server.app import create_app
    from server.readside import summary
    cfg = config.load(hall)
    db = store.connect(cfg.db_path)
    last = db.execute("SELECT max(day) FROM tickets").fetchone()[0]
    counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("tickets", "ticket_events", "ratings", "stats_cells")}
    busiest = db.execute("SELECT day FROM tickets GROUP BY day ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    if not db.execute("SELECT 1 FROM users WHERE employee_no = 'bench'").fetchone():
        auth.add_user(db, "bench", "manager", "bench-password")
    db.close()
    tz = ZoneInfo(cfg.raw["hall"]["timezone"])
    end = date.fromisoformat(last)
    now = datetime.combine(end + timedelta(days=1), datetime.min.time(), tz).replace(hour=10)
    app = create_app({"HALL": hall, "CLOCK": lambda: now})
    client = app.test_client()
    token = client.post("/api/login", json={"user": "bench", "password": "bench-password"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    print(f"hall {hall}: {len(cfg.windows)} windows; {counts['tickets']:,} tickets, "
          f"{counts['ticket_events']:,} events, {counts['ratings']:,} ratings, "
          f"{counts['stats_cells']:,} summary cells; last day {last}")

    def timed(url: str) -> tuple[float, float]:
        times = []
        for _ in range(args.runs + 1):
            t0 = time.perf_counter()
            r = client.get(url, headers=headers)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (url, r.status_code, r.data[:300])
        return times[0], statistics.median(times[1:])

    print(f"{'query':<44} {'days':>5} {'first ms':>9} {'median ms':>10}")
    for days in (30, 365):
        start = (end - timedelta(days=days - 1)).isoformat()
        rng = f"from={start}&to={last}"
        for what in ("windows", "staff", "services", "hours", "days"):
            for fmt in ("json",) + (("csv", "xlsx") if what == "windows" else ()):
                url = f"/api/stats/{what}?{rng}" + ("" if fmt == "json" else f"&format={fmt}")
                first, median = timed(url)
                print(f"{url.split('?')[0] + ('?format=' + fmt if fmt != 'json' else ''):<44} "
                      f"{days:>5} {first:>9.0f} {median:>10.0f}")
        first, median = timed(f"/api/stats/pairs?{rng}")
        print(f"{'/api/stats/pairs (with trends)':<44} {days:>5} {first:>9.0f} {median:>10.0f}")
    month = end.strftime("%Y-%m")
    quarter = f"{end.year}-Q{(end.month - 1) // 3 + 1}"
    for label, url in (("/api/stats/scorecard (a day)", f"/api/stats/scorecard?day={last}"),
                       (f"/api/stats/rankings?period={month}", f"/api/stats/rankings?period={month}"),
                       (f"/api/stats/rankings?period={quarter}", f"/api/stats/rankings?period={quarter}")):
        first, median = timed(url)
        print(f"{label:<44} {'':>5} {first:>9.0f} {median:>10.0f}")
    # A month up to a busy "today": today is summarised from the log at the first
    # query, then only the events since the last query are read.
    busy = date.fromisoformat(busiest)
    busy_now = datetime.combine(busy, datetime.min.time(), tz).replace(hour=17)
    db = store.connect(cfg.db_path)
    with db.conn:
        db.execute("INSERT OR IGNORE INTO stats_dirty (day) VALUES (?)", [busiest])
    db.close()
    app2 = create_app({"HALL": hall, "CLOCK": lambda: busy_now})
    client = app2.test_client()
    first, median = timed(f"/api/stats/windows?from={(busy - timedelta(days=29)).isoformat()}&to={busiest}")
    print(f"{'/api/stats/windows, 30 days up to a busy today':<44} {30:>5} {first:>9.0f} {median:>10.0f}")
    app2.extensions["qrate"].close()
    db = store.connect(cfg.db_path)
    summary.refresh(db, cfg, now=now)  # leave the summary as found
    t0 = time.perf_counter()
    built = summary.build_day(db, busiest, tz)
    ms = (time.perf_counter() - t0) * 1000
    print(f"summarising the busiest day ({busiest}, {sum(c.issued for c in built['cells'].values()):,} "
          f"tickets) from the log: {ms:.0f} ms (paid for today and for any day changed since)")
    db.close()
    app.extensions["qrate"].close()
    size = folder_size(hall / "data")
    print(f"data folder {hall / 'data'}: {size / 1e9:.2f} GB "
          f"({os.path.getsize(cfg.db_path) / 1e9:.2f} GB qrate.db)")


if __name__ == "__main__":
    main()
