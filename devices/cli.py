"""`qrate printer test` and `qrate printer-sim`."""
from __future__ import annotations

from pathlib import Path

import click


@click.group()
def printer():
    """The ticket printer. / 小票打印机。"""


@printer.command("test")
@click.option("--hall", "hall_dir", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="The hall folder.")
@click.option("--url", default=None, help="A printer URL to try instead of the hall file's.")
def printer_test(hall_dir: Path, url):
    """Print a test ticket and report the printer's status. / 打印测试小票并报告状态。"""
    from server.cli import _load
    from server.i18n import translate as _t
    from .printer import (Connection, Layout, PrinterError, PrinterUrlError, check_layout,
                          parse_printer_url, plain_text, sample_ticket, ticket_bytes)
    from .spool import STATE_TEXT
    cfg = _load(hall_dir)
    p = cfg.raw["printer"]
    url = url or p["url"]
    try:
        spec = parse_printer_url(url, base=cfg.folder, timeout=float(p.get("timeout_s", 2.0)))
        layout = Layout.from_config(cfg)
    except PrinterUrlError as exc:
        raise click.ClickException(str(exc))
    click.echo(_t("Printer %(url)s -> %(cls)s", url=url, cls=spec.describe()))
    for line in check_layout(layout, [s.name for s in cfg.services.values()]):
        click.echo(f"  [{line['mode']}] {line['line']}")
    conn = Connection(spec, float(p.get("timeout_s", 2.0)))
    st = conn.status()
    zh, en = STATE_TEXT.get(st["state"], STATE_TEXT["unknown"])
    click.echo(_t("Status: %(state)s", state=st["state"]) + f" ({zh} / {en}) {st.get('detail', '')}".rstrip())
    if not conn.ready(st):
        conn.close()
        raise click.ClickException(_t("The printer cannot print now; no test ticket was sent."))
    base = cfg.raw["hall"]["public_url"].rstrip("/")
    ticket = sample_ticket(f"{base}/t/printer-test")
    data = ticket_bytes(ticket, layout)
    try:
        conn.send(data, "printer-test", plain_text(ticket, layout))
    except PrinterError as exc:
        raise click.ClickException(str(exc))
    after = conn.status() if spec.two_way else st
    conn.close()
    click.echo(_t("Test ticket sent: %(n)s bytes (%(mode)s mode).", n=len(data), mode=layout.mode))
    click.echo(_t("Status: %(state)s", state=after["state"]))


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
    from .sim import main
    if tcp is None and pty is None:
        tcp = "127.0.0.1:9100"
    if tcp is not None and ":" not in tcp:
        tcp = f"127.0.0.1:{tcp}"
    main(tcp, pty, baud, out_dir, paper_out)
