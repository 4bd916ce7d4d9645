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
