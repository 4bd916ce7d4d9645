"""The admin page edits [ratings] reason_map and ticket_dimensions: a new reason tag saved
without its national reason is refused with the line to add; with it, it is kept."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from conftest import PASSWORD, LiveServer, bearer

pytestmark = pytest.mark.browser


def test_a_manager_maps_a_new_reason_tag_in_the_settings_page(hall_dir, browser, shots):
    live = LiveServer(hall_dir).start()
    try:
        live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        page = ctx.new_page()
        page.goto(live.url + "/manage")
        page.fill("input[name=user]", "9001")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        expect(page.locator("#tabs")).to_be_visible()
        page.goto(live.url + "/manage/config#ratings")
        page.wait_for_selector("body[data-ready='1']")
        form = page.locator("form[data-section=ratings]")
        reasons = form.locator("input[name=reasons]")
        expect(form.locator("input[name=reason_map]")).to_have_value(
            "attitude=attitude, efficiency=efficiency, knowledge=level, long_wait=efficiency, other=other")
        reasons.fill(reasons.input_value() + ", queue_jump")
        form.locator("button[type=submit]").click()
        expect(page.locator("#status.err")).to_contain_text("reason_map", timeout=15000)
        form.locator("input[name=reason_map]").fill(
            "attitude=attitude, efficiency=efficiency, knowledge=level, long_wait=efficiency, other=other, queue_jump=process")
        form.locator("input[name=ticket_dimensions]").check()
        form.locator("button[type=submit]").click()
        expect(page.locator("#status")).not_to_have_class("err", timeout=15000)
        page.screenshot(path=shots / "config-reason-map.png")
        token = requests.post(live.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                              timeout=5).json()["token"]
        ratings = requests.get(live.url + "/api/config", headers=bearer(token), timeout=5).json()["ratings"]
        assert ratings["reasons"][-1] == "queue_jump" and ratings["reason_map"]["queue_jump"] == "process"
        assert ratings["ticket_dimensions"] is True
        ctx.close()
    finally:
        live.kill()
