"""A big hall on the lobby screen: 40 services in 8 categories turn a page at a time,
every service's queue comes round within one turn, nothing runs under the panel or the
notice line, and the calls are never covered; 1920x1080 and 3840x2160."""
from __future__ import annotations

import time

import pytest

from big_hall import codes, write_big_hall
from conftest import SHOTS, LiveServer

pytestmark = pytest.mark.browser

GEOMETRY = """() => {
  const box = el => el.getBoundingClientRect();
  const ul = box(document.getElementById('services')), panel = box(document.getElementById('panel'));
  const notice = box(document.querySelector('footer.notice')), calls = box(document.querySelector('.calls'));
  const rows = Array.from(document.querySelectorAll('#services li')).map(li => ({code: li.dataset.code,
      top: box(li).top, bottom: box(li).bottom,
      cut: Array.from(li.querySelectorAll('.code, .count')).some(e => e.scrollWidth > e.clientWidth + 1)}));
  return {ul, panel, notice, calls, rows, page: document.getElementById('services').dataset.page,
          title: document.querySelector('#svc-group .svc-title').textContent};
}"""


@pytest.fixture
def big_live(tmp_path):
    folder = tmp_path / "big"
    write_big_hall(folder)
    server = LiveServer(folder).start()
    yield server
    server.kill()


@pytest.mark.parametrize("width,height", [(1920, 1080), (3840, 2160)])
def test_every_service_comes_round_within_one_turn(big_live, browser, width, height):
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{big_live.url}/display?voice=0&rotate=1")
    page.wait_for_function("window.qrateLobbyPages && window.qrateLobbyPages.length > 1")
    pages = page.evaluate("window.qrateLobbyPages")
    assert sorted(c for p in pages for c in p) == sorted(codes(40))
    shot = False
    # one turn is len(pages) s (rotate=1); a generous bound on a loaded machine, left as soon
    # as every queue was seen
    seen, titles, deadline = set(), set(), time.monotonic() + 3 * len(pages) + 20
    while len(seen) < 40 and time.monotonic() < deadline:
        g = page.evaluate(GEOMETRY)
        assert g["rows"], "a page with no services"
        for r in g["rows"]:
            assert r["top"] >= g["ul"]["top"] - 0.5 and r["bottom"] <= g["ul"]["bottom"] + 0.5, \
                f"{r['code']} runs out of its column"
            assert not r["cut"], f"{r['code']}'s code or count is cut off"
        assert g["ul"]["bottom"] <= g["panel"]["top"] + 0.5 and g["panel"]["bottom"] <= g["notice"]["top"] + 0.5
        assert g["calls"]["bottom"] <= g["notice"]["top"] + 0.5
        if g["page"] == "2" and not shot:
            shot = True
            page.screenshot(path=str(SHOTS / f"big-lobby-{width}x{height}.png"))
        titles.add(g["title"])
        seen.update(r["code"] for r in g["rows"])
        page.wait_for_timeout(250)
    assert seen == set(codes(40))  # every queue shown within one turn of the pages
    assert {"社会保障", "民政与综合"} <= titles
    ctx.close()
