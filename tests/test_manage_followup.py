"""The dashboard's follow-up (差评回访整改), notice and printing tabs in a real browser
against `qrate serve`: a pad's rating of 1 opens a case the manager works on the tab,
an upheld appeal takes the rating out of the figures, the notice editor saves, and a
reprint from the print jobs list queues a job. Screenshots: docs/screenshots/manage-followup.png,
manage-lobby.png."""
import time

import pytest
import requests

from conftest import PASSWORD, ROOT, LiveServer, bearer

SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture
def server(hall):
    s = LiveServer(hall)
    s.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    s.start()
    yield s
    s.kill()


def poll(fn, timeout=10.0):
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
    assert page.inner_text("#notice-now") == "今日下午社保业务暂停办理，敬请谅解"

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
