"""A service's appointment settings are checked by the hall's one schema (hallschema),
and the engine's Rules take exactly what it accepted: no second set of ranges."""
from __future__ import annotations

import pytest

from server import config

pytestmark = pytest.mark.unit


def with_horizon(hall_dir, days: int):
    path = hall_dir / "hall.toml"
    text = path.read_text(encoding="utf-8")
    old = "horizon_days = 7"
    assert old in text
    path.write_text(text.replace(old, f"horizon_days = {days}", 1), encoding="utf-8")


def test_what_the_schema_accepts_is_what_the_rules_hold(hall_dir):
    with_horizon(hall_dir, 120)
    cfg = config.load(hall_dir)
    rules = [r for r in cfg.appointment_rules.values() if r.horizon_days == 120]
    assert len(rules) == 1 and isinstance(rules[0].walk_in_share, float)


def test_a_value_out_of_range_is_one_line_naming_the_key(hall_dir):
    with_horizon(hall_dir, 400)
    with pytest.raises(config.ConfigError) as err:
        config.load(hall_dir)
    assert "horizon_days" in str(err.value) and "Traceback" not in str(err.value)
