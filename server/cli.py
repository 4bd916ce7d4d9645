"""The qrate command line. Output is in zh-CN (QRATE_LANG=en for English)."""
from __future__ import annotations

import logging
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import click

from devices.cli import printer as printer_group
from devices.cli import printer_sim
from devices.cli import agent as agent_cmd
from devices.padsim import pad_sim
from devices.printer import parse_printer_url

from . import auth, cli_ops, cli_plan, config, config_live, seed, store
from .app import create_app
from .city.cli import city as city_group
from .i18n import translate as _t
from .operations import Operations, WouldStrand
from .readside import summary
from .serve import BindFailed, run
from .voice import Voice, clip_table, duration_s


def _hall_option(fn):
    return click.option("--hall", "hall_dir", default=".", show_default=True,
                        type=click.Path(file_okay=False, path_type=Path),
                        help="The hall folder (holds hall.toml and data/).")(fn)


def _load(hall_dir: Path):
    try:
        cfg = config.load(hall_dir)
    except config.ConfigError as exc:
        _config_exit(exc)
    try:
        store.open_and_migrate(cfg.db_path)
    except store.DamagedDatabase as exc:  # one line, never a silent empty hall
        raise click.ClickException(str(exc))
    try:
        return config_live.for_cli(cfg)
    except config.ConfigError as exc:
        _config_exit(exc)


def _config_exit(exc: "config.ConfigError"):
    """An invalid configuration: one line per problem on stderr, exit 2, never a traceback."""
    for line in exc.lines:
        click.echo(line, err=True)
    raise SystemExit(2)


def _db(cfg):
    return store.connect(cfg.db_path)


@click.group()
@click.version_option(package_name="qrate")
def cli():
    """qrate: the queue-and-rating system of a public service hall. / 大厅排队叫号与评价系统。"""


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--demo", is_flag=True, help="The demo hall (5 services, 10 windows, 9 staff).")
@click.option("--always-open", is_flag=True, help="Ignore opening hours (for demos at any hour).")
@click.option("--port", type=int, default=None, help="Port written into hall.toml.")
def init(directory: Path, demo: bool, always_open: bool, port):
    """Write DIRECTORY/hall.toml: a real hall's template to fill in, or --demo the demo hall.
    / 生成大厅配置（--demo：演示大厅）。"""
    try:
        if demo:
            path = config.write_demo(directory, always_open, port)
        else:
            path = config.write_template(directory, port)
    except FileExistsError as exc:
        raise click.ClickException(_t("%(path)s exists already; it was left as it is.", path=str(exc)))
    _load(directory)
    click.echo(_t("Hall written to %(path)s.", path=str(path)))
    if not demo:
        click.echo(_t("Fill in what is marked TODO, add an admin (qrate user add NO --role admin) "
                      "and a kiosk (qrate device add kiosk-1 --kind kiosk), then qrate serve."))


@cli.command()
@_hall_option
@click.option("--host", default=None, help="Address to listen on (default from hall.toml: 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default from hall.toml: 5000).")
@click.option("--stranded", default=None, metavar="cancel|move:SERVICE|keep",
              help="A changed hall.toml strands waiting tickets: cancel them, move them to "
                   "SERVICE, or keep them waiting (docs/configuration.md). Without it, the start "
                   "is refused and the tickets named.")
def serve(hall_dir: Path, host, port, stranded=None):
    """Run the hall server. / 启动大厅服务器。"""
    resolve = cli_ops.stranded_option(stranded)
    lock = cli_ops.hold_folder(hall_dir)  # one server per data folder, before any write
    cfg = _load(hall_dir)
    try:
        app = create_app({"HALL": hall_dir, "ASYNC_MODE": "gevent", "STRANDED": resolve})
    except config.ConfigError as exc:
        _config_exit(exc)
    except WouldStrand as exc:  # one line per stranded group, never a traceback
        cli_ops.stranded_exit(cfg, "hall.toml", exc, lock)
    host = host or cfg.raw["server"]["host"]
    port = port if port is not None else cfg.raw["server"]["port"]

    def ready(bound):
        if lock is not None:
            lock.record(address=f"http://{host}:{bound}/")
        click.echo(_t("qrate is serving %(hall)s at http://%(host)s:%(port)s/", hall=cfg.name,
                      host=host, port=bound), err=False)
        for line in cli_ops.start_warnings(cfg, host, bound):
            logging.getLogger("qrate.server").warning("%s", line)
        sys.stdout.flush()
    _run_holding(app, host, port, ready, lock)


@cli.group()
def user():
    """Staff accounts. / 工作人员账号。"""


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt(_t("Password"), hide_input=True,
                            confirmation_prompt=_t("Password again"))
    lines = sys.stdin.read().splitlines()
    first = lines[0] if lines else ""
    if len(lines) > 1 and lines[1] and lines[1] != first:
        raise click.ClickException(_t("The two passwords differ."))
    return first


@user.command("add")
@click.argument("employee_no")
@click.option("--role", type=click.Choice(["clerk", "manager", "admin"]), required=True)
@click.option("--name", default="", help="Name (default: from hall.toml staff).")
@_hall_option
def user_add(employee_no: str, role: str, name: str, hall_dir: Path):
    """Add a clerk or manager; the password is typed twice. / 添加工作人员。"""
    cfg = _load(hall_dir)
    db = _db(cfg)
    if store.user_exists(db, employee_no):
        raise click.ClickException(_t("Employee number %(employee_no)s already has an account.",
                                      employee_no=employee_no))
    password = _read_password()
    if len(password) < 6:
        raise click.ClickException(_t("The password needs at least 6 characters."))
    staff = cfg.staff.get(employee_no)
    try:
        auth.add_user(db, employee_no, role, password, name or (staff.name if staff else ""))
    except auth.UserExists:
        raise click.ClickException(_t("Employee number %(employee_no)s already has an account.",
                                      employee_no=employee_no))
    click.echo(_t("Account %(employee_no)s (%(role)s) added.", employee_no=employee_no, role=role))


@cli.group()
def device():
    """Kiosks, pads, keypads and displays. / 设备。"""


@device.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(list(auth.DEVICE_KINDS)), required=True)
@click.option("--window", type=int, default=None, help="The window a pad, keypad or window display belongs to.")
@click.option("--printer", default=None, help="A kiosk's own printer URL (default: [printer] url).")
@_hall_option
def device_add(name: str, kind: str, window, printer, hall_dir: Path):
    """Register a device; its token is printed alone on the last line. / 登记设备。"""
    cfg = _load(hall_dir)
    if kind in ("pad", "keypad") and window is None:
        raise click.ClickException(_t("A %(kind)s belongs to a window: add --window N.", kind=kind))
    if window is not None and window not in cfg.windows:
        raise click.ClickException(_t("Window %(window)s does not exist; known: %(known)s.",
                                      window=window, known=", ".join(map(str, cfg.windows))))
    if printer and kind != "kiosk":
        raise click.ClickException(_t("Only a kiosk has a printer of its own."))
    if printer:
        try:
            parse_printer_url(printer)
        except ValueError as exc:
            raise click.ClickException(_t("Printer URL %(url)s: %(problem)s", url=printer, problem=str(exc)))
    try:
        _, token = auth.add_device(_db(cfg), name, kind, window, printer=printer,
                                   expires_in_s=cfg.raw["auth"]["device_token_days"] * 86400)
    except auth.DeviceExists:
        raise click.ClickException(_t("A device named %(name)s already exists.", name=name))
    if printer and cli_ops.served(cfg):
        # the running server opens the kiosk's spool now and every screen hears of it
        # (device.changed); else its device hub finds the row within a while by itself
        try:
            cli_ops.ask_server(cfg, "kiosk.printer", {"name": name, "printer": printer}, 15,
                               by="qrate device add")
        except click.ClickException:
            click.echo(_t("The running server did not answer; it uses this printer within a minute."),
                       err=True)
    click.echo(_t("Device %(name)s (%(kind)s) added. Open its page once with ?token=... ; the token:",
                  name=name, kind=kind))
    click.echo(token)


@cli.command()
@click.argument("directory", default="demo-hall", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=5000)
@click.option("--simulate", is_flag=True, help="Fill the hall with a moving simulated day (docs/planning.md).")
def demo(directory: Path, host: str, port: int, simulate: bool = False):
    """Create (once) and run a demo hall with accounts and devices. / 启动演示大厅。"""
    if not (directory / "hall.toml").exists():
        config.write_demo(directory, always_open=True, port=port)
    else:
        cli_ops.demo_port(directory, port)  # a restart on another port: the QR codes follow
    lock = cli_ops.hold_folder(directory, "qrate demo")
    cfg = _load(directory)
    db = _db(cfg)
    if not store.any_user(db):
        for no, staff in cfg.staff.items():
            auth.add_user(db, no, staff.role, "demo1234", staff.name)
    cli_ops.demo_devices(directory, db, cfg)
    click.echo(_t("Demo accounts: employee numbers 1001-1008 (clerks) and 9001 (manager), password demo1234."))
    for line in cli_ops.demo_links(directory, cfg, f"http://{host}:{port}"):
        click.echo(line)
    for line in cli_ops.voice_lines():
        click.echo(line)
    try:
        app = create_app({"HALL": directory, "ASYNC_MODE": "gevent"})
    except WouldStrand as exc:
        cli_ops.stranded_exit(cfg, "hall.toml", exc, lock)

    def serving(bound):
        click.echo(_t("qrate is serving %(hall)s at http://%(host)s:%(port)s/", hall=cfg.name, host=host, port=bound))
        if simulate:  # qrate demo --simulate: a moving day (server/cli_plan.py)
            cli_plan.start_demo_simulation(directory, cfg, f"http://127.0.0.1:{bound}")
    _run_holding(app, host, port, serving, lock)


def _run_holding(app, host: str, port: int, ready, lock) -> None:
    """Serve until stopped; a busy port is one line; the data folder's lock is let go at the end."""
    try:
        run(app, host, port, ready)
    except BindFailed as exc:
        raise click.ClickException(_t("Cannot listen on %(host)s:%(port)s: %(reason)s; choose "
                                      "another --port or stop what uses it.", host=exc.host,
                                      port=exc.port, reason=exc.reason))
    finally:
        if lock is not None:
            lock.release()

# --- the hall's configuration -------------------------------------------------------

@cli.group("config")
def config_group():
    """The hall's configuration: export and import hall.toml. / 大厅配置：导出与导入。"""


def _ops_for(hall_dir: Path) -> Operations:
    _load(hall_dir)  # checked and migrated
    file_cfg = config.load(hall_dir)
    ops = Operations(file_cfg)
    try:  # a changed hall.toml first (as `qrate serve` would); what FILE strands is asked below
        config_live.at_start(ops, {"action": "keep"})
    except config.ConfigError as exc:
        _config_exit(exc)
    return ops


@config_group.command("export")
@_hall_option
def config_export(hall_dir: Path):
    """Write the hall's configuration as it stands (hall.toml) to stdout. / 导出当前配置。"""
    cfg = _load(hall_dir)
    click.echo(cli_ops.export_text(cfg), nl=False)


@config_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_hall_option
@click.option("--stranded", default=None, metavar="cancel|move:SERVICE|keep",
              help="Waiting tickets the change strands: cancel them, move them to SERVICE, or "
                   "keep them waiting. Without it, the import is refused and the tickets named.")
@click.option("--move-to", default=None, hidden=True)  # the first release's spelling
@click.option("--cancel-stranded", is_flag=True, hidden=True)
@click.option("--wait", "wait_s", type=click.FloatRange(1, 600), default=30, show_default=True,
              help="While the hall is served: seconds to wait for the server to take the change.")
def config_import(file: Path, hall_dir: Path, stranded, move_to, cancel_stranded, wait_s):
    """Make FILE the hall's configuration (audited as config.changed); a running server
    applies it at once. / 导入配置文件（运行中的服务器立即生效）。"""
    if move_to:
        stranded = f"move:{move_to}"
    elif cancel_stranded:
        stranded = "cancel"
    resolve = cli_ops.stranded_option(stranded)
    cfg = _load(hall_dir)
    try:
        raw = config_live.read_file(file)
    except config.ConfigError as exc:
        _config_exit(exc)
    if cli_ops.served(cfg):  # the running server makes the change (and pushes it)
        answer = cli_ops.ask_server(cfg, "config.import", {"raw": raw, "resolve": resolve,
                                                            "file": str(file)}, wait_s)
    else:
        ops = _ops_for(hall_dir)
        try:
            answer = config_live.apply_import(ops, raw, "qrate config import", resolve, str(file))
        finally:
            ops.close()
    cli_ops.import_answer(cfg, str(file), answer)


# --- voice calls ------------------------------------------------------------------

@cli.group("voice")
def voice():
    """Voice calls: clips and test calls. / 语音叫号：语音片段与试听。"""


@voice.command("prepare")
@_hall_option
def voice_prepare(hall_dir):
    """Generate the default clips now (espeak-ng). / 生成默认语音片段。"""
    cfg = _load(hall_dir)
    v = Voice(cfg.data_folder)
    made = v.prepare()
    click.echo(_t("%(made)s clips made in %(folder)s; your own recordings go in %(custom)s",
                  made=made, folder=str(v.default), custom=str(v.custom)))


@voice.command("list")
@_hall_option
def voice_list(hall_dir):
    """List every clip, what it says and where it comes from. / 列出语音片段。"""
    cfg = _load(hall_dir)
    v = Voice(cfg.data_folder)
    for name, (_, _, says) in sorted(clip_table().items()):
        own = list(v.custom.glob(f"{name}.*")) if v.custom.exists() else []
        click.echo(f"{name}\t{says}\t{own[0] if own else _t('default')}")


@voice.command("say")
@_hall_option
@click.argument("number")
@click.argument("window", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--lang", multiple=True, default=["zh"], help="zh and/or en")
def voice_say(hall_dir, number, window, out, lang):
    """Write one call to a WAV file, to listen to it. / 生成一次叫号音频。"""
    cfg = _load(hall_dir)
    v = Voice(cfg.data_folder, lang)
    shutil.copyfile(v.call(number, window), out)
    seconds = "%.1f" % duration_s(out)
    click.echo(_t("%(out)s (%(seconds)s s)", out=str(out), seconds=seconds))


# --- a realistic past ----------------------------------------------------------------

@cli.command("seed-history")
@_hall_option
@click.option("--days", type=click.IntRange(1, 3 * 366), default=365, show_default=True)
@click.option("--end", "end", default=None, help="Last day, YYYY-MM-DD (default: yesterday).")
@click.option("--windows", type=click.IntRange(1, 999), default=None,
              help="Add windows (and clerks) to hall.toml up to this many first, e.g. 40.")
@click.option("--seed", "seed_", type=int, default=1, show_default=True,
              help="Random seed (same seed, same history).")
def seed_history(hall_dir: Path, days: int, end, windows, seed_: int):
    """Generate a realistic past (tickets, calls, ratings) for the figures. / 生成历史数据。"""
    if windows:
        _load(hall_dir)  # an invalid hall file: its lines, not a traceback
        seed.expand_hall(hall_dir, windows)
    cfg = _load(hall_dir)
    ops = Operations(cfg)
    today = ops.today()
    last = date.fromisoformat(end) if end else today - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    with ops.store() as s:
        if s.has_tickets_between(first, last):
            raise click.ClickException(_t("The hall already has tickets between %(first)s and %(last)s; "
                                          "seed an empty hall or other days.",
                                          first=first.isoformat(), last=last.isoformat()))
        max_ids = s.max_ids()
    gen, batches = seed.history(cfg, max_ids, first, last, seed_)
    started = time.monotonic()
    ops.import_history(batches)
    loaded = time.monotonic() - started
    started = time.monotonic()
    db = store.connect(cfg.db_path)
    try:
        summarised = summary.refresh(db, cfg, now=ops.now())
    finally:
        db.close()
        ops.close()
    loaded_s, summary_s = "%.1f" % loaded, "%.1f" % (time.monotonic() - started)
    click.echo(_t("%(tickets)s tickets, %(events)s events and %(ratings)s ratings written for "
                  "%(first)s..%(last)s in %(seconds)s s; %(days)s days summarised in %(summary)s s.",
                  tickets=gen.counts["tickets"], events=gen.counts["events"],
                  ratings=gen.counts["ratings"], first=first.isoformat(), last=last.isoformat(),
                  seconds=loaded_s, days=summarised, summary=summary_s))


cli.add_command(pad_sim)
cli.add_command(cli_plan.plan_cmd)  # qrate plan (docs/planning.md)
cli.add_command(cli_plan.simulate_cmd)  # qrate simulate (docs/planning.md)
cli.add_command(cli_ops.backup_cmd)
cli.add_command(cli_ops.restore_cmd)
for _cmd in (cli_ops.user_list, cli_ops.user_disable, cli_ops.user_enable, cli_ops.user_reset_password):
    user.add_command(_cmd)
device.add_command(cli_ops.device_list)
device.add_command(cli_ops.device_revoke)
cli.add_command(printer_group)
cli.add_command(printer_sim)
cli.add_command(city_group)  # qrate city serve | hall add | user add (server/city/cli.py)
cli.add_command(agent_cmd)
