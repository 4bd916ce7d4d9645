"""Property tests: random operation sequences from many windows.

- no ticket is ever called by two windows (a call only takes a waiting ticket,
  and the one the rules say: priority first, then original issue time);
- numbers are unique per service per day;
- replaying ticket_events through the engine rebuilds tickets and windows exactly.
"""
from __future__ import annotations

import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from conftest import FakeClock
from server import config, engine, store
from server.engine import QueueError
from server.operations import Operations

pytestmark = pytest.mark.api

TZ = ZoneInfo("Asia/Shanghai")
WINDOWS = [1, 2, 3, 5, 9]  # A+E, A, A+B, B+A, D+E in the demo hall
SERVICES = ["A", "B", "D", "E"]
NO_SHOW_AFTER = 2  # the demo hall's [queue] no_show_after_recalls


def seven_seconds_a_read() -> FakeClock:
    """Time passes by itself: each read of the clock is 7 s after the last."""
    return FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=TZ), step=timedelta(seconds=7))


def make_hall(folder: Path, clock) -> Operations:
    config.write_demo(folder, always_open=True)
    cfg = config.load(folder)
    store.open_and_migrate(cfg.db_path)
    return Operations(cfg, clock=clock)


def replay(h: Operations) -> tuple[dict, dict]:
    """Fold the whole event log into tickets and windows, as the engine does."""
    tickets: dict[int, engine.Ticket] = {}
    windows = {n: engine.replace(w, status="closed", clerk=None) for n, w in h.cfg.windows.items()}
    with h.store() as s:
        for ev in s.events():
            if ev.type == "ticket.issued":
                t = engine.apply(ev)
                t.id = ev.ticket
                tickets[ev.ticket] = t
            elif ev.type == "window.changed":
                engine.apply(ev, None, windows[ev.window])
            elif ev.ticket is None:
                continue  # device health and other hall-wide events hold no ticket state
            else:
                engine.apply(ev, tickets[ev.ticket])
    return tickets, windows


def stored(h: Operations) -> tuple[dict, dict]:
    with h.store() as s:
        tickets = {r["id"]: s.ticket_from_row(r) for r in s.db.query("SELECT * FROM tickets")}
        windows = s.window_states()
    return tickets, windows


FIELDS = ("day", "service", "seq", "number", "priority", "priority_kind", "status", "issued_at",
          "leg_at", "target_window", "window", "clerk", "called_at", "finished_at", "recalls",
          "calls", "transfers", "note")


def assert_replay_matches(h: Operations) -> None:
    replayed, replayed_windows = replay(h)
    actual, actual_windows = stored(h)
    assert replayed.keys() == actual.keys()
    for tid, t in actual.items():
        r = replayed[tid]
        for f in FIELDS:
            assert getattr(r, f) == getattr(t, f), (tid, f, getattr(r, f), getattr(t, f))
    for n, row in actual_windows.items():
        assert (replayed_windows[n].status, replayed_windows[n].clerk) == (row["status"], row["clerk"])


class QueueMachine(RuleBasedStateMachine):
    """Drives the service layer; a plain model predicts who each call takes."""

    def __init__(self):
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.clock = seven_seconds_a_read()
        self.ops = make_hall(Path(self.tmp.name) / "hall", self.clock)
        self.model: dict[int, dict] = {}  # id -> status, service, priority, order, target_window, window
        self.order = 0
        for n in WINDOWS:
            self.ops.sign_in(n, f"10{n:02d}")

    def teardown(self):
        self.ops.close()
        self.tmp.cleanup()

    def expected_next(self, n: int):
        win = self.ops.cfg.windows[n]
        best, best_key = None, None
        for tid, m in self.model.items():
            if m["status"] != "waiting":
                continue
            if m["target_window"] is not None:
                if m["target_window"] != n:
                    continue
                rank = -1
            elif m["service"] in win.services:
                rank = 0
            else:
                continue
            key = (not m["priority"], m["order"], rank, tid)
            if best_key is None or key < best_key:
                best, best_key = tid, key
        return best

    def current(self, n: int):
        return next((tid for tid, m in self.model.items()
                     if m["status"] == "called" and m["window"] == n), None)

    def paused(self, n: int) -> bool:
        with self.ops.store() as s:
            return self.ops.window(s, n).status != "open"

    @rule(service=st.sampled_from(SERVICES), priority=st.booleans())
    def issue(self, service, priority):
        t = self.ops.issue(service, priority)
        self.order += 1
        self.model[t["id"]] = {"status": "waiting", "service": service, "priority": priority,
                               "order": self.order, "target_window": None, "window": None,
                               "recalls": 0, "number": t["number"]}

    @rule(n=st.sampled_from(WINDOWS))
    def call_next(self, n):
        busy = self.current(n)
        expected = self.expected_next(n)
        try:
            got = self.ops.call_next(n)
        except QueueError as exc:
            assert busy is not None or self.paused(n), exc
            return
        assert busy is None and not self.paused(n)
        if expected is None:
            assert got is None
            return
        assert got is not None and got["id"] == expected
        assert self.model[expected]["status"] == "waiting"  # never a ticket another window holds
        self.model[expected].update(status="called", window=n, target_window=None, recalls=0)

    @rule(n=st.sampled_from(WINDOWS), action=st.sampled_from(["finish", "no_show", "recall", "park"]))
    def act_on_current(self, n, action):
        tid = self.current(n)
        if tid is None:
            return
        m = self.model[tid]
        if action == "no_show" and m["recalls"] < NO_SHOW_AFTER:
            with pytest.raises(engine.TooFewRecalls):
                self.ops.no_show(tid, n)
            return
        t = getattr(self.ops, action)(tid, n)
        new = {"finish": "done", "no_show": "no_show", "recall": "called", "park": "parked"}[action]
        assert t["status"] == new
        m["status"] = new
        if action == "recall":
            m["recalls"] += 1
        assert t["recalls"] == m["recalls"]

    @rule(n=st.sampled_from(WINDOWS), data=st.data())
    def call_back_or_direct(self, n, data):
        candidates = sorted(tid for tid, m in self.model.items()
                            if (m["status"] == "parked" and m["window"] == n)
                            or (m["status"] == "waiting" and m["target_window"] in (None, n)
                                and (m["target_window"] == n
                                     or m["service"] in self.ops.cfg.windows[n].services)))
        if not candidates:
            return
        tid = data.draw(st.sampled_from(candidates))
        try:
            t = self.ops.call_ticket(n, tid, "test")
        except QueueError:
            assert self.current(n) is not None or self.paused(n)
            return
        assert t["status"] == "called" and t["window"] == n
        was_parked = self.model[tid]["status"] == "parked"
        self.model[tid].update(status="called", window=n, target_window=None)
        if not was_parked:  # a call back keeps the recalls of the same call
            self.model[tid]["recalls"] = 0

    @rule(data=st.data(), to_service=st.sampled_from(SERVICES), to_window=st.sampled_from(WINDOWS + [None]))
    def transfer(self, data, to_service, to_window):
        candidates = sorted(tid for tid, m in self.model.items()
                            if m["status"] in ("waiting", "called", "parked"))
        if not candidates:
            return
        tid = data.draw(st.sampled_from(candidates))
        m = self.model[tid]
        try:
            if to_window is None:
                t = self.ops.transfer(tid, service=to_service)
            else:
                t = self.ops.transfer(tid, window=to_window)
        except engine.SameService:
            return
        assert t["status"] == "waiting" and t["number"] == m["number"]  # keeps its number
        if to_window is None:
            m.update(service=to_service, target_window=None)
        else:
            m.update(target_window=to_window)
        m.update(status="waiting", window=None, recalls=0)

    @rule(data=st.data())
    def cancel(self, data):
        candidates = sorted(tid for tid, m in self.model.items() if m["status"] in ("waiting", "parked"))
        if not candidates:
            return
        tid = data.draw(st.sampled_from(candidates))
        assert self.ops.cancel(tid, "test")["status"] == "cancelled"
        self.model[tid]["status"] = "cancelled"

    @rule(n=st.sampled_from(WINDOWS))
    def pause_or_resume(self, n):
        if self.paused(n):
            self.ops.resume(n)
        else:
            self.ops.pause(n, "break")

    @invariant()
    def states_agree(self):
        actual, _ = stored(self.ops)
        for tid, m in self.model.items():
            assert actual[tid].status == m["status"]
            if m["status"] == "called":
                assert actual[tid].window == m["window"]
        called = [t.window for t in actual.values() if t.status == "called"]
        assert len(called) == len(set(called)), "a window holds two tickets"

    @invariant()
    def numbers_unique(self):
        with self.ops.store() as s:
            rows = s.db.execute("SELECT day, number, count(*) FROM tickets GROUP BY day, number "
                                "HAVING count(*) > 1").fetchall()
        assert rows == []

    @invariant()
    def log_replays_to_state(self):
        assert_replay_matches(self.ops)


QueueMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])
test_queue_machine = QueueMachine.TestCase


def test_concurrent_call_next_never_gives_one_ticket_twice(tmp_path):
    """Eight threads calling for eight windows at once: every ticket goes to one window."""
    h = make_hall(tmp_path / "hall", seven_seconds_a_read())
    windows = [1, 2, 3, 5]
    for n in windows:
        h.sign_in(n, f"10{n:02d}")
    for _ in range(120):
        h.issue("A")
    taken: dict[int, list[int]] = {n: [] for n in windows}
    errors = []

    def worker(n):
        try:
            while True:
                t = h.call_next(n)
                if t is None:
                    return
                taken[n].append(t["id"])
                h.finish(t["id"], n)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in windows]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    h.close()
    assert errors == []
    ids = [i for got in taken.values() for i in got]
    assert sorted(ids) == list(range(1, 121)), "each ticket called once, by one window"
