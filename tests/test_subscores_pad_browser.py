"""[ratings] ticket_dimensions: the touch pad asks the three sub-scores (服务效率/服务水平/
服务态度) after a ticket's level too, not only a case's; off by default (one tap). In
headless Chromium against a running `qrate serve`, the setting turned on live."""
import pytest

from conftest import SHOTS
from test_pad_browser import api, desk, finish_one, pad, ratings  # noqa: F401  (fixtures of the pad tests)

pytestmark = pytest.mark.browser


def test_ticket_sub_scores_are_off_by_default_and_asked_once_the_hall_turns_them_on(desk, pad):  # noqa: F811
    t = finish_one(desk)
    pad.wait_for_selector("body[data-state=ask]")
    pad.locator("button.level[data-score='5']").click()
    pad.wait_for_selector("body[data-state=thanks]")  # one tap, as before
    assert next(r for r in ratings(desk) if r["ticket"] == t["id"])["dimensions"] is None
    pad.wait_for_selector("body[data-state=idle]", timeout=15000)
    raw = api(desk, "GET", "/config", "manager").json()
    assert raw["ratings"]["ticket_dimensions"] is False
    raw["ratings"]["ticket_dimensions"] = True
    r = api(desk, "PUT", "/config", "manager", json=raw)
    assert r.status_code == 200, r.text
    pad.wait_for_function("window.__ticketDims === true", timeout=15000)  # the pad learnt it live
    t = finish_one(desk)
    pad.wait_for_selector("body[data-state=ask]")
    pad.locator("button.level[data-score='4']").click()
    pad.wait_for_selector("body[data-state=dims]")
    assert [s.strip() for s in pad.locator(".dim > span").all_inner_texts()] == ["服务效率", "服务水平", "服务态度"]
    pad.locator(".dim[data-dim=efficiency] .dlevel[data-level='3']").click()
    pad.locator(".dim[data-dim=level] .dlevel[data-level='4']").click()
    pad.screenshot(path=str(SHOTS / "pad-ticket-dimensions.png"))
    pad.locator(".dim[data-dim=attitude] .dlevel[data-level='5']").click()
    pad.wait_for_selector("body[data-state=thanks]")
    row = next(r for r in ratings(desk) if r["ticket"] == t["id"])
    assert (row["score"], row["case_no"]) == (4, None)
    assert row["dimensions"] == {"efficiency": 3, "level": 4, "attitude": 5}
