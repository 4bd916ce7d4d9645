"""A wrong hall.toml never starts: `qrate serve` prints one line per problem naming the
file, the line of the key and the key, exits non-zero, and never shows a traceback."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import ROOT, free_port
from server import config, hallschema

pytestmark = pytest.mark.api

DEMO = config.demo_text(always_open=True)

# (id, text in the demo hall.toml, what it becomes, the key path the line must name,
#  a word the message must carry). The line expected is where the new text lands.
CASES = [
    ("misspelt_key", "target_wait_min = 20\n", "target_wait_mn = 20\n",
     "[[services]] #1 target_wait_mn", "target_wait_min"),
    ("misspelt_hall_key", "enforce_hours = false", "enforce_hour = false",
     "[hall] enforce_hour", "enforce_hours"),
    ("rate_as_percent", "target_good_rate = 0.93", "target_good_rate = 95",
     "[[services]] #3 target_good_rate", "less than or equal to 1"),
    ("recalls_as_word", "no_show_after_recalls = 2", 'no_show_after_recalls = "two"',
     "[queue] no_show_after_recalls", "integer"),
    ("recalls_negative", "no_show_after_recalls = 2", "no_show_after_recalls = -1",
     "[queue] no_show_after_recalls", "greater than or equal to 0"),
    ("port_as_word", "port = 5000", 'port = "abc"', "[server] port", "integer"),
    ("port_too_big", "port = 5000", "port = 70000", "[server] port", "65535"),
    ("duration_in_words", 'callback = "1wd"', 'callback = "1 working day"',
     "[followup] callback", "15wd"),
    ("duplicate_employee", 'employee_no = "1002"', 'employee_no = "1001"',
     "[[staff]] #2 employee_no", "used twice"),
    ("duplicate_service", "[[windows]]\nnumber = 1\n",
     '[[services]]\ncode = "A"\nname = "又一个社会保障"\n\n[[windows]]\nnumber = 1\n',
     "[[services]] #6 code", "used twice"),
    ("duplicate_window", "number = 2\n", "number = 1\n", "[[windows]] #2 number", "used twice"),
    ("lowercase_code", 'code = "E"', 'code = "e"', "[[services]] #5 code", "pattern"),
    ("three_letter_code", 'code = "E"', 'code = "EEE"', "[[services]] #5 code", "pattern"),
    ("unknown_window_service", 'services = ["D", "E"]', 'services = ["D", "Q"]',
     "[[windows]] #9 services #2", "unknown service"),
    ("bad_time_zone", 'timezone = "Asia/Shanghai"', 'timezone = "Asia/Shangai"',
     "[hall] timezone", "time zone"),
    ("bad_hours", 'hours = ["08:30-17:30"]', 'hours = ["17:30-08:30"]',
     "[[services]] #5 hours #1", "ends before it starts"),
    ("bad_clock", 'hours = ["08:30-17:30"]', 'hours = ["8h30-17:30"]',
     "[[services]] #5 hours #1", "08:30"),
    ("weekday_eight", "days = [1, 2, 3, 4, 5, 6, 7]", "days = [1, 2, 8]",
     "[[services]] #5 days #3", "less than or equal to 7"),
    ("bad_role", 'role = "manager"', 'role = "boss"', "[[staff]] #9 role", "admin"),
    ("printer_mode", 'mode = "text"', 'mode = "colour"', "[printer] mode", "raster"),
    ("unknown_section", "[queue]\n", "[queues]\nx = 1\n\n[queue]\n", "[queues]", "queue"),
    ("enforce_as_string", "enforce_hours = false", 'enforce_hours = "no"',
     "[hall] enforce_hours", "boolean"),
    ("cap_as_float", "daily_cap = 400", "daily_cap = 40.5", "[[services]] #1 daily_cap", "integer"),
    ("slot_without_cap", '{ from = "08:30", to = "12:00", cap = 240 }',
     '{ from = "08:30", to = "12:00" }', "[[services]] #1 slots #1 cap", "missing"),
    ("public_url_no_scheme", 'public_url = "http://127.0.0.1:5000"', 'public_url = "127.0.0.1:5000"',
     "[hall] public_url", "http://"),
    ("toml_syntax", 'name_en = "Social Security"', 'name_en = "Social Security', "(file)", ""),
]


def serve(folder):
    env = {k: v for k, v in os.environ.items() if k != "QRATE_LANG"}
    return subprocess.run([sys.executable, "-m", "server.entry", "serve", "--hall", str(folder),
                           "--port", str(free_port())], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every bad hall started at once (two at a time): {id: (hall.toml path, text, result)}."""
    halls = {}
    for case_id, old, new, _key, _word in CASES:
        assert old in DEMO, case_id
        folder = tmp_path_factory.mktemp(case_id)
        text = DEMO.replace(old, new, 1)
        (folder / "hall.toml").write_text(text, encoding="utf-8")
        halls[case_id] = (folder / "hall.toml", text)
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(halls, pool.map(lambda f: serve(f[0].parent), halls.values())))
    return {k: (*halls[k], results[k]) for k in halls}


@pytest.mark.parametrize("case_id,old,new,key,word", CASES, ids=[c[0] for c in CASES])
def test_a_bad_hall_file_is_one_line_naming_file_line_and_key(runs, case_id, old, new, key, word):
    path, text, out = runs[case_id]
    assert out.returncode != 0
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout
    assert "serving" not in out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    line = lines[0]
    at = DEMO.index(old)   # where the new text begins
    expected = text[:at].count("\n") + 1 + (1 if case_id == "duplicate_service" else 0)
    m = re.match(rf"^{re.escape(str(path))}:(\d+): (.+?): (.*)$", line)
    assert m, line
    assert int(m[1]) == expected, line
    assert m[2] == key, line
    assert word in m[3], line


def test_many_problems_are_one_line_each_in_file_order(tmp_path):
    text = DEMO
    chosen = ("misspelt_key", "misspelt_hall_key", "rate_as_percent", "recalls_as_word",
              "port_too_big", "duration_in_words", "duplicate_employee", "bad_role", "printer_mode")
    for case_id, old, new, _key, _word in CASES:
        if case_id in chosen:
            text = text.replace(old, new, 1)
    (tmp_path / "hall.toml").write_text(text, encoding="utf-8")
    out = serve(tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 9
    numbers = [int(line.split(":")[1]) for line in lines]
    assert numbers == sorted(numbers)


def test_every_key_of_the_demo_hall_and_the_defaults_is_modelled():
    """config.DEFAULTS may hold keys the models do not know yet (accepted as they are);
    the demo hall uses none of those."""
    raw = config.merge(config.DEFAULTS, __import__("tomllib").loads(DEMO))
    model, problems = hallschema.problems(raw)   # nothing tolerated
    assert problems == [] and model is not None


def test_a_new_key_of_the_defaults_is_tolerated_before_its_model():
    defaults = config.merge(config.DEFAULTS, {"kiosks": {"idle_s": 60}})
    _, problems = hallschema.problems(defaults, defaults)
    assert problems == []
    _, problems = hallschema.problems(config.merge(defaults, {"kiosk": {"idle_s": 1}}), defaults)
    assert [p.path for p in problems] == ["[kiosk]"]
