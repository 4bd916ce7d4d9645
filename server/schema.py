"""The hall database's schema: every table, index and trigger, as sqlite-utils migrations.

Migration sets, applied in the order of ``MIGRATION_SETS`` at every start so an
existing data folder upgrades in place: ``qrate`` (tickets, the event log, windows,
users, devices, tokens, ratings, print jobs, settings), ``qrate-ratings`` (follow-up
cases and serial pad sequence numbers), ``qrate-stats`` (the read side's per-day
summary), then one set per capability: ``qrate-config`` (the configuration's
versions), ``qrate-hall`` (epoch, token expiry), ``qrate-forward`` (the city
forwarder), ``qrate-appointments``, ``qrate-assessment``, ``qrate-citizens`` and
``qrate-caserating`` (ratings of a case, which rebuilds two tables and so runs last).
The set names are stored in each data file: never rename them.
A migration, once released, never changes; the one data migration below
carries its own copy of the roll-up it needs for that reason.
"""
from __future__ import annotations

import secrets
from typing import Iterable

import sqlite_utils
from sqlite_utils import Migrations

core = Migrations("qrate")
followup = Migrations("qrate-ratings")
summary = Migrations("qrate-stats")
appointments = Migrations("qrate-appointments")
hallconfig = Migrations("qrate-config")
forward = Migrations("qrate-forward")  # the city forwarder's progress (server/forward.py)
hall = Migrations("qrate-hall")  # operations: epoch, token expiry, devices' printers (server/backup.py)
assessment = Migrations("qrate-assessment")   # issue 15: yearly commitments, feedback, training
citizens = Migrations("qrate-citizens")
caserating = Migrations("qrate-caserating")  # ratings tied to a case (一次一评), evaluation content
kiosk_devices = Migrations("qrate-devices")  # printers per kiosk: each print job names its printer
MIGRATION_SETS = (core, followup, summary, hallconfig, hall, forward, appointments, assessment, citizens, caserating)
appointments2 = Migrations("qrate-appointments2")  # issue 12, session 4: the notice log's last attempt
MIGRATION_SETS += (appointments2,)
MIGRATION_SETS += (kiosk_devices,)
configops = Migrations("qrate-configops")  # the CLI's requests to a running server (server/config_live.py)
MIGRATION_SETS += (configops,)
citizens2 = Migrations("qrate-citizens2")  # a clerk's own console language
MIGRATION_SETS += (citizens2,)


@core()
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


@core()
def m002_print_payload_and_indexes(db: sqlite_utils.Database) -> None:
    # A print job carries the ticket as it is printed, so the spool never reads tickets.
    db.executescript("""
    ALTER TABLE print_jobs ADD COLUMN payload TEXT;
    CREATE INDEX tickets_window_status ON tickets(day, window, status, finished_at);
    CREATE INDEX ticket_events_day_seq ON ticket_events(day, type, seq);
    """)


@core()
def m003_day_counters(db: sqlite_utils.Database) -> None:
    # Tickets issued per service and hall day, kept with each issue: the queue's
    # summaries read one short row per service instead of scanning the day.
    db.executescript("""
    CREATE TABLE day_counters (
        day TEXT NOT NULL,
        service TEXT NOT NULL,
        issued INTEGER NOT NULL,
        PRIMARY KEY (day, service)
    ) WITHOUT ROWID;
    INSERT INTO day_counters (day, service, issued)
        SELECT day, issue_service, max(seq) FROM tickets GROUP BY day, issue_service;
    """)


@core()
def m004_queue_index(db: sqlite_utils.Database) -> None:
    # The queue's counts (waiting per service, how many stand before a ticket) read
    # this index alone, without visiting the rows.
    db.executescript("""
    CREATE INDEX tickets_queue ON tickets(day, status, service, priority, issued_ts, target_window);
    CREATE INDEX tickets_sent_to ON tickets(day, status, target_window);
    """)


@followup()
def m001_followup(db: sqlite_utils.Database) -> None:
    db.executescript("""
    CREATE TABLE rating_cases (
        id INTEGER PRIMARY KEY,
        rating INTEGER NOT NULL UNIQUE REFERENCES ratings(id),
        ticket INTEGER NOT NULL REFERENCES tickets(id),
        number TEXT NOT NULL,
        window INTEGER,
        clerk TEXT,
        service TEXT,
        score INTEGER NOT NULL,
        day TEXT NOT NULL,
        owner TEXT,
        status TEXT NOT NULL DEFAULT 'open',
        opened_at TEXT NOT NULL, opened_ts REAL NOT NULL,
        callback_due TEXT NOT NULL, callback_due_ts REAL NOT NULL,
        callback_done_at TEXT, callback_done_ts REAL,
        verify_due TEXT NOT NULL, verify_due_ts REAL NOT NULL,
        verified_at TEXT, verified_ts REAL, verify_finding TEXT,
        rectify_due TEXT NOT NULL, rectify_due_ts REAL NOT NULL,
        rectified_at TEXT, rectified_ts REAL,
        reply_due TEXT NOT NULL, reply_due_ts REAL NOT NULL,
        replied_at TEXT, replied_ts REAL,
        rerating_score INTEGER CHECK (rerating_score BETWEEN 1 AND 5),
        rerated_at TEXT,
        closed_at TEXT, closed_ts REAL,
        appeal_status TEXT NOT NULL DEFAULT 'none',
        appeal_reason TEXT, appealed_at TEXT, appealed_by TEXT,
        appeal_decision TEXT, appeal_decided_at TEXT, appeal_decided_by TEXT,
        excluded INTEGER NOT NULL DEFAULT 0,
        exclude_reason TEXT
    );
    CREATE INDEX rating_cases_status ON rating_cases(status, opened_ts);
    CREATE INDEX rating_cases_day ON rating_cases(day);

    CREATE TABLE case_notes (
        id INTEGER PRIMARY KEY,
        "case" INTEGER NOT NULL REFERENCES rating_cases(id),
        at TEXT NOT NULL,
        ts REAL NOT NULL,
        author TEXT NOT NULL,
        step TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX case_notes_case ON case_notes("case", id);

    CREATE TABLE pad_sequences (
        port TEXT PRIMARY KEY,
        seq TEXT NOT NULL,
        reply TEXT NOT NULL,
        ts REAL NOT NULL
    );
    """)


@summary()
def m001_stats_summary(db: sqlite_utils.Database) -> None:
    db.executescript("""
    CREATE TABLE stats_cells (
        day TEXT NOT NULL,
        hour INTEGER NOT NULL,
        window INTEGER NOT NULL,      -- 0: not at a window (issued counts)
        clerk TEXT NOT NULL,          -- '' when none
        service TEXT NOT NULL,
        issued INTEGER NOT NULL DEFAULT 0,
        called INTEGER NOT NULL DEFAULT 0,
        served INTEGER NOT NULL DEFAULT 0,
        no_show INTEGER NOT NULL DEFAULT 0,
        transferred INTEGER NOT NULL DEFAULT 0,
        waits BLOB,                   -- int32 little-endian milliseconds, one per called leg
        services BLOB,                -- int32 milliseconds, one per served ticket
        r1 INTEGER NOT NULL DEFAULT 0, r2 INTEGER NOT NULL DEFAULT 0,
        r3 INTEGER NOT NULL DEFAULT 0, r4 INTEGER NOT NULL DEFAULT 0,
        r5 INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, window, clerk, service, hour)
    ) WITHOUT ROWID;
    CREATE TABLE stats_open (
        day TEXT NOT NULL, window INTEGER NOT NULL, clerk TEXT NOT NULL,
        open_ms INTEGER NOT NULL,
        PRIMARY KEY (day, window, clerk)
    ) WITHOUT ROWID;
    CREATE TABLE stats_reasons (
        day TEXT NOT NULL, window INTEGER NOT NULL, clerk TEXT NOT NULL, service TEXT NOT NULL,
        hour INTEGER NOT NULL, reason TEXT NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (day, window, clerk, service, hour, reason)
    ) WITHOUT ROWID;
    CREATE TABLE stats_dirty (day TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TRIGGER stats_dirty_event AFTER INSERT ON ticket_events
        BEGIN INSERT OR IGNORE INTO stats_dirty (day) VALUES (NEW.day); END;
    CREATE TRIGGER stats_dirty_rating AFTER INSERT ON ratings
        BEGIN INSERT OR IGNORE INTO stats_dirty (day) VALUES (NEW.day); END;
    CREATE TRIGGER stats_dirty_rating_update AFTER UPDATE ON ratings
        BEGIN INSERT OR IGNORE INTO stats_dirty (day) VALUES (OLD.day);
              INSERT OR IGNORE INTO stats_dirty (day) VALUES (NEW.day); END;
    INSERT OR IGNORE INTO stats_dirty (day) SELECT DISTINCT day FROM ticket_events;
    INSERT OR IGNORE INTO stats_dirty (day) SELECT DISTINCT day FROM ratings;
    """)


@summary()
def m002_stats_rollups(db: sqlite_utils.Database) -> None:
    cols = """hour INTEGER NOT NULL, window INTEGER NOT NULL, clerk TEXT NOT NULL,
        service TEXT NOT NULL, issued INTEGER NOT NULL DEFAULT 0, called INTEGER NOT NULL DEFAULT 0,
        served INTEGER NOT NULL DEFAULT 0, no_show INTEGER NOT NULL DEFAULT 0,
        transferred INTEGER NOT NULL DEFAULT 0, waits BLOB, services BLOB,
        r1 INTEGER NOT NULL DEFAULT 0, r2 INTEGER NOT NULL DEFAULT 0, r3 INTEGER NOT NULL DEFAULT 0,
        r4 INTEGER NOT NULL DEFAULT 0, r5 INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, window, clerk, service, hour)"""
    db.executescript(f"""
    -- day holds the month (YYYY-MM): whole past months merged, for long ranges
    CREATE TABLE stats_months (day TEXT NOT NULL, {cols}) WITHOUT ROWID;
    CREATE TABLE stats_month_done (month TEXT PRIMARY KEY) WITHOUT ROWID;
    -- one row per (day, service): figures by day over long ranges
    CREATE TABLE stats_daily (day TEXT NOT NULL, {cols}) WITHOUT ROWID;
    CREATE TRIGGER stats_dirty_month AFTER INSERT ON stats_dirty BEGIN
        DELETE FROM stats_months WHERE day = substr(NEW.day, 1, 7);
        DELETE FROM stats_month_done WHERE month = substr(NEW.day, 1, 7);
    END;
    """)
    conn = db.conn
    days = [r[0] for r in conn.execute("SELECT DISTINCT day FROM stats_cells")]
    for day in days:
        rows = conn.execute(f"SELECT {CELL_COLUMNS} FROM stats_cells WHERE day = ?", [day]).fetchall()
        conn.executemany(f"INSERT INTO stats_daily ({CELL_COLUMNS}) VALUES ({', '.join('?' * 17)})",
                         _rollup_daily(rows))


CELL_COLUMNS = ("day, hour, window, clerk, service, issued, called, served, no_show, transferred, "
                "waits, services, r1, r2, r3, r4, r5")


def _rollup_daily(rows: Iterable[tuple]) -> list[tuple]:
    """m002's own copy: merge summary rows per (day, service); counts add, packed times concatenate."""
    groups: dict = {}
    for r in rows:
        k = (r[0], -1, -1, "*", r[4])
        g = groups.get(k)
        if g is None:
            groups[k] = [*k, *r[5:10], [r[10]] if r[10] else [], [r[11]] if r[11] else [], *r[12:]]
            continue
        for i in range(5, 10):
            g[i] += r[i]
        if r[10]:
            g[10].append(r[10])
        if r[11]:
            g[11].append(r[11])
        for i in range(12, 17):
            g[i] += r[i]
    return [(*g[:10], b"".join(g[10]) or None, b"".join(g[11]) or None, *g[12:])
            for g in groups.values()]


# --- qrate-hall: running a real hall (epoch, expiry, devices) -------------------------

@hall()
def m001_hall_epoch_expiry_devices(db: sqlite_utils.Database) -> None:
    # The epoch tells this database's event log apart from another copy's (a restore
    # starts a new one); tokens expire; a kiosk may have its own printer.
    db.execute("INSERT OR IGNORE INTO settings (key, value) VALUES ('epoch', ?)",
               [secrets.token_hex(8)])
    db.executescript("""
    ALTER TABLE tokens ADD COLUMN expires_ts REAL;
    ALTER TABLE devices ADD COLUMN last_seen TEXT;
    ALTER TABLE devices ADD COLUMN printer TEXT;
    ALTER TABLE users ADD COLUMN disabled_at TEXT;
    """)


@citizens()
def m001_citizens(db: sqlite_utils.Database) -> None:
    """A bad rating's callback phone (kept apart, deleted after the case's retention) and
    the citizens' calls for a helper."""
    db.execute("""CREATE TABLE case_contacts (
        "case" INTEGER PRIMARY KEY REFERENCES rating_cases(id),
        phone TEXT NOT NULL,
        given_at TEXT NOT NULL)""")
    db.execute("""CREATE TABLE help_calls (
        id INTEGER PRIMARY KEY,
        device TEXT, kind TEXT, window INTEGER, place TEXT,
        asked_at TEXT NOT NULL, asked_ts REAL NOT NULL,
        acked_at TEXT, acked_ts REAL, acked_by TEXT)""")
    db.execute("CREATE INDEX help_calls_open ON help_calls (acked_ts, asked_ts)")
@hallconfig()
def m001_config_versions(db: sqlite_utils.Database) -> None:
    """The hall's configuration once it has started: every version (the last one stands),
    who made it and from where; and each public commitment's history (阳光政务)."""
    db.executescript("""
    CREATE TABLE config_versions (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        by TEXT NOT NULL,
        source TEXT NOT NULL,
        file_digest TEXT,
        body TEXT NOT NULL,
        seq INTEGER
    );
    CREATE TABLE commitments (
        id INTEGER PRIMARY KEY,
        employee_no TEXT NOT NULL,
        at TEXT NOT NULL,
        by TEXT NOT NULL,
        commitment TEXT NOT NULL,
        commitment_en TEXT NOT NULL
    );
    CREATE INDEX commitments_by_staff ON commitments (employee_no, id);
    CREATE TRIGGER config_versions_append_only BEFORE UPDATE ON config_versions
    BEGIN SELECT RAISE(ABORT, 'config_versions is append-only'); END;
    CREATE TRIGGER commitments_append_only BEFORE UPDATE ON commitments
    BEGIN SELECT RAISE(ABORT, 'commitments is append-only'); END;
    """)


@forward()
def m001_forward_state(db: sqlite_utils.Database) -> None:
    # How far the city has acknowledged this hall's log, per database epoch (a restore
    # starts a new one); start_seq: where that epoch's forwarding began.
    db.executescript("""
    CREATE TABLE forward_state (
        epoch INTEGER PRIMARY KEY,
        start_seq INTEGER NOT NULL DEFAULT 0,
        acked_seq INTEGER NOT NULL DEFAULT 0,
        updated_ts REAL NOT NULL DEFAULT 0,
        last_ok_ts REAL,
        last_error TEXT
    );
    """)


@appointments()
def m001_appointments(db: sqlite_utils.Database) -> None:
    # Tickets gain their mark (appointment), whether the holder has checked in (a phone's
    # remote ticket has not until the kiosk says so) and the time they queue by: the slot
    # start for an appointment, the issue time for everyone else (filled by a trigger,
    # so every writer, the history loader too, gets it).
    # Bookings keep the citizen's name, phone and ID digits until the retention ends
    # (then they are set to NULL); the notices table is the notifier's log.
    db.executescript("""
    ALTER TABLE tickets ADD COLUMN appointment INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tickets ADD COLUMN checked_in INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE tickets ADD COLUMN remote INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tickets ADD COLUMN queue_at TEXT;
    ALTER TABLE tickets ADD COLUMN queue_ts REAL;
    UPDATE tickets SET queue_at = issued_at, queue_ts = issued_ts;
    CREATE TRIGGER tickets_queue_ts AFTER INSERT ON tickets
        WHEN NEW.queue_ts IS NULL
        BEGIN UPDATE tickets SET queue_ts = NEW.issued_ts, queue_at = NEW.issued_at
              WHERE id = NEW.id; END;
    CREATE INDEX tickets_queue_at ON tickets(day, status, service, priority, checked_in, queue_ts,
                                             target_window);

    CREATE TABLE appointments (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        key TEXT NOT NULL UNIQUE,
        service TEXT NOT NULL,
        day TEXT NOT NULL,
        slot_at TEXT NOT NULL,
        slot_ts REAL NOT NULL,
        status TEXT NOT NULL,
        name TEXT,
        phone TEXT,
        id_last4 TEXT,
        source TEXT NOT NULL,
        device TEXT,
        created_at TEXT NOT NULL,
        checked_in_at TEXT,
        checked_in_ts REAL,
        cancelled_at TEXT,
        ticket INTEGER REFERENCES tickets(id),
        purged INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX appointments_slot ON appointments(service, slot_ts, status);
    CREATE INDEX appointments_day ON appointments(day, service);
    CREATE INDEX appointments_ticket ON appointments(ticket);

    CREATE TABLE notices (
        id INTEGER PRIMARY KEY,
        ticket INTEGER NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_ts REAL NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (ticket, kind)
    );
    CREATE INDEX notices_due ON notices(status, next_ts);
    """)


@assessment()
def m001_yearly_commitments(db: sqlite_utils.Database) -> None:
    # a clerk's yearly public commitment (公开承诺); a replaced one is kept (replaced_at)
    db.executescript("""
    CREATE TABLE yearly_commitments (
        id INTEGER PRIMARY KEY,
        staff TEXT NOT NULL,
        year INTEGER NOT NULL,
        text TEXT NOT NULL,
        text_en TEXT NOT NULL DEFAULT '',
        targets TEXT NOT NULL,
        made_at TEXT NOT NULL,
        made_by TEXT NOT NULL,
        replaced_at TEXT
    );
    CREATE INDEX yearly_commitments_year ON yearly_commitments(year, staff);
    """)


@assessment()
def m002_feedback(db: sqlite_utils.Database) -> None:
    # citizens' opinions and suggestions (群众沟通反馈) and the hall's reply
    db.executescript("""
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY,
        ticket INTEGER,
        source TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        phone TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        day TEXT NOT NULL,
        reply_due TEXT NOT NULL,
        reply TEXT,
        replied_at TEXT,
        replied_by TEXT
    );
    CREATE INDEX feedback_ticket ON feedback(ticket);
    CREATE INDEX feedback_day ON feedback(day);
    """)


@assessment()
def m003_training(db: sqlite_utils.Database) -> None:
    # training given (教育培训): who, which catalogue item, when
    db.executescript("""
    CREATE TABLE training_records (
        id INTEGER PRIMARY KEY,
        staff TEXT NOT NULL,
        item TEXT NOT NULL,
        day TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL
    );
    CREATE INDEX training_staff ON training_records(staff, day);
    """)


# -- qrate-caserating: a rating of a case (一次一评) may have no ticket -------------------

def _rebuild(conn, table: str, edits: list[tuple[str, str]]) -> None:
    """Rebuild ``table`` from its own CREATE statement with ``edits`` (old, new) applied:
    every row copied (same ids), its indexes and triggers made again. SQLite cannot drop a
    NOT NULL in place (https://www.sqlite.org/lang_altertable.html#otheralter); the caller
    holds the transaction with foreign keys off."""
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                       [table]).fetchone()[0]
    for old, new in edits:
        if old not in sql:
            raise RuntimeError(f"{table}: expected {old!r} in its definition")
        sql = sql.replace(old, new, 1)
    extras = [r[0] for r in conn.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL ORDER BY rowid", [table])]
    columns = ", ".join(f'"{r[1]}"' for r in conn.execute(f'PRAGMA table_info("{table}")'))
    new_name = f"{table}__new"
    conn.execute(sql.replace(f"CREATE TABLE {table} ", f'CREATE TABLE "{new_name}" ', 1)
                 if f"CREATE TABLE {table} " in sql else
                 sql.replace(f'CREATE TABLE "{table}"', f'CREATE TABLE "{new_name}"', 1))
    conn.execute(f'INSERT INTO "{new_name}" ({columns}) SELECT {columns} FROM "{table}"')
    conn.execute(f'DROP TABLE "{table}"')
    conn.execute(f'ALTER TABLE "{new_name}" RENAME TO "{table}"')
    for extra in extras:
        conn.execute(extra)


@caserating(transactional=False)
def m001_case_ratings(db: sqlite_utils.Database) -> None:
    """ratings.ticket and rating_cases.ticket/number become nullable (a case rated without a
    ticket); ratings gain case_no, matter_code, matter_name, dimensions (JSON) and
    content_version; rating_requests keeps each request of the window's business system;
    evaluation_contents each version of the evaluation content (append-only).

    Not transactional in sqlite-utils' sense: foreign keys must be off to rebuild a table
    that others reference, and that pragma is ignored inside a transaction, so this runs its
    own one. It is safe to run twice (a crash before sqlite-utils records it)."""
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    conn.execute("PRAGMA foreign_keys=OFF")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            have = {r[1] for r in conn.execute("PRAGMA table_info(ratings)")}
            if "case_no" not in have:
                legacy = conn.execute("PRAGMA legacy_alter_table").fetchone()[0]
                conn.execute("PRAGMA legacy_alter_table=ON")  # other tables' references stay by name
                _rebuild(conn, "ratings", [
                    ("ticket INTEGER NOT NULL UNIQUE REFERENCES tickets(id)",
                     "ticket INTEGER UNIQUE REFERENCES tickets(id)")])
                _rebuild(conn, "rating_cases", [
                    ("ticket INTEGER NOT NULL REFERENCES tickets(id)", "ticket INTEGER REFERENCES tickets(id)"),
                    ("number TEXT NOT NULL", "number TEXT")])
                conn.execute(f"PRAGMA legacy_alter_table={int(legacy)}")
                for column in ("case_no TEXT", "matter_code TEXT", "matter_name TEXT",
                               "dimensions TEXT", "content_version TEXT"):
                    conn.execute(f"ALTER TABLE ratings ADD COLUMN {column}")
                conn.execute("CREATE INDEX ratings_case_no ON ratings(case_no) WHERE case_no IS NOT NULL")
                conn.execute("ALTER TABLE rating_cases ADD COLUMN case_no TEXT")
            conn.execute("""CREATE TABLE IF NOT EXISTS rating_requests (
                id INTEGER PRIMARY KEY,
                window INTEGER NOT NULL,
                case_no TEXT NOT NULL,
                matter_code TEXT NOT NULL,
                matter_name TEXT NOT NULL,
                ticket INTEGER REFERENCES tickets(id),
                by TEXT NOT NULL,
                requested_at TEXT NOT NULL,
                ts REAL NOT NULL,
                expires_ts REAL NOT NULL,
                rating INTEGER REFERENCES ratings(id),
                seq INTEGER
            )""")
            conn.execute("CREATE INDEX IF NOT EXISTS rating_requests_window ON rating_requests(window, id)")
            conn.execute("""CREATE TABLE IF NOT EXISTS evaluation_contents (
                version TEXT PRIMARY KEY,
                valid_from TEXT NOT NULL,
                body TEXT NOT NULL,
                stored_at TEXT NOT NULL
            )""")
            conn.execute("""CREATE TRIGGER IF NOT EXISTS evaluation_contents_append_only
                BEFORE UPDATE ON evaluation_contents
                BEGIN SELECT RAISE(ABORT, 'evaluation_contents is append-only: a change is a new version'); END""")
            broken = [r for t in ("ratings", "rating_cases", "case_notes", "rating_requests")
                      for r in conn.execute(f"PRAGMA foreign_key_check({t})").fetchall()]
            if broken:
                raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:5]}")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    finally:
        conn.execute("PRAGMA foreign_keys=ON")


@appointments2()
def m001_notice_attempt_time(db: sqlite_utils.Database) -> None:
    # the notice log (/manage/notices) shows when the last attempt was made
    db.execute("ALTER TABLE notices ADD COLUMN tried_at TEXT")


# --- qrate-devices: printers per kiosk (docs/printing.md, "Printers per kiosk") --------

@kiosk_devices()
def m001_print_job_printer(db: sqlite_utils.Database) -> None:
    # A ticket prints at the kiosk that issued it: the job names its printer (the kiosk's
    # device name, or 'default' for [printer] url); each printer's spool reads its own.
    db.executescript("""
    ALTER TABLE print_jobs ADD COLUMN printer TEXT NOT NULL DEFAULT 'default';
    CREATE INDEX print_jobs_printer ON print_jobs(printer, status, next_try_ts);
    """)


# --- qrate-configops: what `qrate config import` / `qrate user disable` ask a running server ---

@configops()
def m001_hall_requests(db: sqlite_utils.Database) -> None:
    """A mailbox: a CLI command posts a request while the hall is served; the server takes
    it within a second, applies it as its own change and writes the answer back."""
    db.executescript("""
    CREATE TABLE hall_requests (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        by TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        answer TEXT,
        answered_at TEXT
    );
    CREATE INDEX hall_requests_state ON hall_requests (state, id);
    """)


@citizens2()
def m001_user_language(db: sqlite_utils.Database) -> None:
    """A clerk may choose the language of their own console (NULL: the hall's)."""
    db.execute("ALTER TABLE users ADD COLUMN language TEXT")
