"""The dashboard's follow-up (差评回访整改), notice and printing tabs in a real browser
against `qrate serve`: a pad's rating of 1 opens a case the manager works on the tab,
an upheld appeal takes the rating out of the figures, the notice editor saves, and a
reprint from the print jobs list queues a job. Screenshots (in the `shots` folder): manage-followup.png,
manage-followup-overdue.png, manage-lobby.png."""
import time

import pytest
import requests
from playwright.sync_api import expect

from conftest import PASSWORD, SHOTS, LiveServer, bearer
from printer_kit import PrinterSim, set_printer, wait_for

pytestmark = pytest.mark.browser



@pytest.fixture
def server(hall_dir):
    s = LiveServer(hall_dir)
    s.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    s.start()
    yield s
    s.kill()


def poll(fn, timeout=30.0):  # a generous bound on a loaded machine; it returns once true
    """fn() until it returns something true; its last value otherwise (asserts read it)."""
    end = time.monotonic() + timeout
    while True:
        got = fn()
        if got or time.monotonic() > end:
            return got
        time.sleep(0.1)


def serve_and_rate(server, clerk, pad, kiosk, score, **extra) -> dict:
    t = requests.post(server.url + "/api/tickets", json={"service": "A"}, headers=kiosk, timeout=5).json()
    r = requests.post(server.url + "/api/windows/3/call", json={"ticket": t["id"]}, headers=clerk, timeout=5)
    if r.status_code != 200:  # the window may take call-next only
        r = requests.post(server.url + "/api/windows/3/call-next", headers=clerk, timeout=5)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == t["id"]
    r = requests.post(server.url + f"/api/tickets/{t['id']}/finish", headers=clerk, timeout=5)
    assert r.status_code == 200, r.text
    r = requests.post(server.url + "/api/ratings", headers=pad, timeout=5,
                      json={"ticket": t["id"], "score": score, **extra})
    assert r.status_code == 201, r.text
    return t


def window3(server, manager) -> dict:
    today = requests.get(server.url + "/api/stats/live", headers=manager, timeout=5).json()["day"]
    rows = requests.get(server.url + f"/api/stats/windows?from={today}&to={today}", headers=manager,
                        timeout=5).json()["rows"]
    return next(r for r in rows if r["window"] == 3)


def sign_in(page, server):
    page.goto(server.url + "/manage")
    page.locator("#login-form").wait_for()
    page.fill("input[name=user]", "9001")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button")
    page.locator("#tabs").wait_for()


def test_followup_notice_and_printing(server, page):
    kiosk = bearer(server.device_token("kiosk-1", "kiosk"))
    pad = bearer(server.device_token("pad-3", "pad", 3))
    clerk = bearer(server.clerk_token("1103", 3))
    r = requests.post(server.url + "/api/login", json={"user": "9001", "password": PASSWORD}, timeout=5)
    manager = bearer(r.json()["token"])

    serve_and_rate(server, clerk, pad, kiosk, 5)
    bad = serve_and_rate(server, clerk, pad, kiosk, 1, reasons=["attitude"], comment="态度冷淡")
    before = window3(server, manager)
    assert before["ratings"] == 2 and before["good_rate"] == pytest.approx(0.5)
    case = requests.get(server.url + "/api/cases?state=open", headers=manager, timeout=5).json()["cases"][0]
    assert case["number"] == bad["number"]

    sign_in(page, server)
    page.click("a[data-tab=followup]")
    row = page.locator("#fu-cases tbody tr", has_text=bad["number"])
    row.wait_for()
    text = row.inner_text()
    assert "态度" in text and "态度冷淡" in text and "回访" in text  # reason tag, comment, deadlines
    assert "1103" in text

    # the manager calls the citizen back and notes it
    row.click()
    page.locator("#fu-detail form.fu-step").wait_for()
    assert page.locator("#fu-detail select[name=step]").input_value() == "callback"
    page.fill("#fu-detail form.fu-step input[name=note]", "已电话回访，群众表示理解")
    page.click("#fu-detail form.fu-step button")
    page.locator("#fu-notes td", has_text="已电话回访，群众表示理解").wait_for()
    page.locator("#fu-steps .due.done", has_text="回访").wait_for()
    got = requests.get(server.url + f"/api/cases/{case['id']}", headers=manager, timeout=5).json()
    assert got["callback_done_at"]
    assert any(n["step"] == "callback" and n["text"] == "已电话回访，群众表示理解" for n in got["notes"])

    # the clerk appeals; the manager upholds it on the tab and the rating leaves the figures
    r = requests.post(server.url + f"/api/cases/{case['id']}/appeal", headers=clerk, timeout=5,
                      json={"reason": "群众误按"})
    assert r.status_code == 200, r.text
    page.click("#fu-states button[data-state=open]")
    page.locator("#fu-cases tbody tr", has_text="待复核").wait_for()
    page.locator("#fu-cases tbody tr", has_text=bad["number"]).click()
    page.locator("#fu-detail form.fu-appeal").wait_for()
    page.screenshot(path=str(SHOTS / "manage-followup.png"), full_page=True)
    page.fill("#fu-detail form.fu-appeal input[name=note]", "监控核实为误按")
    page.click("#fu-detail form.fu-appeal button[data-uphold='1']")
    page.locator("#fu-status", has_text="已从统计中剔除").wait_for()
    after = poll(lambda: (lambda w: w if w["ratings"] == 1 else None)(window3(server, manager)))
    assert after and after["ratings"] == 1 and after["good_rate"] == pytest.approx(1.0)
    got = requests.get(server.url + f"/api/cases/{case['id']}", headers=manager, timeout=5).json()
    assert got["appeal_status"] == "upheld" and got["excluded"] and got["status"] == "closed"
    page.click("#fu-states button[data-state=closed]")
    page.locator("#fu-cases tbody tr", has_text=bad["number"]).wait_for()
    assert page.locator("#fu-flags").inner_text()  # the flags table is there (none here)

    # the notice line
    page.click("a[data-tab=lobby]")
    page.locator("#notice-now").wait_for()
    page.fill("#notice-form textarea", "今日下午社保业务暂停办理，敬请谅解")
    page.click("#notice-form button")
    page.locator("#notice-msg", has_text="公告已保存").wait_for()
    assert requests.get(server.url + "/api/notice", timeout=5).json()["text"] == "今日下午社保业务暂停办理，敬请谅解"
    expect(page.locator("#notice-now")).to_have_text("今日下午社保业务暂停办理，敬请谅解")

    page.click("a[data-tab=settings]")
    page.locator("#notice", has_text="今日下午社保业务暂停办理").wait_for()  # the notice in force
    page.click("a[data-tab=lobby]")

    # printing: the printer's health and the jobs; a reprint adds a job
    page.locator("#printer-state").wait_for()
    jobs = requests.get(server.url + "/api/print-jobs", headers=manager, timeout=5).json()["jobs"]
    assert len(jobs) == 2
    page.locator("#print-jobs td", has_text=bad["number"]).first.wait_for()
    page.locator("#print-jobs tbody tr", has_text=bad["number"]).locator("button.reprint").click()
    page.locator("#jobs-msg", has_text="已加入补打").wait_for()
    page.wait_for_function("document.querySelectorAll('#print-jobs tbody tr').length === 3")
    page.locator("#print-jobs tbody tr").first.locator("td", has_text="已打印").wait_for()  # the table follows the job
    jobs = requests.get(server.url + "/api/print-jobs", headers=manager, timeout=5).json()["jobs"]
    assert len(jobs) == 3 and jobs[0]["kind"] == "reprint" and jobs[0]["ticket"] == bad["id"]
    page.screenshot(path=str(SHOTS / "manage-lobby.png"), full_page=True)

    # the English toggle
    page.goto(server.url + "/manage?lang=en#followup")
    page.locator("#fu-cases tbody tr").first.wait_for()
    assert "Bad-rating follow-up" in page.inner_text("#tabs")
    assert "Deadlines" in page.inner_text("#fu-cases thead")
    page.click("#fu-states button[data-state=all]")
    row = page.locator("#fu-cases tbody tr[data-case]", has_text=bad["number"])
    row.wait_for()
    assert "attitude; 态度冷淡" in row.inner_text() and "Callback done" in row.inner_text()


@pytest.fixture
def hurried(hall_dir):
    """Deadlines that fall due at once (callback) and within the day (verify)."""
    toml = hall_dir / "hall.toml"
    text = toml.read_text(encoding="utf-8")
    assert 'callback = "1wd"' in text and 'verify = "3wd"' in text
    toml.write_text(text.replace('callback = "1wd"', 'callback = "0h"').replace('verify = "3wd"', 'verify = "2h"'),
                    encoding="utf-8")
    s = LiveServer(hall_dir)
    s.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    s.start()
    yield s
    s.kill()


def test_case_to_rerating_and_a_rejected_appeal(hurried, page):
    server = hurried
    kiosk = bearer(server.device_token("kiosk-1", "kiosk"))
    pad = bearer(server.device_token("pad-3", "pad", 3))
    clerk = bearer(server.clerk_token("1103", 3))
    manager = bearer(requests.post(server.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                                   timeout=5).json()["token"])
    first = serve_and_rate(server, clerk, pad, kiosk, 2, reasons=["long_wait"])

    sign_in(page, server)
    page.click("a[data-tab=followup]")
    page.locator("#fu-cases tbody tr", has_text=first["number"]).wait_for()
    # a bad rating while the tab is open shows up without a reload (the pushed `event`)
    second = serve_and_rate(server, clerk, pad, kiosk, 1, reasons=["knowledge"])
    page.locator("#fu-cases tbody tr", has_text=second["number"]).wait_for()
    ids = {c["number"]: c["id"] for c in requests.get(server.url + "/api/cases", headers=manager,
                                                         timeout=5).json()["cases"]}
    row = page.locator("#fu-cases tbody tr", has_text=first["number"])
    row.locator(".due.over", has_text="回访").wait_for()   # callback overdue: red
    assert row.locator(".due.soon", has_text="核实").count() == 1  # verify due within 24 h: amber
    page.click("#fu-states button[data-state=overdue]")
    page.wait_for_function("document.querySelectorAll('#fu-cases tbody tr[data-case]').length === 2")
    page.locator("#fu-cases tbody tr", has_text=second["number"]).click()
    page.locator("#fu-detail form.fu-step").wait_for()
    page.screenshot(path=str(SHOTS / "manage-followup-overdue.png"), full_page=True)

    page.click("#fu-states button[data-state=open]")
    page.locator("#fu-cases tbody tr", has_text=first["number"]).click()
    detail = page.locator("#fu-detail")
    detail.locator("form.fu-owner").wait_for()
    page.fill("#fu-detail form.fu-owner input[name=note]", "综合窗口科")
    page.click("#fu-detail form.fu-owner button")
    detail.locator("dd", has_text="综合窗口科").wait_for()

    # an empty note is refused on the page
    page.click("#fu-detail form.fu-step button")
    page.locator("#fu-error", has_text="请先填写说明").wait_for()
    # reply before the callback: the API refuses and the page says why
    page.select_option("#fu-detail select[name=step]", "reply")
    page.fill("#fu-detail form.fu-step input[name=note]", "已反馈")
    page.click("#fu-detail form.fu-step button")
    page.wait_for_function("document.querySelector('#fu-error').textContent.length > 0 && "
                           "!document.querySelector('#fu-error').textContent.includes('请先填写')")
    for step, label, note in (("callback", "回访", "已回访"), ("verify", "核实", "调阅监控"),
                              ("rectify", "整改", "增开高峰窗口"), ("reply", "反馈", "已告知整改结果")):
        page.select_option("#fu-detail select[name=step]", step)
        if step == "verify":
            page.fill("#fu-detail form.fu-step input[name=finding]", "情况属实")
        page.fill("#fu-detail form.fu-step input[name=note]", note)
        page.click("#fu-detail form.fu-step button")
        page.locator("#fu-steps .due.done", has_text=label).wait_for()
    page.locator("#fu-status", has_text="已反馈").wait_for()
    page.select_option("#fu-detail form.fu-rerate select[name=score]", "4")
    page.fill("#fu-detail form.fu-rerate input[name=note]", "满意")
    page.click("#fu-detail form.fu-rerate button")
    page.locator("#fu-status", has_text="已结案").wait_for()
    got = requests.get(server.url + f"/api/cases/{ids[first['number']]}", headers=manager, timeout=5).json()
    assert got["status"] == "closed" and got["rerating_score"] == 4 and got["owner"] == "综合窗口科"
    assert got["verify_finding"] == "情况属实"
    assert [n["step"] for n in got["notes"]] == ["opened", "owner", "callback", "verify", "rectify",
                                                   "reply", "rerate"]

    # the second case: the appeal is rejected and the rating keeps counting
    requests.post(server.url + f"/api/cases/{ids[second['number']]}/appeal", headers=clerk, timeout=5,
                  json={"reason": "群众误按"}).raise_for_status()
    page.click("#fu-states button[data-state=open]")
    page.locator("#fu-cases tbody tr", has_text=second["number"]).click()
    page.fill("#fu-detail form.fu-appeal input[name=note]", "经核实评价属实")
    page.click("#fu-detail form.fu-appeal button[data-uphold='0']")
    page.locator("#fu-status", has_text="驳回").wait_for()
    got = requests.get(server.url + f"/api/cases/{ids[second['number']]}", headers=manager, timeout=5).json()
    assert got["appeal_status"] == "rejected" and not got["excluded"] and got["status"] == "open"


def test_printer_health_follows_the_printer_live(hall_dir, tmp_path, page):
    """Paper runs out with the tab open: the `device.changed` event turns the health red,
    the ticket waits as a job, and both clear when paper is back, without a reload."""
    sim = PrinterSim(tmp_path / "sim").start()
    set_printer(hall_dir, sim.url, poll_s=0.5, retry_max_s=1)
    server = LiveServer(hall_dir)
    server.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    try:
        server.start()
        kiosk = bearer(server.device_token("kiosk-1", "kiosk"))
        sign_in(page, server)
        page.click("a[data-tab=lobby]")
        page.locator("#printer-state[data-state=online]").wait_for()
        sim.say("paper out")
        page.locator("#printer-state[data-state=paper_out]").wait_for()
        assert "纸" in page.inner_text("#printer-state")
        t = requests.post(server.url + "/api/tickets", json={"service": "C"}, headers=kiosk, timeout=5).json()
        page.locator("#print-jobs tbody tr", has_text=t["number"]).locator("td", has_text="待打印").wait_for()
        sim.say("paper ok")
        page.locator("#printer-state[data-state=online]").wait_for()
        page.locator("#print-jobs tbody tr", has_text=t["number"]).locator("td", has_text="已打印").wait_for()
        wait_for(lambda: any(t["number"] in x for x in sim.printed()), 30, what="the ticket printed")
    finally:
        server.kill()
        sim.stop()
