"""Backups and restores of the hall's database, and the daily backup.

A backup is SQLite's online backup API (one read transaction for the whole copy, so
the hall keeps serving), then verified on the copy: ``PRAGMA integrity_check`` and
the event log replayed through the engine, which must rebuild the copied tickets and
windows exactly. A restore replaces the database (the old one is kept aside), starts
a new epoch and records a ``hall.restored`` event. See docs/operations.md.
"""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import time
from datetime import date, datetime, time as clock_time
from pathlib import Path
from typing import Callable, Optional

from . import engine, store
from .config import HallConfig
from .engine import Event

log = logging.getLogger("qrate.backup")
STATUS_FILE = "backup-status.json"
BACKUP_NAME = re.compile(r"^qrate-(\d{8})-(\d{6})\.db$")
REPLAY_CHUNK = 20_000  # tickets replayed at a time: memory stays flat over a year


class BackupError(Exception):
    """A backup or a restore could not be made; the message says why."""


def _event(r: dict) -> Event:
    return Event(type=r["type"], at=datetime.fromisoformat(r["at"]), ticket=r["ticket"],
                 window=r["window"], clerk=r["clerk"], data=json.loads(r["data"]), seq=r["seq"])


FIELDS = ("day", "service", "seq", "number", "priority", "priority_kind", "status", "issued_at",
          "leg_at", "target_window", "window", "clerk", "called_at", "finished_at", "recalls",
          "calls", "transfers", "note")


def replay_problems(db, tz, limit: int = 5) -> list[str]:
    """Where replaying the event log differs from the stored tickets and windows ([] = none)."""
    s = store.Store(db, tz)
    problems: list[str] = []
    lo, hi = store.ticket_id_range(db)
    start = lo
    while start <= hi and len(problems) < limit:
        end = start + REPLAY_CHUNK
        replayed: dict[int, engine.Ticket] = {}
        for r in store.event_rows(db, ticket_lo=start, ticket_hi=end):
            ev = _event(r)
            if ev.type == "ticket.issued":
                t = engine.apply(ev)
                t.id = ev.ticket
                replayed[ev.ticket] = t
            elif ev.ticket in replayed:
                engine.apply(ev, replayed[ev.ticket])
        for row in store.ticket_rows_between(db, start, end):
            t = s.ticket_from_row(row)
            r = replayed.pop(t.id, None)
            if r is None:
                problems.append(f"ticket {t.id} ({t.number}) has no ticket.issued event")
                continue
            for f in FIELDS:
                if getattr(r, f) != getattr(t, f):
                    problems.append(f"ticket {t.id} ({t.number}): {f} is {getattr(t, f)!r}, "
                                    f"the log says {getattr(r, f)!r}")
                    break
        for tid in list(replayed)[:limit]:
            problems.append(f"ticket {tid} is in the log but not in the tickets table")
        start = end
    windows: dict[int, tuple] = {}
    for r in store.event_rows(db, kind="window.changed"):
        d = json.loads(r["data"])
        windows[r["window"]] = (d["status"], d["clerk"])
    for n, row in s.window_states().items():
        if windows.get(n, ("closed", None)) != (row["status"], row["clerk"]):
            problems.append(f"window {n}: {row['status']}/{row['clerk']}, the log says "
                            f"{windows.get(n, ('closed', None))}")
    return problems[:limit]


def verify(path: Path, tz) -> dict:
    """Check a database file: integrity, the replay, and what it holds."""
    db = store.connect(path)
    try:
        checks = store.integrity(db)
        integrity = "ok" if checks == ["ok"] else "; ".join(checks[:3])
        problems = replay_problems(db, tz) if integrity == "ok" else ["not checked"]
        last = store.last_event(db)
        lo, hi = store.ticket_id_range(db)
        return {"integrity": integrity, "replay": "ok" if not problems else "; ".join(problems),
                "ok": integrity == "ok" and not problems, "epoch": store.epoch(db),
                "last_event": last, "day": last["day"] if last else None,
                "events": last["seq"] if last else 0, "tickets_max_id": hi}
    finally:
        db.close()


def backup_folder(cfg: HallConfig) -> Path:
    """[backup] folder (relative to the hall folder), else DATA/backups."""
    folder = cfg.raw.get("backup", {}).get("folder") or ""
    return (cfg.folder / folder).resolve() if folder else cfg.data_folder / "backups"


def take(cfg: HallConfig, now: datetime, out: Optional[Path] = None, keep: Optional[int] = None) -> dict:
    """Copy the live database to ``out`` (default: the backup folder), verify the copy,
    record the result in DATA/backup-status.json; ``keep``: prune older backups there."""
    if not cfg.db_path.exists():
        raise BackupError(f"{cfg.db_path} does not exist: this hall has no data yet")
    if out is None:
        folder = backup_folder(cfg)
        out = folder / f"qrate-{now:%Y%m%d-%H%M%S}.db"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if out.exists():
        raise BackupError(f"{out} exists already; choose another --out")
    partial = out.with_name(out.name + ".partial")
    started = time.monotonic()
    try:
        store.backup_file(cfg.db_path, partial)
        os.chmod(partial, 0o600)
        result = verify(partial, cfg.tz)
        os.replace(partial, out)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        status = {"at": now.isoformat(), "file": str(out), "ok": False, "error": str(exc)}
        write_status(cfg, status)
        raise BackupError(f"the backup to {out} failed: {exc}") from exc
    result.update(at=now.isoformat(), file=str(out), size=out.stat().st_size,
                  seconds=round(time.monotonic() - started, 2))
    if keep:
        result["pruned"] = [str(p) for p in prune(out.parent, keep)]
    write_status(cfg, result)
    return result


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` scheduled backups (qrate-YYYYmmdd-HHMMSS.db)."""
    backups = sorted(p for p in folder.iterdir() if BACKUP_NAME.match(p.name))
    gone = backups[:-keep] if keep > 0 else []
    for p in gone:
        p.unlink(missing_ok=True)
    return gone


def status(cfg: HallConfig) -> Optional[dict]:
    """The last backup's record (None: no backup yet)."""
    try:
        return json.loads((cfg.data_folder / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_status(cfg: HallConfig, result: dict) -> None:
    path = cfg.data_folder / STATUS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def restore(cfg: HallConfig, source: Path, now: datetime) -> dict:
    """Replace the hall's database by ``source`` (the caller holds the hall's lock).

    The file is checked first (and refused when damaged); the replaced database and
    its WAL go aside as DATA/replaced-YYYYmmdd-HHMMSS.db; the restored one gets a new
    epoch and a ``hall.restored`` event."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    try:
        store.check_file(source, full=True)
    except store.DamagedDatabase as exc:
        raise BackupError(str(exc)) from None
    checked = verify(source, cfg.tz)
    if not checked["ok"]:
        raise BackupError(f"{source} fails its check (integrity {checked['integrity']}, "
                          f"replay {checked['replay']}); nothing was changed")
    cfg.data_folder.mkdir(parents=True, exist_ok=True)
    aside = None
    replaced_no = 0  # the replaced database's epoch number: the restored one counts on from it
    if cfg.db_path.exists():
        old_db = store.connect(cfg.db_path)
        try:
            replaced_no = store.hall_epoch(old_db)
        except Exception:  # noqa: BLE001 - a damaged database being replaced: count from the copy
            replaced_no = 0
        finally:
            old_db.close()
        aside = cfg.data_folder / f"replaced-{now:%Y%m%d-%H%M%S}.db"
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{cfg.db_path}{suffix}")
            if part.exists():
                shutil.move(str(part), f"{aside}{suffix}")
    store.backup_file(source, cfg.db_path)
    os.chmod(cfg.db_path, 0o600)
    store.open_and_migrate(cfg.db_path)
    db = store.connect(cfg.db_path)
    try:
        previous = store.epoch(db)
        new_epoch = secrets.token_hex(8)
        s = store.Store(db, cfg.tz)
        with s.transaction():
            store.set_epoch(db, new_epoch)
            store.set_hall_epoch(db, max(replaced_no, store.hall_epoch(db)) + 1)
            s.append(Event("hall.restored", now, None, None, None,
                           {"epoch": new_epoch, "previous_epoch": previous, "from": str(source),
                            "last_seq": checked["events"]}), now.date())
    finally:
        db.close()
    return {**checked, "epoch": new_epoch, "previous_epoch": previous,
            "aside": str(aside) if aside else None, "from": str(source)}


# --- the daily backup -----------------------------------------------------------

def schedule(cfg: HallConfig) -> Optional[tuple[clock_time, int, Path]]:
    """(at, keep, folder) when [backup] folder names a folder, else None (no daily backup)."""
    conf = cfg.raw.get("backup", {})
    if not conf.get("folder"):
        return None
    hh, mm = (int(x) for x in str(conf.get("at", "12:30")).split(":"))
    return clock_time(hh, mm), int(conf.get("keep", 14)), backup_folder(cfg)


def due(cfg: HallConfig, now: datetime) -> bool:
    """A daily backup is due: past today's [backup] at, and none taken today yet."""
    plan = schedule(cfg)
    if plan is None:
        return False
    at, _, folder = plan
    if now.time() < at:
        return False
    today = now.strftime("%Y%m%d")
    return not (folder.exists() and any(BACKUP_NAME.match(p.name) and p.name[6:14] == today
                                        for p in folder.iterdir()))


def run_daily(cfg: HallConfig, now: Callable[[], datetime], sleep: Callable[[float], None],
              run_blocking: Callable, check_s: float = 60) -> None:
    """The daily backup loop (a background task of `qrate serve`); a missed hour is
    caught up at the next start. Failures are logged and recorded, never raised."""
    while True:
        try:
            if due(cfg, now()):
                plan = schedule(cfg)
                result = run_blocking(take, cfg, now(), None, plan[1])
                log.info("daily backup %s: integrity %s, replay %s", result["file"],
                         result["integrity"], result["replay"])
        except Exception as exc:  # noqa: BLE001 - a failed backup must not stop the hall
            log.error("daily backup failed: %s", exc)
        sleep(check_s)


def day_of(result: dict) -> Optional[date]:
    return date.fromisoformat(result["day"]) if result.get("day") else None
