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
import threading
from pathlib import Path

from . import config as hall_config
from . import hallschema, store
from .config import ConfigError
from .operations import Operations

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


def at_start(ops: Operations) -> str:
    """Adopt the database's configuration, or import a changed hall.toml; says which."""
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
                          resolve={"action": "keep"})
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
            threading.Thread(target=reader.process.close, daemon=True).start()
    return listener
