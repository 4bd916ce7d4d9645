"""The schema's own parts: where a key is, what changed, and hall.toml written back."""
from __future__ import annotations

import tomllib

import pytest

from server import config, hallschema

pytestmark = pytest.mark.unit

TEXT = """[hall]
name = "x"

[[services]]
code = "A"
name = "a"
slots = [{ from = "08:30", to = "12:00", cap = 10 }]

[[services]]
code = "B"
name = "b"
"""


def test_a_key_is_found_on_its_line_and_a_missing_one_on_its_table():
    lines = hallschema.key_lines(TEXT)
    assert hallschema.line_of(("hall", "name"), lines) == 2
    assert hallschema.line_of(("services", 1, "name"), lines) == 11
    assert hallschema.line_of(("services", 0, "slots", 0, "cap"), lines) == 7
    assert hallschema.line_of(("services", 1, "target_wait_min"), lines) == 9


def test_rows_are_matched_by_their_code_not_their_place():
    old = tomllib.loads(TEXT)
    new = tomllib.loads(TEXT)
    new["services"].reverse()
    new["services"][0]["name"] = "b2"
    changes = hallschema.diff(old, new)
    assert {"key": "services.B.name", "old": "b", "new": "b2"} in changes
    assert {"key": "services.order", "old": ["A", "B"], "new": ["B", "A"]} in changes
    assert len(changes) == 2


def test_the_demo_hall_written_back_reads_the_same():
    raw = config.merge(config.DEFAULTS, tomllib.loads(config.demo_text()))
    raw["services"][0]["appointments"] = {"slot_min": 15, "walk_in_share": 0.25}
    raw["followup"]["owners"] = {"A": "9001", "AB": "9002"}
    assert tomllib.loads(hallschema.to_toml(raw)) == raw


def test_a_manager_touching_a_role_or_the_printer_is_named():
    raw = config.merge(config.DEFAULTS, tomllib.loads(config.demo_text()))
    new = config.merge(raw, {"printer": {"url": "tcp://1.2.3.4:9100"}})
    assert hallschema.admin_keys(raw, new) == ["printer"]
    new = config.merge(raw, {})
    new["staff"] = [dict(s, role="admin") if s["employee_no"] == "1001" else s for s in raw["staff"]]
    assert hallschema.admin_keys(raw, new) == ["staff.role"]
    new["staff"] = [s for s in raw["staff"] if s["role"] != "manager"]   # a manager removed
    assert hallschema.admin_keys(raw, new) == ["staff.role"]
    new["staff"] = raw["staff"] + [{"employee_no": "2001", "name": "新人"}]   # a clerk added
    assert hallschema.admin_keys(raw, new) == []
