"""The read side: report SQL returning plain rows, and the one definition of each figure.

- ``figures``: each figure defined once (pure Python, exact values, no rounding).
- ``summary``: the per-day summary of the event log every figure is computed from.
- ``tables``: figures by window | staff | service | hour | day, scorecards, rankings,
  pairs, trends, the monthly report and flat tables for CSV / XLSX.
- ``screens``: the lobby board, the pad's satisfaction, a clerk's figures today, the notice.
- ``lists``: managers' lists (ratings, follow-up cases, flags, print jobs, the hall now).

Every public reader is ``fn(db, cfg, *, now, ...)``: ``db`` a sqlite_utils.Database
or a sqlite3.Connection, ``cfg`` the HallConfig, ``now`` the hall clock's aware
datetime; it returns plain dicts and lists. ``Reader`` runs one on its own
connection in a real OS thread, so a report never holds the gevent loop (nor any
lock of the service layer).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Callable

from ..runtime import run_blocking
from ..store import connect
from . import figures, lists, screens, summary, tables

__all__ = ["Reader", "figures", "lists", "screens", "summary", "tables"]


class Reader:
    """Runs read-side functions for one hall: each call on a fresh connection, in a real thread."""

    def __init__(self, db_path: Path | str, cfg, clock: Callable[[], datetime]):
        self.db_path, self.cfg, self.clock = db_path, cfg, clock

    def now(self) -> datetime:
        return self.clock().astimezone(self.cfg.tz)

    def run(self, fn, *args, **kwargs):
        """fn(db, cfg, *args, now=<the hall clock now>, **kwargs) on its own connection."""
        now = kwargs.pop("now", None) or self.now()   # read the clock here, not in the thread

        def job():
            db = connect(self.db_path)
            try:
                return fn(db, self.cfg, *args, now=now, **kwargs)
            finally:
                db.close()
        return run_blocking(job)

    def warm(self) -> int:
        """Summarise dirty past days and read today once (at start, in the background)."""
        return self.run(summary.warm)
