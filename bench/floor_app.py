"""The floor for bench/bench_house.py: the bare stack qrate runs on, doing the least a hall must.

  python bench/floor_app.py --db FILE --port P        serve (gevent, Socket.IO over WebSocket)
  python bench/floor_app.py --db FILE --seed-events N  write N past events for the long report, then exit

What it is, as issue 16 "The bench, precisely" settles it:
- a bare Flask-SocketIO app with a `tickets` and an `events` table;
- SQLite in WAL mode with synchronous=FULL (a commit is on disk before the answer);
- gevent's pywsgi server with TCP_NODELAY on every accepted socket (as server/serve.py);
- one write lock; each change is one transaction (insert or update the ticket, append its
  event), and its `event` is emitted to every client after the commit, under the lock;
- a long report (an aggregate over the whole events table) run in gevent's thread pool, so
  the query runs in a real OS thread and SQLite releases the GIL while it steps.

Endpoints mirror qrate's: POST /api/tickets {"service"}, POST /api/windows/N/call-next,
POST /api/tickets/ID/finish, GET /api/report?from=&to=&repeat=K, GET /healthz.
Authorization headers are accepted and ignored. A Socket.IO client that connects gets every
`event` ({"seq", "type", "at", "window", "ticket": {"id", "number", ...}}).
"""
from __future__ import annotations

if __name__ == "__main__":  # gevent first, before anything else is imported (as server/entry.py)
    from gevent import monkey
    monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import socket  # noqa: E402
import sqlite3  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import date, datetime, timedelta, timezone  # noqa: E402

HALL_TZ = timezone(timedelta(hours=8))  # the demo hall's Asia/Shanghai, without tzdata

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    service TEXT NOT NULL,
    n INTEGER NOT NULL,
    number TEXT NOT NULL,
    status TEXT NOT NULL,
    window INTEGER,
    issued_at REAL NOT NULL,
    called_at REAL,
    finished_at REAL,
    last_seq INTEGER
);
CREATE INDEX IF NOT EXISTS tickets_queue ON tickets (day, service, status, id);
CREATE UNIQUE INDEX IF NOT EXISTS tickets_number ON tickets (day, service, n);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    at REAL NOT NULL,
    day TEXT NOT NULL,
    ticket INTEGER,
    window INTEGER,
    service TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_day ON events (day);
"""

# The long report: one pass over every event in the range, grouped by window. `repeat`
# runs it K times in a row so its length can be matched to qrate's year-long report.
REPORT_SQL = """
SELECT window,
       count(*) AS events,
       sum(type = 'ticket.issued') AS issued,
       sum(type = 'ticket.called') AS called,
       sum(type = 'ticket.finished') AS finished,
       avg(at) AS mean_at,
       max(at) - min(at) AS span_s,
       sum(length(data)) AS data_bytes
FROM events WHERE +day BETWEEN ? AND ?  -- "+": a full scan, as a year-long report is
GROUP BY window ORDER BY window
"""


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(SCHEMA)
    return conn


def today() -> str:
    return datetime.now(HALL_TZ).date().isoformat()


def seed_events(path: str, n: int, days: int = 365, seed: int = 1) -> int:
    """Write n past events (over the `days` days before today) in one bulk transaction."""
    conn = connect(path)
    conn.execute("PRAGMA synchronous=OFF")  # a bulk load
    rng = random.Random(seed)
    last = datetime.now(HALL_TZ).date() - timedelta(days=1)
    types = ("ticket.issued", "ticket.called", "ticket.finished", "rating.created")
    base = datetime.combine(last, datetime.min.time(), HALL_TZ).timestamp()
    conn.execute("BEGIN")
    batch = []
    for i in range(n):
        d = rng.randrange(days)
        kind = types[i % 4]
        w = None if kind == "ticket.issued" else 1 + rng.randrange(10)
        at = base - d * 86400 + 30600 + rng.randrange(32400)
        data = json.dumps({"number": f"A{i % 1000:03d}", "service": "A", "score": rng.randrange(1, 6)})
        batch.append((kind, at, (last - timedelta(days=d)).isoformat(), i // 4, w, "A", data))
        if len(batch) >= 50_000:
            conn.executemany("INSERT INTO events (type, at, day, ticket, window, service, data) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
            batch.clear()
    if batch:
        conn.executemany("INSERT INTO events (type, at, day, ticket, window, service, data) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return n


def create_app(db_path: str):
    from flask import Flask, jsonify, request
    from flask_socketio import SocketIO

    app = Flask(__name__)
    sio = SocketIO(app, async_mode="gevent", ping_interval=10, ping_timeout=10)
    db = connect(db_path)
    lock = threading.Lock()  # gevent's, after monkey.patch_all()

    def ticket_view(row) -> dict:
        keys = ("id", "day", "service", "n", "number", "status", "window", "issued_at",
                "called_at", "finished_at")
        return dict(zip(keys, row))

    def change(kind: str, ticket_id: int, window, service: str, now: float, body: dict) -> dict:
        """Append the event (inside the caller's transaction); returns the pushed body."""
        cur = db.execute("INSERT INTO events (type, at, day, ticket, window, service, data) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (kind, now, today(), ticket_id, window, service, json.dumps(body)))
        seq = cur.lastrowid
        db.execute("UPDATE tickets SET last_seq = ? WHERE id = ?", (seq, ticket_id))
        return {"seq": seq, "type": kind, "at": now, "window": window}

    COLS = "id, day, service, n, number, status, window, issued_at, called_at, finished_at"

    @app.post("/api/tickets")
    def issue():
        service = (request.get_json(silent=True) or {}).get("service", "A")
        with lock:
            now, day = time.time(), today()
            db.execute("BEGIN IMMEDIATE")
            try:
                n = db.execute("SELECT coalesce(max(n), 0) + 1 FROM tickets WHERE day = ? AND service = ?",
                               (day, service)).fetchone()[0]
                number = f"{service}{n:03d}"
                cur = db.execute("INSERT INTO tickets (day, service, n, number, status, issued_at) "
                                 "VALUES (?, ?, ?, ?, 'waiting', ?)", (day, service, n, number, now))
                tid = cur.lastrowid
                push = change("ticket.issued", tid, None, service, now, {"number": number})
                row = db.execute(f"SELECT {COLS} FROM tickets WHERE id = ?", (tid,)).fetchone()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            push["ticket"] = ticket_view(row)
            sio.emit("event", push)
        return jsonify(push["ticket"]), 201

    @app.post("/api/windows/<int:window>/call-next")
    def call_next(window: int):
        with lock:
            now, day = time.time(), today()
            db.execute("BEGIN IMMEDIATE")
            try:
                found = db.execute("SELECT id, service FROM tickets WHERE day = ? AND service = 'A' "
                                   "AND status = 'waiting' ORDER BY id LIMIT 1", (day,)).fetchone()
                if found is None:
                    db.execute("COMMIT")
                    return "", 204
                tid, service = found
                db.execute("UPDATE tickets SET status = 'called', window = ?, called_at = ? WHERE id = ?",
                           (window, now, tid))
                push = change("ticket.called", tid, window, service, now, {"window": window})
                row = db.execute(f"SELECT {COLS} FROM tickets WHERE id = ?", (tid,)).fetchone()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            push["ticket"] = ticket_view(row)
            sio.emit("event", push)
        return jsonify(push["ticket"])

    @app.post("/api/tickets/<int:tid>/finish")
    def finish(tid: int):
        with lock:
            now = time.time()
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT window, service FROM tickets WHERE id = ? AND status = 'called'",
                                 (tid,)).fetchone()
                if row is None:
                    db.execute("COMMIT")
                    return jsonify({"error": "not_called"}), 409
                window, service = row
                db.execute("UPDATE tickets SET status = 'done', finished_at = ? WHERE id = ?", (now, tid))
                push = change("ticket.finished", tid, window, service, now, {})
                row = db.execute(f"SELECT {COLS} FROM tickets WHERE id = ?", (tid,)).fetchone()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            push["ticket"] = ticket_view(row)
            sio.emit("event", push)
        return jsonify(push["ticket"])

    def run_report(first: str, last: str, repeat: int) -> list:
        conn = sqlite3.connect(db_path, timeout=10)  # its own connection, in a pool thread
        try:
            rows = []
            for _ in range(repeat):
                rows = conn.execute(REPORT_SQL, (first, last)).fetchall()
            return rows
        finally:
            conn.close()

    @app.get("/api/report")
    def report():
        import gevent
        last = request.args.get("to") or today()
        first = request.args.get("from") or (date.fromisoformat(last) - timedelta(days=364)).isoformat()
        repeat = max(1, min(int(request.args.get("repeat", 1)), 50))
        t0 = time.perf_counter()
        rows = gevent.get_hub().threadpool.apply(run_report, (first, last, repeat))
        keys = ("window", "events", "issued", "called", "finished", "mean_at", "span_s", "data_bytes")
        return jsonify({"from": first, "to": last, "query_s": time.perf_counter() - t0,
                        "rows": [dict(zip(keys, r)) for r in rows]})

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    @sio.on("connect")
    def on_connect(auth=None):
        return True

    return app


def serve(db_path: str, host: str, port: int) -> None:
    import signal

    from gevent.pywsgi import WSGIHandler, WSGIServer

    class NoDelayHandler(WSGIHandler):
        def handle(self):
            try:
                self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            return super().handle()

    app = create_app(db_path)
    server = WSGIServer((host, port), app, handler_class=NoDelayHandler, log=None)
    signal.signal(signal.SIGTERM, lambda *_: server.stop(timeout=2))
    print(f"floor serving {db_path} at http://{host}:{port}/", flush=True)
    server.serve_forever()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5000)
    ap.add_argument("--seed-events", type=int, default=None, metavar="N",
                    help="write N past events for the long report and exit")
    args = ap.parse_args()
    if args.seed_events is not None:
        seed_events(args.db, args.seed_events)
        return
    serve(args.db, args.host, args.port)


if __name__ == "__main__":
    main()
