"""[planning] and [[rota]] in hall.toml: checked at load, with messages that say what to write;
the test clock's speed (QRATE_TEST_SPEED) is off unless set."""
from datetime import datetime, timedelta, timezone

import pytest

from server import clock, config
from server.readside import planning

pytestmark = pytest.mark.unit


def _load(tmp_path, extra):
    folder = tmp_path / "hall"
    config.write_demo(folder, always_open=True)
    with (folder / "hall.toml").open("a", encoding="utf-8") as f:
        f.write(extra)
    return config.load(folder)


@pytest.mark.parametrize("extra,words", [
    ('\n[[rota]]\nwindow = 99\nhours = ["08:30-12:00"]\n', "window 99|未知窗口 99"),
    ('\n[[rota]]\nwindow = 1\nweekdays = [8]\nhours = ["08:30-12:00"]\n', "weekdays"),
    ('\n[[rota]]\nwindow = 1\nhours = ["12:00-08:30"]\n', "ends before it starts|结束早于开始"),
    ('\n[[rota]]\nwindow = 1\nhours = []\n', "hours"),
    ('\n[planning]\ntarget_share = 1.5\n', "target_share"),
    ('\n[planning]\nweeks = 0\n', "weeks"),
])
def test_bad_planning_settings_say_what_is_wrong(tmp_path, extra, words):
    folder = tmp_path / "hall"
    config.write_demo(folder, always_open=True)
    text = (folder / "hall.toml").read_text(encoding="utf-8")
    text = text[:text.index("# The scheduled windows")]     # the demo's own rota out
    (folder / "hall.toml").write_text(text + extra, encoding="utf-8")
    with pytest.raises(config.ConfigError, match=words):
        config.load(folder)


def test_the_demo_rota_schedules_windows_by_weekday_and_half_hours(tmp_path):
    cfg = config.load(_demo(tmp_path))
    monday, saturday, sunday = (datetime(2026, 11, 30).date(), datetime(2026, 12, 5).date(),
                                datetime(2026, 12, 6).date())
    assert planning.scheduled_windows(cfg, monday, 10) == set(range(1, 11))
    assert planning.scheduled_windows(cfg, monday, 8) == set(range(1, 11))   # 08:30-09:00 is half
    assert planning.scheduled_windows(cfg, monday, 12) == {10}               # lunch: only 08:30-17:30
    assert 5 not in planning.scheduled_windows(cfg, monday, 14)              # window 5: mornings
    assert planning.scheduled_windows(cfg, saturday, 10) == {3, 6, 10}
    assert planning.scheduled_windows(cfg, sunday, 10) == set()
    assert planning.groups(cfg) == [["A", "B", "D", "E"], ["C"]]


def _demo(tmp_path):
    folder = tmp_path / "demo"
    config.write_demo(folder, always_open=True)
    return folder


def test_the_test_clock_speed_is_off_unless_set():
    assert clock.from_environment({}) is None
    start = datetime(2026, 11, 30, 9, tzinfo=timezone(timedelta(hours=8)))
    fast = clock.from_environment({"QRATE_TEST_NOW": start.isoformat(), "QRATE_TEST_SPEED": "3600"})
    import time
    time.sleep(0.05)
    assert fast() - start >= timedelta(seconds=150)      # 0.05 s real is 3 minutes
    with pytest.raises(clock.ClockSettingError, match="QRATE_TEST_SPEED"):
        clock.from_environment({"QRATE_TEST_SPEED": "fast"})
    with pytest.raises(clock.ClockSettingError):
        clock.from_environment({"QRATE_TEST_SPEED": "0"})
