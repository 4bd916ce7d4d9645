"""The hall IT person's commands: one server per data folder, backup and restore,
accounts and devices (docs/operations.md). `server.cli` registers them."""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import click

from . import auth, backup, config, config_live, datalock, hallschema, store
from .clock import from_environment
from .engine import N_
from .i18n import translate
from .i18n import translate as _t
from .operations import Operations, WouldStrand


def hall_option(fn):
    return click.option("--hall", "hall_dir", default=".", show_default=True,
                        type=click.Path(file_okay=False, path_type=Path),
                        help="The hall folder (holds hall.toml and data/).")(fn)


def load_config(hall_dir: Path) -> config.HallConfig:
    try:
        return config.load(hall_dir)
    except config.ConfigError as exc:
        raise click.ClickException(str(exc))


def busy_message(busy: datalock.HallBusy) -> str:
    return _t("Another qrate server already serves this hall: %(what)s, pid %(pid)s, at %(address)s "
              "(lock %(lock)s); stop it first.", what=busy.what, pid=busy.pid or "?",
              address=busy.address, lock=str(busy.path))


def hold_folder(hall_dir: Path, what: str = "qrate serve"):
    """The data folder's lock, held (one line and exit 1 when another server holds it);
    None when hall.toml cannot say where the data folder is (the caller reports that)."""
    try:
        cfg = config.load(hall_dir)
    except config.ConfigError:
        return None
    os.umask(0o077)  # what the server writes (WAL, logs, clips) is its user's only
    try:
        return datalock.HallLock(cfg.data_folder).acquire(what)
    except datalock.HallBusy as busy:
        raise click.ClickException(busy_message(busy))


def read_password() -> str:
    """Typed twice at a terminal; else the first line of stdin (a second line must match)."""
    if sys.stdin.isatty():
        return click.prompt(_t("Password"), hide_input=True,
                            confirmation_prompt=_t("Password again"))
    lines = sys.stdin.read().splitlines()
    first = lines[0] if lines else ""
    if len(lines) > 1 and lines[1] and lines[1] != first:
        raise click.ClickException(_t("The two passwords differ."))
    return first


def hall_now(cfg) -> datetime:
    clock = from_environment()
    return (clock() if clock else datetime.now(cfg.tz)).astimezone(cfg.tz)


def _db(cfg):
    try:
        store.open_and_migrate(cfg.db_path)
    except store.DamagedDatabase as exc:
        raise click.ClickException(str(exc))
    return store.connect(cfg.db_path)


# --- backup and restore ---------------------------------------------------------

@click.command("backup")
@hall_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The backup file (default: [backup] folder, else DATA/backups/).")
def backup_cmd(hall_dir: Path, out):
    """Copy the hall's database while it serves, and verify the copy. / 备份数据库。"""
    cfg = load_config(hall_dir)
    try:
        result = backup.take(cfg, hall_now(cfg), out)
    except (backup.BackupError, store.DamagedDatabase) as exc:
        raise click.ClickException(str(exc))
    last = result["last_event"] or {}
    click.echo(_t("Backup %(file)s: %(size)s bytes, last event #%(seq)s (%(type)s, %(at)s); "
                  "integrity %(integrity)s, replay %(replay)s.", file=result["file"],
                  size=result["size"], seq=last.get("seq", 0), type=last.get("type", "-"),
                  at=last.get("at", "-"), integrity=result["integrity"], replay=result["replay"]))
    if not result["ok"]:
        raise click.ClickException(_t("The backup does not verify; keep the previous one."))


@click.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@hall_option
def restore_cmd(source: Path, hall_dir: Path):
    """Replace the hall's database by a backup (the hall must not be served). / 恢复备份。"""
    cfg = load_config(hall_dir)
    try:
        lock = datalock.HallLock(cfg.data_folder).acquire("qrate restore")
    except datalock.HallBusy as busy:
        raise click.ClickException(_t("The hall is being served (pid %(pid)s at %(address)s): "
                                      "stop the server, then restore.", pid=busy.pid or "?",
                                      address=busy.address))
    try:
        result = backup.restore(cfg, source, hall_now(cfg))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc))
    finally:
        lock.release()
    datalock.secure(cfg.data_folder)
    last = result["last_event"] or {}
    if result["aside"]:
        click.echo(_t("The replaced database is kept as %(path)s.", path=result["aside"]))
    click.echo(_t("Restored %(file)s: hall day %(day)s, last event #%(seq)s (%(type)s at %(at)s); "
                  "new epoch %(epoch)s.", file=str(source), day=result["day"] or "-",
                  seq=last.get("seq", 0), type=last.get("type", "-"), at=last.get("at", "-"),
                  epoch=result["epoch"]))


# --- accounts -----------------------------------------------------------------------

@click.command("list")
@hall_option
def user_list(hall_dir: Path):
    """Every account: employee number, name, role, state. / 账号列表。"""
    cfg = load_config(hall_dir)
    db = _db(cfg)
    for row in store.users(db):
        state = _t("active") if row["active"] else _t("disabled")
        click.echo(f"{row['employee_no']}\t{row['name']}\t{row['role']}\t{state}")


def _set_active(hall_dir: Path, employee_no: str, active: bool) -> None:
    cfg = load_config(hall_dir)
    db = _db(cfg)
    if not store.user_exists(db, employee_no):
        raise click.ClickException(_t("Employee number %(employee_no)s has no account.",
                                      employee_no=employee_no))
    auth.set_user_active(db, employee_no, active)


@click.command("disable")
@click.argument("employee_no")
@hall_option
def user_disable(employee_no: str, hall_dir: Path):
    """Disable an account: its tokens stop working and its window closes at once. / 停用账号。"""
    _set_active(hall_dir, employee_no, False)
    click.echo(_t("Account %(employee_no)s disabled; its sign-ins have ended.", employee_no=employee_no))
    for n in close_windows_of(hall_dir, employee_no):
        click.echo(_t("Window %(window)s, where %(employee_no)s was signed in, is closed.",
                      window=n, employee_no=employee_no))


def close_windows_of(hall_dir: Path, employee_no: str, reason: str = "disabled") -> list[int]:
    """The windows a clerk whose sign-ins ended held (account disabled, password reset),
    closed: by the running server when the hall is served (its screens see it at once),
    else here."""
    cfg = config_live.for_cli(load_config(hall_dir))
    if served(cfg):
        answer = ask_server(cfg, "user.disabled", {"employee_no": employee_no, "reason": reason}, 30,
                            by="qrate user")
        return answer.get("windows", []) if answer.get("ok") else []
    ops = Operations(cfg)
    try:
        return ops.sign_out_everywhere(employee_no, reason)
    finally:
        ops.close()


@click.command("enable")
@click.argument("employee_no")
@hall_option
def user_enable(employee_no: str, hall_dir: Path):
    """Enable a disabled account (it signs in afresh). / 启用账号。"""
    _set_active(hall_dir, employee_no, True)
    click.echo(_t("Account %(employee_no)s enabled.", employee_no=employee_no))


@click.command("reset-password")
@click.argument("employee_no")
@hall_option
def user_reset_password(employee_no: str, hall_dir: Path):
    """Set a new password (typed twice); the account's sign-ins end, its window closes. / 重置密码。"""
    cfg = load_config(hall_dir)
    db = _db(cfg)
    if not store.user_exists(db, employee_no):
        raise click.ClickException(_t("Employee number %(employee_no)s has no account.",
                                      employee_no=employee_no))
    password = read_password()
    if len(password) < 6:
        raise click.ClickException(_t("The password needs at least 6 characters."))
    auth.reset_password(db, employee_no, password)
    click.echo(_t("Password of %(employee_no)s reset; its sign-ins have ended.", employee_no=employee_no))
    for n in close_windows_of(hall_dir, employee_no, "password_reset"):  # its sign-ins ended: so did its window
        click.echo(_t("Window %(window)s, where %(employee_no)s was signed in, is closed.",
                      window=n, employee_no=employee_no))


# --- devices ----------------------------------------------------------------------

@click.command("list")
@hall_option
def device_list(hall_dir: Path):
    """Every device: name, kind, window, printer, last seen, state. / 设备列表。"""
    cfg = load_config(hall_dir)
    db = _db(cfg)
    for row in store.devices(db):
        state = _t("revoked") if row["revoked"] else _t("active")
        click.echo("\t".join(str(x) if x is not None else "-" for x in (
            row["name"], row["kind"], row["window"], row["printer"], row["last_seen"], state)))


@click.command("revoke")
@click.argument("name")
@hall_option
def device_revoke(name: str, hall_dir: Path):
    """Revoke a device (a lost tablet): its token stops working at once. / 吊销设备。"""
    cfg = load_config(hall_dir)
    db = _db(cfg)
    if not store.device_exists(db, name):
        raise click.ClickException(_t("No device is named %(name)s.", name=name))
    auth.revoke_device(db, name)
    click.echo(_t("Device %(name)s revoked.", name=name))


# --- what a start warns about ------------------------------------------------------

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def start_warnings(cfg, host: str, port: int) -> list[str]:
    """One line each: public_url that does not reach the served address (the tickets' QR
    codes would point elsewhere), no manager account yet, no kiosk yet."""
    out = []
    url = urlsplit(cfg.raw["hall"]["public_url"])
    url_port = url.port or (443 if url.scheme == "https" else 80)
    behind_proxy = url.scheme == "https" or url_port in (80, 443)
    if url_port != port and not behind_proxy:
        out.append(_t("[hall] public_url %(url)s names port %(url_port)s, but the server listens on "
                      "%(port)s: tickets' QR codes will not reach it.", url=cfg.raw["hall"]["public_url"],
                      url_port=url_port, port=port))
    if host in LOOPBACK and url.hostname not in LOOPBACK:
        out.append(_t("The server listens on %(host)s only, so phones cannot reach [hall] public_url "
                      "%(url)s: serve with --host 0.0.0.0.", host=host, url=cfg.raw["hall"]["public_url"]))
    elif host not in LOOPBACK and url.hostname in LOOPBACK:
        out.append(_t("[hall] public_url %(url)s is this PC's own address: citizens' phones cannot "
                      "open it; write the address of this PC on the hall network.",
                      url=cfg.raw["hall"]["public_url"]))
    db = store.connect(cfg.db_path)
    try:
        roles = {u["role"] for u in store.users(db) if u["active"]}
        kinds = {d["kind"] for d in store.devices(db) if not d["revoked"]}
    finally:
        db.close()
    if not roles & {"manager", "admin"}:
        out.append(_t("No manager account yet: qrate user add EMPLOYEE_NO --role manager."))
    if "kiosk" not in kinds:
        out.append(_t("No kiosk yet: qrate device add kiosk-1 --kind kiosk (tickets need one)."))
    return out


# --- the demo's links --------------------------------------------------------------

LINKS_FILE = "demo-links.json"


def demo_port(folder: Path, port: int) -> None:
    """The demo hall's port and public_url follow `qrate demo --port` on every start."""
    path = folder / "hall.toml"
    text = path.read_text(encoding="utf-8")
    new = re.sub(r"(?m)^port = \d+$", f"port = {port}", text, count=1)
    new = re.sub(r'(?m)^public_url = "http://127\.0\.0\.1:\d+"$',
                 f'public_url = "http://127.0.0.1:{port}"', new, count=1)
    if new != text:
        path.write_text(new, encoding="utf-8")


def demo_devices(folder: Path, db, cfg) -> None:
    """The demo's kiosk, lobby screen and first three pads, once; their tokens kept in
    DATA/demo-links.json (0600) so every start prints the links on its own port."""
    path = cfg.data_folder / LINKS_FILE
    if path.exists():
        return
    links = []
    for name, kind, window in [("demo-kiosk", "kiosk", None), ("demo-display", "display", None)] + \
            [(f"demo-pad-{n}", "pad", n) for n in list(cfg.windows)[:3]]:
        if store.device_exists(db, name):
            continue
        _, token = auth.add_device(db, name, kind, window)
        links.append({"kind": kind, "window": window, "token": token})
    path.write_text(json.dumps(links), encoding="utf-8")
    os.chmod(path, 0o600)


LABELS = {
    "kiosk": N_("Ticket kiosk"), "display": N_("Lobby screen"),
    "pad": N_("Rating pad of window %(window)s"), "console": N_("Clerk console (sign in)"),
    "manage": N_("Manager dashboard"), "window_screen": N_("Screen of window %(window)s"),
    "system": N_("System status: backups, accounts, devices"),
}


def _label(key: str, **params) -> str:
    zh, en = translate(LABELS[key], "zh_CN", **params), translate(LABELS[key], "en", **params)
    return f"{zh} / {en}"


def demo_links(folder: Path, cfg, base: str) -> list[str]:
    """Each link labelled in the hall's language with English beside it."""
    try:
        devices = json.loads((cfg.data_folder / LINKS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        devices = []
    lines = [_t("Device pages (open each once on its device):")]
    for d in devices:
        path = {"kiosk": "/kiosk", "display": "/display", "pad": "/pad"}[d["kind"]]
        lines.append(f"  {_label(d['kind'], window=d['window'])}: {base}{path}?token={d['token']}")
    first = next(iter(cfg.windows), 1)
    lines += [f"  {_label('console')}: {base}/console",
              f"  {_label('window_screen', window=first)}: {base}/display/window/{first}",
              f"  {_label('manage')}: {base}/manage",
              f"  {_label('system')}: {base}/manage/system"]
    return lines


def voice_lines() -> list[str]:
    """One line when the calls cannot be spoken, and why."""
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if not missing:
        return []
    return [_t("Voice is off: %(tools)s not installed (apt-get install %(tools)s); the lobby "
               "and the dashboard say so.", tools=" ".join(missing))]


# --- configuration changes while the hall is served (server/config_live.py) ----------

def served(cfg) -> bool:
    """A `qrate serve` (or demo) holds this hall's data folder now."""
    return datalock.held(cfg.data_folder) is not None


def stranded_option(text):
    """`--stranded` as Operations' ``resolve``; a bad value is one line."""
    try:
        return config_live.parse_stranded(text)
    except ValueError:
        raise click.BadParameter(_t("%(value)s: give cancel, keep or move:SERVICE (e.g. move:B).",
                                    value=text), param_hint="--stranded")


def _movable(cfg) -> list[str]:
    served_codes = {c for w in cfg.windows.values() for c in w.services}
    return [c for c in cfg.services if c in served_codes]


def stranded_exit(cfg, source: str, exc: WouldStrand, lock=None, movable=None):
    """Waiting tickets a change would strand: one line per group on stderr, exit 1."""
    for line in config_live.stranded_lines(source, exc, _movable(cfg) if movable is None else movable):
        click.echo(line, err=True)
    if lock is not None:
        lock.release()
    raise SystemExit(1)


def ask_server(cfg, kind: str, body: dict, wait_s: float, by: str = "qrate config import") -> dict:
    """Post a request to the running server and wait for its answer (polled)."""
    db = store.connect(cfg.db_path)
    try:
        request_id = store.post_request(db, kind, by, body, hall_now(cfg).isoformat())
        deadline, extended = time.monotonic() + wait_s, False
        while True:
            state, answer = store.request_answer(db, request_id)
            if state == "done" and answer is not None:
                return answer
            if state in ("withdrawn", "missing"):
                raise click.ClickException(_t("The running server did not take the change; nothing "
                                              "was changed."))
            if time.monotonic() > deadline:
                if extended or store.withdraw_requests(db, request_id):
                    raise click.ClickException(_t(
                        "The running server did not take the change within %(s)s s; nothing was "
                        "changed. Is it still running?", s=int(wait_s)))
                deadline, extended = time.monotonic() + 60, True  # taken: its answer is coming
            time.sleep(0.1)
    finally:
        db.close()


def import_answer(cfg, file: str, answer: dict) -> None:
    """What `qrate config import` prints for the answer (exit 2 invalid, 1 refused)."""
    if answer.get("ok"):
        click.echo(_t("%(n)s changes imported from %(file)s.", n=answer.get("changes", 0), file=file))
        return
    if answer.get("code") == "would_strand":
        stranded_exit(cfg, file, WouldStrand(answer["stranded"]), movable=answer.get("movable"))
    for line in answer.get("lines") or [answer.get("code", "failed")]:
        click.echo(line, err=True)
    raise SystemExit(2 if answer.get("code") == "invalid" else 1)


def export_text(cfg) -> str:
    """The configuration that stands: the running server's (the database's last version)
    while the hall is served, else what the next `qrate serve` starts with."""
    raw = cfg.raw
    if served(cfg):
        db = store.connect(cfg.db_path)
        try:
            row = store.latest_config(db)
        finally:
            db.close()
        if row is not None:
            raw = config.merge(config.DEFAULTS, json.loads(row["body"]))
    return hallschema.to_toml(raw, config_live.HEADING)
