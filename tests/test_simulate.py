"""`qrate simulate` against real `qrate serve` processes on a compressed clock
(QRATE_TEST_SPEED): at the planned staffing the hall keeps its promise in at least the
planned share of the simulated hours (the same check without a server, over a whole day
and with one window fewer at the peak, is in tests/test_plan_day_sim.py)."""
import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT
from server import config

pytestmark = pytest.mark.live

DAY = "2026-11-30"          # a Monday; the history is the two weeks before it
HOURS = "10"
SPEED = "60"      # an hour in a minute: this machine keeps up with it under load


def _hall(folder):
    """The demo hall cut to an M/M/c-like one: services A and C on windows of their own,
    short promises (3 and 6 minutes), so a window less at the peak shows at once."""
    config.write_demo(folder, always_open=True)
    text = (folder / "hall.toml").read_text(encoding="utf-8")
    text = text[:text.index("[[windows]]")]
    text = re.sub(r"(?m)^(slots|daily_cap) = .*$", "", text)   # no caps: every citizen gets a ticket
    text = re.sub(r"target_wait_min = \d+", "target_wait_min = 3", text, count=1)      # A
    text = text.replace("target_wait_min = 30", "target_wait_min = 6")                  # C
    windows = [(n, "A") for n in range(1, 5)] + [(5, "C"), (6, "C")]
    text += "".join(f'\n[[windows]]\nnumber = {n}\nservices = ["{s}"]\n' for n, s in windows)
    text += "\n[planning]\nweeks = 2\nerlang_a_from = 1.0\n"
    (folder / "hall.toml").write_text(text, encoding="utf-8")


def _cli(*args, timeout=300):
    out = subprocess.run([sys.executable, "-m", "server.entry", *args], capture_output=True, text=True,
                         cwd=ROOT, timeout=timeout)
    assert out.returncode == 0, out.stderr + out.stdout
    return out.stdout


@pytest.fixture(scope="module")
def halls(tmp_path_factory):
    base = tmp_path_factory.mktemp("sim")
    folder = base / "planned"
    _hall(folder)
    _cli("seed-history", "--hall", str(folder), "--days", "14", "--end", "2026-11-29", "--seed", "4")
    # the hall grows: more windows for A and C than its history had, so the plan can be staffed
    with (folder / "hall.toml").open("a", encoding="utf-8") as f:
        f.write("".join(f'\n[[windows]]\nnumber = {n}\nservices = ["A"]\n' for n in range(7, 13)))
        f.write("".join(f'\n[[windows]]\nnumber = {n}\nservices = ["C"]\n' for n in (13, 14)))
    return folder, None


def test_a_simulated_hour_against_the_real_server_keeps_the_planned_promise(halls):
    """One short real-server run: an hour at 60 times real speed, at the planned windows."""
    planned, _ = halls
    plan = json.loads(_cli("plan", "--hall", str(planned), "--day", DAY, "--json"))
    a10 = next(r for r in plan["rows"] if r["service"] == "A" and r["hour"] == 10)
    assert a10["method"] == "erlang_c" and a10["windows_needed"] >= 3
    good = json.loads(_cli("simulate", "--day", DAY, "--hours", HOURS, "--speed", SPEED, "--seed", "3",
                           "--json", "--hall", str(planned)))
    assert good["errors"] == []
    # the machine kept up with the speed: tickets came within a minute of their moment
    assert good["ticket_late_s"]["p90"] < 60, good["ticket_late_s"]
    assert good["issued"] > 150 and good["served"] > 0.85 * good["issued"] and good["rated"] > 0
    # the staffing really was the plan's: A's windows at 10:00 are its windows_needed
    assert len([w for w in good["staffing"]["10"] if w <= 4 or 7 <= w <= 12]) == a10["windows_needed"]
    assert good["hours_total"] == 2        # A and C at 10:00, from the hall's own figures
    assert good["kept_share"] >= good["planned_share"] - 1e-9, good["rows"]
    # and the simulation leaves the day's figures behind: a second run on that day is refused
    again = subprocess.run([sys.executable, "-m", "server.entry", "simulate", "--hall", str(planned),
                            "--day", DAY, "--hours", HOURS], capture_output=True, text=True, cwd=ROOT,
                           timeout=120)
    assert again.returncode == 1 and DAY in again.stderr and "Traceback" not in again.stderr
