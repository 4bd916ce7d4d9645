"""The data the page blueprints render with (server/readside/pages.py)."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import sqlite_utils

from server import config, store
from server.readside import pages

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def hall_db(hall):
    db = sqlite_utils.Database(memory=True)
    for migration_set in store.all_migrations():
        migration_set.apply(db)
    yield config.load(hall), db
    db.close()


def test_kiosk_shows_the_notice_a_manager_set(hall_db):
    cfg, db = hall_db
    assert pages.kiosk_page(db, cfg, now=NOW)["hall"]["notice"] == cfg.raw["hall"]["notice"]
    with db.conn:
        db.execute("INSERT INTO settings (key, value) VALUES ('notice', ?)",
                   ['{"text": "午间照常办理"}'])
    page = pages.kiosk_page(db, cfg, now=NOW)
    assert page["hall"]["notice"] == "午间照常办理" and page["return_s"] == 20
    assert page["hall"]["name"] == cfg.name


def test_screens_console_and_pad(hall_db):
    cfg, db = hall_db
    assert pages.screen_common(db, cfg, now=NOW, locale="en")["hall_name"] == cfg.raw["hall"]["name_en"]
    assert pages.screen_common(db, cfg, now=NOW, locale="zh_CN")["hall_name"] == cfg.name
    assert pages.window_screen(db, cfg, now=NOW, number=3)["services"] == list(cfg.windows[3].services)
    assert pages.window_screen(db, cfg, now=NOW, number=99) is None
    console = pages.console_page(db, cfg, now=NOW)
    assert [w["number"] for w in console["windows"]] == list(cfg.windows)
    assert console["no_show_after"] == cfg.raw["queue"]["no_show_after_recalls"]
    clerk = next(iter(cfg.staff.values()))
    shown = pages.pad_clerk(db, cfg, now=NOW, employee_no=clerk.employee_no)
    assert shown["name"] == clerk.name and shown["commitment"] == clerk.commitment
    assert pages.pad_clerk(db, cfg, now=NOW, employee_no=None) is None
    photo = pages.staff_photo(db, cfg, now=NOW, employee_no="nobody")
    assert photo == {"path": None, "initial": "n"}
