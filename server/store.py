"""Storage: one SQLite file through sqlite-utils, in WAL mode.

Current state (tickets, windows_state, ratings, ...) and the append-only event
log (``ticket_events``) are written in one transaction per change. A
``Database`` belongs to the thread (or greenlet) that opened it.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Optional

import sqlite_utils

from .engine import Event, Ticket
from .schema import MIGRATION_SETS


def connect(path: Path | str) -> sqlite_utils.Database:
    """Open the hall database with the pragmas every connection needs."""
    # The pool lends a connection to one borrower at a time, possibly on another thread.
    conn = sqlite3.connect(str(path), timeout=10, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    # FULL: a commit is on disk before we answer, so a power cut loses nothing acknowledged.
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


def open_and_migrate(path: Path | str) -> None:
    """Create or upgrade the data file in place (run once at start)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    check_file(path)  # a damaged file is refused, never taken for a new hall
    db = connect(path)
    try:
        db.enable_wal()
        for migration_set in MIGRATION_SETS:
            migration_set.apply(db)
    finally:
        db.close()


class Store:
    """Reads and writes the hall's rows; one instance per connection."""

    def __init__(self, db: sqlite_utils.Database, tz):
        self.db = db
        self.tz = tz

    @contextlib.contextmanager
    def transaction(self):
        """One write transaction, taking SQLite's write lock at its start (BEGIN IMMEDIATE).

        A deferred BEGIN would take it at the first write, and fail with "database is
        locked" if another connection wrote after this one's first read."""
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    @contextlib.contextmanager
    def reading(self):
        """One read transaction: every read inside sees the same snapshot of the file."""
        conn = self.db.conn
        conn.execute("BEGIN")
        try:
            yield self
        finally:
            conn.rollback()

    # -- time helpers
    def _dt(self, text: Optional[str]) -> Optional[datetime]:
        return datetime.fromisoformat(text) if text else None

    # -- tickets
    def ticket_from_row(self, row: dict) -> Ticket:
        t = Ticket(id=row["id"], day=date.fromisoformat(row["day"]), service=row["service"],
                   seq=row["seq"], priority=bool(row["priority"]),
                   priority_kind=row["priority_kind"], issued_at=self._dt(row["issued_at"]),
                   status=row["status"], number=row["number"], leg_at=self._dt(row["leg_at"]),
                   target_window=row["target_window"], window=row["window"], clerk=row["clerk"],
                   called_at=self._dt(row["called_at"]), finished_at=self._dt(row["finished_at"]),
                   recalls=row["recalls"], calls=row["calls"], transfers=row["transfers"],
                   note=row["note"], appointment=bool(row.get("appointment")),
                   checked_in=bool(row.get("checked_in", 1)), remote=bool(row.get("remote")),
                   queue_at=self._dt(row.get("queue_at")))
        t.key = row["key"]  # type: ignore[attr-defined]
        return t

    @staticmethod
    def ticket_row(t: Ticket) -> dict:
        iso = lambda v: v.isoformat() if v else None  # noqa: E731
        return {"day": t.day.isoformat(), "service": t.service, "seq": t.seq, "number": t.number,
                "priority": int(t.priority), "priority_kind": t.priority_kind, "status": t.status,
                "issued_at": iso(t.issued_at), "issued_ts": t.issued_at.timestamp(),
                "leg_at": iso(t.leg_at), "target_window": t.target_window, "window": t.window,
                "clerk": t.clerk, "called_at": iso(t.called_at), "finished_at": iso(t.finished_at),
                "recalls": t.recalls, "calls": t.calls, "transfers": t.transfers, "note": t.note,
                "appointment": int(t.appointment), "checked_in": int(t.checked_in),
                "remote": int(t.remote), "queue_at": iso(t.queue_at),
                "queue_ts": t.queue_at.timestamp() if t.queue_at else None}

    def ticket(self, ticket_id: int) -> Optional[Ticket]:
        rows = list(self._query("SELECT * FROM tickets WHERE id = ?", [ticket_id]))
        return self.ticket_from_row(rows[0]) if rows else None

    def ticket_by_key(self, key: str) -> Optional[Ticket]:
        rows = list(self._query("SELECT * FROM tickets WHERE key = ?", [key]))
        return self.ticket_from_row(rows[0]) if rows else None

    def number_window(self, day: date, service: str, seq: int) -> tuple[bool, Optional[int]]:
        """Whether ticket number service+seq was issued on ``day`` (the unique number index),
        and the window it was last called to."""
        row = self.db.execute("SELECT window FROM tickets WHERE day = ? AND issue_service = ? AND seq = ?",
                              [day.isoformat(), service, seq]).fetchone()
        return (row is not None, row[0] if row else None)

    def tickets(self, day: date, statuses: Iterable[str]) -> list[Ticket]:
        statuses = list(statuses)
        marks = ",".join("?" * len(statuses))
        return [self.ticket_from_row(r) for r in self._query(
            f"SELECT * FROM tickets WHERE day = ? AND status IN ({marks}) ORDER BY issued_ts, id",
            [day.isoformat(), *statuses])]

    def candidates(self, day: date, services: Iterable[str], window: int) -> list[Ticket]:
        """The waiting tickets a window may call next, as few as decide it: the first
        priority and the first other ticket of each of its services' queues (by issue
        time: one seek each on the queue index), and every ticket sent to this window.
        engine.pick_next chooses among them; the cost follows the window's services, not
        the length of the queue."""
        d = day.isoformat()
        rows = []
        for code in dict.fromkeys(services):
            for priority in (1, 0):
                rows += self._query(
                    "SELECT * FROM tickets WHERE day = ? AND status = 'waiting' AND service = ? "
                    "AND priority = ? AND checked_in = 1 AND target_window IS NULL "
                    "ORDER BY queue_ts, id LIMIT 1", [d, code, priority])
        rows += self._query("SELECT * FROM tickets WHERE day = ? AND status = 'waiting' "
                            "AND target_window = ?", [d, window])
        return [self.ticket_from_row(r) for r in rows]

    def current_at(self, window: int, day: Optional[date] = None) -> Optional[Ticket]:
        """The ticket a window is serving now (earlier days are closed at day start)."""
        day = day or datetime.now(self.tz).date()
        rows = list(self._query(
            "SELECT * FROM tickets WHERE day = ? AND status = 'called' AND window = ? "
            "ORDER BY called_at DESC", [day.isoformat(), window]))
        return self.ticket_from_row(rows[0]) if rows else None

    def open_before(self, day: date) -> list[Ticket]:
        """Tickets earlier days left waiting, called or parked (closed at the day's start)."""
        return [self.ticket_from_row(r) for r in self._query(
            "SELECT * FROM tickets WHERE day < ? AND status IN ('waiting', 'called', 'parked')",
            [day.isoformat()])]

    def waiting_counts(self, day: date) -> dict[str, int]:
        """Waiting tickets per service (the status index: cost follows the queue, not the day)."""
        return dict(self.db.execute(
            "SELECT service, count(*) FROM tickets WHERE day = ? AND status = 'waiting' "
            "GROUP BY service", [day.isoformat()]).fetchall())

    def issued_counts(self, day: date) -> dict[str, int]:
        """Tickets issued today per service (the counters kept with each issue)."""
        return dict(self.db.execute("SELECT service, issued FROM day_counters WHERE day = ?",
                                    [day.isoformat()]).fetchall())

    def busy_windows(self, day: date) -> set[int]:
        return {r[0] for r in self.db.execute(
            "SELECT window FROM tickets WHERE day = ? AND status = 'called'", [day.isoformat()])}

    def ahead_of(self, t: Ticket) -> int:
        """Waiting tickets of the same queue that stand before this one."""
        ts = t.queue_at.timestamp()
        return self.db.execute(
            "SELECT count(*) FROM tickets WHERE day = ? AND status = 'waiting' AND service = ? "
            "AND target_window IS ? AND id != ? AND (priority > ? OR (priority = ? AND "
            "(queue_ts < ? OR (queue_ts = ? AND id < ?))))",
            [t.day.isoformat(), t.service, t.target_window, t.id, int(t.priority),
             int(t.priority), ts, ts, t.id]).fetchone()[0]

    def latest_finished(self, window: int, day: date) -> Optional[int]:
        """The ticket last finished at a window today (the one its pad may rate)."""
        row = self.db.execute(
            "SELECT id FROM tickets WHERE day = ? AND window = ? AND status = 'done' "
            "ORDER BY finished_at DESC, id DESC LIMIT 1", [day.isoformat(), window]).fetchone()
        return row[0] if row else None

    def issued_count(self, day: date, service: str) -> int:
        row = self.db.execute("SELECT max(seq) FROM tickets WHERE day = ? AND issue_service = ?",
                              [day.isoformat(), service]).fetchone()
        return row[0] or 0

    def issued_between(self, day: date, service: str, start_ts: float, end_ts: float) -> int:
        return self.db.execute(
            "SELECT count(*) FROM tickets WHERE day = ? AND issue_service = ? "
            "AND issued_ts >= ? AND issued_ts < ?",
            [day.isoformat(), service, start_ts, end_ts]).fetchone()[0]

    def insert_ticket(self, t: Ticket, key: str) -> int:
        row = self.ticket_row(t)
        row.update(issue_service=t.service, key=key)
        cur = self.db.execute(
            f"INSERT INTO tickets ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()))
        self._count_issued(t.day.isoformat(), t.service, t.seq)
        return cur.lastrowid

    def _count_issued(self, day: str, service: str, seq: int) -> None:
        self.db.execute("INSERT INTO day_counters (day, service, issued) VALUES (?, ?, ?) "
                        "ON CONFLICT(day, service) DO UPDATE SET issued = max(issued, excluded.issued)",
                        [day, service, seq])

    def update_ticket(self, t: Ticket, seq: int) -> None:
        row = self.ticket_row(t)
        row["last_seq"] = seq
        sets = ", ".join(f"{k} = ?" for k in row)
        self.db.execute(f"UPDATE tickets SET {sets} WHERE id = ?", [*row.values(), t.id])

    # -- events
    def append(self, event: Event, day: date, service: Optional[str] = None) -> int:
        cur = self.db.execute(
            "INSERT INTO ticket_events (type, at, ts, day, ticket, window, clerk, service, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [event.type, event.at.isoformat(), event.at.timestamp(), day.isoformat(),
             event.ticket, event.window, event.clerk, service,
             json.dumps(event.data, ensure_ascii=False)])
        event.seq = cur.lastrowid
        return event.seq

    def events(self, after: int = 0) -> Iterable[Event]:
        for r in self._query("SELECT * FROM ticket_events WHERE seq > ? ORDER BY seq", [after]):
            yield Event(type=r["type"], at=datetime.fromisoformat(r["at"]), ticket=r["ticket"],
                        window=r["window"], clerk=r["clerk"], data=json.loads(r["data"]),
                        seq=r["seq"])

    def last_seq(self) -> int:
        return self.db.execute("SELECT coalesce(max(seq), 0) FROM ticket_events").fetchone()[0]

    def recent_service_times(self, service: str, limit: int) -> list[float]:
        times = [json.loads(r[0])["service_s"] for r in self.db.execute(
            "SELECT data FROM ticket_events WHERE type = 'ticket.finished' AND service = ? "
            "ORDER BY seq DESC LIMIT ?", [service, limit]).fetchall()]
        return [t for t in times if t is not None]  # None: a clock jump (engine.interval_s)

    def latest_calls(self, day: date, limit: int = 10) -> list[dict]:
        """The day's latest calls and recalls, newest first (one indexed seek per type)."""
        rows = []
        for kind in ("ticket.called", "ticket.recalled"):
            rows += self.db.execute(
                "SELECT seq, type, at, ticket, window, data, "
                "(SELECT appointment FROM tickets WHERE id = ticket_events.ticket) FROM ticket_events "
                "WHERE day = ? AND type = ? ORDER BY seq DESC LIMIT ?",
                [day.isoformat(), kind, limit]).fetchall()
        rows.sort(key=lambda r: -r[0])
        # appointment: the lobby marks a call 约 after its ticket has left the queue, too
        return [{"seq": r[0], "type": r[1], "at": r[2], "ticket": r[3], "window": r[4],
                 "number": json.loads(r[5])["number"], "appointment": bool(r[6])} for r in rows[:limit]]

    # -- windows
    def window_states(self) -> dict[int, dict]:
        return {r["number"]: r for r in self._query("SELECT * FROM windows_state")}

    def save_window(self, number: int, status: str, clerk: Optional[str], seq: int) -> None:
        self.db.execute(
            "INSERT INTO windows_state (number, status, clerk, last_seq) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(number) DO UPDATE SET status = excluded.status, clerk = excluded.clerk, "
            "last_seq = excluded.last_seq", [number, status, clerk, seq])


    # -- ratings and their follow-up cases
    def is_rated(self, ticket_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM ratings WHERE ticket = ?", [ticket_id]).fetchone() is not None

    def insert_rating(self, row: dict) -> int:
        return self._insert("ratings", row)

    # -- ratings of a case (一次一评): the business system's requests, the content versions
    def store_evaluation_contents(self, rows: list[tuple[str, str, str]], at: str) -> None:
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO evaluation_contents (version, valid_from, body, stored_at) "
            "VALUES (?, ?, ?, ?)", [(*r, at) for r in rows])

    def insert_rating_request(self, row: dict) -> int:
        return self._insert("rating_requests", row)

    def open_rating_request(self, window: int, now_ts: float) -> Optional[dict]:
        """The newest unanswered, unexpired request of this window, or None."""
        rows = list(self._query(
            "SELECT * FROM rating_requests WHERE window = ? AND rating IS NULL AND expires_ts > ? "
            "ORDER BY id DESC LIMIT 1", [window, now_ts]))
        return rows[0] if rows else None

    def answer_rating_request(self, request_id: int, rating_id: int, seq: int) -> None:
        self.db.execute("UPDATE rating_requests SET rating = ?, seq = ? WHERE id = ?",
                        [rating_id, seq, request_id])

    def close_rating_requests(self, window: int, now_ts: float) -> None:
        """A newer request replaces the open ones of its window (they expire now)."""
        self.db.execute("UPDATE rating_requests SET expires_ts = ? WHERE window = ? AND rating IS NULL "
                        "AND expires_ts > ?", [now_ts, window, now_ts])

    def exclude_rating(self, rating_id: int, reason: str) -> None:
        self.db.execute("UPDATE ratings SET excluded = 1, exclude_reason = ? WHERE id = ?",
                        [reason, rating_id])

    def insert_case(self, row: dict) -> int:
        return self._insert("rating_cases", row)

    def case_row(self, case_id: int) -> Optional[dict]:
        rows = list(self._query("SELECT * FROM rating_cases WHERE id = ?", [case_id]))
        return rows[0] if rows else None

    def update_case(self, case_id: int, changes: dict, only_open: bool = False) -> None:
        sets = ", ".join(f"{k} = ?" for k in changes)
        self.db.execute(f"UPDATE rating_cases SET {sets} WHERE id = ?"
                        + (" AND status != 'closed'" if only_open else ""),
                        [*changes.values(), case_id])

    def add_case_note(self, case_id: int, author: str, step: str, text: str, at: datetime) -> None:
        self.db.execute('INSERT INTO case_notes ("case", at, ts, author, step, text) '
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [case_id, at.isoformat(), at.timestamp(), author, step, text])

    # -- citizens: a bad rating's callback phone, calls for a helper
    def save_case_contact(self, case_id: int, phone: str, at: datetime) -> None:
        self.db.execute('INSERT INTO case_contacts ("case", phone, given_at) VALUES (?, ?, ?)',
                        [case_id, phone, at.isoformat()])

    def purge_case_contacts(self, closed_before: str) -> int:
        """Delete the phones of cases closed before this ISO time; how many went."""
        cur = self.db.execute(
            'DELETE FROM case_contacts WHERE "case" IN (SELECT id FROM rating_cases '
            "WHERE status = 'closed' AND closed_at IS NOT NULL AND closed_at < ?)", [closed_before])
        return cur.rowcount

    def insert_help_call(self, row: dict) -> int:
        return self._insert("help_calls", row)

    def help_call(self, call_id: int) -> Optional[dict]:
        rows = self._query("SELECT * FROM help_calls WHERE id = ?", [call_id])
        return rows[0] if rows else None

    def ack_help_call(self, call_id: int, by: str, at: datetime) -> None:
        self.db.execute("UPDATE help_calls SET acked_at = ?, acked_ts = ?, acked_by = ? WHERE id = ?",
                        [at.isoformat(), at.timestamp(), by, call_id])

    # -- serial pads: the last sequence number each port sent, and our answer
    def pad_sequence(self, port: str) -> Optional[tuple[str, str, float]]:
        row = self.db.execute("SELECT seq, reply, ts FROM pad_sequences WHERE port = ?",
                              [port]).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def save_pad_sequence(self, port: str, seq: str, reply: str, ts: float) -> None:
        self.db.execute("INSERT INTO pad_sequences (port, seq, reply, ts) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(port) DO UPDATE SET seq = excluded.seq, reply = excluded.reply, "
                        "ts = excluded.ts", [port, seq, reply, ts])

    # -- settings (the managers' notice line)
    def setting(self, key: str) -> Optional[str]:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def put_setting(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", [key, value])

    # -- the print spool
    def insert_print_job(self, ticket_id: int, kind: str, payload: dict, created_at: str,
                         printer: str = "default") -> int:
        return self._insert("print_jobs", {"ticket": ticket_id, "kind": kind, "created_at": created_at,
                                           "payload": json.dumps(payload, ensure_ascii=False),
                                           "printer": printer})

    def due_print_jobs(self, now_ts: float, limit: int = 20, printer: Optional[str] = None,
                       others=()) -> list[dict]:
        where, args = _printer_filter(printer, others)
        rows = list(self._query(
            "SELECT id, ticket, kind, attempts, payload, printer FROM print_jobs "
            "WHERE status = 'pending' AND next_try_ts <= ?" + where + " ORDER BY id LIMIT ?",
            [now_ts, *args, limit]))
        for row in rows:
            row["payload"] = json.loads(row["payload"]) if row["payload"] else None
        return rows

    def print_job(self, job_id: int) -> Optional[dict]:
        rows = list(self._query(
            "SELECT id, ticket, kind, status, attempts, last_error, created_at, printed_at, "
            "printer FROM print_jobs WHERE id = ?", [job_id]))
        return rows[0] if rows else None

    def print_job_printed(self, job_id: int, at: str) -> None:
        self.db.execute("UPDATE print_jobs SET status = 'printed', printed_at = ?, "
                        "attempts = attempts + 1, last_error = NULL WHERE id = ?", [at, job_id])

    def print_job_failed(self, job_id: int, error: str, next_try_ts: float) -> None:
        self.db.execute("UPDATE print_jobs SET attempts = attempts + 1, next_try_ts = ?, "
                        "last_error = ? WHERE id = ?", [next_try_ts, error[:200], job_id])

    def release_print_jobs(self, printer: Optional[str] = None, others=()) -> None:
        where, args = _printer_filter(printer, others)
        self.db.execute("UPDATE print_jobs SET next_try_ts = 0 WHERE status = 'pending' "
                        "AND next_try_ts > 0" + where, args)

    def pending_print_jobs(self, printer: Optional[str] = None, others=()) -> int:
        where, args = _printer_filter(printer, others)
        return self.db.execute("SELECT count(*) FROM print_jobs WHERE status = 'pending'" + where,
                               args).fetchone()[0]

    # -- printers per kiosk (migration set qrate-devices)
    def kiosk_printer(self, name: str) -> Optional[str]:
        """The printer URL bound to this kiosk (an active kiosk device), or None."""
        row = self.db.execute("SELECT printer FROM devices WHERE name = ? AND kind = 'kiosk' "
                              "AND revoked = 0", [name]).fetchone()
        return row[0] if row and row[0] else None

    def ticket_printer(self, ticket_id: int) -> str:
        """The printer a ticket first printed on (a reprint goes there too)."""
        row = self.db.execute("SELECT printer FROM print_jobs WHERE ticket = ? ORDER BY id LIMIT 1",
                              [ticket_id]).fetchone()
        return row[0] if row and row[0] else "default"

    # -- a past, loaded in bulk (qrate seed-history)
    def has_tickets_between(self, first: date, last: date) -> bool:
        return self.db.execute("SELECT 1 FROM tickets WHERE day BETWEEN ? AND ? LIMIT 1",
                               [first.isoformat(), last.isoformat()]).fetchone() is not None

    def max_ids(self) -> tuple[int, int, int]:
        """The largest ticket id, event seq and rating id so far."""
        return (self.db.execute("SELECT coalesce(max(id), 0) FROM tickets").fetchone()[0],
                self.db.execute("SELECT coalesce(max(seq), 0) FROM ticket_events").fetchone()[0],
                self.db.execute("SELECT coalesce(max(id), 0) FROM ratings").fetchone()[0])

    def load_history(self, tickets: list[tuple], events: list[tuple], ratings: list[tuple],
                     closed_windows: dict[int, int]) -> None:
        """One day's generated rows, in the shapes the service layer writes."""
        conn = self.db.conn
        conn.executemany(
            "INSERT INTO tickets (id, day, service, seq, number, priority, priority_kind, status, "
            "issued_at, issued_ts, leg_at, target_window, window, clerk, called_at, finished_at, "
            "recalls, calls, transfers, note, issue_service, key, last_seq) VALUES "
            "(?, ?, ?, ?, ?, 0, NULL, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?)", tickets)
        conn.executemany(
            "INSERT INTO ticket_events (seq, type, at, ts, day, ticket, window, clerk, service, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", events)
        conn.executemany(
            "INSERT INTO ratings (id, ticket, score, reasons, comment, window, clerk, service, day, "
            "source, device, created_at, ts, excluded) VALUES "
            "(?, ?, ?, ?, '', ?, ?, ?, ?, 'touch', NULL, ?, ?, 0)", ratings)
        for number, seq in closed_windows.items():
            self.save_window(number, "closed", None, seq)
        for day, service, seq in {(t[1], t[16], t[3]) for t in tickets}:
            self._count_issued(day, service, seq)

    # -- appointments (server/appointment_ops.py): bookings, check-ins, the notifier's log
    def insert_booking(self, row: dict) -> int:
        return self._insert("appointments", row)

    def booking(self, *, code: Optional[str] = None, key: Optional[str] = None,
                booking_id: Optional[int] = None) -> Optional[dict]:
        col, value = ("code", code) if code is not None else ("key", key) if key is not None \
            else ("id", booking_id)
        rows = self._query(f"SELECT * FROM appointments WHERE {col} = ?", [value])
        return rows[0] if rows else None

    def booking_of_ticket(self, ticket_id: int) -> Optional[dict]:
        rows = self._query("SELECT * FROM appointments WHERE ticket = ?", [ticket_id])
        return rows[0] if rows else None

    def bookings_taken(self, service: str, slot_ts: float) -> int:
        """Places taken in one slot (booked, checked in or come late; cancelled ones are free)."""
        return self.db.execute(
            "SELECT count(*) FROM appointments WHERE service = ? AND slot_ts = ? "
            "AND status IN ('booked', 'checked_in', 'late')", [service, slot_ts]).fetchone()[0]

    def bookings_per_slot(self, service: str, day: date) -> dict[float, int]:
        return dict(self.db.execute(
            "SELECT slot_ts, count(*) FROM appointments WHERE service = ? AND day = ? "
            "AND status IN ('booked', 'checked_in', 'late') GROUP BY slot_ts",
            [service, day.isoformat()]).fetchall())

    def same_person_booking(self, service: str, day: date, phone: str, name: str,
                            id_last4: str) -> Optional[dict]:
        rows = self._query(
            "SELECT * FROM appointments WHERE service = ? AND day = ? AND status IN "
            "('booked', 'checked_in', 'late') AND (phone = ? OR (name = ? AND id_last4 = ?))",
            [service, day.isoformat(), phone, name, id_last4])
        return rows[0] if rows else None

    def bookings_by_phone_name(self, day: date, phone_last4: str, name: str) -> list[dict]:
        return self._query(
            "SELECT * FROM appointments WHERE day = ? AND name = ? AND substr(phone, -4) = ? "
            "AND status = 'booked' ORDER BY slot_ts", [day.isoformat(), name, phone_last4])

    def bookings_of_day(self, day: date) -> list[dict]:
        return self._query("SELECT * FROM appointments WHERE day = ? ORDER BY slot_ts, id",
                           [day.isoformat()])

    def update_booking(self, booking_id: int, sets: dict) -> None:
        cols = ", ".join(f"{k} = ?" for k in sets)
        self.db.execute(f"UPDATE appointments SET {cols} WHERE id = ?", [*sets.values(), booking_id])

    def purge_bookings(self, before: date) -> int:
        """Forget the citizen's name, phone and ID digits of bookings before a day."""
        return self.db.execute(
            "UPDATE appointments SET name = NULL, phone = NULL, id_last4 = NULL, purged = 1 "
            "WHERE day < ? AND purged = 0", [before.isoformat()]).rowcount

    def remote_tickets_issued(self, day: date, service: str) -> int:
        return self.db.execute("SELECT count(*) FROM tickets WHERE day = ? AND issue_service = ? "
                               "AND remote = 1", [day.isoformat(), service]).fetchone()[0]

    def stale_remote_tickets(self, day: date, before_ts: float) -> list[Ticket]:
        """Remote tickets never checked in, issued before ``before_ts`` (they expire)."""
        return [self.ticket_from_row(r) for r in self._query(
            "SELECT * FROM tickets WHERE day = ? AND status = 'waiting' AND remote = 1 "
            "AND checked_in = 0 AND issued_ts < ?", [day.isoformat(), before_ts])]

    def waiting_queue(self, day: date, service: str, limit: int) -> list[Ticket]:
        """The first waiting tickets of one service in the order they are called (near notices)."""
        return [self.ticket_from_row(r) for r in self._query(
            "SELECT * FROM tickets WHERE day = ? AND status = 'waiting' AND service = ? "
            "AND checked_in = 1 AND target_window IS NULL ORDER BY priority DESC, queue_ts, id "
            "LIMIT ?", [day.isoformat(), service, limit])]

    def insert_notice(self, ticket: int, kind: str, payload: str, at: str, next_ts: float) -> Optional[int]:
        """Queue one notice; None when this ticket had this notice already (no duplicates)."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO notices (ticket, kind, payload, status, next_ts, created_at) "
            "VALUES (?, ?, ?, 'pending', ?, ?)", [ticket, kind, payload, next_ts, at])
        return cur.lastrowid if cur.rowcount else None

    def due_notices(self, now_ts: float, limit: int = 20) -> list[dict]:
        return self._query("SELECT * FROM notices WHERE status = 'pending' AND next_ts <= ? "
                           "ORDER BY next_ts, id LIMIT ?", [now_ts, limit])

    def update_notice(self, notice_id: int, sets: dict) -> None:
        cols = ", ".join(f"{k} = ?" for k in sets)
        self.db.execute(f"UPDATE notices SET {cols} WHERE id = ?", [*sets.values(), notice_id])


    def _query(self, sql: str, args=()) -> list[dict]:
        """Rows as dicts. Plain execute: sqlite-utils' query() wraps each read in a savepoint."""
        cur = self.db.conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur]

    # -- assessment (issue 15): commitments, feedback, training records
    def replace_commitment(self, row: dict) -> int:
        """A clerk's commitment for a year; the current one is kept as replaced."""
        self.db.execute("UPDATE yearly_commitments SET replaced_at = ? WHERE staff = ? AND year = ? "
                        "AND replaced_at IS NULL", [row["made_at"], row["staff"], row["year"]])
        return self._insert("yearly_commitments", row)

    def insert_feedback(self, row: dict) -> int:
        return self._insert("feedback", row)

    def feedback(self, feedback_id: int) -> Optional[dict]:
        cur = self.db.execute("SELECT * FROM feedback WHERE id = ?", [feedback_id])
        row = cur.fetchone()
        return dict(zip([c[0] for c in cur.description], row)) if row else None

    def reply_feedback(self, feedback_id: int, reply: str, at: str, by: str) -> None:
        self.db.execute("UPDATE feedback SET reply = ?, replied_at = ?, replied_by = ? WHERE id = ?",
                        [reply, at, by, feedback_id])

    def feedback_since(self, ticket_id: Optional[int], since: str) -> int:
        """How many opinions one ticket (or the kiosks: None) left since ``since``."""
        if ticket_id is None:
            return self.db.execute("SELECT COUNT(*) FROM feedback WHERE ticket IS NULL AND "
                                   "created_at >= ?", [since]).fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM feedback WHERE ticket = ? AND created_at >= ?",
                               [ticket_id, since]).fetchone()[0]

    def insert_training(self, row: dict) -> int:
        return self._insert("training_records", row)

    def _insert(self, table: str, row: dict) -> int:
        cols = ", ".join(f'"{k}"' for k in row)
        return self.db.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(row))})",
                               list(row.values())).lastrowid


# --- accounts: users, devices and their tokens (rules and hashing: server/auth.py)

def user_exists(db, employee_no: str) -> bool:
    return db.execute("SELECT 1 FROM users WHERE employee_no = ?", [employee_no]).fetchone() is not None


def any_user(db) -> bool:
    return db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def insert_user(db, employee_no: str, name: str, role: str, password_hash: str, at: str) -> None:
    with db.atomic():
        db.execute("INSERT INTO users (employee_no, name, role, password_hash, created_at) "
                   "VALUES (?, ?, ?, ?, ?)", [employee_no, name, role, password_hash, at])


def user_for_login(db, employee_no: str) -> Optional[tuple]:
    return db.execute("SELECT employee_no, name, role, password_hash FROM users "
                      "WHERE employee_no = ? AND active = 1", [employee_no]).fetchone()


def insert_token(db, token_hash: str, kind: str, subject: str, role: str, window, at: str) -> None:
    with db.atomic():
        db.execute("INSERT INTO tokens (hash, kind, subject, role, window, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", [token_hash, kind, subject, role, window, at])


def device_exists(db, name: str) -> bool:
    return db.execute("SELECT 1 FROM devices WHERE name = ?", [name]).fetchone() is not None


def insert_device(db, name: str, kind: str, window, token_hash: str, at: str) -> int:
    with db.atomic():
        device_id = db.execute("INSERT INTO devices (name, kind, window, created_at) "
                               "VALUES (?, ?, ?, ?)", [name, kind, window, at]).lastrowid
        db.execute("INSERT INTO tokens (hash, kind, subject, role, window, created_at) "
                   "VALUES (?, 'device', ?, ?, ?, ?)", [token_hash, str(device_id), kind, window, at])
    return device_id


def token_owner(db, token_hash: str, now_ts: Optional[float] = None
                ) -> Optional[tuple[str, str, str, Optional[int], str]]:
    """(kind, subject, role, window, name) of a live token whose user or device is active, or None.
    ``now_ts``: a token whose expiry has passed is not live."""
    if now_ts is not None:
        row = db.execute("SELECT expires_ts FROM tokens WHERE hash = ?", [token_hash]).fetchone()
        if row is not None and row[0] is not None and row[0] <= now_ts:
            return None
    return db.execute(
        "SELECT t.kind, t.subject, t.role, t.window, coalesce(u.name, d.name) FROM tokens t "
        "LEFT JOIN users u ON t.kind = 'user' AND u.employee_no = t.subject AND u.active = 1 "
        "LEFT JOIN devices d ON t.kind = 'device' AND d.id = CAST(t.subject AS INTEGER) "
        "AND d.revoked = 0 WHERE t.hash = ? AND t.revoked = 0 "
        "AND (u.employee_no IS NOT NULL OR d.id IS NOT NULL)", [token_hash]).fetchone()


def revoke_token(db, token_hash: str) -> None:
    with db.atomic():
        db.execute("UPDATE tokens SET revoked = 1 WHERE hash = ?", [token_hash])


# --- the file itself: damage at start, the online backup, the epoch (server/backup.py)

SQLITE_HEADER = b"SQLite format 3\x00"


class DamagedDatabase(Exception):
    """The hall's database file is damaged; the message says how and what to do."""


def check_file(path: Path | str, *, full: bool = False) -> None:
    """Refuse a zero-length, truncated, foreign or corrupt database file (a missing one
    is a new hall). ``full``: PRAGMA integrity_check (every index) instead of quick_check."""
    path = Path(path)
    if not path.exists():
        return
    size = path.stat().st_size
    if size == 0:
        raise DamagedDatabase(f"{path} is empty (0 bytes): the hall's data is gone; restore a "
                              "backup (qrate restore FILE), or delete the file to start a new hall")
    with open(path, "rb") as f:
        header = f.read(100)
    if len(header) < 100 or not header.startswith(SQLITE_HEADER):
        raise DamagedDatabase(f"{path} is not a SQLite database (its header is wrong or cut "
                              f"short, {size} bytes); restore a backup (qrate restore FILE)")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid_for, changes = header[92:96], header[24:28]
    wal = Path(f"{path}-wal")
    has_wal = wal.exists() and wal.stat().st_size > 0
    if (page_size < 512 or page_size & (page_size - 1)) or (
            valid_for == changes and pages and size < pages * page_size and not has_wal):
        raise DamagedDatabase(f"{path} is truncated ({size} bytes of {pages * page_size}); "
                              "restore a backup (qrate restore FILE)")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=10)
        try:
            rows = conn.execute("PRAGMA integrity_check" if full else "PRAGMA quick_check").fetchall()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DamagedDatabase(f"{path} is damaged ({exc}); restore a backup (qrate restore FILE)") from None
    if [r[0] for r in rows] != ["ok"]:
        first = rows[0][0] if rows else "no answer"
        raise DamagedDatabase(f"{path} is damaged ({len(rows)} problems, the first: {first}); "
                              "restore a backup (qrate restore FILE)")
    if tables and "ticket_events" not in tables:
        raise DamagedDatabase(f"{path} is a SQLite file but not a qrate hall's database; "
                              "move it away or restore a backup (qrate restore FILE)")
    if not tables and size > 4096 * 4:
        raise DamagedDatabase(f"{path} holds no tables though it has {size} bytes; "
                              "restore a backup (qrate restore FILE)")


def backup_file(src: Path | str, dest: Path | str) -> None:
    """A consistent copy of the live database (SQLite's online backup API: one read
    transaction for the whole copy, while writers go on in WAL mode)."""
    source = sqlite3.connect(str(src), timeout=30)
    target = sqlite3.connect(str(dest))
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
    finally:
        target.close()
        source.close()


def epoch(db) -> Optional[str]:
    """The database's epoch id (a new one after each restore)."""
    row = db.execute("SELECT value FROM settings WHERE key = 'epoch'").fetchone()
    return row[0] if row else None


def set_epoch(db, value: str) -> None:
    db.execute("INSERT INTO settings (key, value) VALUES ('epoch', ?) "
               "ON CONFLICT(key) DO UPDATE SET value = excluded.value", [value])


def last_event(db) -> Optional[dict]:
    row = db.execute("SELECT seq, type, at, day FROM ticket_events ORDER BY seq DESC LIMIT 1").fetchone()
    return {"seq": row[0], "type": row[1], "at": row[2], "day": row[3]} if row else None


def all_tickets(db) -> list[dict]:
    cur = db.execute("SELECT * FROM tickets")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur]


def integrity(db) -> list[str]:
    return [r[0] for r in db.execute("PRAGMA integrity_check").fetchall()]


def ticket_id_range(db) -> tuple[int, int]:
    row = db.execute("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM tickets").fetchone()
    return row[0], row[1]


def ticket_rows_between(db, lo: int, hi: int) -> list[dict]:
    """Tickets with lo <= id < hi (the replay check goes a range at a time)."""
    cur = db.execute("SELECT * FROM tickets WHERE id >= ? AND id < ?", [lo, hi])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur]


def event_rows(db, *, ticket_lo: Optional[int] = None, ticket_hi: Optional[int] = None,
               kind: Optional[str] = None) -> Iterable[dict]:
    """Events of the tickets with lo <= id < hi, or of one type, in seq order."""
    if kind is not None:
        cur = db.execute("SELECT * FROM ticket_events WHERE type = ? ORDER BY seq", [kind])
    else:
        cur = db.execute("SELECT * FROM ticket_events WHERE ticket >= ? AND ticket < ? ORDER BY seq",
                         [ticket_lo, ticket_hi])
    names = [d[0] for d in cur.description]
    for row in cur:
        yield dict(zip(names, row))



# --- accounts and devices for the hall's IT person (qrate user/device, /manage/system)

def users(db) -> list[dict]:
    cur = db.execute("SELECT employee_no, name, role, active, created_at, disabled_at FROM users "
                     "ORDER BY employee_no")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur]


def set_user_active(db, employee_no: str, active: bool, at: str) -> None:
    """Enable or disable an account; disabling also revokes every token it holds."""
    with db.atomic():
        db.execute("UPDATE users SET active = ?, disabled_at = ? WHERE employee_no = ?",
                   [int(active), None if active else at, employee_no])
        if not active:
            db.execute("UPDATE tokens SET revoked = 1 WHERE kind = 'user' AND subject = ?",
                       [employee_no])


def set_user_language(db, employee_no: str, language: Optional[str]) -> None:
    """A clerk's own console language (None: the hall's); docs/citizens.md."""
    with db.atomic():
        db.execute("UPDATE users SET language = ? WHERE employee_no = ?", [language, employee_no])


def user_language(db, employee_no: str) -> Optional[str]:
    row = db.execute("SELECT language FROM users WHERE employee_no = ?", [employee_no]).fetchone()
    return row[0] if row else None


def set_password(db, employee_no: str, password_hash: str) -> None:
    with db.atomic():
        db.execute("UPDATE users SET password_hash = ? WHERE employee_no = ?",
                   [password_hash, employee_no])
        db.execute("UPDATE tokens SET revoked = 1 WHERE kind = 'user' AND subject = ?", [employee_no])


def devices(db) -> list[dict]:
    cur = db.execute("SELECT id, name, kind, window, printer, last_seen, created_at, revoked "
                     "FROM devices ORDER BY revoked, kind, window, name")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur]


def revoke_device(db, name: str) -> None:
    with db.atomic():
        row = db.execute("SELECT id FROM devices WHERE name = ?", [name]).fetchone()
        db.execute("UPDATE devices SET revoked = 1 WHERE name = ?", [name])
        if row:
            db.execute("UPDATE tokens SET revoked = 1 WHERE kind = 'device' AND subject = ?",
                       [str(row[0])])


def set_device_printer(db, device_id: int, printer: Optional[str]) -> None:
    with db.atomic():
        db.execute("UPDATE devices SET printer = ? WHERE id = ?", [printer, device_id])


def device_seen(db, device_id: int, at: str) -> None:
    with db.atomic():
        db.execute("UPDATE devices SET last_seen = ? WHERE id = ?", [at, device_id])


def set_token_expiry(db, token_hash: str, expires_ts: float) -> None:
    with db.atomic():
        db.execute("UPDATE tokens SET expires_ts = ? WHERE hash = ?", [expires_ts, token_hash])


def token_expiry(db, token_hash: str) -> Optional[float]:
    row = db.execute("SELECT expires_ts FROM tokens WHERE hash = ?", [token_hash]).fetchone()
    return row[0] if row else None


def revoke_user_tokens_at(db, employee_no: str, window: int, keep_hash: str) -> int:
    """End a clerk's other sign-ins at windows (one clerk, one window); returns how many."""
    with db.atomic():
        return db.execute("UPDATE tokens SET revoked = 1 WHERE kind = 'user' AND subject = ? "
                          "AND revoked = 0 AND hash != ? AND window IS NOT NULL AND window != ?",
                          [employee_no, keep_hash, window]).rowcount


def revoke_window_tokens(db, employee_no: str, window: int) -> None:
    with db.atomic():
        db.execute("UPDATE tokens SET revoked = 1 WHERE kind = 'user' AND subject = ? AND window = ?",
                   [employee_no, window])


def replace_device_token(db, device_id: int, kind: str, window, token_hash: str, at: str,
                         expires_in_s: float) -> None:
    """The device's tokens end; a new one starts (a new link for a tablet)."""
    with db.atomic():
        db.execute("UPDATE tokens SET revoked = 1 WHERE kind = 'device' AND subject = ?", [str(device_id)])
        db.execute("INSERT INTO tokens (hash, kind, subject, role, window, created_at, expires_ts) "
                   "VALUES (?, 'device', ?, ?, ?, ?, ?)",
                   [token_hash, str(device_id), kind, window, at, time.time() + expires_in_s])


# --- the hall's configuration in the database (migration set qrate-config)

def latest_config(db) -> Optional[dict]:
    """The configuration that stands: the last version's row (body as JSON text), or None."""
    cur = db.execute("SELECT id, at, by, source, file_digest, body, seq FROM config_versions "
                     "ORDER BY id DESC LIMIT 1")
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row)) if row else None


def last_imported_digest(db) -> Optional[str]:
    """The digest of hall.toml as last imported (None: never)."""
    row = db.execute("SELECT file_digest FROM config_versions WHERE file_digest IS NOT NULL "
                     "ORDER BY id DESC LIMIT 1").fetchone()
    return row[0] if row else None


def insert_config_version(db, at: str, by: str, source: str, file_digest: Optional[str],
                          body: str, seq: Optional[int]) -> int:
    return db.execute("INSERT INTO config_versions (at, by, source, file_digest, body, seq) "
                      "VALUES (?, ?, ?, ?, ?, ?)", [at, by, source, file_digest, body, seq]).lastrowid


def insert_commitment(db, employee_no: str, at: str, by: str, text: str, text_en: str) -> None:
    db.execute("INSERT INTO commitments (employee_no, at, by, commitment, commitment_en) "
               "VALUES (?, ?, ?, ?, ?)", [employee_no, at, by, text, text_en])


# --- the city forwarder (server/forward.py): the log in seq order, its progress ----------

EPOCH_KEY = "epoch_no"  # beside ``epoch`` (the id): the forwarder's epochs are 1, 2, 3 ...


def hall_epoch(db) -> int:
    """The database's epoch number for the city (each restore counts one up); 1 until one is set."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [EPOCH_KEY]).fetchone()
    try:
        return int(row[0]) if row else 1
    except (TypeError, ValueError):
        return 1


def set_hall_epoch(db, number: int) -> None:
    db.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
               "ON CONFLICT(key) DO UPDATE SET value = excluded.value", [EPOCH_KEY, str(number)])


def last_event_seq(db) -> int:
    return db.execute("SELECT coalesce(max(seq), 0) FROM ticket_events").fetchone()[0]


def forward_state(db, epoch: int) -> Optional[dict]:
    cur = db.execute("SELECT epoch, start_seq, acked_seq, updated_ts, last_ok_ts, last_error "
                     "FROM forward_state WHERE epoch = ?", [epoch])
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row)) if row else None


def save_forward_state(db, epoch: int, *, start_seq: Optional[int] = None,
                       acked_seq: Optional[int] = None, ok_ts: Optional[float] = None,
                       error: Optional[str] = None, now_ts: float = 0) -> None:
    """Create or move the forwarder's row of this epoch (acked_seq only grows)."""
    with db.atomic():
        db.execute("INSERT INTO forward_state (epoch, start_seq, acked_seq, updated_ts) "
                   "VALUES (?, ?, ?, ?) ON CONFLICT(epoch) DO NOTHING",
                   [epoch, start_seq or 0, start_seq or 0, now_ts])
        if acked_seq is not None:
            db.execute("UPDATE forward_state SET acked_seq = max(acked_seq, ?), updated_ts = ? "
                       "WHERE epoch = ?", [acked_seq, now_ts, epoch])
        if ok_ts is not None:
            db.execute("UPDATE forward_state SET last_ok_ts = ?, last_error = NULL WHERE epoch = ?",
                       [ok_ts, epoch])
        if error is not None:
            db.execute("UPDATE forward_state SET last_error = ?, updated_ts = ? WHERE epoch = ?",
                       [error[:500], now_ts, epoch])


def rewind_forward_state(db, epoch: int, acked_seq: int, now_ts: float) -> None:
    """The city holds less than we thought (a gap): send again from ``acked_seq``."""
    with db.atomic():
        db.execute("UPDATE forward_state SET acked_seq = ?, updated_ts = ? WHERE epoch = ?",
                   [acked_seq, now_ts, epoch])


def events_to_forward(db, after: int, limit: int) -> list[dict]:
    """The log after ``after`` in seq order, each rating.created with its rating (and case),
    each case.changed with its case and rating as they are now."""
    cur = db.execute("SELECT seq, type, at, ts, day, ticket, window, clerk, service, data "
                     "FROM ticket_events WHERE seq > ? ORDER BY seq LIMIT ?", [after, limit])
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        e = dict(zip(names, row))
        e["data"] = json.loads(e["data"] or "{}")
        rating = case = None
        if e["type"] == "rating.created":
            rating_id = e["data"].get("rating")
            rating = (_one(db, "SELECT * FROM ratings WHERE id = ?", [rating_id]) if rating_id
                      else _one(db, "SELECT * FROM ratings WHERE ticket = ?", [e["ticket"]]))
            if rating:
                case = _one(db, "SELECT * FROM rating_cases WHERE rating = ?", [rating["id"]])
        elif e["type"] == "case.changed" and e["data"].get("case"):
            case = _one(db, "SELECT * FROM rating_cases WHERE id = ?", [e["data"]["case"]])
            if case:
                rating = _one(db, "SELECT * FROM ratings WHERE id = ?", [case["rating"]])
        if rating:
            e["rating"] = rating
        if case:
            e["case"] = case
        out.append(e)
    return out


def config_in_force(db, seq: int) -> Optional[tuple[int, str]]:
    """(seq, body as JSON text) of the configuration in force at event ``seq``: the version a
    config.changed at or before it recorded, else the first version (seq 0); None without any
    (a version without seq is the first one or repeats the one before it: no keys changed)."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'config_versions'").fetchone():
        return None
    row = db.execute("SELECT seq, body FROM config_versions WHERE seq IS NOT NULL AND seq <= ? "
                     "ORDER BY seq DESC, id DESC LIMIT 1", [seq]).fetchone()
    if row is None:
        row = db.execute("SELECT 0, body FROM config_versions ORDER BY id LIMIT 1").fetchone()
    return (int(row[0]), row[1]) if row else None


def _one(db, sql: str, args) -> Optional[dict]:
    cur = db.execute(sql, args)
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row)) if row else None


# --- printers per kiosk (migration set qrate-devices; docs/printing.md) ----------------

def _printer_filter(printer: Optional[str], others=()) -> tuple[str, list]:
    """The print jobs of one printer. The default printer also takes the jobs of a printer
    no longer running (a kiosk whose own printer was removed): ``others`` names those that run."""
    if printer is None:
        return "", []
    others = [o for o in others if o != printer]
    if printer == "default" and others:
        marks = ", ".join("?" for _ in others)
        return f" AND (printer = 'default' OR printer NOT IN ({marks}))", others
    if printer == "default":
        return "", []
    return " AND printer = ?", [printer]


def kiosk_printers(db) -> list[dict]:
    """Every active kiosk with a printer of its own: name and printer URL."""
    cur = db.execute("SELECT name, printer FROM devices WHERE kind = 'kiosk' AND revoked = 0 "
                     "AND printer IS NOT NULL AND printer != '' ORDER BY name")
    return [{"name": r[0], "printer": r[1]} for r in cur]


def device_by_name(db, name: str) -> Optional[dict]:
    cur = db.execute("SELECT id, name, kind, window, printer, revoked FROM devices WHERE name = ?",
                     [name])
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row)) if row else None
# --- the CLI's requests to a running server (server/config_live.py) ------------------

def post_request(db, kind: str, by: str, body: dict, at: str) -> int:
    with db.atomic():
        return db.execute("INSERT INTO hall_requests (at, kind, by, body) VALUES (?, ?, ?, ?)",
                          [at, kind, by, json.dumps(body, ensure_ascii=False, default=str)]).lastrowid


def take_request(db) -> Optional[dict]:
    """The oldest pending request, claimed (state 'taken'); None when nothing waits (one
    indexed read: the server asks every second)."""
    row = db.execute("SELECT id, at, kind, by, body FROM hall_requests WHERE state = 'pending' "
                     "ORDER BY id LIMIT 1").fetchone()
    if row is None:
        return None
    with db.atomic():
        claimed = db.execute("UPDATE hall_requests SET state = 'taken' WHERE id = ? AND state = 'pending'",
                             [row[0]]).rowcount
    if not claimed:  # the CLI withdrew it meanwhile
        return None
    return {"id": row[0], "at": row[1], "kind": row[2], "by": row[3], "body": json.loads(row[4])}


def answer_request(db, request_id: int, answer: dict, at: str) -> None:
    with db.atomic():
        db.execute("UPDATE hall_requests SET state = 'done', answer = ?, answered_at = ? WHERE id = ?",
                   [json.dumps(answer, ensure_ascii=False, default=str), at, request_id])


def request_answer(db, request_id: int) -> tuple[str, Optional[dict]]:
    row = db.execute("SELECT state, answer FROM hall_requests WHERE id = ?", [request_id]).fetchone()
    if row is None:
        return "missing", None
    return row[0], (json.loads(row[1]) if row[1] else None)


def withdraw_requests(db, request_id: Optional[int] = None) -> int:
    """Withdraw one pending request (the CLI gave up waiting), or every one (a server
    starting: what a killed CLI left behind must not be applied later)."""
    with db.atomic():
        if request_id is None:
            return db.execute("UPDATE hall_requests SET state = 'withdrawn' WHERE state = 'pending'").rowcount
        return db.execute("UPDATE hall_requests SET state = 'withdrawn' WHERE id = ? AND state = 'pending'",
                          [request_id]).rowcount
