"""A report run through ``Reader`` never holds the gevent loop (issue 16, "Flat cost"):
in a real thread it shares the GIL in slices; in the report process (`qrate serve`) not at all.
while a long report runs, a greenlet on the loop keeps ticking; run inline on the
loop, the same report stops it for the report's whole length.

Runs in a child process, as `qrate serve` does: gevent's monkey-patching first.
"""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent("""
    import json, sys, time
    from gevent import monkey
    monkey.patch_all()
    import gevent
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo
    from server import config, store
    from server.readside import Reader, summary, tables

    hall = sys.argv[1]
    config.write_demo(hall, always_open=True)
    cfg = config.load(hall)
    store.open_and_migrate(cfg.db_path)
    tz = ZoneInfo("Asia/Shanghai")
    db = store.connect(cfg.db_path)
    rows = []
    start = datetime(2026, 3, 2, 9, 0, tzinfo=tz)
    for i in range(40000):   # a long day of events, summarised from the log by the report
        at = start + timedelta(seconds=i)
        data = json.dumps({"wait_s": 60 + i % 600, "service_s": 120 + i % 300})
        for kind in ("ticket.issued", "ticket.called", "ticket.finished"):
            rows.append((kind, at.isoformat(), at.timestamp(), "2026-03-02", i, 1 + i % 8,
                         str(1001 + i % 8), "A", data))
    with db.conn:
        db.conn.executemany("INSERT INTO ticket_events (type, at, ts, day, ticket, window, clerk, "
                            "service, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.close()
    now = datetime(2026, 3, 3, 10, 0, tzinfo=tz)
    reader = Reader(cfg.db_path, cfg, lambda: now)
    gaps = []

    def ticker(stop):
        last = time.monotonic()
        while not stop:
            gevent.sleep(0.002)
            t = time.monotonic()
            gaps.append(t - last)
            last = t

    def measure(run):
        gaps.clear()
        stop = []
        g = gevent.spawn(ticker, stop)
        gevent.sleep(0.02)
        began = time.monotonic()
        out = run()
        took = time.monotonic() - began
        gevent.sleep(0.02)
        stop.append(1)
        g.join()
        return out, took, max(gaps)

    def report(db, cfg, *, now):
        return tables.figures(db, cfg, now=now, dim="window", start="2026-03-02",
                              end="2026-03-02", summary=summary.summary_rows(
                                  db, cfg, now=now, start="2026-03-02", end="2026-03-02",
                                  persist=False))

    def inline():
        d = store.connect(cfg.db_path)
        try:
            return report(d, cfg, now=now)
        finally:
            d.close()

    a, inline_took, inline_gap = measure(inline)
    b, reader_took, reader_gap = measure(lambda: reader.run(report))
    # as `qrate serve` runs it: the report in a process of its own (no GIL shared)
    own = Reader(cfg.db_path, cfg, lambda: now, own_process=True)
    own.run(tables.figures, dim="window", start="2026-03-01", end="2026-03-01")  # the child starts
    c, process_took, process_gap = measure(lambda: own.run(
        tables.figures, dim="window", start="2026-03-02", end="2026-03-02"))
    own.close()
    print(json.dumps({"same": a == b == c, "inline_took": inline_took, "inline_gap": inline_gap,
                      "reader_took": reader_took, "reader_gap": reader_gap,
                      "process_took": process_took, "process_gap": process_gap}))
""")


def test_a_report_in_the_reader_leaves_the_loop_free(tmp_path):
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "hall")], cwd=ROOT,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    print(got)
    assert got["same"]
    # inline, the loop stands still for (nearly) the whole report
    assert got["inline_took"] > 0.2 and got["inline_gap"] > 0.8 * got["inline_took"], got
    # through the reader it keeps ticking: never stopped for more than a fraction of it
    assert got["reader_gap"] < 0.5 * got["reader_took"], got
    # in the report process, the loop does not share the GIL with it at all
    assert got["process_gap"] < 0.25 * got["process_took"], got
