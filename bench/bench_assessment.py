"""Time the post-based assessment reads: /api/stats/assessment of a month, the post pairs
with their trends (now on the post score) and the monthly report page, against the
per-service pairs they replaced, over a generated hall.

    python bench/bench_assessment.py [--hall /tmp/qrate-assess-bench] [--days 31] [--runs 3]

Without a hall folder it builds one (`qrate init --demo`, `qrate seed-history --days N`).
Queries go through the HTTP API (Flask test client, a manager's token). Prints the first
(cold) and the median of the next runs.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hall", default="/tmp/qrate-assess-bench", type=Path)
    ap.add_argument("--days", type=int, default=31)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    hall = args.hall
    if not (hall / "data" / "qrate.db").exists():
        subprocess.run([sys.executable, "-m", "server.entry", "init", "--demo", str(hall)], cwd=ROOT, check=True)
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "server.entry", "seed-history", "--hall", str(hall),
                        "--days", str(args.days)], cwd=ROOT, check=True)
        print(f"generated {args.days} days in {time.monotonic() - started:.0f} s")

    from zoneinfo import ZoneInfo

    from server import auth, config, store
    from server.app import create_app
    from server.readside import assessment, tables
    cfg = config.load(hall)
    db = store.connect(cfg.db_path)
    last = db.execute("SELECT max(day) FROM tickets").fetchone()[0]
    tickets = db.execute("SELECT count(*) FROM tickets").fetchone()[0]
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
    reader = app.extensions["qrate_reader"]
    print(f"hall {hall}: {len(cfg.windows)} windows, {len(cfg.staff)} staff; {tickets:,} tickets; last day {last}")

    def timed(call) -> tuple[float, float]:
        times = []
        for _ in range(args.runs + 1):
            t0 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t0) * 1000)
        return times[0], statistics.median(times[1:])

    def get(url: str):
        def call():
            r = client.get(url, headers=headers)
            assert r.status_code == 200, (url, r.status_code, r.data[:300])
        return call

    # the last whole month of the data (or the month so far, when it has no whole month)
    month = last[:7] if end.day >= 28 else (end.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    start = (end - timedelta(days=29)).isoformat()
    rows = [
        (f"/api/stats/assessment?period={month}", get(f"/api/stats/assessment?period={month}")),
        ("/api/stats/pairs (30 days, post pairs)", get(f"/api/stats/pairs?from={start}&to={last}")),
        ("per-service pairs it replaced (30 days)",
         lambda: reader.run(tables.pairs_with_trends, start=start, end=last)),
        ("  of which: the assessment of the 30 days",
         lambda: reader.run(assessment.assess_range, start=start, end=last)),
        (f"/manage/report?month={month}", get(f"/manage/report?month={month}")),
        (f"/api/commitments/report?format=xlsx", get("/api/commitments/report?format=xlsx")),
    ]
    print(f"{'query':<44} {'first ms':>9} {'median ms':>10}")
    for name, call in rows:
        first, median = timed(call)
        print(f"{name:<44} {first:>9.0f} {median:>10.0f}")


if __name__ == "__main__":
    main()
