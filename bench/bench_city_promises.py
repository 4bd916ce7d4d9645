"""The city's "promises kept" query against its hall rows (docs/city.md "Promises kept").

    python bench/bench_city_promises.py [HALLS] [DAYS]     (default 4 14)

Starts its own PostgreSQL (tests/city_kit.py), ingests HALLS halls' generated past
(server/seed.py, as `qrate seed-history`) of DAYS days straight into the city's database,
each hall's first event carrying the configuration in force as the forwarder sends it, and
prints the best of three timings of the hall rows, the promises by hall (from the summary
the intake kept, and from the raw events), the raw path's open time and over-target query
alone, and one hall's promises by window.
"""
import json
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
import psycopg
from zoneinfo import ZoneInfo
from city_kit import Postgres, synthetic_days
from server import config, evaluation, forward
from server.city import db as city_db, stats

TZ = ZoneInfo("Asia/Shanghai")
halls = int(sys.argv[1]) if len(sys.argv) > 1 else 4
days = int(sys.argv[2]) if len(sys.argv) > 2 else 14
pg = Postgres().start()
try:
    url = pg.new_database()
    folder = Path(tempfile.mkdtemp()) / "hall"
    config.write_demo(folder, always_open=True)
    cfg = config.load(folder)
    prom = forward.promises(cfg.raw)
    n = 0
    with psycopg.connect(url, autocommit=True) as conn:
        city_db.migrate(conn)
        first, last = date(2026, 11, 27 - days), date(2026, 11, 26)
        for i in range(halls):
            hall_id, _ = city_db.add_hall(conn, f"hall {i}")
            after = 0
            for k, (_, events) in enumerate(synthetic_days(cfg, 100 + i, first, last)):
                if k == 0:
                    events[0]["config"] = {"seq": 0, "promises": prom}
                for e in events:
                    if e.get("rating"):
                        r = e["rating"]["reasons"]
                        r = json.loads(r or "[]") if isinstance(r, str) else r
                        e["rating"]["national_reasons"] = evaluation.national_reasons(r, prom["reason_map"])
                for j in range(0, len(events), 2000):
                    chunk = events[j:j + 2000]
                    city_db.ingest(conn, hall_id, 1, after, chunk, tz="Asia/Shanghai")
                    after = chunk[-1]["seq"]
                n += len(events)
        conn.execute("ANALYZE")
        now = datetime(2026, 11, 27, 9, tzinfo=TZ)
        for label, fn in (("rows(hall)", lambda: stats.rows(conn, dim="hall", start=first.isoformat(), end=last.isoformat(), now=now)),
                          ("promises(hall)", lambda: stats.promises(conn, dim="hall", start=first.isoformat(), end=last.isoformat(), now=now)),
                          ("promises_raw(hall): from the raw events", lambda: stats.promises_raw(conn, dim="hall", start=first.isoformat(), end=last.isoformat(), now=now)),
                          ("open_time(all halls)", lambda: stats.open_time(conn, start=first.isoformat(), end=last.isoformat(), now=now)),
                          ("over-target query(hall)", lambda: conn.execute(stats._over_sql("hall", False), {"start": first.isoformat(), "end": last.isoformat(), "hall": None}).fetchall()),
                          ("promises(window, one hall)", lambda: stats.promises(conn, dim="window", hall="H001", start=first.isoformat(), end=last.isoformat(), now=now))):
            best = 1e9
            for _ in range(3):
                t = time.perf_counter(); fn(); best = min(best, time.perf_counter() - t)
            print(f"{label}: {best:.2f} s over {halls} halls x {days} days ({n} events)")
finally:
    pg.stop()
