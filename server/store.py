"""Storage: one SQLite file through sqlite-utils, in WAL mode.

Current state (tickets, windows_state, ratings, ...) and the append-only event
log (``ticket_events``) are written in one transaction per change. A
``Database`` belongs to the thread (or greenlet) that opened it.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Optional

import sqlite_utils
from sqlite_utils import Migrations

from .engine import Event, Ticket

migrations = Migrations("qrate")


@migrations()
def m001_core(db: sqlite_utils.Database) -> None:
    db.executescript("""
    CREATE TABLE tickets (
        id INTEGER PRIMARY KEY,
        day TEXT NOT NULL,
        service TEXT NOT NULL,
        seq INTEGER NOT NULL,
        number TEXT NOT NULL,
        priority INTEGER NOT NULL DEFAULT 0,
        priority_kind TEXT,
        status TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        issued_ts REAL NOT NULL,
        leg_at TEXT NOT NULL,
        target_window INTEGER,
        window INTEGER,
        clerk TEXT,
        called_at TEXT,
        finished_at TEXT,
        recalls INTEGER NOT NULL DEFAULT 0,
        calls INTEGER NOT NULL DEFAULT 0,
        transfers INTEGER NOT NULL DEFAULT 0,
        note TEXT NOT NULL DEFAULT '',
        issue_service TEXT NOT NULL,
        key TEXT NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX tickets_number ON tickets(day, issue_service, seq);
    CREATE INDEX tickets_status ON tickets(day, status);
    CREATE UNIQUE INDEX tickets_key ON tickets(key);

    CREATE TABLE ticket_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        at TEXT NOT NULL,
        ts REAL NOT NULL,
        day TEXT NOT NULL,
        ticket INTEGER,
        window INTEGER,
        clerk TEXT,
        service TEXT,
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX ticket_events_ticket ON ticket_events(ticket);
    CREATE INDEX ticket_events_type ON ticket_events(type, service, seq);
    CREATE INDEX ticket_events_day ON ticket_events(day, type);
    CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events
        BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END;
    CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events
        BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END;

    CREATE TABLE windows_state (
        number INTEGER PRIMARY KEY,
        status TEXT NOT NULL DEFAULT 'closed',
        clerk TEXT,
        last_seq INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE users (
        employee_no TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1
    );

    CREATE TABLE devices (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        window INTEGER,
        created_at TEXT NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE tokens (
        hash TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        role TEXT NOT NULL,
        window INTEGER,
        created_at TEXT NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE ratings (
        id INTEGER PRIMARY KEY,
        ticket INTEGER NOT NULL UNIQUE REFERENCES tickets(id),
        score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
        reasons TEXT NOT NULL DEFAULT '[]',
        comment TEXT NOT NULL DEFAULT '',
        window INTEGER,
        clerk TEXT,
        service TEXT,
        day TEXT NOT NULL,
        source TEXT NOT NULL,
        device TEXT,
        created_at TEXT NOT NULL,
        ts REAL NOT NULL,
        excluded INTEGER NOT NULL DEFAULT 0,
        exclude_reason TEXT
    );
    CREATE INDEX ratings_day ON ratings(day);

    CREATE TABLE print_jobs (
        id INTEGER PRIMARY KEY,
        ticket INTEGER REFERENCES tickets(id),
        kind TEXT NOT NULL DEFAULT 'ticket',
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try_ts REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        printed_at TEXT
    );
    CREATE INDEX print_jobs_status ON print_jobs(status, next_try_ts);

    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """)


def connect(path: Path | str) -> sqlite_utils.Database:
    """Open the hall database with the pragmas every connection needs."""
    # The pool lends a connection to one borrower at a time, possibly on another thread.
    conn = sqlite3.connect(str(path), timeout=10, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    # FULL: a commit is on disk before we answer, so a power cut loses nothing acknowledged.
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


# Each feature keeps its own Migrations set in its own module (named here), so
# features add tables without touching the core's history. Applied in this order.
MIGRATION_MODULES: tuple[str, ...] = ("server.store", "server.ratings", "server.stats")


def all_migrations() -> list[Migrations]:
    import importlib
    sets = []
    for name in MIGRATION_MODULES:
        module = importlib.import_module(name)
        sets.append(module.migrations)
    return sets


def open_and_migrate(path: Path | str) -> None:
    """Create or upgrade the data file in place (run once at start)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = connect(path)
    try:
        db.enable_wal()
        for migration_set in all_migrations():
            migration_set.apply(db)
    finally:
        db.close()


class Store:
    """Reads and writes the hall's rows; one instance per connection."""

    def __init__(self, db: sqlite_utils.Database, tz):
        self.db = db
        self.tz = tz

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
                   note=row["note"])
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
                "recalls": t.recalls, "calls": t.calls, "transfers": t.transfers, "note": t.note}

    def ticket(self, ticket_id: int) -> Optional[Ticket]:
        rows = list(self.db.query("SELECT * FROM tickets WHERE id = ?", [ticket_id]))
        return self.ticket_from_row(rows[0]) if rows else None

    def ticket_by_key(self, key: str) -> Optional[Ticket]:
        rows = list(self.db.query("SELECT * FROM tickets WHERE key = ?", [key]))
        return self.ticket_from_row(rows[0]) if rows else None

    def tickets(self, day: date, statuses: Iterable[str]) -> list[Ticket]:
        statuses = list(statuses)
        marks = ",".join("?" * len(statuses))
        return [self.ticket_from_row(r) for r in self.db.query(
            f"SELECT * FROM tickets WHERE day = ? AND status IN ({marks}) ORDER BY issued_ts, id",
            [day.isoformat(), *statuses])]

    def candidates(self, day: date, services: Iterable[str], window: int) -> list[Ticket]:
        """Waiting tickets a window may call: its services' queues and those sent to it."""
        services = list(services)
        marks = ",".join("?" * len(services)) or "NULL"
        return [self.ticket_from_row(r) for r in self.db.query(
            f"SELECT * FROM tickets WHERE day = ? AND status = 'waiting' AND "
            f"((service IN ({marks}) AND target_window IS NULL) OR target_window = ?)",
            [day.isoformat(), *services, window])]

    def current_at(self, window: int, day: Optional[date] = None) -> Optional[Ticket]:
        """The ticket a window is serving now (earlier days are closed at day start)."""
        day = day or datetime.now(self.tz).date()
        rows = list(self.db.query(
            "SELECT * FROM tickets WHERE day = ? AND status = 'called' AND window = ? "
            "ORDER BY called_at DESC", [day.isoformat(), window]))
        return self.ticket_from_row(rows[0]) if rows else None

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
        return cur.lastrowid

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
        for r in self.db.query("SELECT * FROM ticket_events WHERE seq > ? ORDER BY seq", [after]):
            yield Event(type=r["type"], at=datetime.fromisoformat(r["at"]), ticket=r["ticket"],
                        window=r["window"], clerk=r["clerk"], data=json.loads(r["data"]),
                        seq=r["seq"])

    def last_seq(self) -> int:
        return self.db.execute("SELECT coalesce(max(seq), 0) FROM ticket_events").fetchone()[0]

    def recent_service_times(self, service: str, limit: int) -> list[float]:
        return [json.loads(r[0])["service_s"] for r in self.db.execute(
            "SELECT data FROM ticket_events WHERE type = 'ticket.finished' AND service = ? "
            "ORDER BY seq DESC LIMIT ?", [service, limit]).fetchall()]

    def latest_calls(self, day: date, limit: int = 10) -> list[dict]:
        rows = self.db.execute(
            "SELECT seq, type, at, ticket, window, data FROM ticket_events "
            "WHERE day = ? AND type IN ('ticket.called', 'ticket.recalled') "
            "ORDER BY seq DESC LIMIT ?", [day.isoformat(), limit]).fetchall()
        return [{"seq": r[0], "type": r[1], "at": r[2], "ticket": r[3], "window": r[4],
                 "number": json.loads(r[5])["number"]} for r in rows]

    # -- windows
    def window_states(self) -> dict[int, dict]:
        return {r["number"]: r for r in self.db.query("SELECT * FROM windows_state")}

    def save_window(self, number: int, status: str, clerk: Optional[str], seq: int) -> None:
        self.db.execute(
            "INSERT INTO windows_state (number, status, clerk, last_seq) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(number) DO UPDATE SET status = excluded.status, clerk = excluded.clerk, "
            "last_seq = excluded.last_seq", [number, status, clerk, seq])

