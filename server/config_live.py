"""The hall's configuration once the hall has started: it lives in the database.

hall.toml seeds a new hall. At each start ``at_start`` compares hall.toml (over the
defaults) with the configuration last imported from it: changed, it is imported as
an audited ``config.changed`` by ``hall.toml``; unchanged, the database's
configuration (with the changes made in the browser) stands. ``export_text`` and
``import_file`` are `qrate config export` and `qrate config import`, which round-trip.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from . import config as hall_config
from . import hallschema, store
from .config import ConfigError
from .engine import N_, QueueError
from .i18n import translate as _t
from .operations import Operations, WouldStrand

log = logging.getLogger("qrate.config")

HEADING = ("# qrate hall file, written by `qrate config export`. / 由 `qrate config export` 导出。\n"
           "# Edit it and run `qrate config import FILE`, or restart `qrate serve`.")


def digest(raw: dict) -> str:
    """A fingerprint of a configuration (its canonical JSON)."""
    text = json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stored(ops: Operations):
    """(the configuration that stands as a dict, the digest of hall.toml last imported)."""
    with ops.store() as s:
        row = store.latest_config(s.db)
        imported = store.last_imported_digest(s.db)
    return (json.loads(row["body"]) if row else None), imported


def at_start(ops: Operations, resolve: dict | None = None) -> str:
    """Adopt the database's configuration, or import a changed hall.toml; says which.

    A changed hall.toml that would strand waiting tickets raises WouldStrand unless
    ``resolve`` says what to do with them (`qrate serve --stranded ...`)."""
    file_raw = ops.cfg.raw
    file_digest = digest(file_raw)
    body, imported = stored(ops)
    if body is not None:
        raw = hall_config.merge(hall_config.DEFAULTS, body)
        try:
            hall_config.check(raw, "the database's configuration")
            ops.swap_config(hall_config.build(ops.cfg.folder, raw))
        except ConfigError:
            if imported == file_digest:
                raise
            body = None  # a changed hall.toml replaces what this version no longer accepts
    if body is None or imported != file_digest:
        ops.change_config(file_raw, "hall.toml", "hall.toml", digest=file_digest,
                          resolve=resolve)
        return "imported"
    return "stored"


def current(ops: Operations) -> dict:
    """The whole configuration as it stands (GET /api/config, `qrate config export`)."""
    return ops.cfg.raw


def export_text(ops: Operations) -> str:
    return hallschema.to_toml(current(ops), HEADING)


def read_file(path: Path | str) -> dict:
    """A hall.toml file, parsed and checked: ConfigError with one line per problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    raw = hall_config.merge(hall_config.DEFAULTS, hall_config.parse_toml(text, str(path)))
    hall_config.check(raw, str(path), text)
    return raw


def import_file(ops: Operations, path: Path | str, by: str = "qrate config import",
                resolve=None) -> list[dict]:
    """Make a file the hall's configuration (audited); returns the changes."""
    raw = read_file(path)
    before = ops.cfg.raw
    ops.change_config(raw, by, "import", resolve=resolve)
    return hallschema.diff(before, raw)


def for_cli(cfg: hall_config.HallConfig) -> hall_config.HallConfig:
    """What a CLI command should see: the database's configuration when hall.toml has not
    changed since it was imported (else the file's, which `qrate serve` will import)."""
    db = store.connect(cfg.db_path)
    try:
        row = store.latest_config(db)
        imported = store.last_imported_digest(db)
    finally:
        db.close()
    if row is None or imported != digest(cfg.raw):
        return cfg
    raw = hall_config.merge(hall_config.DEFAULTS, json.loads(row["body"]))
    return hall_config.build(cfg.folder, raw)


def reports_follow(reader):
    """A listener: after a change the report process starts again on the new configuration
    (it was handed the configuration when it started)."""
    def listener(body: dict) -> None:
        if body.get("type") == "config.changed" and getattr(reader, "process", None) is not None:
            reader.process.stale = True
    return listener


# --- what a CLI command asks the running server (docs/operations.md) -----------------
# While `qrate serve` holds the data folder, `qrate config import` and `qrate user
# disable` do not change the hall behind its back: they post a request into the
# database (store.post_request) and wait; the server takes it within a second, makes it
# its own change (the same Operations call PUT /api/config makes: checked, audited,
# swapped in, pushed to every screen) and writes the answer back.

REQUEST_POLL_S = 0.5


def parse_stranded(text: str | None) -> dict | None:
    """`--stranded cancel | move:B | keep` as Operations' ``resolve`` (None: ask)."""
    if not text:
        return None
    text = text.strip()
    if text == "cancel":
        return {"action": "cancel", "reason": "config.changed"}
    if text == "keep":
        return {"action": "keep"}
    if text.startswith("move:") and text[5:].strip():
        return {"action": "move", "service": text[5:].strip().upper()}
    raise ValueError(text)


def stranded_lines(source: str, exc: WouldStrand, movable: list[str], option: str = "--stranded") -> list[str]:
    """One line per stranded group: the tickets, and the choices."""
    choices = _t("choose %(option)s move:SERVICE (%(services)s), %(option)s cancel or %(option)s keep",
                 option=option, services=", ".join(movable) or "-")
    why = {"service_removed": N_WHY_REMOVED, "service_unserved": N_WHY_UNSERVED,
           "window_removed": N_WHY_WINDOW}
    out = []
    for row in exc.stranded:
        numbers = [t["number"] for t in row["tickets"]]
        shown = ", ".join(numbers[:12]) + (f", … (+{len(numbers) - 12})" if len(numbers) > 12 else "")
        out.append(_t("%(source)s: service %(service)s (%(why)s): %(n)s waiting tickets (%(tickets)s) "
                      "would have no window to call them; %(choices)s.", source=source,
                      service=row["service"], why=_t(why.get(row["why"], row["why"])),
                      n=row["waiting"], tickets=shown, choices=choices))
    return out


N_WHY_REMOVED = N_("removed")
N_WHY_UNSERVED = N_("no window serves it")
N_WHY_WINDOW = N_("sent to a removed window")


def movable_services(ops: Operations, raw: dict) -> list[str]:
    """Services a stranded ticket may move to: in both configurations, served by a window."""
    new = hall_config.merge(hall_config.DEFAULTS, raw)
    served = {c for w in new.get("windows", []) if isinstance(w, dict) for c in w.get("services", [])}
    return [s.get("code") for s in new.get("services", []) if isinstance(s, dict)
            and s.get("code") in served and s.get("code") in ops.cfg.services]


def apply_import(ops: Operations, raw: dict, by: str, resolve: dict | None, file: str = "") -> dict:
    """`qrate config import` as one change; the answer the CLI prints (never raises for a
    refusal: a running server writes it back)."""
    before = ops.cfg.raw
    try:
        ops.change_config(raw, by, "import", resolve=resolve)
    except ConfigError as exc:
        return {"ok": False, "code": "invalid", "lines": exc.lines}
    except WouldStrand as exc:
        return {"ok": False, "code": "would_strand", "stranded": exc.stranded,
                "movable": movable_services(ops, raw)}
    except QueueError as exc:  # e.g. --stranded move:Z to a service that does not exist
        return {"ok": False, "code": exc.code, "lines": [str(exc)]}
    return {"ok": True, "changes": len(hallschema.diff(before, ops.cfg.raw))}


def handle_request(ops: Operations, request: dict) -> dict:
    """One request from the CLI, applied by this process."""
    body = request["body"]
    if request["kind"] == "config.import":
        return apply_import(ops, body["raw"], request["by"], body.get("resolve"), body.get("file", ""))
    if request["kind"] == "user.disabled":
        reason = body.get("reason") if body.get("reason") in ("disabled", "password_reset") else "disabled"
        return {"ok": True, "windows": ops.sign_out_everywhere(body["employee_no"], reason)}
    if request["kind"] == "kiosk.printer":  # `qrate device add --printer` while served: pushed
        ops.set_kiosk_printer(body["name"], body.get("printer"), request["by"])
        return {"ok": True}
    return {"ok": False, "code": "unknown_request", "lines": [f"unknown request {request['kind']}"]}


def serve_requests(ops: Operations, sleep, interval: float = REQUEST_POLL_S) -> None:
    """The running server's side of the mailbox: a background task of `qrate serve`."""
    with ops.store() as s:
        store.withdraw_requests(s.db)  # left by a CLI killed while it waited: never applied late
    while True:
        sleep(interval)
        try:
            take_one(ops)
        except Exception:  # noqa: BLE001 - a busy or full disk: the next tick tries again
            log.warning("could not take a request from the command line", exc_info=True)


def take_one(ops: Operations) -> bool:
    """Take and answer the oldest pending request; False when none waits."""
    with ops.store() as s:
        request = store.take_request(s.db)
    if request is None:
        return False
    try:
        answer = handle_request(ops, request)
    except Exception as exc:  # noqa: BLE001 - the CLI is told, the server goes on
        log.exception("request %s failed", request["kind"])
        answer = {"ok": False, "code": "failed", "lines": [str(exc)]}
    with ops.store() as s:
        store.answer_request(s.db, request["id"], answer, ops.now().isoformat())
    return True
