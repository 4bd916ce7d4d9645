"""The hall's reason tags → the national reasons of the 好差评 feed, from configuration
([ratings] reason_map): every tag the pad offers needs a mapping (a configuration error
otherwise), and the city's feed writes the national reasons by the map in force when the
rating was given, beside the hall's own tags."""
from __future__ import annotations

import json
from datetime import datetime

import jsonschema
import pytest

from city_kit import ROOT, qrate
from conftest import Accounts, FakeClock
from server import config, evaluation, hallschema
from server.app import create_app
from test_city import TZ, InProcessCity, add_hall_and_manager, city_url, forward_all, postgres  # noqa: F401


def _problems(ratings: dict) -> list[str]:
    raw = config.merge(config.DEFAULTS, {"ratings": ratings})
    return [f"{p.path}: {p.message}" for p in hallschema.problems(raw)[1]]


@pytest.mark.unit
def test_every_offered_tag_needs_a_national_reason():
    assert _problems({}) == []  # the defaults map every default tag
    assert config.DEFAULTS["ratings"]["reason_map"]["knowledge"] == "level"
    [problem] = _problems({"reasons": ["attitude", "queue_jump"]})
    assert problem.startswith("[ratings] reasons #2: reason 'queue_jump' has no national reason")
    assert "reason_map" in problem
    assert _problems({"reasons": ["attitude", "queue_jump"], "reason_map": {"queue_jump": "process"}}) == []
    [bad] = _problems({"reason_map": {"queue_jump": "queue"}})
    assert bad.startswith("[ratings] reason_map queue_jump:") and "'process'" in bad
    assert _problems({"reason_map": {"Bad-Tag": "other"}})  # a tag is a lower-case code
    # a mapping for a tag no longer offered is kept (old ratings still map by it)
    assert _problems({"reasons": ["attitude"], "reason_map": {"attitude": "attitude", "old_tag": "other"}}) == []
    assert evaluation.national_reasons(["long_wait", "efficiency", "queue_jump"], {"queue_jump": "process"}) == \
        ["efficiency", "process"]
    assert evaluation.national_reasons(["gone"]) == ["other"]  # known to neither: other


@pytest.mark.api
def test_put_config_refuses_a_tag_without_a_national_reason(client, accounts):
    manager = accounts.manager()
    raw = client.get("/api/config", headers=manager).get_json()
    raw["ratings"]["reasons"] = raw["ratings"]["reasons"] + ["queue_jump"]
    r = client.put("/api/config", json=raw, headers=manager)
    assert r.status_code == 422, r.get_json()
    fields = r.get_json()["error"]["details"]
    assert any(f["field"].startswith("ratings.reasons.") and "reason_map" in f["problem_en"] for f in fields)
    raw["ratings"]["reason_map"]["queue_jump"] = "process"
    assert client.put("/api/config", json=raw, headers=manager).status_code == 200
    assert client.get("/api/config", headers=manager).get_json()["ratings"]["reason_map"]["queue_jump"] == "process"


@pytest.mark.api
def test_the_feed_writes_national_reasons_by_the_map_in_force_when_rated(city_url, hall_dir):  # noqa: F811
    clock = FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=TZ))
    hall_id, token = add_hall_and_manager(city_url)
    city = InProcessCity(city_url, clock=clock)
    try:
        app = create_app({"HALL": hall_dir, "TESTING": True, "CLOCK": clock, "HALL_OVERRIDES": {
            "ratings": {"press_burst": 50, "presses_per_minute": 600,
                        "reasons": ["attitude", "efficiency", "knowledge", "long_wait", "other", "queue_jump"],
                        "reason_map": {"queue_jump": "process"}},
            "city": {"url": city.url, "token": token, "hall_id": hall_id}}})
        client = app.test_client()
        acc = Accounts(app.extensions["qrate"], client)
        kiosk, clerk, pad, manager = acc.device("kiosk"), acc.clerk(1), acc.device("pad", 1), acc.manager()

        def rate(score: int, reasons: list[str]) -> int:
            t = client.post("/api/tickets", json={"service": "A"}, headers=kiosk).get_json()
            client.post("/api/windows/1/call-next", headers=clerk)
            clock.advance(60)
            client.post(f"/api/tickets/{t['id']}/finish", headers=clerk)
            clock.advance(5)
            r = client.post("/api/ratings", json={"ticket": t["id"], "score": score, "reasons": reasons},
                            headers=pad)
            assert r.status_code == 201, r.get_json()
            return t["id"]

        rate(2, ["queue_jump", "knowledge", "long_wait"])
        rate(5, [])
        raw = client.get("/api/config", headers=manager).get_json()
        raw["ratings"]["reason_map"]["queue_jump"] = "other"  # the hall files it elsewhere from now on
        assert client.put("/api/config", json=raw, headers=manager).status_code == 200
        rate(1, ["queue_jump", "attitude"])
        forward_all(app)
        schema = json.loads((ROOT / "docs" / "haochaping-feed.schema.json").read_text(encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
        lines = [json.loads(x) for x in qrate("city", "feed", "export", "--db", city_url).stdout.splitlines()]
        for line in lines:
            validator.validate(line)
        got = [(r["level"], r["reasons"], r["hall_reasons"]) for r in lines]
        assert got == [(2, ["process", "level", "efficiency"], ["queue_jump", "knowledge", "long_wait"]),
                       (5, [], []),
                       (1, ["other", "attitude"], ["queue_jump", "attitude"])]
        # a hall code in the national field would be refused by the schema
        with pytest.raises(jsonschema.ValidationError):
            validator.validate({**lines[0], "reasons": ["queue_jump"]})
        csv_text = qrate("city", "feed", "export", "--db", city_url, "--all", "--format", "csv").stdout
        header, first, *_ = csv_text.lstrip("\ufeff").splitlines()
        cols = header.split(",")
        values = next(__import__("csv").reader([first]))
        assert values[cols.index("reasons")] == "process|level|efficiency"
        assert values[cols.index("hall_reasons")] == "queue_jump|knowledge|long_wait"
        app.extensions["qrate"].close()
    finally:
        city.stop()
