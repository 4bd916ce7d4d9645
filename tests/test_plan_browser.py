"""The staffing plan page /manage/plan in a real browser, on a seeded hall: the coming
week's windows needed against the demo rota, the hours at risk marked, and what-if."""
import json
import subprocess
import sys
from datetime import datetime

import pytest

from conftest import PASSWORD, ROOT, TZ, LiveServer
from server import config

pytestmark = pytest.mark.browser

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=TZ)    # a Sunday: the coming week is 11-30 .. 12-06


@pytest.fixture
def server(tmp_path):
    folder = tmp_path / "hall"
    config.write_demo(folder, always_open=True)
    with (folder / "hall.toml").open("a", encoding="utf-8") as f:
        f.write("\n[planning]\nweeks = 2\n")
    out = subprocess.run([sys.executable, "-m", "server.entry", "seed-history", "--hall", str(folder),
                          "--days", "14", "--end", "2026-11-28", "--seed", "5"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    s = LiveServer(folder, now=NOW)
    s.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    s.start()
    yield s
    s.stop()


def test_plan_page_marks_risk_and_answers_what_if(server, page, shots):
    page.set_viewport_size({"width": 1366, "height": 768})
    r = page.request.post(server.url + "/api/login", data=json.dumps({"user": "9001", "password": PASSWORD}),
                          headers={"Content-Type": "application/json"})
    assert r.ok, r.text()
    page.goto(server.url + "/manage/plan")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "窗口排班测算" in page.title()
    # seven days across, Monday first; Monday 10:00 needs more windows than the rota's ten
    heads = page.locator("#week thead th").all_inner_texts()
    assert heads[1].startswith("周一") and len(heads) == 8
    monday10 = page.locator("#week tbody tr", has_text="10:00").locator("td").first
    needed, scheduled = [int(x) for x in monday10.inner_text().rstrip(" !").split(" / ")]
    assert scheduled == 10 and needed > scheduled
    assert "risk" in monday10.get_attribute("class")
    page.screenshot(path=str(shots / "plan-week-1366.png"))
    # what-if: add a window wherever a part of 10:00 misses the target, until the hour holds
    def part_rows():
        rows = page.locator("#day tbody tr")
        texts = rows.all_inner_texts()
        at = next(i for i, t in enumerate(texts) if t.startswith("10:00"))
        end = next((i for i in range(at + 1, len(texts)) if texts[i][:1].isdigit()), len(texts))
        return [rows.nth(i) for i in range(at + 1, end)]
    hour = page.locator("#day tbody tr.hour", has_text="10:00")
    assert "承诺有风险" in hour.inner_text()
    # the bars are drawn to scale (6 px a window), not left at zero width by the page's CSP
    widths = page.eval_on_selector_all("#day .bar.need", "bs => bs.map(b => b.getBoundingClientRect().width)")
    assert widths and all(w > 0 for w in widths), widths
    clicks = 0
    while "承诺有风险" in hour.inner_text():
        short = [r for r in part_rows() if "risk" in (r.locator("td").nth(7).get_attribute("class") or "")]
        assert short and clicks < 20
        short[0].locator("button[data-d='1']").click()
        clicks += 1
    assert "承诺可兑现" in hour.inner_text() and clicks >= needed - scheduled
    assert "risk" not in page.locator("#week tbody tr", has_text="10:00").locator("td").first.get_attribute("class")
    # and one window fewer than needed breaks it again (the group at 10:00)
    group = next(r for r in part_rows() if "A+B+D+E" in r.inner_text())
    shown = int(group.locator("td").nth(5).locator("b").inner_text())
    assert shown >= int(group.locator("td").nth(3).inner_text())
    while int(group.locator("td").nth(5).locator("b").inner_text()) >= int(group.locator("td").nth(3).inner_text()):
        group.locator("button[data-d='-1']").click()
        group = next(r for r in part_rows() if "A+B+D+E" in r.inner_text())
    assert "承诺有风险" in hour.inner_text()
    page.screenshot(path=str(shots / "plan-what-if-1366.png"), full_page=True)
