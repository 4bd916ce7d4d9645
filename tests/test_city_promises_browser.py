"""The city dashboard's "promises kept" at 1920×1080 in headless Chromium: per hall the share
called within the promised wait, waits and service times over target, idle share and the
top 差评 reasons (national, with the hall's own tags), and the same per window on drill-down."""
from __future__ import annotations

import json
from datetime import date, datetime

import psycopg
import pytest

from city_kit import synthetic_days
from conftest import PASSWORD
from server import config, evaluation, forward
from server.city import db as city_db
from server.city import stats as city_stats
from test_city import InProcessCity, postgres  # noqa: F401

from test_city_browser import TZ


def _with_promises(events: list[dict], promises: dict, first: bool) -> list[dict]:
    """What the hall's forwarder adds (server/forward.py with_promises)."""
    if first and events:
        events[0]["config"] = {"seq": 0, "promises": promises}
    for e in events:
        if e.get("rating"):
            reasons = e["rating"]["reasons"]
            reasons = json.loads(reasons or "[]") if isinstance(reasons, str) else reasons
            e["rating"]["national_reasons"] = evaluation.national_reasons(reasons, promises["reason_map"])
    return events


@pytest.mark.browser
def test_the_dashboard_shows_promises_kept_per_hall_and_window(postgres, tmp_path, page, shots):  # noqa: F811
    url = postgres.new_database()
    config.write_demo(tmp_path / "hall", always_open=True)
    cfg = config.load(tmp_path / "hall")
    promises = forward.promises(cfg.raw)
    with psycopg.connect(url, autocommit=True) as conn:
        city_db.migrate(conn)
        city_db.add_user(conn, "C9001", "manager", PASSWORD)
        for i, name in enumerate(("高新区政务服务中心", "老城区政务服务中心")):
            hall_id, _ = city_db.add_hall(conn, name)
            after = 0
            for n, (_, events) in enumerate(synthetic_days(cfg, 21 + i, date(2026, 11, 23), date(2026, 11, 26))):
                city_db.ingest(conn, hall_id, 1, after, _with_promises(events, promises, n == 0),
                               tz="Asia/Shanghai")
                after = events[-1]["seq"]
        expected = {r["hall"]: r for r in city_stats.promises(
            conn, dim="hall", start="2026-11-23", end="2026-11-26", now=datetime(2026, 11, 27, 9, tzinfo=TZ))}
    assert all(r["promise_kept_rate"] is not None and r["low_reasons"] for r in expected.values())
    city = InProcessCity(url, clock=lambda: datetime(2026, 11, 27, 9, 0, tzinfo=TZ))
    try:
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.goto(city.url + "/city")
        page.fill("#user", "C9001")
        page.fill("#password", PASSWORD)
        page.click("#login button")
        page.fill("#from", "2026-11-23")
        page.fill("#to", "2026-11-26")
        page.click("#range button")
        page.wait_for_selector("#promises tr.promise >> nth=1")
        rows = page.locator("#promises tr.promise")
        assert rows.count() == 2
        for i in range(2):
            row = rows.nth(i)
            want = expected[row.get_attribute("data-key")]
            assert row.locator("td.kept").inner_text().startswith(f"{100 * want['promise_kept_rate']:.1f}%")
            assert row.locator("td.idle").inner_text() == (
                "—" if want["idle_share"] is None else f"{100 * want['idle_share']:.1f}%")
            chips = row.locator("td.reasons .chip").all_inner_texts()
            assert [c.split()[0] if " " in c else c.rstrip("0123456789") for c in chips][:1] == \
                [evaluation.NATIONAL_NAMES[want["low_reasons_national"][0]["reason"]][0]]
        text = page.inner_text("#promises")
        assert "服务承诺" in text and "Promises kept" in text and "差评主要原因" in text
        page.screenshot(path=str(shots / "city-promises.png"))
        page.locator("tr.hall").nth(0).click()
        page.wait_for_selector("#drill table.promises tr.promise")
        assert page.locator("#drill table.promises").count() == 2
        page.screenshot(path=str(shots / "city-promises-drill.png"), full_page=True)
    finally:
        city.stop()
