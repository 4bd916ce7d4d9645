"""The managers' dashboard in a real browser against `qrate serve`: sign in, today live
with a pushed alert, history charts and tables, assessment, the monthly report.
Screenshots (manage-*.png) go to the `shots` folder (conftest)."""
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from conftest import PASSWORD, SHOTS, LiveServer, bearer

pytestmark = pytest.mark.browser



@pytest.fixture
def busy_hall(hall: Path):
    """The demo hall with 45 generated days, alerts that fire at once, and a live server."""
    with (hall / "hall.toml").open("a", encoding="utf-8") as f:
        f.write("\n[alerts]\nlong_wait_min = 0\nlong_wait_count = 2\ncheck_s = 1\n")
    yesterday = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date()
    server = LiveServer(hall)
    server.cli("seed-history", "--days", "45", "--end", yesterday.isoformat(), "--seed", "7")
    server.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    server.start()
    yield server
    server.kill()


def today_activity(server: LiveServer) -> None:
    kiosk = bearer(server.device_token("kiosk-1", "kiosk"))
    pad = bearer(server.device_token("pad-3", "pad", 3))
    clerk = bearer(server.clerk_token("1103", 3))
    tickets = [requests.post(server.url + "/api/tickets", json={"service": s}, headers=kiosk,
                             timeout=5).json() for s in "AAABBA"]
    r = requests.post(server.url + "/api/windows/3/call-next", headers=clerk, timeout=5)
    first = r.json()
    requests.post(server.url + f"/api/tickets/{first['id']}/finish", headers=clerk, timeout=5)
    r = requests.post(server.url + "/api/ratings", headers=pad, timeout=5,
                      json={"ticket": first["id"], "score": 2, "reasons": ["efficiency"]})
    assert r.status_code == 201, r.text
    assert len(tickets) == 6


def test_dashboard(busy_hall, page):
    server = busy_hall
    page.goto(server.url + "/manage")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.locator("#login-form").wait_for()
    page.fill("input[name=user]", "9001")
    page.fill("input[name=password]", "wrong-password")
    page.click("#login-form button")
    page.locator("#login-error").filter(has_text="工号或密码错误").wait_for()
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button")
    page.locator("#tabs").wait_for()
    page.locator("#live-cards .card").first.wait_for()

    today_activity(server)
    # the alert is pushed to the managers' room (more than 2 waiting for A)
    page.locator("#alerts li", has_text="请增开窗口").first.wait_for(timeout=15000)
    page.locator("#live-ratings td", has_text="效率低").wait_for(timeout=15000)
    assert "今日好评率" in page.inner_text("#live-cards")
    page.screenshot(path=str(SHOTS / "manage-live.png"), full_page=True)

    page.click("a[data-tab=history]")
    page.locator("#t-windows tbody tr td").first.wait_for()
    page.wait_for_function("document.querySelectorAll('#t-windows tbody tr').length >= 5")
    assert "好评率" in page.inner_text("#t-services thead")
    assert page.locator("#chart-hours").bounding_box()["height"] > 100
    csv_link = page.locator(".exports[data-what=windows] a", has_text="CSV").get_attribute("href")
    assert "format=csv" in csv_link
    page.screenshot(path=str(SHOTS / "manage-history.png"), full_page=True)

    page.click("a[data-tab=assess]")
    page.wait_for_function("document.querySelectorAll('#rank-staff tbody tr').length >= 5")
    page.locator("#pairs tbody td").first.wait_for()
    page.screenshot(path=str(SHOTS / "manage-assess.png"), full_page=True)

    page.click("a[data-tab=settings]")
    page.locator("#s-staff td", has_text="热情接待").wait_for()
    page.screenshot(path=str(SHOTS / "manage-settings.png"), full_page=True)

    month = (datetime.now(ZoneInfo("Asia/Shanghai")).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    page.goto(server.url + f"/manage/report?month={month}")
    page.locator("text=窗口服务质量月度报告").wait_for()
    assert "工作人员考评排名" in page.inner_text("body")
    assert "差评主要原因" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "manage-report.png"), full_page=True)


def test_report_needs_a_manager(live, page):
    page.goto(live.url + "/manage/report?month=2026-01")
    page.locator("#login-form").wait_for()
    assert "/manage" in page.url
