"""Reports in a process of their own, so no report holds the server's pushes.

A thread is not enough under `qrate serve`: a year-long report spends most of its time
in Python (unpacking and merging the summary), holding the GIL, and every push to the
lobby screens waits for it (measured by bench/bench_house.py: push p99 at 200 clients
2.45x with a report looping). So the Reader hands each report to one long-lived child
process, `python -m server.readside.child`, over its stdin and stdout: a pickled
(function, args, kwargs) in, a pickled ("ok", result) or ("error", exception) out, each
framed by a 4-byte length. The child keeps its own connection and its own cache of
today's summary; it ends when its stdin closes (the server stopped or died).

Under gevent the pipes are cooperative (gevent's subprocess), so waiting for a report
costs the loop nothing.
"""
from __future__ import annotations

import logging
import pickle
import struct
import subprocess
import sys
import threading
from typing import Any, BinaryIO


log = logging.getLogger("qrate.readside")
HEADER = struct.Struct(">I")


class ReportProcessError(RuntimeError):
    """The report process ended without an answer (it is started again on the next call)."""


def send(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream: BinaryIO) -> Any:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError
    (size,) = HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


class ReportProcess:
    """The parent's end: one child, started on first use, one report at a time."""

    def __init__(self, db_path, cfg):
        self.db_path, self.cfg = db_path, cfg
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self.stale = False  # the configuration changed: the next call starts a fresh child

    def _start(self) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "server.readside.child"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        send(proc.stdin, (str(self.db_path), self.cfg))
        return proc

    def call(self, fn, args: tuple, kwargs: dict):
        """fn(db, cfg, *args, **kwargs) in the child; its exception is raised here."""
        with self._lock:
            if self.stale:
                self.stale = False
                self.close_locked()
            for attempt in (1, 2):
                if self._proc is None or self._proc.poll() is not None:
                    self._proc = self._start()
                try:
                    send(self._proc.stdin, (fn, args, kwargs))
                    status, value = receive(self._proc.stdout)
                    break
                except (EOFError, OSError, pickle.PickleError) as exc:
                    log.warning("report process lost (%s); starting it again", exc)
                    self.close_locked()
                    if attempt == 2:
                        raise ReportProcessError(str(exc)) from exc
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        with self._lock:
            self.close_locked()

    def close_locked(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(5)
        except Exception:  # noqa: BLE001 - it is being stopped anyway
            proc.kill()
