"""Property test of appointments: over random bookings, cancellations, check-ins, walk-ins,
phone tickets and calls, through the service layer on a real SQLite file:
- no appointment (or phone ticket) is called before it has checked in;
- a call takes the first ticket by the order policy (priority, then queue_at: a walk-in's
  issue time, an appointment's slot start), never one behind another it could take;
- no slot holds more bookings than its capacity;
- the event log replays to the state: tickets with their marks, and each booking's status.
"""
from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from conftest import FakeClock
from server import appointments as appt
from server import config, engine, store
from server.appointment_ops import Appointments
from server.engine import QueueError
from server.operations import Operations

pytestmark = pytest.mark.api

TZ = ZoneInfo("Asia/Shanghai")
WINDOWS = [1, 2, 3]  # A+E, A, A+B in the demo hall
PEOPLE = [("张三", "13800000001", "1111"), ("李四", "13800000002", "2222"),
          ("王五", "13800000003", "3333"), ("赵六", "13800000004", "4444"),
          ("钱七", "13800000005", "5555"), ("孙八", "13800000006", "6666")]
FIELDS = ("service", "number", "priority", "status", "issued_at", "window", "called_at",
          "finished_at", "appointment", "checked_in", "remote", "queue_at")


class AppointmentMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        folder = Path(self.tmp.name) / "hall"
        config.write_demo(folder, always_open=True)
        self.clock = FakeClock(datetime(2026, 11, 30, 8, 0, tzinfo=TZ))
        cfg = config.load(folder)
        store.open_and_migrate(cfg.db_path)
        self.ops = Operations(cfg, clock=self.clock)
        self.appts = Appointments(self.ops)
        self.codes: list[str] = []
        for n in WINDOWS:
            self.ops.sign_in(n, f"10{n:02d}")

    def teardown(self):
        self.ops.close()
        self.tmp.cleanup()

    def tickets(self) -> dict[int, engine.Ticket]:
        with self.ops.store() as s:
            return {r["id"]: s.ticket_from_row(r) for r in s.db.query("SELECT * FROM tickets")}

    @rule(service=st.sampled_from(["A", "B"]), ahead=st.integers(0, 3), who=st.integers(0, 5))
    def book(self, service, ahead, who):
        # one of the next slots (08:30 to 11:30, 30 minutes each) after now
        now = self.clock.now
        first = datetime(2026, 11, 30, 8, 30, tzinfo=TZ)
        passed = max(0, int((now - first).total_seconds() // 1800) + 1)
        at = first + timedelta(minutes=30 * min(passed + ahead, 6))
        name, phone, id4 = PEOPLE[who]
        try:
            b = self.appts.book(service, at.isoformat(), name, phone, id4, source="phone")
        except QueueError as exc:
            assert exc.code in ("slot_full", "already_booked", "slot_past"), exc.code
            return
        self.codes.append(b["code"])

    @rule(i=st.integers(0, 30))
    def cancel(self, i):
        if self.codes:
            try:
                self.appts.cancel(self.codes[i % len(self.codes)])
            except QueueError as exc:
                assert exc.code == "booking_not_active"

    @rule(i=st.integers(0, 30), any_booking=st.booleans())
    def check_in(self, i, any_booking):
        codes = self.codes
        if not any_booking:  # mostly the bookings whose check-in is open now
            with self.ops.store() as s:
                codes = [r["code"] for r in s.db.query(
                    "SELECT code FROM appointments WHERE status = 'booked' AND slot_ts - 1800 <= ? "
                    "AND slot_ts + 900 >= ?", [self.clock.now.timestamp()] * 2)]
        if codes:
            try:
                t = self.appts.check_in(codes[i % len(codes)])
            except QueueError as exc:
                assert exc.code in ("too_early", "already_checked_in", "booking_not_active"), exc.code
                return
            assert t["appointment"] is not t["late"]

    @initialize(slots=st.lists(st.tuples(st.sampled_from(["A", "B"]), st.integers(0, 2)), max_size=4))
    def morning_bookings(self, slots):
        for i, (service, ahead) in enumerate(slots):
            self.book(service, ahead, i)

    @rule(service=st.sampled_from(["A", "B"]), n=st.integers(1, 3), priority=st.booleans())
    def walk_ins(self, service, n, priority):
        for i in range(n):
            self.ops.issue(service, priority and i == 0, "elderly" if priority and i == 0 else None)
            self.clock.advance(minutes=2)

    @rule()
    def phone_ticket(self):
        try:
            self.appts.remote_ticket("A")
        except QueueError as exc:
            assert exc.code == "remote_quota_reached"

    @rule(i=st.integers(0, 30))
    def phone_check_in(self, i):
        waiting = [t for t in self.tickets().values() if t.remote and not t.checked_in
                   and t.status == "waiting"]
        if waiting:
            self.appts.check_in_remote(getattr(waiting[i % len(waiting)], "key"))

    @rule(n=st.sampled_from(WINDOWS))
    def call_next(self, n):
        with self.ops.store() as s:
            current = s.current_at(n, self.ops.today())
        if current is not None:
            self.ops.finish(current.id, n)
        before = self.tickets()
        called = self.ops.call_next(n)
        services = self.ops.cfg.windows[n].services
        takeable = [t for t in before.values() if t.status == "waiting" and t.checked_in
                    and t.target_window is None and t.service in services]
        if called is None:
            assert takeable == []
            return
        t = before[called["id"]]
        assert t.checked_in, f"{t.number} called before its check-in"
        def policy(x):  # docs/appointments.md, written out apart from the engine
            return (not x.priority, x.queue_at.timestamp(), x.id)
        for u in takeable:
            assert policy(t) <= policy(u), f"{t.number} called before {u.number}"

    @rule(minutes=st.integers(1, 20))
    def advance(self, minutes):
        if self.clock.now.hour < 12:
            self.clock.advance(minutes=minutes)

    @invariant()
    def no_slot_over_capacity(self):
        with self.ops.store() as s:
            rows = s.db.execute("SELECT service, slot_ts, count(*) FROM appointments WHERE "
                                "status != 'cancelled' GROUP BY service, slot_ts").fetchall()
        for service, _, n in rows:
            svc, rules = self.appts.rules(service)
            assert n <= self.appts.capacity(svc, rules)

    @invariant()
    def the_log_replays_to_the_state(self):
        replayed, bookings = {}, {}
        with self.ops.store() as s:
            events = list(s.events())
            stored_bookings = {r["id"]: r["status"] for r in s.db.query("SELECT id, status FROM appointments")}
        for ev in events:
            if ev.type == "ticket.issued":
                t = engine.apply(ev)
                t.id = ev.ticket
                replayed[ev.ticket] = t
            elif ev.type == "appointment.booked":
                bookings[ev.data["booking"]] = "booked"
            elif ev.type == "appointment.cancelled":
                bookings[ev.data["booking"]] = "cancelled"
            elif ev.type == "appointment.checked_in":
                bookings[ev.data["booking"]] = ev.data["status"]
            elif ev.ticket is not None:
                if ev.type == "ticket.called":
                    assert replayed[ev.ticket].checked_in, "called before its check-in"
                engine.apply(ev, replayed[ev.ticket])
        actual = self.tickets()
        assert replayed.keys() == actual.keys()
        for tid, t in actual.items():
            for f in FIELDS:
                assert getattr(replayed[tid], f) == getattr(t, f), (tid, f)
        assert bookings == stored_bookings


AppointmentMachine.TestCase.settings = settings(
    max_examples=20, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestAppointments = AppointmentMachine.TestCase
