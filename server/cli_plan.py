"""`qrate plan` (the staffing plan of a day) and `qrate simulate` (a simulated hall day
driving a real `qrate serve`). Output in zh-CN (QRATE_LANG=en for English)."""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import click

from . import config, store
from .clock import from_environment
from .engine import N_
from .i18n import translate as _t
from .readside import planning

_hall = click.option("--hall", "hall_dir", default=".", show_default=True,
                     type=click.Path(file_okay=False, path_type=Path),
                     help="The hall folder (holds hall.toml and data/).")


def _cfg(hall_dir: Path):
    try:
        cfg = config.load(hall_dir)
    except config.ConfigError as exc:
        raise click.ClickException(str(exc))
    store.open_and_migrate(cfg.db_path)
    return cfg


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise click.BadParameter(_t(N_("%(name)s must be a date like 2026-03-31, not '%(value)s'."),
                                    name="--day", value=text))


def compute_plan(cfg, day: str) -> dict:
    db = store.connect(cfg.db_path)
    try:
        clock = from_environment() or (lambda: datetime.now(cfg.tz))
        return planning.plan(db, cfg, now=clock().astimezone(cfg.tz), day=day)
    finally:
        db.close()


def _fmt(v, digits=0, none="—"):
    if v is None:
        return none
    return f"{v:.{digits}f}"


def plan_text(p: dict) -> str:
    head = [_t(N_("Service")), _t(N_("Hour")), _t(N_("Arrivals/h")), _t(N_("Mean service s")),
            _t(N_("Method")), _t(N_("Windows needed")), _t(N_("Scheduled")),
            _t(N_("Expected wait s")), _t(N_("Within target")), _t(N_("Options (windows: share)"))]
    lines = [_t(N_("Plan for %(day)s (weekday %(weekday)s, %(kind)s), from %(n)s past days: %(days)s"),
                day=p["day"], weekday=p["weekday"],
                kind=_t(N_("working day")) if p["workday"] else _t(N_("day off")),
                n=len(p["basis_days"]), days=", ".join(p["basis_days"]) or "—"),
             _t(N_("Promise: %(share)s of citizens within each service's target wait (%(key)s)."),
                share=f"{p['target_share']:.0%}", key=p["target_share_key"])]
    table = []
    for r in p["rows"] + p["groups"]:
        opts = " ".join(f"{o['windows']}:{o['share_within_target']:.0%}" for o in r["options"])
        table.append([r["service"], f"{r['hour']:02d}", _fmt(r["arrivals_per_h"], 1),
                      _fmt(r["mean_service_s"], 0), r["method"], str(r["windows_needed"]),
                      _fmt(r["scheduled_windows"]) + (" !" if r["at_risk"] else ""),
                      _fmt(r["expected_wait_s"], 0), f"{r['share_within_target']:.1%}", opts])
    if not table:
        lines.append(_t(N_("No history for this day yet.")))
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *table)]
    for line in [head] + table:
        lines.append("  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip())
    lines.append(_t(N_("Hall per hour: windows needed / scheduled")))
    for h in p["hours"]:
        lines.append(f"  {h['hour']:02d}  {h['windows_needed']} / {_fmt(h['scheduled_windows'])}"
                     + ("  !" if h["at_risk"] else ""))
    return "\n".join(lines)


@click.command("plan")
@_hall
@click.option("--day", "day", required=True, help="The day to plan, YYYY-MM-DD.")
@click.option("--json", "as_json", is_flag=True, help="The plan as JSON (the body of GET /api/plan).")
def plan_cmd(hall_dir: Path, day: str, as_json: bool):
    """Windows needed per service and hour of a day, from the hall's history. / 窗口排班测算。"""
    cfg = _cfg(hall_dir)
    p = compute_plan(cfg, _day(day))
    if as_json:
        click.echo(json.dumps(p, ensure_ascii=False, indent=1))
    else:
        click.echo(plan_text(p))


def _hours(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        lo, _, hi = text.partition("-")
        lo, hi = int(lo), int(hi or lo)
    except ValueError:
        raise click.BadParameter(_t(N_("--hours must look like 9-11 (hours 9, 10 and 11) or 10.")))
    if not 0 <= lo <= hi <= 23:
        raise click.BadParameter(_t(N_("--hours must look like 9-11 (hours 9, 10 and 11) or 10.")))
    return list(range(lo, hi + 1))


@click.command("simulate")
@_hall
@click.option("--day", "day", required=True, help="The day to simulate, YYYY-MM-DD (planned from the history before it).")
@click.option("--speed", type=click.FloatRange(1, 3600), default=60, show_default=True,
              help="Simulated seconds per real second.")
@click.option("--hours", "hours", default=None, help="Only these hours, e.g. 9-11 (default: every planned hour).")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed (same seed, same day).")
@click.option("--staffing", type=click.Choice(["planned", "rota"]), default="planned", show_default=True,
              help="Open the windows the plan needs, or those the [[rota]] schedules.")
@click.option("--minus-at-peak", type=click.IntRange(0, 50), default=0,
              help="Open this many windows fewer than planned at each group's busiest hour.")
@click.option("--server", "server_url", default=None,
              help="Drive this running server (started with QRATE_TEST_SPEED) instead of starting one.")
@click.option("--json", "as_json", is_flag=True, help="The result as JSON.")
def simulate_cmd(hall_dir: Path, day: str, speed: float, hours, seed: int, staffing: str,
                 minus_at_peak: int, server_url, as_json: bool):
    """Play a simulated hall day against a real `qrate serve`, in compressed time. / 模拟一天的大厅运行。"""
    from . import simulate as S
    cfg = _cfg(hall_dir)
    the_day = date.fromisoformat(_day(day))
    p = compute_plan(cfg, the_day.isoformat())
    if not p["rows"]:
        raise click.ClickException(_t(N_("No history for this day yet.")))
    wanted = _hours(hours) or sorted({r["hour"] for r in p["rows"]})
    plan_staff = (S.staffing_from_plan(cfg, p, minus_at_peak=minus_at_peak) if staffing == "planned"
                  else S.staffing_from_rota(cfg, the_day, wanted))
    sim = S.Simulation(cfg, server_url or "", the_day, p, plan_staff, speed, seed, wanted)
    proc = None
    if server_url is None:
        db = store.connect(cfg.db_path)
        try:
            busy = store.Store(db, cfg.tz).has_tickets_between(the_day, the_day)
        finally:
            db.close()
        if busy:
            raise click.ClickException(_t(N_("The hall already has tickets on %(day)s: simulate a day "
                                             "without tickets of its own (its figures are the result)."),
                                          day=the_day.isoformat()))
        log = cfg.data_folder / "simulate-server.log"
        cfg.data_folder.mkdir(parents=True, exist_ok=True)
        sim.accounts()
        proc, server_url = S.start_server(hall_dir, the_day, min(wanted), speed, cfg.tz, log=log)
        sim.url = server_url.rstrip("/")
    try:
        res = sim.run(timeout_s=(len(wanted) + 3) * 3600 / speed + 120)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(15)
            except Exception:
                proc.kill()
    click.echo(S.as_json(res) if as_json else S.result_text(res, _t))


def start_demo_simulation(hall_dir: Path, cfg, url: str, echo=click.echo) -> None:
    """`qrate demo --simulate`: a moving day in the demo hall at real speed. The hall gets
    four weeks of history first (when it has none), then simulated citizens, clerks and
    pads play the plan of today from this hour on (hours the plan does not cover borrow
    its busiest hour, so a demo works at any time of day)."""
    import subprocess
    import sys
    import threading
    from datetime import timedelta
    from . import simulate as S
    today = datetime.now(cfg.tz).date()
    db = store.connect(cfg.db_path)
    try:
        has_past = store.Store(db, cfg.tz).has_tickets_between(today - timedelta(days=28),
                                                                today - timedelta(days=1))
    finally:
        db.close()
    if not has_past:
        subprocess.run([sys.executable, "-m", "server.entry", "seed-history", "--hall", str(hall_dir),
                        "--days", "28"], check=True)
    p = compute_plan(cfg, today.isoformat())
    if not p["rows"]:
        echo(_t(N_("No history for this day yet.")))
        return
    now = datetime.now(cfg.tz)
    hours = [h for h in range(now.hour, min(now.hour + 3, 24))]
    busiest = max(p["hours"], key=lambda h: h["windows_needed"])["hour"]
    planned = {r["hour"] for r in p["rows"]}
    for h in hours:
        if h not in planned:
            p["rows"] += [dict(r, hour=h) for r in p["rows"] if r["hour"] == busiest]
            p["hours"] += [dict(x, hour=h) for x in p["hours"] if x["hour"] == busiest]
    staffing = S.staffing_from_plan(cfg, p)
    sim = S.Simulation(cfg, url, today, p, staffing, 1.0, int(now.timestamp()) % 100000, hours)
    sim.accounts()

    def play():
        res = sim.run(timeout_s=(len(hours) + 1) * 3600)
        echo(S.result_text(res, _t))
    threading.Thread(target=play, daemon=True, name="demo-simulation").start()
    echo(_t(N_("A simulated day is moving in the hall (hours %(first)s-%(last)s)."),
            first=f"{hours[0]:02d}:00", last=f"{hours[-1] + 1:02d}:00"))
