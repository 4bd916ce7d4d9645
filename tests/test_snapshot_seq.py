"""The snapshot is built outside the write lock and carries the seq it was read at
(docs/contract.md, "The snapshot and its seq"): what it shows is exactly the state after
the events up to that seq, so a client that drops every event at or below it and applies
the rest in order holds the server's state."""
from __future__ import annotations

import threading

import pytest

from server import engine

pytestmark = pytest.mark.api


def replayed(ops, upto: int) -> dict[int, str]:
    """Ticket id -> status after replaying the log up to seq ``upto``, today's open tickets only."""
    tickets: dict = {}
    with ops.store() as s:
        for e in s.events():
            if e.seq > upto:
                break
            if e.type == "ticket.issued":
                tickets[e.ticket] = engine.apply(e)
                tickets[e.ticket].id = e.ticket
            elif e.ticket is not None and e.ticket in tickets:
                engine.apply(e, tickets[e.ticket])
    return {tid: t.status for tid, t in tickets.items() if t.status in ("waiting", "called", "parked")}


def test_each_snapshot_is_the_state_at_its_seq_while_changes_go_on(app, accounts):
    ops = app.extensions["qrate"]
    accounts.clerk(1)
    accounts.clerk(2)
    snapshots: list[dict] = []
    stop = threading.Event()

    def read():
        while not stop.is_set():
            snapshots.append(ops.snapshot())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(40):
            ops.issue("A" if i % 2 else "E")
            if i % 3 == 2:
                for window in (1, 2):
                    t = ops.call_next(window)
                    if t is not None:
                        ops.finish(t["id"])
    finally:
        stop.set()
        reader.join()
    assert len({s["seq"] for s in snapshots}) > 5, "the reader saw the hall at many points"
    for snap in snapshots:
        shown = {t["id"]: t["status"] for t in snap["tickets"]}
        assert shown == replayed(ops, snap["seq"]), snap["seq"]


def test_a_new_snapshot_follows_every_change_and_a_flood_of_readers_shares_one(app, accounts):
    ops = app.extensions["qrate"]
    first = ops.snapshot()
    assert ops.snapshot()["seq"] == first["seq"]
    t = ops.issue("A")
    after = ops.snapshot()
    assert after["seq"] > first["seq"]
    assert [x["number"] for x in after["tickets"]] == [t["number"]]
    # one build per change: the kept copy is served, with the moment's time
    kept = ops._snapshot
    for _ in range(50):
        ops.snapshot()
    assert ops._snapshot is kept
