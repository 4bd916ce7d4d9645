"""A big hall at the kiosk: 40 services in 8 categories. Categories first, two taps to a
ticket for every service, large cards that never overlap and never leave the screen, the
priority path always in view; portrait 1080x1920 and landscape 1920x1080."""
from __future__ import annotations

import pytest
import requests

from big_hall import CATEGORIES, codes, write_big_hall
from conftest import SHOTS, LiveServer

pytestmark = pytest.mark.browser

BOXES = """() => Array.from(document.querySelectorAll('button')).filter(b => b.offsetParent)
  .map(b => { const r = b.getBoundingClientRect();
              return {id: b.id || b.dataset.code || b.dataset.category || b.textContent.trim().slice(0, 12),
                      x: r.left, y: r.top, r: r.right, b: r.bottom,
                      clipped: b.scrollWidth > b.clientWidth + 1 || b.scrollHeight > b.clientHeight + 1}; })"""


@pytest.fixture
def big_live(tmp_path):
    folder = tmp_path / "big"
    write_big_hall(folder)
    server = LiveServer(folder).start()
    yield server
    server.kill()


def check_layout(page, width: int, height: int, where: str) -> list[dict]:
    boxes = page.evaluate(BOXES)
    assert boxes, where
    for b in boxes:
        assert b["x"] >= 0 and b["y"] >= 0 and b["r"] <= width + 0.5 and b["b"] <= height + 0.5, \
            f"{where}: {b['id']} leaves the {width}x{height} screen: {b}"
        assert not b["clipped"], f"{where}: the text of {b['id']} is cut off"
    for i, a in enumerate(boxes):
        for c in boxes[i + 1:]:
            overlap = min(a["r"], c["r"]) - max(a["x"], c["x"]) > 0.5 and \
                min(a["b"], c["b"]) - max(a["y"], c["y"]) > 0.5
            assert not overlap, f"{where}: {a['id']} and {c['id']} overlap"
    assert page.is_visible("#priority-btn") or page.is_visible("#priority-bar"), where
    return boxes


@pytest.mark.parametrize("width,height,name", [(1080, 1920, "portrait"), (1920, 1080, "landscape")])
def test_forty_services_in_two_taps_each(big_live, browser, width, height, name):
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = ctx.new_page()
    token = big_live.device_token(f"kiosk-{name}", "kiosk")
    page.goto(f"{big_live.url}/kiosk?token={token}")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_function("document.querySelectorAll('.category').length === 8")
    assert page.locator(".service:not(.category)").count() == 0  # categories first
    check_layout(page, width, height, f"{name} start")
    page.screenshot(path=str(SHOTS / f"big-kiosk-start-{name}.png"))

    all_codes = codes(40)
    issued = {}
    for ci, (cat, _en, names) in enumerate(CATEGORIES):
        page.click(f".category[data-category='{cat}']")  # tap 1
        page.wait_for_selector("#nav:not(.hidden)")
        assert page.inner_text("#nav-title") == cat
        check_layout(page, width, height, f"{name} {cat}")
        if ci == 2:
            page.screenshot(path=str(SHOTS / f"big-kiosk-category-{name}.png"))
        group = all_codes[ci * 5:ci * 5 + 5]
        assert [el.get_attribute("data-code") for el in page.query_selector_all(".service[data-code]")] \
            == group
        # every service in portrait; in landscape the layout of each category and one ticket
        for k, code in enumerate(group if name == "portrait" else group[-1:]):
            if k:
                page.click(f".category[data-category='{cat}']")
            page.click(f".service[data-code='{code}']")  # tap 2
            page.wait_for_selector("#done:not(.hidden)")
            issued[code] = page.inner_text("#d-number")
            if code == "AN":
                assert page.inner_text("#d-where") == "暂无窗口办理"
                page.screenshot(path=str(SHOTS / f"big-kiosk-ticket-{name}.png"))
            page.click("#d-ok")
            page.wait_for_selector("#start:not(.hidden)")
            page.wait_for_function("document.querySelectorAll('.category').length === 8")
    assert issued == {c: f"{c}001" for c in issued}
    assert len(issued) == (40 if name == "portrait" else 8)
    queue = requests.get(big_live.url + "/api/queue", timeout=5).json()
    assert sorted(t["number"] for t in queue["tickets"]) == sorted(issued.values())

    # the priority path from a category: the bar stays in view, the ticket is a priority one
    page.click("#priority-btn")
    page.click(f".category[data-category='{CATEGORIES[7][0]}']")
    check_layout(page, width, height, f"{name} priority")
    page.screenshot(path=str(SHOTS / f"big-kiosk-priority-{name}.png"))
    page.click(".service[data-code='AN']")
    page.wait_for_selector("#done:not(.hidden)")
    assert page.inner_text("#d-number") == "AN002"
    assert queue["tickets"] and requests.get(big_live.url + "/api/queue", timeout=5).json()[
        "tickets"][-1]["priority"] is True
    ctx.close()
