"""`qrate printer test` and `qrate printer-sim` (server/cli.py adds them to `qrate`).

Devices import nothing of the web or service layer: the hall is read with
``server.config.load``.
"""
from __future__ import annotations

from pathlib import Path

import click

from server import config
from server.i18n import cli_locale, translate

from .printer import (
    Layout,
    PrinterUrlError,
    check_layout,
    parse_printer_url,
    plain_text,
    sample_ticket,
    ticket_bytes,
)
from .agent import run as run_agent
from .sim import main
from .spool import state_message
from .transports import PrinterError, open_printer


@click.group()
def printer():
    """The ticket printer. / 小票打印机。"""


def _load_hall(hall_dir: Path):
    """The hall's configuration (no database: the printer test never touches it)."""
    try:
        return config.load(hall_dir)
    except config.ConfigError as exc:
        for line in exc.lines:  # one line per problem, never a traceback
            click.echo(line, err=True)
        raise SystemExit(2)


@printer.command("test")
@click.option("--hall", "hall_dir", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="The hall folder.")
@click.option("--url", default=None, help="A printer URL to try instead of the hall file's.")
def printer_test(hall_dir: Path, url):
    """Print a test ticket and report the printer's status. / 打印测试小票并报告状态。"""
    locale = cli_locale()
    cfg = _load_hall(hall_dir)
    p = cfg.raw["printer"]
    url = url or p["url"]
    timeout = float(p.get("timeout_s", 2.0))
    try:
        spec = parse_printer_url(url, base=cfg.folder, timeout=timeout)
        layout = Layout.from_config(cfg)
    except PrinterUrlError as exc:
        raise click.ClickException(str(exc))
    click.echo(translate("Printer %(url)s -> %(cls)s", locale, url=url, cls=spec.describe()))
    for line in check_layout(layout, [s.name for s in cfg.services.values()]):
        click.echo(f"  [{line['mode']}] {line['line']}")
    device = open_printer(spec, timeout)
    st = device.status()
    zh, en = state_message(st["state"], "zh_CN"), state_message(st["state"], "en")
    click.echo(translate("Status: %(state)s", locale, state=st["state"])
               + f" ({zh} / {en}) {st.get('detail', '')}".rstrip())
    if not device.ready(st):
        device.close()
        raise click.ClickException(
            translate("The printer cannot print now; no test ticket was sent.", locale))
    base = cfg.raw["hall"]["public_url"].rstrip("/")
    ticket = sample_ticket(f"{base}/t/printer-test", cfg.tz)
    data = ticket_bytes(ticket, layout)
    try:
        device.send(data, "printer-test", plain_text(ticket, layout))
    except PrinterError as exc:
        raise click.ClickException(str(exc))
    after = device.status() if device.two_way else st
    device.close()
    click.echo(translate("Test ticket sent: %(n)s bytes (%(mode)s mode).", locale,
                         n=len(data), mode=layout.mode))
    click.echo(translate("Status: %(state)s", locale, state=after["state"]))


@click.command("printer-sim")
@click.option("--tcp", "tcp", default=None, metavar="[HOST:]PORT",
              help="Listen on a TCP port (port 0 picks a free one).")
@click.option("--pty", "pty", default=None, type=click.Path(path_type=Path),
              help="Create a pty and publish its device at this path (a symlink).")
@click.option("--baud", type=int, default=None, help="Read no faster than this serial speed.")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Save each printed job here as NNNN.bin and NNNN.txt.")
@click.option("--paper-out", is_flag=True, help="Start without paper.")
def printer_sim(tcp, pty, baud, out_dir, paper_out):
    """A simulated ticket printer; commands on stdin: paper out|low|ok, cover open|close,
    offline, online, quit. / 模拟打印机。"""
    if tcp is None and pty is None:
        tcp = "127.0.0.1:9100"
    if tcp is not None and ":" not in tcp:
        tcp = f"127.0.0.1:{tcp}"
    main(tcp, pty, baud, out_dir, paper_out)


@click.command()
@click.option("--server", required=True, help="The hall server's address, e.g. http://192.168.1.10:5000")
@click.option("--token", required=True, help="A pad, keypad or kiosk device token (qrate device add)")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default="agent.toml", show_default=True,
              help="The agent's file: [[devices]] path, role (pad, keypad, scanner), keymap")
def agent(server: str, token: str, config_path: Path):
    """Read this PC's USB HID pads, keypads and scanners (Linux, evdev). / 读取本机 USB 评价器、呼叫器和扫码枪。"""
    try:
        run_agent(server, token, config_path)
    except (ValueError, RuntimeError, ImportError) as exc:
        raise click.ClickException(str(exc))
