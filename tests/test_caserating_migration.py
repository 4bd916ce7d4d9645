"""qrate-caserating rebuilds ratings and rating_cases in place: every row, index and trigger kept."""
from __future__ import annotations

import sqlite3

import pytest

from server import config, schema, store
from server.app import create_app

pytestmark = pytest.mark.api


def _schema_of(conn, table):
    return sorted(r for r in conn.execute(
        "SELECT type, name FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
        "AND name NOT LIKE 'sqlite_autoindex%'", [table]))


def test_an_existing_database_keeps_its_ratings_cases_and_triggers(hall_dir):
    cfg = config.load(hall_dir)
    cfg.data_folder.mkdir(parents=True, exist_ok=True)
    db = store.connect(cfg.db_path)
    db.enable_wal()
    for migration_set in schema.MIGRATION_SETS:
        if migration_set is not schema.caserating:
            migration_set.apply(db)  # the data file before this set
    conn = db.conn
    cols = [r[1] for r in conn.execute("PRAGMA table_info(tickets)")]
    # a ticket row with every required column filled (the ticket table's own shape may grow)
    notnull = {r[1] for r in conn.execute("PRAGMA table_info(tickets)") if r[3] and r[4] is None and not r[5]}
    ticket = {c: (1 if c in ("id", "seq") else "x") for c in notnull}
    ticket.update({"id": 1, "day": "2026-11-26"} if "day" in cols else {"id": 1})
    conn.execute(f"INSERT INTO tickets ({', '.join(ticket)}) VALUES ({', '.join('?' * len(ticket))})",
                 list(ticket.values()))
    conn.execute("INSERT INTO ratings (id, ticket, score, reasons, comment, window, clerk, service, day, "
                 "source, device, created_at, ts) VALUES (7, 1, 2, '[\"attitude\"]', '慢', 3, '1003', 'A', "
                 "'2026-11-26', 'touch', 'pad-3', '2026-11-26T09:10:00+08:00', 1795655400.0)")
    case_cols = {r[1]: r for r in conn.execute("PRAGMA table_info(rating_cases)")}
    case = {c: "2026-11-27T09:00:00+08:00" for c, r in case_cols.items() if r[3] and r[4] is None and not r[5]}
    case.update({c: 1.0 for c in case if c.endswith("_ts")})
    case.update({"id": 4, "rating": 7, "ticket": 1, "number": "A001", "score": 2, "day": "2026-11-26"})
    conn.execute(f"INSERT INTO rating_cases ({', '.join(case)}) VALUES ({', '.join('?' * len(case))})",
                 list(case.values()))
    conn.execute("INSERT INTO case_notes (\"case\", at, ts, author, step, text) "
                 "VALUES (4, '2026-11-26T09:10:00+08:00', 1.0, 'system', 'opened', 'score 2')")
    conn.execute("DELETE FROM stats_dirty")
    conn.commit()
    before = {t: _schema_of(conn, t) for t in ("ratings", "rating_cases")}
    db.close()

    app = create_app({"HALL": hall_dir})  # applies qrate-caserating
    app.extensions["qrate"].close()
    conn = sqlite3.connect(cfg.db_path)
    conn.execute("PRAGMA foreign_keys=ON")
    row = conn.execute("SELECT id, ticket, score, reasons, comment, device, case_no, content_version "
                       "FROM ratings").fetchall()
    assert row == [(7, 1, 2, '["attitude"]', "慢", "pad-3", None, None)]
    assert conn.execute("SELECT id, rating, ticket, number FROM rating_cases").fetchall() == [(4, 7, 1, "A001")]
    assert conn.execute('SELECT "case", text FROM case_notes').fetchall() == [(4, "score 2")]
    after = {t: _schema_of(conn, t) for t in ("ratings", "rating_cases")}
    for t in before:  # every index and trigger is back (and the new case index added)
        assert set(before[t]) <= set(after[t]), (t, before[t], after[t])
    assert ("index", "ratings_case_no") in after["ratings"]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    # the stats trigger on ratings still fires, and a ticket may now be null but stays unique
    conn.execute("INSERT INTO ratings (ticket, score, day, source, created_at, ts, case_no) "
                 "VALUES (NULL, 4, '2026-11-27', 'touch', '2026-11-27T09:00:00+08:00', 1.0, 'BJ1')")
    conn.execute("INSERT INTO ratings (ticket, score, day, source, created_at, ts, case_no) "
                 "VALUES (NULL, 5, '2026-11-27', 'touch', '2026-11-27T09:00:00+08:00', 1.0, 'BJ2')")
    assert conn.execute("SELECT day FROM stats_dirty ORDER BY day").fetchall() == [("2026-11-27",)]
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO ratings (ticket, score, day, source, created_at, ts) "
                     "VALUES (1, 4, '2026-11-27', 'touch', 'x', 1.0)")
    with pytest.raises(sqlite3.IntegrityError):  # the foreign key to tickets still holds
        conn.execute("INSERT INTO ratings (ticket, score, day, source, created_at, ts) "
                     "VALUES (999, 4, '2026-11-27', 'touch', 'x', 1.0)")
    with pytest.raises(sqlite3.IntegrityError):  # a content version never changes
        conn.execute("INSERT INTO evaluation_contents VALUES ('v', '2026-01-01', '{}', 'now')")
        conn.execute("UPDATE evaluation_contents SET body = '[]' WHERE version = 'v'")
    conn.commit()
    conn.close()
    # a second start applies nothing and loses nothing; running the migration again is harmless
    app = create_app({"HALL": hall_dir})
    app.extensions["qrate"].close()
    db = store.connect(cfg.db_path)
    schema.m001_case_ratings(db)
    assert db.execute("SELECT count(*) FROM ratings").fetchone()[0] == 3
    db.close()
