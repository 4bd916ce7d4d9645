"""The kiosk in a big hall in elder mode, and a long hall name: every service in two
taps in both orientations (a category of 14 services shows all of them at once, in
smaller cards that are still at least 96 px, never a pager), and a 30-character Chinese
hall name in the header is never cut off (wrapped to two lines, scaled if it must be)."""
from __future__ import annotations

import pytest

from big_hall import codes
from conftest import LiveServer
from server import config
from test_big_hall_kiosk import check_layout

pytestmark = pytest.mark.browser

# 40 services: one category of 14 (more than a screen of large elder cards), the rest smaller
CATEGORIES = [("社会保障", "Social Security", 14), ("医疗保障", "Medical Insurance", 4),
              ("税务综合服务", "Tax Services", 4), ("不动产登记", "Real Estate", 4),
              ("市场监管", "Market Regulation", 4), ("公安服务", "Police Services", 4),
              ("公积金", "Housing Fund", 4), ("民政与综合", "Civil Affairs", 2)]
NAMES = ["参保登记", "养老保险待遇", "失业保险金申领", "工伤认定", "社保卡补换", "灵活就业参保",
         "退休审批", "个人权益记录", "转移接续", "遗属待遇", "职业年金", "待遇资格认证", "企业参保", "缴费基数申报"]
LONG_NAME = "幸福区人民政府政务服务中心暨市民之家综合便民服务大厅北区分厅"
assert len(LONG_NAME) == 30


def hall_toml() -> str:
    base = config.demo_text(always_open=True).replace('name = "幸福区政务服务中心"', f'name = "{LONG_NAME}"', 1)
    out, all_codes, i = [base.split("[[services]]")[0]], codes(40), 0
    for cat, cat_en, n in CATEGORIES:
        for k in range(n):
            code = all_codes[i]
            i += 1
            out.append(f'[[services]]\ncode = "{code}"\nname = "{NAMES[k % len(NAMES)]}"\n'
                       f'name_en = "{cat_en} {k + 1}"\ncategory = "{cat}"\ncategory_en = "{cat_en}"\n\n')
    for w in range(1, 21):
        serves = ", ".join(f'"{c}"' for c in all_codes[(w - 1) * 2:(w - 1) * 2 + 2])
        out.append(f'[[windows]]\nnumber = {w}\nservices = [{serves}]\n\n')
    return "".join(out)


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    folder = tmp_path_factory.mktemp("citizens2") / "hall"
    folder.mkdir()
    (folder / "hall.toml").write_text(hall_toml(), encoding="utf-8")
    server = LiveServer(folder).start()
    yield server
    server.kill()


HEADER = """() => { const el = document.querySelector('.hall-main'); const r = el.getBoundingClientRect();
  const box = document.querySelector('header.top').getBoundingClientRect();
  return {sw: el.scrollWidth, cw: el.clientWidth, sh: el.scrollHeight, ch: el.clientHeight,
          lines: Math.round(el.clientHeight / parseFloat(getComputedStyle(el).lineHeight)),
          font: parseFloat(getComputedStyle(el).fontSize), inside: r.right <= box.right + 0.5 && r.left >= 0,
          text: el.textContent}; }"""


@pytest.mark.parametrize("width,height,name", [(1080, 1920, "portrait"), (1920, 1080, "landscape")])
def test_elder_mode_reaches_every_service_in_two_taps_and_the_long_name_shows_whole(
        hall, browser, shots, width, height, name):
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{hall.url}/kiosk?token={hall.device_token(f'kiosk-e-{name}', 'kiosk')}")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_function("document.querySelectorAll('.category').length === 8")
    # the name is fitted again once the fonts are in (kiosk.js): read it after that
    page.evaluate("document.fonts.ready.then(() => true)")

    head = page.evaluate(HEADER)
    assert head["text"] == LONG_NAME
    assert head["sw"] <= head["cw"] and head["sh"] <= head["ch"] + 1, f"{name}: the hall's name is cut off: {head}"
    assert head["inside"] and head["lines"] <= 2 and head["font"] >= 28, head
    page.screenshot(path=str(shots / f"citizens2-kiosk-header-{name}.png"))

    all_codes, start = codes(40), 0
    for ci, (cat, _en, n) in enumerate(CATEGORIES):
        group, start = all_codes[start:start + n], start + n
        page.click("#elder-btn")
        assert page.evaluate("document.body.classList.contains('elder')")
        assert page.is_hidden("#pager"), f"{name}: the categories need a pager in elder mode"
        assert page.locator(".category").count() == 8
        if ci == 0:
            check_layout(page, width, height, f"{name} elder start")
            page.screenshot(path=str(shots / f"citizens2-kiosk-elder-start-{name}.png"))
        page.click(f".category[data-category='{cat}']")  # tap 1
        page.wait_for_selector("#nav:not(.hidden)")
        assert page.is_hidden("#pager"), f"{name} {cat}: a pager (a third tap) in elder mode"
        shown = [el.get_attribute("data-code") for el in page.query_selector_all(".service[data-code]")]
        assert shown == group, f"{name} {cat}: not every service in view: {shown}"
        if n == 14:
            page.screenshot(path=str(shots / f"citizens2-kiosk-elder-big-category-{name}.png"))
        boxes = check_layout(page, width, height, f"{name} elder {cat}")
        small = [b["id"] for b in boxes if b["b"] - b["y"] < 96 or b["r"] - b["x"] < 96]
        assert small == [], f"{name} {cat}: targets under 96 px in elder mode: {small}"
        page.click(f".service[data-code='{group[-1]}']")  # tap 2: the last card, the furthest
        page.wait_for_selector("#done:not(.hidden)")
        number = page.inner_text("#d-number")  # the hall is shared by both orientations: 001 or 002
        assert number[:-3] == group[-1] and number[-3:] in ("001", "002"), number
        page.click("#d-ok")
        page.wait_for_selector("#start:not(.hidden)")
        page.wait_for_function("document.querySelectorAll('.category').length === 8")
    ctx.close()
