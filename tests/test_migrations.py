"""An existing data folder upgrades in place and keeps its data."""
from __future__ import annotations

import sqlite3

import pytest

from server import config, schema, store
from server.app import create_app

pytestmark = pytest.mark.api


def test_an_old_data_file_is_upgraded_in_place(hall_dir):
    cfg = config.load(hall_dir)
    cfg.data_folder.mkdir(parents=True, exist_ok=True)
    db = store.connect(cfg.db_path)
    db.enable_wal()
    first = schema.core._migrations[0].name
    # the data file of the first release: only the first core migration
    schema.core.apply(db, stop_before=[m.name for m in schema.core._migrations[1:]] or None)
    db.execute("INSERT INTO users (employee_no, name, role, password_hash, created_at) "
               "VALUES ('1001', '王丽', 'clerk', 'x', '2026-01-01')")
    db.conn.commit()
    db.close()
    app = create_app({"HALL": hall_dir})  # migrates to the newest schema
    app.extensions["qrate"].close()
    conn = sqlite3.connect(cfg.db_path)
    applied = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    expected = [m.name for s in schema.MIGRATION_SETS for m in s._migrations]
    assert applied[0] == first and sorted(applied) == sorted(expected)
    assert conn.execute("SELECT name FROM users WHERE employee_no = '1001'").fetchone() == ("王丽",)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
    # a second start applies nothing and loses nothing
    app = create_app({"HALL": hall_dir})
    app.extensions["qrate"].close()


def test_the_event_log_refuses_updates_and_deletes(app, client, accounts):
    client.post("/api/tickets", json={"service": "A"}, headers=accounts.device("kiosk"))
    with app.extensions["qrate"].store() as s:
        for sql in ("UPDATE ticket_events SET type = 'x'", "DELETE FROM ticket_events"):
            try:
                s.db.execute(sql)
            except sqlite3.IntegrityError as exc:
                assert "append-only" in str(exc)
            else:  # pragma: no cover
                raise AssertionError(sql)
