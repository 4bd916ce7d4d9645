"""The city dashboard in headless Chromium at 1920×1080: three halls side by side, ranked,
with trends, and a drill-down to one hall's windows and clerks."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest

from city_kit import Postgres, synthetic_days
from conftest import PASSWORD
from server import config
from server.city import db as city_db
from test_city import InProcessCity

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def postgres():
    pg = Postgres().start()
    yield pg
    pg.stop()


@pytest.mark.browser
def test_the_city_dashboard_ranks_halls_and_drills_down(postgres, tmp_path, page, shots):
    url = postgres.new_database()
    config.write_demo(tmp_path / "hall", always_open=True)
    cfg = config.load(tmp_path / "hall")
    with psycopg.connect(url, autocommit=True) as conn:
        city_db.migrate(conn)
        city_db.add_user(conn, "C9001", "manager", PASSWORD)
        for i, name in enumerate(("高新区政务服务中心", "老城区政务服务中心", "经开区政务服务中心")):
            hall_id, _ = city_db.add_hall(conn, name)
            after = 0
            for _, events in synthetic_days(cfg, 11 + i, date(2026, 11, 20), date(2026, 11, 26)):
                city_db.ingest(conn, hall_id, 1, after, events)
                after = events[-1]["seq"]
    city = InProcessCity(url, clock=lambda: datetime(2026, 11, 27, 9, 0, tzinfo=TZ))
    try:
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.goto(city.url + "/city")
        page.fill("#user", "C9001")
        page.fill("#password", "wrong-password")
        page.click("#login button")
        page.wait_for_selector("#login-error:has-text('密码')")
        page.fill("#password", PASSWORD)
        page.click("#login button")
        page.fill("#from", "2026-11-20")
        page.fill("#to", "2026-11-26")
        page.click("#range button")
        page.wait_for_selector("tr.hall >> nth=2")
        rows = page.locator("tr.hall")
        assert rows.count() == 3
        ranks = [rows.nth(i).locator("td.rank").inner_text() for i in range(3)]
        assert ranks == sorted(ranks) and ranks[0] == "1"
        assert page.locator("tr.hall svg.spark").count() == 3
        assert "满意率" in page.inner_text("table") and "Satisfied rate" in page.inner_text("table")
        page.screenshot(path=str(shots / "city-dashboard.png"))
        rows.nth(0).click()
        page.wait_for_selector("#drill table >> nth=1")
        assert "窗口" in page.inner_text("#drill")
        assert page.locator("#drill table").nth(0).locator("tr").count() > 2
        page.screenshot(path=str(shots / "city-drill.png"), full_page=True)
    finally:
        city.stop()
