"""Accessibility: axe-core (installed from npm by `./dev test` into .axe/) run in
Chromium on every page, the kiosk in elder mode included: no serious or critical
violation."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import PASSWORD

pytestmark = pytest.mark.browser
AXE = Path(__file__).resolve().parents[1] / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
RUN = """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))"""


def test_every_page_has_no_serious_or_critical_violation(live, browser):
    assert AXE.is_file(), f"{AXE} is missing: `./dev test` installs axe-core with npm"
    script = AXE.read_text(encoding="utf-8")
    kiosk, pad = live.device_token("kiosk-a", "kiosk"), live.device_token("pad-a", "pad", 3)
    ticket = __import__("requests").post(live.url + "/api/tickets", json={"service": "A"},
                                         headers={"Authorization": f"Bearer {kiosk}"}, timeout=5).json()
    live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
    # each page audited once it has drawn what it shows a citizen: the live pages from their
    # snapshot (html.online), the pad from its own state too (idle)
    online = "html.online"
    pages = [(f"/kiosk?token={kiosk}", (1080, 1920), None, online),
             (f"/kiosk?token={kiosk}", (1080, 1920), "#elder-btn", online),
             ("/display", (1920, 1080), None, online), ("/display/window/3", (1920, 1080), None, online),
             (f"/pad?token={pad}", (1280, 800), None, "body[data-state=idle]"), ("/console", (1600, 900), None, None),
             ("/manage", (1600, 900), None, None),
             (ticket["status_url"].replace("http://127.0.0.1:5000", ""), (390, 844), None, online)]
    found = {}
    # bypass_csp: the audit script is injected inline; the pages themselves keep their policy
    ctx = browser.new_context(locale="zh-CN", bypass_csp=True)
    for url, (w, h), tap, drawn in pages:
        page = ctx.new_page()
        page.set_viewport_size({"width": w, "height": h})
        page.goto(live.url + url)
        page.wait_for_load_state("networkidle")
        if drawn:
            page.wait_for_selector(drawn)
        if tap:
            page.click(tap)
        page.add_script_tag(content=script)
        bad = page.evaluate(RUN)
        if bad:
            found[url.split("?")[0] + (" " + tap if tap else "")] = bad
        page.close()
    # the dashboard signed in, too
    page = ctx.new_page()
    page.goto(live.url + "/manage")
    page.fill("input[name=user]", "9001")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#alerts li")
    page.add_script_tag(content=script)
    bad = page.evaluate(RUN)
    if bad:
        found["/manage (signed in)"] = bad
    # and every page a signed-in manager opens from it
    for url in ("/manage/config", "/manage/system", "/manage/plan", "/manage/commitments",
                "/manage/training", "/manage/notices", "/manage/door", "/manage/report"):
        page.set_viewport_size({"width": 1366, "height": 768})
        page.goto(live.url + url)
        page.wait_for_load_state("networkidle")
        if url in ("/manage/config", "/manage/plan"):
            page.wait_for_selector("body[data-ready='1']")  # drawn from their fetches
        page.add_script_tag(content=script)
        bad = page.evaluate(RUN)
        if bad:
            found[url + " (signed in)"] = bad
    ctx.close()
    assert found == {}
