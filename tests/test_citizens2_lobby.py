"""The lobby's 阳光政务 panel never runs under the notice line: with 6 services (one
column, no pages) and with 40 (pages by category), at 1920x1080 and 3840x2160, with
clerks signed in (the panel names them, their commitment and its progress)."""
from __future__ import annotations

import pytest
import requests

from big_hall import write_big_hall
from conftest import PASSWORD, LiveServer
from server import config

pytestmark = pytest.mark.browser

GEOMETRY = """() => {
  const box = el => { const r = el.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
  const panel = document.getElementById('panel'), notice = document.querySelector('footer.notice');
  const inner = Array.from(panel.querySelectorAll('*')).filter(e => e.offsetParent).map(box);
  const ul = document.getElementById('services');
  const rows = Array.from(ul.querySelectorAll('li')).map(li => ({code: li.dataset.code, b: li.getBoundingClientRect().bottom,
      cut: li.scrollHeight > li.clientHeight + 1}));
  return {panel: box(panel), notice: box(notice), inner, rows, services: box(document.getElementById('services')),
          stage: box(document.getElementById('stage')), who: !!panel.querySelector('.who'),
          pledge: panel.classList.contains('show-pledge'), text: panel.innerText};
}"""


def six_services(folder):
    path = config.write_demo(folder, always_open=True)
    text = path.read_text(encoding="utf-8")
    text = text.replace("[[windows]]", '[[services]]\ncode = "F"\nname = "出入境证件办理"\nname_en = "Exit and Entry Permits"\n\n'
                        "[[windows]]", 1)
    text = text.replace('services = ["A", "E"]', 'services = ["A", "E", "F"]', 1)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module", params=[6, 40], ids=["6-services", "40-services"])
def lobby_hall(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"lobby{request.param}") / "hall"
    if request.param == 6:
        six_services(folder)
    else:
        write_big_hall(folder)
    server = LiveServer(folder).start()
    for window in (1, 2, 3):  # clerks at windows: the panel names them
        server.clerk_token(f"10{window:02d}", window)
    yield request.param, server
    server.kill()


def intersects(a, b) -> bool:
    return min(a["r"], b["r"]) - max(a["l"], b["l"]) > 0.5 and min(a["b"], b["b"]) - max(a["t"], b["t"]) > 0.5


@pytest.mark.parametrize("width,height", [(1920, 1080), (3840, 2160)])
def test_the_panel_and_the_notice_line_never_overlap(lobby_hall, browser, shots, width, height):
    n, live = lobby_hall
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{live.url}/display?voice=0&rotate=2")
    page.wait_for_selector("#panel .who")  # a clerk's panel, from the live snapshot
    page.wait_for_selector("#services li")
    seen = []
    for moment in range(4):  # its pledge shows after 4 s, the pages turn (2 s)
        g = page.evaluate(GEOMETRY)
        seen.append(g["pledge"])
        where = f"{n} services at {width}x{height}, moment {moment}: {g['text']!r}"
        assert not intersects(g["panel"], g["notice"]), f"the panel runs under the notice line: {where} {g}"
        assert g["panel"]["b"] <= g["notice"]["t"] + 0.5, where
        assert all(not intersects(e, g["notice"]) for e in g["inner"]), f"the panel's text runs under the notice: {where}"
        assert g["services"]["b"] <= g["panel"]["t"] + 0.5, f"a queue runs under the panel: {where}"
        assert g["rows"], where
        for r in g["rows"]:
            assert r["b"] <= g["services"]["b"] + 0.5 and not r["cut"], f"{r['code']} is cut off: {where}"
        if n == 6:
            assert [r["code"] for r in g["rows"]] == list("ABCDEF"), f"not every queue in view: {where}"
        if moment == 0:
            page.screenshot(path=str(shots / f"citizens2-lobby-{n}-{width}x{height}.png"))
        page.wait_for_timeout(1400)
    ctx.close()
