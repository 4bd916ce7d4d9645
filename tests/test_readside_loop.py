"""A report run through ``Reader`` never holds the gevent loop (issue 16, "Flat cost"):
in a real thread it shares the GIL in slices; in the report process (`qrate serve`) not at all.
While a long report runs, a greenlet on the loop keeps ticking; run inline on the loop,
the same report stops it for the report's whole length.

What is counted is behaviour, not a wall-clock ratio (a loaded machine stretches every
duration): how many times the greenlet ticked while the report ran. Inline it cannot tick
at all; through the reader, and in the report process, it goes on ticking.

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
    ticks = []
    running = []  # set while the report runs: a tick then counts

    def ticker(stop):
        while not stop:
            gevent.sleep(0.002)
            if running:
                ticks.append(1)

    def measure(run):
        ticks.clear()
        stop = []
        g = gevent.spawn(ticker, stop)
        gevent.sleep(0.02)
        running.append(1)
        began = time.monotonic()
        out = run()
        took = time.monotonic() - began
        running.clear()
        gevent.sleep(0.02)
        stop.append(1)
        g.join()
        return out, took, len(ticks)

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

    a, inline_took, inline_ticks = measure(inline)
    b, reader_took, reader_ticks = measure(lambda: reader.run(report))
    # as `qrate serve` runs it: the report in a process of its own (no GIL shared)
    own = Reader(cfg.db_path, cfg, lambda: now, own_process=True)
    own.run(tables.figures, dim="window", start="2026-03-01", end="2026-03-01")  # the child starts
    c, process_took, process_ticks = measure(lambda: own.run(
        tables.figures, dim="window", start="2026-03-02", end="2026-03-02"))
    own.close()
    print(json.dumps({"same": a == b == c, "inline_took": inline_took, "inline_ticks": inline_ticks,
                      "reader_took": reader_took, "reader_ticks": reader_ticks,
                      "process_took": process_took, "process_ticks": process_ticks}))
""")


def test_a_report_in_the_reader_leaves_the_loop_free(tmp_path):
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "hall")], cwd=ROOT,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    print(got)
    assert got["same"]
    # inline, the loop stands still for the whole report: not one tick while it runs
    # (the report is long enough to tick many times over: 2 ms a tick)
    assert got["inline_took"] > 0.05 and got["inline_ticks"] == 0, got
    # through the reader (a real thread) and in the report process, the loop goes on ticking
    assert got["reader_ticks"] >= 3, got
    assert got["process_ticks"] >= 3, got
