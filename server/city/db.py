"""The city's PostgreSQL: schema migrations, the one connection pool, and every write.

psycopg 3 with psycopg_pool, plain SQL (docs/city.md says why no ORM). Each
migration runs once, in order, in its own transaction, recorded in
``city_migrations``; a released migration never changes.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Optional

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from werkzeug.security import check_password_hash, generate_password_hash

from ..engine import N_
from . import summary

ROLES = ("manager",)

MIGRATIONS: list[tuple[str, str]] = [
    ("m001_city", """
    CREATE TABLE halls (
        hall_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        tz TEXT NOT NULL DEFAULT 'Asia/Shanghai',
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        last_seen TIMESTAMPTZ
    );
    CREATE TABLE city_users (
        employee_no TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE city_tokens (
        hash TEXT PRIMARY KEY,
        employee_no TEXT NOT NULL REFERENCES city_users(employee_no),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    -- each hall's event log as it came: one row per (hall, epoch, seq), never changed
    CREATE TABLE events (
        hall_id TEXT NOT NULL REFERENCES halls(hall_id),
        epoch INTEGER NOT NULL,
        seq BIGINT NOT NULL,
        type TEXT NOT NULL,
        at TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        day DATE NOT NULL,
        ticket BIGINT,
        "window" INTEGER,
        clerk TEXT,
        service TEXT,
        data JSONB NOT NULL,
        received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (hall_id, epoch, seq)
    );
    CREATE INDEX events_day ON events (day, type, hall_id);
    -- how far each (hall, epoch) has come without a gap
    CREATE TABLE hall_progress (
        hall_id TEXT NOT NULL REFERENCES halls(hall_id),
        epoch INTEGER NOT NULL,
        acked_seq BIGINT NOT NULL DEFAULT 0,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (hall_id, epoch)
    );
    -- the ratings and follow-up cases the events carry, as of the newest event about them
    CREATE TABLE ratings (
        hall_id TEXT NOT NULL, epoch INTEGER NOT NULL, rating_id BIGINT NOT NULL,
        ticket BIGINT, score INTEGER NOT NULL, reasons JSONB NOT NULL, comment TEXT NOT NULL,
        "window" INTEGER, clerk TEXT, service TEXT, day DATE NOT NULL, source TEXT,
        created_at TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL,
        excluded BOOLEAN NOT NULL DEFAULT false, exclude_reason TEXT,
        extra JSONB NOT NULL DEFAULT '{}',
        seq BIGINT NOT NULL,
        PRIMARY KEY (hall_id, epoch, rating_id)
    );
    CREATE INDEX ratings_day ON ratings (day, hall_id);
    CREATE TABLE cases (
        hall_id TEXT NOT NULL, epoch INTEGER NOT NULL, case_id BIGINT NOT NULL,
        rating_id BIGINT NOT NULL, "window" INTEGER, clerk TEXT, service TEXT,
        opened_at TIMESTAMPTZ NOT NULL, callback_due TIMESTAMPTZ, callback_done_at TIMESTAMPTZ,
        rectify_due TIMESTAMPTZ, rectified_at TIMESTAMPTZ, replied_at TIMESTAMPTZ,
        reply_due TIMESTAMPTZ, rerating_score INTEGER, status TEXT,
        excluded BOOLEAN NOT NULL DEFAULT false,
        seq BIGINT NOT NULL,
        PRIMARY KEY (hall_id, epoch, case_id)
    );
    """),
    ("m002_feed", """
    -- the province's 好差评 feed: every change of a rating (or of its case) takes the next
    -- feed_seq; an export sends what is newer than the last export's mark
    CREATE SEQUENCE ratings_feed_seq;
    ALTER TABLE ratings ADD COLUMN feed_seq BIGINT NOT NULL DEFAULT nextval('ratings_feed_seq');
    CREATE INDEX ratings_feed ON ratings (feed_seq);
    CREATE TABLE feed_exports (
        id SERIAL PRIMARY KEY,
        exported_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        after_seq BIGINT NOT NULL,
        through_seq BIGINT NOT NULL,
        ratings INTEGER NOT NULL,
        format TEXT NOT NULL
    );
    """),
    ("m003_event_times", """
    -- the figures' inputs, made once when an event is stored instead of at every query:
    -- a leg's wait and a service time in integer milliseconds (as the hall's summary makes
    -- them: round(seconds * 1000), ties to even), and the service a leg counts to
    ALTER TABLE events
        ADD COLUMN wait_ms BIGINT GENERATED ALWAYS AS (
            CASE WHEN type = 'ticket.called' AND coalesce(data->>'how', '') <> 'callback'
                 THEN round(coalesce((data->>'wait_s')::float8, 0) * 1000)::bigint END) STORED,
        ADD COLUMN service_ms BIGINT GENERATED ALWAYS AS (
            CASE WHEN type = 'ticket.finished'
                 THEN round(coalesce((data->>'service_s')::float8, 0) * 1000)::bigint END) STORED,
        ADD COLUMN leg_service TEXT GENERATED ALWAYS AS (
            coalesce(CASE WHEN type = 'ticket.transferred'
                          THEN nullif(data->>'from_service', '') END, service, '')) STORED;
    """),
    ("m004_partitions", """
    -- the events table partitioned by month of the hall day (declarative range
    -- partitioning): a query over a month reads its own partition, an old month can be
    -- detached or dropped whole; city_ensure_month makes a month's partition before the
    -- first event of that month arrives (the intake and the service's start call it)
    ALTER TABLE events RENAME TO events_unpartitioned;
    ALTER INDEX events_day RENAME TO events_unpartitioned_day;
    ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_pkey TO events_unpartitioned_pkey;
    CREATE TABLE events (
        hall_id TEXT NOT NULL REFERENCES halls(hall_id),
        epoch INTEGER NOT NULL,
        seq BIGINT NOT NULL,
        type TEXT NOT NULL,
        at TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        day DATE NOT NULL,
        ticket BIGINT,
        "window" INTEGER,
        clerk TEXT,
        service TEXT,
        data JSONB NOT NULL,
        received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        wait_ms BIGINT GENERATED ALWAYS AS (
            CASE WHEN type = 'ticket.called' AND coalesce(data->>'how', '') <> 'callback'
                 THEN round(coalesce((data->>'wait_s')::float8, 0) * 1000)::bigint END) STORED,
        service_ms BIGINT GENERATED ALWAYS AS (
            CASE WHEN type = 'ticket.finished'
                 THEN round(coalesce((data->>'service_s')::float8, 0) * 1000)::bigint END) STORED,
        leg_service TEXT GENERATED ALWAYS AS (
            coalesce(CASE WHEN type = 'ticket.transferred'
                          THEN nullif(data->>'from_service', '') END, service, '')) STORED,
        -- the partition key is part of the key; an event's day never changes, so
        -- (hall, epoch, seq) stays unique
        PRIMARY KEY (hall_id, epoch, seq, day)
    ) PARTITION BY RANGE (day);
    CREATE INDEX events_day ON events (day, type, hall_id);
    CREATE FUNCTION city_ensure_month(d DATE) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
    DECLARE
        first DATE := date_trunc('month', d)::date;
        name TEXT := 'events_' || to_char(first, 'YYYYMM');
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('city_ensure_month'));
        IF to_regclass(name) IS NOT NULL THEN
            RETURN false;
        END IF;
        EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                       name, first, (first + interval '1 month')::date);
        RETURN true;
    END $$;
    SELECT city_ensure_month(m) FROM (SELECT DISTINCT date_trunc('month', day)::date AS m
                                      FROM events_unpartitioned) AS x;
    INSERT INTO events (hall_id, epoch, seq, type, at, ts, day, ticket, "window", clerk,
                        service, data, received_at)
        SELECT hall_id, epoch, seq, type, at, ts, day, ticket, "window", clerk, service, data,
               received_at FROM events_unpartitioned;
    DROP TABLE events_unpartitioned;
    """),
    ("m005_summary", summary.SCHEMA),
    ("m005_summary_fill", lambda conn: summary.rebuild(conn)),
    ("m_promises_hall_configs", """
    -- "promises kept" (docs/city.md): the part of each hall's configuration the figures
    -- need (targets per service, the reason-tag map), as in force from (epoch, seq) on
    CREATE TABLE hall_configs (
        hall_id TEXT NOT NULL REFERENCES halls(hall_id),
        epoch INTEGER NOT NULL,
        seq BIGINT NOT NULL,
        promises JSONB NOT NULL,
        received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (hall_id, epoch, seq)
    );
    """),
    ("m006_promises", summary.PROMISE_SCHEMA),
    ("m006_promises_fill", lambda conn: summary.rebuild_promises(conn)),
    ("m007_ratings_partitions", """
    -- ratings partitioned by month of the hall day like the events (docs/city.md "Monthly
    -- partitions"): the rows of an older database moved across; a rating's day never changes,
    -- so (hall, epoch, rating_id) stays unique with the day in the key
    ALTER TABLE ratings RENAME TO ratings_unpartitioned;
    ALTER INDEX ratings_day RENAME TO ratings_unpartitioned_day;
    ALTER INDEX ratings_feed RENAME TO ratings_unpartitioned_feed;
    ALTER TABLE ratings_unpartitioned RENAME CONSTRAINT ratings_pkey TO ratings_unpartitioned_pkey;
    CREATE TABLE ratings (
        hall_id TEXT NOT NULL, epoch INTEGER NOT NULL, rating_id BIGINT NOT NULL,
        ticket BIGINT, score INTEGER NOT NULL, reasons JSONB NOT NULL, comment TEXT NOT NULL,
        "window" INTEGER, clerk TEXT, service TEXT, day DATE NOT NULL, source TEXT,
        created_at TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL,
        excluded BOOLEAN NOT NULL DEFAULT false, exclude_reason TEXT,
        extra JSONB NOT NULL DEFAULT '{}',
        seq BIGINT NOT NULL,
        feed_seq BIGINT NOT NULL DEFAULT nextval('ratings_feed_seq'),
        PRIMARY KEY (hall_id, epoch, rating_id, day)
    ) PARTITION BY RANGE (day);
    CREATE INDEX ratings_day ON ratings (day, hall_id);
    CREATE INDEX ratings_feed ON ratings (feed_seq);
    -- a month's partition of a partitioned table (events or ratings), made once
    CREATE FUNCTION city_ensure_partition(parent TEXT, d DATE) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
    DECLARE
        first DATE := date_trunc('month', d)::date;
        name TEXT := parent || '_' || to_char(first, 'YYYYMM');
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('city_ensure_month'));
        IF to_regclass(name) IS NOT NULL THEN
            RETURN false;
        END IF;
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                       name, parent, first, (first + interval '1 month')::date);
        RETURN true;
    END $$;
    SELECT city_ensure_partition('ratings', m) FROM (SELECT DISTINCT date_trunc('month', day)::date AS m
                                                     FROM ratings_unpartitioned) AS x;
    INSERT INTO ratings SELECT * FROM ratings_unpartitioned;
    DROP TABLE ratings_unpartitioned;
    """),
]

PARTITIONED = ("events", "ratings")  # by month of the hall day

MONTHS_AHEAD = 2  # partitions exist for this month and the next two before any event needs them


class CityError(Exception):
    """A refusal with a status, a code and a message id with its parameters
    (translated into the JSON error at the edge)."""

    def __init__(self, status: int, code: str, message: str, **params):
        super().__init__(message % params if params else message)
        self.status, self.code, self.message, self.params = status, code, message, params


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply the migrations not yet applied; returns their names."""
    done_now = []
    with conn.transaction():
        conn.execute("CREATE TABLE IF NOT EXISTS city_migrations "
                     "(name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
    for name, sql in MIGRATIONS:
        with conn.transaction():
            conn.execute("LOCK TABLE city_migrations IN EXCLUSIVE MODE")
            if conn.execute("SELECT 1 FROM city_migrations WHERE name = %s", [name]).fetchone():
                continue
            if callable(sql):
                sql(conn)
            else:
                conn.execute(sql)
            conn.execute("INSERT INTO city_migrations (name) VALUES (%s)", [name])
            done_now.append(name)
    return done_now


def connect(url: str) -> psycopg.Connection:
    """One connection (the CLI's), migrated, with the months ahead partitioned."""
    conn = psycopg.connect(url, autocommit=True)
    migrate(conn)
    ensure_months(conn, [date.today()])
    return conn


_months_made: set[tuple] = set()


def ensure_months(conn, days: Iterable, ahead: int = MONTHS_AHEAD) -> None:
    """Make sure the events table has the partitions of these days' months, and of this
    month and the ``ahead`` after it (each in its own short transaction, before a batch's
    own transaction, so the intake never waits on one). Remembered per database."""
    where = (conn.info.host, conn.info.port, conn.info.dbname)
    today = date.today().replace(day=1)
    months = {summary.month_of(d) for d in days}
    for _ in range(ahead + 1):
        months.add(today)
        today = (today + timedelta(days=32)).replace(day=1)
    for m in sorted(months):
        if (where, m) in _months_made:
            continue
        with conn.transaction():
            conn.execute("SELECT city_ensure_partition(t, %s) FROM unnest(%s::text[]) AS t",
                         [m, list(PARTITIONED)])
        _months_made.add((where, m))


def partitions(conn, table: str = "events") -> list[str]:
    """A partitioned table's (attached) partitions, oldest first."""
    return [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass ORDER BY c.relname", [table]).fetchall()]


def partition_list(conn) -> list[dict]:
    """Every month's partition of events and ratings, attached or detached (by
    ``detach_before``: renamed ``…_detached``), with its rows (the planner's estimate) and size."""
    rows = conn.execute(r"""
        SELECT c.relname, p.relname IS NOT NULL, c.reltuples::bigint, pg_total_relation_size(c.oid)
        FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
        LEFT JOIN pg_class p ON p.oid = i.inhparent
        WHERE c.relkind = 'r' AND c.relname ~ '^(events|ratings)_[0-9]{6}(_detached[0-9]*)?$'
        ORDER BY c.relname""").fetchall()
    out = []
    for name, attached, tuples, size in rows:
        table, month = name.split("_")[:2]
        out.append({"table": table, "month": f"{month[:4]}-{month[4:]}", "name": name,
                    "attached": bool(attached), "rows": max(0, int(tuples)), "bytes": int(size)})
    return out


KEEP_MONTHS = 3  # the newest months never detached: appeals and follow-ups still change them


def detach_before(conn, month: str, today: Optional[date] = None) -> list[str]:
    """Detach (never drop) the events and ratings partitions of the months before ``month``
    (YYYY-MM); each is renamed ``…_detached`` and stays in the database until an operator
    drops or archives it. The per-day summary keeps their figures. Refuses months within the
    last KEEP_MONTHS."""
    try:
        if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit():
            raise ValueError(month)
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise CityError(422, "bad_month", N_("A month is written YYYY-MM, e.g. 2025-01."))
    limit = (today or date.today()).replace(day=1)
    for _ in range(KEEP_MONTHS):
        limit = (limit - timedelta(days=1)).replace(day=1)
    if first > limit:
        raise CityError(422, "too_recent", N_("Only months before %(month)s can be detached "
                                              "(the last %(n)s months stay)."),
                        month=limit.strftime("%Y-%m"), n=KEEP_MONTHS)
    done = []
    for table in PARTITIONED:
        for name in partitions(conn, table):
            if name[len(table) + 1:] >= first.strftime("%Y%m"):
                continue
            new = name + "_detached"
            k = 1
            while conn.execute("SELECT to_regclass(%s)", [new]).fetchone()[0] is not None:
                k += 1
                new = f"{name}_detached{k}"
            with conn.transaction():
                conn.execute(f'ALTER TABLE "{table}" DETACH PARTITION "{name}"')
                conn.execute(f'ALTER TABLE "{name}" RENAME TO "{new}"')
            done.append(new)
    # a late event of a detached month gets a new, empty partition when it arrives
    _months_made.clear()
    return done


def open_pool(url: str, max_size: int = 8) -> ConnectionPool:
    """The service's one pool, after migrating."""
    with connect(url):
        pass
    pool = ConnectionPool(url, min_size=1, max_size=max_size, open=False,
                          kwargs={"autocommit": True})
    pool.open(wait=True, timeout=30)
    return pool


# --- halls and users ----------------------------------------------------------------

def add_hall(conn, name: str, hall_id: Optional[str] = None) -> tuple[str, str]:
    """Register a hall; returns (hall_id, token). The token is shown once."""
    raw = secrets.token_urlsafe(32)
    with conn.transaction():
        if hall_id is None:
            n = conn.execute("SELECT count(*) FROM halls").fetchone()[0] + 1
            hall_id = f"H{n:03d}"
            while conn.execute("SELECT 1 FROM halls WHERE hall_id = %s", [hall_id]).fetchone():
                n += 1
                hall_id = f"H{n:03d}"
        elif conn.execute("SELECT 1 FROM halls WHERE hall_id = %s", [hall_id]).fetchone():
            raise CityError(409, "hall_exists", N_("Hall %(hall)s exists already."), hall=hall_id)
        conn.execute("INSERT INTO halls (hall_id, name, token_hash) VALUES (%s, %s, %s)",
                     [hall_id, name, token_hash(raw)])
    return hall_id, raw


def hall_of_token(conn, raw: Optional[str]) -> Optional[str]:
    if not raw or len(raw) > 200:
        return None
    row = conn.execute("SELECT hall_id FROM halls WHERE token_hash = %s", [token_hash(raw)]).fetchone()
    return row[0] if row else None


def halls(conn) -> list[dict]:
    rows = conn.execute("SELECT h.hall_id, h.name, h.tz, h.last_seen, "
                        "coalesce((SELECT max(acked_seq) FROM hall_progress p "
                        "WHERE p.hall_id = h.hall_id), 0) FROM halls h ORDER BY h.hall_id").fetchall()
    return [{"hall_id": r[0], "name": r[1], "tz": r[2],
             "last_seen": r[3].isoformat() if r[3] else None, "acked_seq": r[4]} for r in rows]


def add_user(conn, employee_no: str, role: str, password: str, name: str = "") -> None:
    if role not in ROLES:
        raise CityError(422, "bad_role", N_("The role must be one of: %(roles)s."), roles=", ".join(ROLES))
    with conn.transaction():
        if conn.execute("SELECT 1 FROM city_users WHERE employee_no = %s", [employee_no]).fetchone():
            raise CityError(409, "user_exists", N_("Employee number %(employee_no)s already has an account."), employee_no=employee_no)
        conn.execute("INSERT INTO city_users (employee_no, name, role, password_hash) "
                     "VALUES (%s, %s, %s, %s)",
                     [employee_no, name or employee_no, role, generate_password_hash(password)])


def login(conn, employee_no: str, password: str) -> dict:
    row = conn.execute("SELECT employee_no, name, role, password_hash FROM city_users "
                       "WHERE employee_no = %s", [employee_no]).fetchone()
    if row is None or not check_password_hash(row[3], password):
        raise CityError(401, "bad_login", N_("Wrong employee number or password."))
    raw = secrets.token_urlsafe(32)
    conn.execute("INSERT INTO city_tokens (hash, employee_no) VALUES (%s, %s)",
                 [token_hash(raw), row[0]])
    return {"token": raw, "user": {"employee_no": row[0], "name": row[1], "role": row[2]}}


def user_of_token(conn, raw: Optional[str]) -> Optional[dict]:
    if not raw or len(raw) > 200:
        return None
    row = conn.execute("SELECT u.employee_no, u.name, u.role FROM city_tokens t "
                       "JOIN city_users u USING (employee_no) WHERE t.hash = %s",
                       [token_hash(raw)]).fetchone()
    return {"employee_no": row[0], "name": row[1], "role": row[2]} if row else None


# --- ingest ---------------------------------------------------------------------------

def _ts(text) -> Optional[datetime]:
    if not text:
        return None
    value = datetime.fromisoformat(str(text))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def ingest(conn, hall_id: str, epoch: int, after: int, events: list[dict],
           tz: Optional[str] = None) -> dict:
    """Store a batch (``_ingest``); when a month's partition was detached meanwhile (by
    `qrate city partitions --detach-before` in another process), make it again and retry."""
    try:
        return _ingest(conn, hall_id, epoch, after, events, tz)
    except psycopg.errors.CheckViolation:  # "no partition of relation … found for row"
        # (any other check violation fails again below, and is raised)
        where = (conn.info.host, conn.info.port, conn.info.dbname)
        for key in [k for k in _months_made if k[0] == where]:
            _months_made.discard(key)
        return _ingest(conn, hall_id, epoch, after, events, tz)


def _ingest(conn, hall_id: str, epoch: int, after: int, events: list[dict],
            tz: Optional[str] = None) -> dict:
    """Store a batch of one hall's events (seq order, following ``after``) in one transaction.

    Idempotent: a (hall, epoch, seq) already stored is left as it is. A batch that does not
    follow what the city holds (after > acked) changes nothing and says where to resume:
    {"ack": n, "gap": true}. Otherwise {"ack": the new acknowledged seq, "stored": new rows}."""
    ensure_months(conn, {e["day"] for e in events}
                  | {e["rating"]["day"] for e in events if isinstance(e.get("rating"), dict)
                     and e["rating"].get("day")})
    with conn.transaction():
        conn.execute("INSERT INTO hall_progress (hall_id, epoch) VALUES (%s, %s) "
                     "ON CONFLICT DO NOTHING", [hall_id, epoch])
        acked = conn.execute("SELECT acked_seq FROM hall_progress WHERE hall_id = %s AND epoch = %s "
                             "FOR UPDATE", [hall_id, epoch]).fetchone()[0]
        conn.execute("UPDATE halls SET last_seen = now()" + (", tz = %s" if tz else "") +
                     " WHERE hall_id = %s", ([tz] if tz else []) + [hall_id])
        if after > acked:
            return {"ack": acked, "gap": True, "stored": 0}
        last = after
        for e in events:
            seq = int(e["seq"])
            if seq <= last:
                raise CityError(422, "bad_batch", N_("Events must come in rising seq order."))
            last = seq
        fresh = [e for e in events if int(e["seq"]) > acked]
        stored = 0
        if fresh:
            delta = summary.Delta()
            # the summary takes exactly the rows this INSERT stored (RETURNING), so a batch
            # sent again adds nothing to it
            new_rows = conn.execute(EVENTS_INSERT, {
                "hall": hall_id, "epoch": epoch,
                "seq": [int(e["seq"]) for e in fresh], "type": [e["type"] for e in fresh],
                "at": [e["at"] for e in fresh], "ts": [float(e["ts"]) for e in fresh],
                "day": [e["day"] for e in fresh], "ticket": [e.get("ticket") for e in fresh],
                "window": [e.get("window") for e in fresh], "clerk": [e.get("clerk") for e in fresh],
                "service": [e.get("service") for e in fresh],
                "data": [Jsonb(e.get("data") or {}) for e in fresh]}).fetchall()
            # promises kept: each wait and service time judged by the targets in force at
            # its seq (the configurations this batch carries are stored first)
            for e in fresh:
                if isinstance(e.get("config"), dict):
                    _put_config(conn, hall_id, epoch, e["config"])
            judge = summary.Judge.load(conn, hall_id, epoch) if new_rows else None
            for row in new_rows:
                delta.event(*row[:8])
                delta.promise(*row[:8], judge.limits(hall_id, epoch, row[8], row[5]))
            stored = len(new_rows)
            # ratings go in by runs, in bulk; a case flushes the run before it, so the feed's
            # order (feed_seq: each rating's latest change) follows the log's order
            newest: dict[int, tuple] = {}
            for e in fresh:
                if e.get("rating"):
                    newest[int(e["rating"]["id"])] = (int(e["seq"]), e["rating"])
                if e.get("case"):
                    _put_ratings(conn, hall_id, epoch, list(newest.values()), delta)
                    newest.clear()
                    _put_case(conn, hall_id, epoch, int(e["seq"]), e["case"])
            _put_ratings(conn, hall_id, epoch, list(newest.values()), delta)
            delta.write(conn)
        new_ack = max(acked, last)
        conn.execute("UPDATE hall_progress SET acked_seq = %s, updated_at = now() "
                     "WHERE hall_id = %s AND epoch = %s", [new_ack, hall_id, epoch])
        return {"ack": new_ack, "gap": False, "stored": stored}


EVENTS_INSERT = """
INSERT INTO events (hall_id, epoch, seq, type, at, ts, day, ticket, "window", clerk, service, data)
SELECT %(hall)s, %(epoch)s, * FROM unnest(%(seq)s::bigint[], %(type)s::text[], %(at)s::text[],
    %(ts)s::float8[], %(day)s::date[], %(ticket)s::bigint[], %(window)s::int[], %(clerk)s::text[],
    %(service)s::text[], %(data)s::jsonb[])
ON CONFLICT DO NOTHING
RETURNING hall_id, day, "window", clerk, type, leg_service, wait_ms, service_ms, seq
"""

RATING_EXTRA = ("case_no", "matter_code", "matter_name", "dimensions", "content_version",
                "channel", "device", "national_reasons")

RATINGS_UPSERT = """
WITH src AS (
    SELECT * FROM unnest(%(id)s::bigint[], %(ticket)s::bigint[], %(score)s::int[],
        %(reasons)s::jsonb[], %(comment)s::text[], %(window)s::int[], %(clerk)s::text[],
        %(service)s::text[], %(day)s::date[], %(source)s::text[], %(created_at)s::text[],
        %(ts)s::float8[], %(excluded)s::bool[], %(exclude_reason)s::text[], %(extra)s::jsonb[],
        %(seq)s::bigint[])
    AS s(rating_id, ticket, score, reasons, comment, "window", clerk, service, day, source,
         created_at, ts, excluded, exclude_reason, extra, seq)
), old AS (
    SELECT rating_id, excluded FROM ratings
    WHERE hall_id = %(hall)s AND epoch = %(epoch)s AND rating_id IN (SELECT rating_id FROM src)
), up AS (
    INSERT INTO ratings (hall_id, epoch, rating_id, ticket, score, reasons, comment, "window",
                         clerk, service, day, source, created_at, ts, excluded, exclude_reason,
                         extra, seq)
    SELECT %(hall)s, %(epoch)s, * FROM src
    ON CONFLICT (hall_id, epoch, rating_id, day) DO UPDATE SET excluded = EXCLUDED.excluded,
        exclude_reason = EXCLUDED.exclude_reason, seq = EXCLUDED.seq,
        feed_seq = nextval('ratings_feed_seq') WHERE ratings.seq < EXCLUDED.seq
    RETURNING rating_id, excluded, day, "window", clerk, service, score, ticket IS NOT NULL,
        reasons, extra->'national_reasons'
)
SELECT up.*, old.excluded FROM up LEFT JOIN old USING (rating_id)
"""


def _put_ratings(conn, hall_id, epoch, items: list[tuple[int, dict]], delta) -> None:
    """Store the newest state of each rating a batch carries (one row per rating, kept
    if newer by seq), and tell the summary which ratings start or stop counting."""
    if not items:
        return
    cols: dict[str, list] = {k: [] for k in ("id", "ticket", "score", "reasons", "comment",
                                             "window", "clerk", "service", "day", "source",
                                             "created_at", "ts", "excluded", "exclude_reason",
                                             "extra", "seq")}
    for seq, r in items:
        reasons = r.get("reasons") or []
        if isinstance(reasons, str):
            reasons = json.loads(reasons or "[]")
        cols["id"].append(int(r["id"]))
        cols["ticket"].append(r.get("ticket"))
        cols["score"].append(int(r["score"]))
        cols["reasons"].append(Jsonb(reasons))
        cols["comment"].append(r.get("comment") or "")
        cols["window"].append(r.get("window"))
        cols["clerk"].append(r.get("clerk"))
        cols["service"].append(r.get("service"))
        cols["day"].append(r["day"])
        cols["source"].append(r.get("source"))
        cols["created_at"].append(r["created_at"])
        cols["ts"].append(float(r["ts"]))
        cols["excluded"].append(bool(r.get("excluded")))
        cols["exclude_reason"].append(r.get("exclude_reason"))
        cols["extra"].append(Jsonb({k: r[k] for k in RATING_EXTRA if r.get(k) is not None}))
        cols["seq"].append(seq)
    for (_, excluded, day, window, clerk, service, score, tied, reasons, national,
         was_excluded) in conn.execute(RATINGS_UPSERT, {"hall": hall_id, "epoch": epoch,
                                                        **cols}).fetchall():
        sign = (0 if excluded else 1) - (0 if was_excluded is None or was_excluded else 1)
        if sign:
            delta.rating(hall_id, day, window, clerk, service, score, tied, sign,
                         reasons=reasons, national=national)


def _put_config(conn, hall_id, epoch, config: dict) -> None:
    """The configuration in force from (epoch, seq) on; the first copy of a seq stands."""
    conn.execute("INSERT INTO hall_configs (hall_id, epoch, seq, promises) VALUES (%s, %s, %s, %s) "
                 "ON CONFLICT DO NOTHING",
                 [hall_id, epoch, int(config.get("seq") or 0), Jsonb(config.get("promises") or {})])


CASE_TIMES = ("opened_at", "callback_due", "callback_done_at", "rectify_due", "rectified_at",
              "replied_at", "reply_due")


def _put_case(conn, hall_id, epoch, seq, c: dict) -> None:
    times = [_ts(c.get(k)) for k in CASE_TIMES]
    conn.execute(
        'INSERT INTO cases (hall_id, epoch, case_id, rating_id, "window", clerk, service, '
        + ", ".join(CASE_TIMES) + ", rerating_score, status, excluded, seq) VALUES ("
        + ", ".join(["%s"] * (7 + len(CASE_TIMES) + 4)) + ") "
        "ON CONFLICT (hall_id, epoch, case_id) DO UPDATE SET "
        + ", ".join(f"{k} = EXCLUDED.{k}" for k in CASE_TIMES)
        + ", rerating_score = EXCLUDED.rerating_score, status = EXCLUDED.status, "
        "excluded = EXCLUDED.excluded, seq = EXCLUDED.seq WHERE cases.seq < EXCLUDED.seq",
        [hall_id, epoch, int(c["id"]), int(c["rating"]), c.get("window"), c.get("clerk"),
         c.get("service"), *times, c.get("rerating_score"), c.get("status"),
         bool(c.get("excluded")), seq])
    # the rating's follow-up changed: it goes into the next feed export again
    conn.execute("UPDATE ratings SET feed_seq = nextval('ratings_feed_seq') "
                 "WHERE hall_id = %s AND epoch = %s AND rating_id = %s",
                 [hall_id, epoch, int(c["rating"])])


def progress(conn, hall_id: str) -> list[dict]:
    rows = conn.execute("SELECT epoch, acked_seq FROM hall_progress WHERE hall_id = %s "
                        "ORDER BY epoch", [hall_id]).fetchall()
    return [{"epoch": r[0], "ack": r[1]} for r in rows]


def counts(conn, hall_id: Optional[str] = None) -> dict:
    """Stored rows per table (tests and the bench)."""
    where, args = ("WHERE hall_id = %s", [hall_id]) if hall_id else ("", [])
    return {t: conn.execute(f"SELECT count(*) FROM {t} {where}", args).fetchone()[0]
            for t in ("events", "ratings", "cases")}


def execute_all(conn, statements: Iterable[str]) -> None:
    for sql in statements:
        conn.execute(sql)
