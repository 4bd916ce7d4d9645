"""`qrate city ...`: the city service's commands (serve, hall add, user add)."""
from __future__ import annotations

import sys

import click
import psycopg
from werkzeug.serving import make_server  # a threaded WSGI server: see docs/city.md

from ..i18n import translate as _t
from . import db, feed
from .app import create_city_app

DB_OPTION = click.option("--db", "url", required=True, envvar="QRATE_CITY_DB",
                         help="The city's PostgreSQL, postgresql://USER@HOST:PORT/DB.")


def _connect(url: str):
    try:
        return db.connect(url)
    except psycopg.OperationalError as exc:
        raise click.ClickException(_t("Cannot reach the city database: %(why)s",
                                      why=str(exc).strip().splitlines()[0]))


@click.group()
def city():
    """The city service: every hall's events on one PostgreSQL. / 市级汇聚服务。"""


@city.command()
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5100, show_default=True)
def serve(url: str, host: str, port: int):
    """Run the city service. / 启动市级服务。"""
    _connect(url).close()
    app = create_city_app(url)
    server = make_server(host, port, app, threaded=True)
    click.echo(_t("qrate city is serving at http://%(host)s:%(port)s/", host=host,
                  port=server.server_port))
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # pragma: no cover
        pass
    finally:
        app.extensions["city_pool"].close()


@city.group()
def hall():
    """Halls that send their events to the city. / 接入的大厅。"""


@hall.command("add")
@click.argument("name")
@DB_OPTION
@click.option("--id", "hall_id", default=None, help="The hall's id (default: the next H001, H002, …).")
def hall_add(name: str, url: str, hall_id):
    """Register a hall; prints its hall_id, then its token on the last line. / 登记大厅。"""
    with _connect(url) as conn:
        try:
            hall_id, token = db.add_hall(conn, name, hall_id)
        except db.CityError as exc:
            raise click.ClickException(_t(exc.message, **exc.params))
    click.echo(_t("Hall %(name)s registered. Put hall_id and token into its hall.toml [city].",
                  name=name))
    click.echo(f"hall_id = {hall_id}")
    click.echo(token)


@city.group()
def user():
    """City managers. / 市级管理员。"""


@user.command("add")
@click.argument("employee_no")
@click.option("--role", type=click.Choice(list(db.ROLES)), required=True)
@click.option("--name", default="")
@DB_OPTION
def user_add(employee_no: str, role: str, name: str, url: str):
    """Add a city manager (the password typed twice; read from stdin when not a terminal).
    / 添加市级管理员。"""
    if sys.stdin.isatty():
        password = click.prompt(_t("Password"), hide_input=True,
                                confirmation_prompt=_t("Password again"))
    else:
        lines = sys.stdin.read().splitlines()
        password = lines[0] if lines else ""
        if len(lines) > 1 and lines[1] and lines[1] != password:
            raise click.ClickException(_t("The two passwords differ."))
    if len(password) < 8:
        raise click.ClickException(_t("A password has at least 8 characters."))
    with _connect(url) as conn:
        try:
            db.add_user(conn, employee_no, role, password, name)
        except db.CityError as exc:
            raise click.ClickException(_t(exc.message, **exc.params))
    click.echo(_t("City user %(no)s (%(role)s) added.", no=employee_no, role=role))


@city.group("feed")
def feed_group():
    """The province's 好差评 feed. / 省好差评系统数据推送。"""


@feed_group.command("export")
@DB_OPTION
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="File (default: stdout).")
@click.option("--all", "everything", is_flag=True, help="Every rating, not only those since the last export.")
def feed_export(url: str, fmt: str, out, everything: bool):
    """Every rating since the last export (docs/haochaping-feed.schema.json). / 导出好差评数据。"""
    with _connect(url) as conn:
        text, n = feed.export(conn, fmt, everything)
    if out:
        with open(out, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        click.echo(_t("%(n)s ratings written to %(path)s.", n=n, path=out), err=True)
    else:
        click.echo(text, nl=False)


@city.command("partitions")
@DB_OPTION
@click.option("--detach-before", "before", default=None, metavar="YYYY-MM",
              help="Detach (never drop) the months before this one.")
def partitions_cmd(url: str, before):
    """The monthly partitions of events and ratings; --detach-before YYYY-MM detaches older
    months (kept in the database as …_detached; the summary keeps their figures).
    / 按月分区：列出；--detach-before 分离旧月份（不删除）。"""
    with _connect(url) as conn:
        if before:
            try:
                done = db.detach_before(conn, before)
            except db.CityError as exc:
                raise click.ClickException(_t(exc.message, **exc.params))
            for name in done:
                click.echo(_t("detached: %(name)s", name=name))
            click.echo(_t("%(n)s partitions detached; nothing was dropped.", n=len(done)))
        for p in db.partition_list(conn):
            state = _t("attached") if p["attached"] else _t("detached")
            click.echo(f"{p['table']:<8} {p['month']}  {state:<10} {p['rows']:>12} "
                       f"{p['bytes'] / 1e6:>10.1f} MB  {p['name']}")
