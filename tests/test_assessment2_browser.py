"""Issue 15's manager pages in headless Chromium against one real `qrate serve` (1366×768,
the hall's office PC): a clerk's yearly commitment set and revised on /manage/commitments
(progress this year, the earlier version kept with when it was made); a suggested
training recorded on /manage/training and its before/after; the printable year-end
commitment report."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from conftest import PASSWORD, SHOTS, LiveServer, bearer, seed_history
from server import config

pytestmark = pytest.mark.browser
TZ = ZoneInfo("Asia/Shanghai")
SHOWN = 15_000    # ms: a generous bound for "it shows up" on a loaded machine, not a speed target
EXTRA = '''
[[posts]]
code = "desk"
name = "综合受理岗"
name_en = "General intake"
indicators = [{figure = "service_s.mean", target = 120, weight = 60, better = "lower"},
              {figure = "good_rate", target = 1.0, weight = 40, better = "higher"}]

[[training]]
code = "flow"
name = "业务流程精讲"
name_en = "Work-flow course"
kind = "concentrated"
category = "skills"
figures = ["service_s.mean", "good_rate"]

[[training]]
code = "manner"
name = "窗口服务礼仪"
kind = "on_the_job"
category = "etiquette"
reasons = ["attitude"]
'''


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    folder = tmp_path_factory.mktemp("assessment2") / "hall"
    path = config.write_demo(folder, always_open=True)
    text = path.read_text(encoding="utf-8")
    for no in ("1001", "1002", "1003"):
        text = text.replace(f'employee_no = "{no}"\n', f'employee_no = "{no}"\npost = "desk"\n')
    path.write_text(text + EXTRA, encoding="utf-8")
    live = LiveServer(folder, now=datetime(2026, 6, 17, 10, 0, tzinfo=TZ))
    seed_history(live, 6)    # 11–16 June
    live.start()
    try:
        live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        yield live
    finally:
        live.kill()


@pytest.fixture
def manager(hall, browser):
    """A browser signed in as the manager (the session cookie of POST /api/login)."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    r = ctx.request.post(hall.url + "/api/login", data={"user": "9001", "password": PASSWORD},
                         headers={"Origin": hall.url})
    assert r.ok, r.text()
    yield ctx, r.json()["token"]
    ctx.close()


def test_a_manager_sets_and_revises_a_commitment_and_records_training(hall, manager):
    ctx, token = manager
    page = ctx.new_page()
    page.goto(hall.url + "/manage/commitments")
    form = page.locator("#c-form")
    form.locator("select[name=staff] option[value='1003']").wait_for(state="attached")
    expect(page.locator("#c-current tbody td")).to_have_text("本年尚无公开承诺。", timeout=SHOWN)
    form.locator("select[name=staff]").select_option("1003")
    rows = form.locator(".target-row")
    expect(rows).to_have_count(2)                            # the desk post's two indicators
    expect(rows.first.locator(".unit")).to_have_text("分钟")
    expect(rows.first.locator("input[name=target]")).to_have_value("2")   # the post's 120 s
    form.locator("textarea[name=text]").fill("热情服务，一次告知，限时办结。")
    rows.first.locator("input[name=target]").fill("10")
    rows.nth(1).locator("input[name=use]").check()
    rows.nth(1).locator("input[name=target]").fill("92")
    form.locator("button[type=submit]").click()
    expect(page.locator("#status")).to_contain_text("已保存", timeout=SHOWN)
    current = page.locator("#c-current tbody tr", has_text="1003")
    expect(current).to_contain_text("热情服务，一次告知，限时办结。")
    expect(current).to_contain_text("平均办理 不超过 10 分钟")
    expect(current).to_contain_text("好评率 不低于 92 %")
    (made,) = requests.get(hall.url + "/api/commitments?year=2026&staff=1003", headers=bearer(token),
                           timeout=10).json()["commitments"]
    assert [(t["figure"], t["target"]) for t in made["targets"]] == [("service_s.mean", 600), ("good_rate", 0.92)]
    # the progress shown is the year's value of the report, in minutes
    (progress,) = requests.get(hall.url + "/api/commitments/report?year=2026", headers=bearer(token),
                               timeout=10).json()["commitments"]
    minutes = round(progress["targets"][0]["value"] / 60, 1)
    expect(current).to_contain_text(f"{minutes:g} 分钟")

    # revise: the form takes the current one; the history keeps the first with its times
    current.locator("button[data-revise]").click()
    expect(form.locator("textarea[name=text]")).to_have_value("热情服务，一次告知，限时办结。")
    form.locator("textarea[name=text]").fill("热情服务，一次告知，八分钟内办结。")
    form.locator(".target-row").first.locator("input[name=target]").fill("8")
    form.locator("button[type=submit]").click()
    expect(current).to_contain_text("八分钟内办结", timeout=SHOWN)
    history = page.locator("#c-history tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("当前")
    expect(history.nth(1)).to_contain_text("限时办结。")
    expect(history.nth(1)).to_contain_text("不超过 10 分钟")
    page.screenshot(path=str(SHOTS / "assess2-commitments.png"), full_page=True)

    # training: a suggestion from an unmet indicator (a perfect good rate), recorded from its button
    page.goto(hall.url + "/manage/training")
    suggested = page.locator("#t-suggestions button[data-item='flow']").first
    suggested.wait_for(timeout=SHOWN)
    staff = suggested.get_attribute("data-staff")
    suggested.click()
    form = page.locator("#t-form")
    expect(form.locator("select[name=staff]")).to_have_value(staff)
    expect(form.locator("select[name=item]")).to_have_value("flow")
    form.locator("input[name=day]").fill("2026-06-14")
    form.locator("input[name=note]").fill("窗口业务流程集中轮训半天")
    page.locator("#t-range input[name=days]").fill("3")
    page.locator("#t-range button[type=submit]").click()
    form.locator("button[type=submit]").click()
    expect(page.locator("#status")).to_contain_text("已记录", timeout=SHOWN)
    record = page.locator("#t-records tbody tr", has_text="业务流程精讲")
    expect(record).to_contain_text("窗口业务流程集中轮训半天", timeout=SHOWN)
    body = requests.get(hall.url + f"/api/training/records?staff={staff}&days=3", headers=bearer(token),
                        timeout=10).json()
    (rec,) = body["records"]
    effect = rec["effect"]
    assert effect["days"] == 3 and effect["before"]["from"] == "2026-06-11"
    cells = record.locator("td")
    expect(cells.nth(3)).to_have_text("3")                       # three days each side
    before = "—" if effect["before"]["score"] is None else f'{effect["before"]["score"]:.1f}'
    after = "—" if effect["after"]["score"] is None else f'{effect["after"]["score"]:.1f}'
    expect(cells.nth(5)).to_have_text(f"{before} → {after}")
    expect(page.locator("#t-items tbody tr", has_text="业务流程精讲")).to_contain_text("1")
    expect(page.locator("#t-catalogue tbody tr")).to_have_count(2)
    expect(page.locator("#t-catalogue")).to_contain_text("实岗锻炼")
    # a mentoring pair (结对帮扶): the mentee's figures before and after the day it began,
    # the same comparison as the API's before/after
    mform = page.locator("#m-form")
    mform.locator("select[name=mentee]").select_option(staff)
    mform.locator("input[name=day]").fill("2026-06-14")
    mform.locator("input[name=days]").fill("3")
    mform.locator("button[type=submit]").click()
    pair_row = page.locator("#m-result tbody tr", has_text="2026-06-14")
    pair_row.wait_for(timeout=SHOWN)
    ba = requests.get(hall.url + f"/api/training/before-after?staff={staff}&day=2026-06-14&days=3",
                      headers=bearer(token), timeout=10).json()
    assert ba["days"] == 3
    shown = lambda x: "—" if x is None else f"{x:.1f}"  # noqa: E731
    expect(pair_row.locator("td").nth(5)).to_have_text(f'{shown(ba["before"]["score"])} → {shown(ba["after"]["score"])}')
    expect(pair_row.locator("td").nth(0)).to_contain_text(staff)
    page.screenshot(path=str(SHOTS / "assess2-training.png"), full_page=True)
    page.goto(hall.url + "/manage/training?lang=en")
    page.locator("#t-suggestions button[data-item]").first.wait_for(timeout=SHOWN)
    expect(page.locator("#t-catalogue")).to_contain_text("Work-flow course")
    page.screenshot(path=str(SHOTS / "assess2-training-en.png"))

    # the year-end report for the notice board, on screen and as printed
    page.goto(hall.url + "/manage/commitments/report?year=2026")
    row = page.locator("#pledges tbody[data-staff='1003']")
    expect(row).to_contain_text("八分钟内办结")
    expect(row).to_contain_text("不超过 8.0 分钟")
    page.screenshot(path=str(SHOTS / "assess2-commitments-report.png"), full_page=True)
    page.emulate_media(media="print")
    expect(page.locator("#print-report")).to_be_hidden()
    page.screenshot(path=str(SHOTS / "assess2-commitments-report-print.png"), full_page=True)

    # the monthly report ranks clerks within their posts, as the assessment does
    page.emulate_media(media="screen")
    page.goto(hall.url + "/manage/report?month=2026-06")
    api = requests.get(hall.url + "/api/stats/assessment?period=2026-06", headers=bearer(token),
                       timeout=30).json()
    first = next(r for r in api["rows"] if r["post"] == "desk" and r["rank"] == 1)
    row = page.locator(f"#staff-ranking tr[data-staff='{first['staff']}']")
    expect(row.locator("td.rank")).to_have_text("1")
    expect(row.locator("td.score")).to_have_text(f"{first['score']:.1f}")
    expect(row.locator("td").first).to_have_text("综合受理岗")
    page.locator("#staff-ranking").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "assess2-monthly-report.png"))
