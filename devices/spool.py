"""The persistent print spool: a job row is written in the same transaction as
the ticket, and a worker prints pending jobs, retrying with backoff."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse


class Spool:
    def __init__(self, hall, cfg):
        self.hall, self.cfg = hall, cfg
        self.url = cfg.raw["printer"]["url"]
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = None

    def enqueue_in_transaction(self, store, ticket) -> None:
        """Called inside the issue transaction: the job exists iff the ticket does."""
        store.db.execute("INSERT INTO print_jobs (ticket, created_at) VALUES (?, ?)",
                         [ticket.id, datetime.now(timezone.utc).isoformat()])
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="print-spool", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                done = self.drain_once()
            except Exception:  # a device failure becomes a retry, never a crash
                done = 0
            if not done:
                self._wake.wait(1.0)
                self._wake.clear()

    def drain_once(self) -> int:
        """Print what is due; returns how many jobs were printed."""
        printed = 0
        with self.hall.store() as s:
            jobs = list(s.db.query(
                "SELECT id, ticket, attempts FROM print_jobs WHERE status = 'pending' "
                "AND next_try_ts <= ? ORDER BY id LIMIT 20", [time.time()]))
            for job in jobs:
                ticket = self.hall.public_ticket(job["ticket"])
                try:
                    self.send(ticket)
                except OSError as exc:
                    delay = min(60, 2 ** job["attempts"])
                    with s.db.atomic():
                        s.db.execute("UPDATE print_jobs SET attempts = attempts + 1, "
                                     "next_try_ts = ?, last_error = ? WHERE id = ?",
                                     [time.time() + delay, str(exc)[:200], job["id"]])
                    break
                with s.db.atomic():
                    s.db.execute("UPDATE print_jobs SET status = 'printed', printed_at = ?, "
                                 "attempts = attempts + 1 WHERE id = ?",
                                 [datetime.now(timezone.utc).isoformat(), job["id"]])
                printed += 1
        return printed

    def send(self, ticket: dict) -> None:
        """The simulated printer: a plain-text ticket per file (file://) or nothing (dummy://)."""
        url = urlparse(self.url)
        if url.scheme == "dummy":
            return
        if url.scheme == "file":
            folder = Path(url.netloc + url.path)
            if not folder.is_absolute():
                folder = self.cfg.folder / folder
            folder.mkdir(parents=True, exist_ok=True)
            text = (f"{self.cfg.name}\n{ticket['service_name']} {ticket['service_name_en']}\n"
                    f"{ticket['number']}\n{ticket['issued_at']}\n")
            (folder / f"{ticket['day']}-{ticket['number']}.txt").write_text(text, encoding="utf-8")
            return
        raise OSError(f"printer URL scheme {url.scheme!r} is not supported yet")
