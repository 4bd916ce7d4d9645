"""The touch pad asked by the business system to rate a case (一次一评), in headless Chromium
against a running `qrate serve` over its real Socket.IO push: the case shows, the level and
the optional sub-scores are recorded with the case number; skipping keeps it one tap more."""
import pytest

from conftest import SHOTS
from test_pad_browser import api, desk, pad, ratings  # noqa: F401  (fixtures of the pad tests)

pytestmark = pytest.mark.browser


def test_a_case_request_lights_the_pad_and_the_rating_keeps_case_and_dimensions(desk, pad):  # noqa: F811
    desk["integration"] = desk["live"].device_token("yichuang-1", "integration")
    r = api(desk, "POST", "/windows/3/rating-request", "integration",
            json={"case_no": "BJ2026112700123", "matter_code": "M-001", "matter_name": "个体工商户设立登记"})
    assert r.status_code == 201, r.text
    pad.wait_for_selector("body[data-state=ask]")
    assert pad.locator("#case-no").inner_text() == "BJ2026112700123"
    assert pad.locator("#matter-name").inner_text() == "个体工商户设立登记"
    assert pad.locator("#ask-ticket").is_hidden()
    pad.screenshot(path=str(SHOTS / "pad-case-asking.png"))
    pad.locator("button.level[data-score='4']").click()
    pad.wait_for_selector("body[data-state=dims]")
    assert [t.strip() for t in pad.locator(".dim > span").all_inner_texts()] == ["服务效率", "服务水平", "服务态度"]
    pad.locator(".dim[data-dim=efficiency] .dlevel[data-level='5']").click()
    pad.locator(".dim[data-dim=level] .dlevel[data-level='4']").click()
    pad.screenshot(path=str(SHOTS / "pad-case-dimensions.png"))
    pad.locator(".dim[data-dim=attitude] .dlevel[data-level='3']").click()  # the third: on at once
    pad.wait_for_selector("body[data-state=thanks]")
    [row] = ratings(desk)
    assert (row["ticket"], row["case_no"], row["score"]) == (None, "BJ2026112700123", 4)
    assert row["dimensions"] == {"efficiency": 5, "level": 4, "attitude": 3}
    # a second case, skipped sub-scores: the level alone is recorded
    api(desk, "POST", "/windows/3/rating-request", "integration",
        json={"case_no": "BJ2026112700124", "matter_code": "M-001", "matter_name": "个体工商户设立登记"})
    pad.wait_for_selector("body[data-state=ask]", timeout=15000)
    assert pad.locator("#case-no").inner_text() == "BJ2026112700124"
    pad.locator("button.level[data-score='5']").click()
    pad.locator("#skip-dims").click()
    pad.wait_for_selector("body[data-state=thanks]")
    latest = next(x for x in ratings(desk) if x["case_no"] == "BJ2026112700124")
    assert latest["score"] == 5 and latest["dimensions"] is None
