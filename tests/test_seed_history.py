"""`qrate seed-history` writes rows in the shapes the service layer writes:
replaying its event log through the engine rebuilds its tickets exactly, every
event carries the engine's data fields, and the figures come out of it."""
import json
import subprocess
from datetime import datetime
import sys
from collections import defaultdict

import pytest

from conftest import ROOT
from server import config, engine, store
from server.readside import tables
from server.store import Store

pytestmark = pytest.mark.api

# The data fields the engine writes for each event type (server/engine.py).
ENGINE_FIELDS = {
    "ticket.issued": {"service", "seq", "number", "day", "priority", "priority_kind"},
    "ticket.called": {"how", "number", "service", "wait_s"},
    "ticket.recalled": {"number", "recalls"},
    "ticket.no_show": {"number", "service"},
    "ticket.finished": {"number", "service", "service_s"},
    "ticket.transferred": {"number", "from_service", "service", "to_window", "note"},
    "ticket.cancelled": {"number", "reason"},
    "rating.created": {"number", "service", "score", "reasons", "source"},
    "window.changed": {"status", "clerk", "reason", "was"},
}


def test_seeded_history_replays_and_gives_figures(hall_dir):
    out = subprocess.run([sys.executable, "-m", "server.entry", "seed-history", "--hall", str(hall_dir),
                          "--days", "3", "--end", "2026-03-04", "--seed", "3"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "2026-03-02" in out.stdout
    cfg = config.load(hall_dir)
    db = store.connect(cfg.db_path)
    s = Store(db, cfg.tz)
    events = list(s.events())
    assert {e.type for e in events} >= {"ticket.issued", "ticket.called", "ticket.finished",
                                        "ticket.no_show", "rating.created", "window.changed"}
    for e in events:
        assert set(e.data) == ENGINE_FIELDS[e.type], e
    # seq order is time order
    assert [e.at for e in events] == sorted(e.at for e in events)
    # replaying the log rebuilds every ticket row
    tickets: dict = {}
    for e in events:
        if e.type == "ticket.issued":
            tickets[e.ticket] = engine.apply(e)
            tickets[e.ticket].id = e.ticket
        elif e.ticket is not None:
            engine.apply(e, tickets[e.ticket])
    stored = {t.id: t for t in (s.ticket_from_row(r) for r in db.query("SELECT * FROM tickets"))}
    assert stored.keys() == tickets.keys() and len(stored) > 500
    for tid, t in tickets.items():
        u = stored[tid]
        assert (t.status, t.service, t.window, t.clerk, t.called_at, t.finished_at, t.leg_at,
                t.calls, t.transfers, t.number) ==\
            (u.status, u.service, u.window, u.clerk, u.called_at, u.finished_at, u.leg_at,
             u.calls, u.transfers, u.number), tid
    # ratings rows agree with their events
    rated = {e.ticket: e.data["score"] for e in events if e.type == "rating.created"}
    assert dict(db.execute("SELECT ticket, score FROM ratings").fetchall()) == rated
    # and the figures: served equals the finished tickets, waits the called events
    rows = tables.figures(db, cfg, dim="day", start="2026-03-02", end="2026-03-04",
                          now=datetime(2026, 3, 10, 12, 0, tzinfo=cfg.tz))
    served = defaultdict(int)
    for t in tickets.values():
        if t.status == "done":
            served[t.day.isoformat()] += 1
    assert {r["day"]: r["served"] for r in rows} == dict(served)
    waits = sorted(e.data["wait_s"] for e in events if e.type == "ticket.called"
                   and e.at.date().isoformat() == "2026-03-02")
    (monday,) = [r for r in rows if r["day"] == "2026-03-02"]
    assert monday["wait_s"]["max"] == max(waits)
    assert monday["wait_s"]["p90"] == waits[(90 * len(waits) + 99) // 100 - 1]
    assert json.loads(db.execute("SELECT reasons FROM ratings WHERE score <= 2 LIMIT 1").fetchone()[0])
    db.close()
