"""Big halls' rules: two-letter service codes kept in the number, a fourth digit past 999,
categories in hall.toml, and what the kiosk knows before a tap (a full time-slot, hours
over for today, no window serving)."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from server import config, engine
from server.app import create_app

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.unit
def test_codes_are_one_or_two_capital_letters(tmp_path):
    base = {"services": [{"code": "A", "name": "社会保障"}, {"code": "AB", "name": "税务",
                                                           "category": "税务", "category_en": "Tax"}]}
    cfg = config.build(tmp_path, config.merge(config.DEFAULTS, base))
    assert list(cfg.services) == ["A", "AB"]
    for bad in ("ABC", "a", "A1", ""):
        with pytest.raises(config.ConfigError, match="one or two capital letters"):
            config.build(tmp_path, config.merge(config.DEFAULTS, {"services": [{"code": bad, "name": "x"}]}))


@pytest.mark.unit
def test_more_than_eight_categories_and_unknown_languages_are_refused(tmp_path):
    nine = [{"code": chr(65 + i), "name": f"s{i}", "category": f"c{i}"} for i in range(9)]
    with pytest.raises(config.ConfigError, match="at most 8 categories"):
        config.build(tmp_path, config.merge(config.DEFAULTS, {"services": nine}))
    with pytest.raises(config.ConfigError, match=r"\[hall\] language"):
        config.build(tmp_path, config.merge(config.DEFAULTS, {"hall": {"language": "fr"}}))
    with pytest.raises(config.ConfigError, match=r"\[devices.language\] kiosk-1"):
        config.build(tmp_path, config.merge(config.DEFAULTS, {"devices": {"language": {"kiosk-1": "de"}}}))


@pytest.mark.unit
def test_the_number_keeps_the_code_and_grows_a_digit_past_999():
    svc = engine.Service(code="AB", name="税务", name_en="Tax")
    now = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)
    day = date(2026, 11, 27)
    assert engine.issue(svc, day=day, now=now, issued_today=22, issued_in_slot=0).data["number"] == "AB023"
    assert engine.issue(svc, day=day, now=now, issued_today=999, issued_in_slot=0).data["number"] == "AB1000"


@pytest.fixture
def small_hall(hall_dir, clock):
    services = [{"code": "AB", "name": "税务综合服务", "name_en": "Tax", "category": "税务",
                 "category_en": "Tax", "slots": [{"from": "08:00", "to": "10:00", "cap": 2}]},
                {"code": "C", "name": "不动产登记", "hours": ["08:30-09:30"]},
                {"code": "D", "name": "公积金", "hours": ["13:00-17:00"]}]
    windows = [{"number": 1, "services": ["AB", "C"]}]
    app = create_app({"HALL": hall_dir, "CLOCK": clock, "HALL_OVERRIDES": {
        "hall": {"enforce_hours": True}, "services": services, "windows": windows, "staff": []}})
    from conftest import Accounts
    client = app.test_client()
    acc = Accounts(app.extensions["qrate"], client)
    yield acc, acc.device("kiosk")
    app.extensions["qrate"].close()


def services_of(acc) -> dict:
    return {s["code"]: s for s in acc.client.get("/api/services").get_json()["services"]}


@pytest.mark.api
def test_the_kiosk_knows_a_full_slot_and_hours_over_before_a_tap(small_hall, clock):
    acc, kiosk = small_hall
    clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=TZ))
    s = services_of(acc)
    assert s["AB"]["open"] is True and s["AB"]["slot"] == "08:00-10:00"
    assert s["AB"]["category"] == "税务" and s["AB"]["category_en"] == "Tax"
    numbers = [acc.client.post("/api/tickets", json={"service": "AB"}, headers=kiosk).get_json()["number"]
               for _ in range(2)]
    assert numbers == ["AB001", "AB002"]
    s = services_of(acc)
    assert s["AB"]["open"] is False and s["AB"]["closed_reason"] == "slot_full"
    # not open yet (D opens at 13:00) is not "over for today"
    assert s["D"]["closed_reason"] == "closed" and s["D"]["hours_ended"] is False
    assert s["D"]["windows"] == []  # the kiosk says 暂无窗口办理
    clock.set(datetime(2026, 11, 27, 10, 30, tzinfo=TZ))
    s = services_of(acc)
    assert s["AB"]["open"] is True  # the next period has no slot quota
    assert s["C"]["closed_reason"] == "closed" and s["C"]["hours_ended"] is True
