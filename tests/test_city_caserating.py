"""A case rated at a hall (一次一评) reaches the city and the province's 好差评 feed with its case
number, matter and sub-scores; at the city it counts in the ratings, not in participation."""
from __future__ import annotations

import json
from datetime import datetime

import jsonschema
import pytest
import requests

from city_kit import ROOT, qrate
from conftest import Accounts, FakeClock
from server.app import create_app
from test_city import (TZ, InProcessCity, add_hall_and_manager, city_url, forward_all,  # noqa: F401
                       manager_headers, postgres)

pytestmark = pytest.mark.live


def test_a_case_rating_reaches_the_city_feed_with_its_case_number_and_dimensions(city_url, hall_dir):  # noqa: F811
    clock = FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=TZ))
    hall_id, token = add_hall_and_manager(city_url)
    city = InProcessCity(city_url, clock=clock)
    try:
        app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock, "HALL_OVERRIDES": {
            "city": {"url": city.url, "token": token, "hall_id": hall_id}}})
        client = app.test_client()
        acc = Accounts(app.extensions["qrate"], client)
        kiosk, clerk, pad = acc.device("kiosk"), acc.clerk(3), acc.device("pad", 3)
        system = acc.device("integration", name="yichuang")
        manager = acc.manager()
        # a ticket served and rated the usual way
        t = client.post("/api/tickets", json={"service": "A"}, headers=kiosk).get_json()
        client.post("/api/windows/3/call-next", headers=clerk)
        clock.advance(120)
        client.post(f"/api/tickets/{t['id']}/finish", headers=clerk)
        clock.advance(5)
        # the business system finishes its case: tied to that ticket
        tied = client.post("/api/windows/3/rating-request", headers=system, json={
            "case_no": "BJ2026112700001", "matter_code": "M-001", "matter_name": "营业执照变更"}).get_json()
        assert tied["ticket_id"] == t["id"]
        clock.advance(5)
        assert client.post("/api/ratings", json={"request": tied["request"], "ticket": t["id"], "score": 5},
                           headers=pad).status_code == 201
        # a second case of the same citizen, no ticket: rated 差评 with sub-scores
        clock.advance(60)
        loose = client.post("/api/windows/3/rating-request", headers=system, json={
            "case_no": "BJ2026112700002", "matter_code": "M-002", "matter_name": "税务登记"}).get_json()
        assert loose["ticket_id"] is None
        clock.advance(5)
        assert client.post("/api/ratings", headers=pad, json={
            "request": loose["request"], "score": 2, "reasons": ["long_wait"],
            "dimensions": {"efficiency": 1, "level": 3, "attitude": 4}}).status_code == 201
        assert forward_all(app) > 0

        schema = json.loads((ROOT / "docs" / "haochaping-feed.schema.json").read_text(encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
        lines = [json.loads(x) for x in qrate("city", "feed", "export", "--db", city_url).stdout.splitlines()]
        for line in lines:
            validator.validate(line)
        by_case = {r["case_no"]: r for r in lines}
        assert set(by_case) == {"BJ2026112700001", "BJ2026112700002"}
        first, second = by_case["BJ2026112700001"], by_case["BJ2026112700002"]
        assert (first["matter_code"], first["matter_name"], first["level"]) == ("M-001", "营业执照变更", 5)
        assert first["dimensions"] is None and first["content_version"] == "onsite-2019.1"
        assert (second["matter_code"], second["level_name"], second["window_id"], second["clerk_no"]) == \
            ("M-002", "不满意", "3", "1003")
        assert second["dimensions"] == {"efficiency": 1, "level": 3, "attitude": 4}
        assert second["followup"] is not None  # the 差评 opened its follow-up case
        csv_text = qrate("city", "feed", "export", "--db", city_url, "--all", "--format", "csv").stdout
        header, *rows = csv_text.lstrip("\ufeff").splitlines()
        assert header.endswith("efficiency,service_level,attitude,hall_reasons")
        assert any("BJ2026112700002" in r and r.endswith("1,3,4,long_wait") for r in rows)

        # the same window figures at the city as at the hall: 2 ratings, participation 1 / 1
        mgr = manager_headers(city.url, city_url)
        own = client.get("/api/stats/windows", headers=manager).get_json()["rows"]
        there = requests.get(f"{city.url}/api/city/stats/halls/{hall_id}/windows?from=2026-11-27",
                             headers=mgr, timeout=10).json()["rows"]
        mine = next(r for r in own if r["window"] == 3)
        theirs = next(r for r in there if r["window"] == 3)
        assert (mine["ratings"], mine["served"], mine["participation"]) == (2, 1, 1.0)
        assert (theirs["ratings"], theirs["served"], theirs["participation"]) == (2, 1, 1.0)
        app.extensions["qrate"].close()
    finally:
        city.stop()
