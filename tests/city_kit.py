"""A real PostgreSQL for the city tests, from Debian's packages, started by the tests.

``Postgres`` runs initdb into a temporary folder and starts the server on a free port of
127.0.0.1, as the unprivileged user ``nobody`` when the tests run as root (PostgreSQL
refuses root); ``stop()`` ends it by its pid and removes the folder. Each test gets a
database of its own (``new_database``).
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]


def pg_bin() -> Path | None:
    """The newest /usr/lib/postgresql/N/bin with initdb (PG_BIN overrides)."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self):
        self.bin = pg_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (./dev test does)")
        self.folder = Path(tempfile.mkdtemp(prefix="qrate-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.as_user = "nobody" if os.geteuid() == 0 else None
        self._n = 0

    def _run(self, *args, **kw):
        return subprocess.run([str(self.bin / args[0]), *args[1:]], user=self.as_user,
                              capture_output=True, text=True, **kw)

    def start(self) -> "Postgres":
        if self.as_user:
            shutil.chown(self.folder, self.as_user)
        os.chmod(self.folder, 0o700)
        out = self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        if out.returncode:
            out = self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                            "-E", "UTF8", "--locale=C", "--no-sync")
        assert out.returncode == 0, out.stderr
        self.log = open(self.folder / "postgres.log", "ab")
        self.proc = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=100", "-c", "shared_buffers=64MB"],
            user=self.as_user, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.folder / "postgres.log").read_text())
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=1):
                    return self
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not start")

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def new_database(self, prefix: str = "city") -> str:
        self._n += 1
        name = f"{prefix}_{os.getpid()}_{self._n}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def qrate(*args, input_text: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """`qrate ...` as a hall's or the city's IT person runs it."""
    out = subprocess.run([sys.executable, "-m", "server.entry", *args], input=input_text,
                         capture_output=True, text=True, cwd=ROOT)
    if check:
        assert out.returncode == 0, out.stderr
    return out


class CityServer:
    """`qrate city serve` in a child process on 127.0.0.1, stopped by its pid."""

    def __init__(self, db_url: str, log_dir: Path, port: int | None = None):
        self.db_url, self.port = db_url, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"city-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> "CityServer":  # generous: a loaded machine is slow
        import requests
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.entry", "city", "serve", "--db", self.db_url,
             "--port", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.log_path.read_text())
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("city did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if getattr(self, "log", None):
            self.log.close()


def synthetic_days(cfg, seed: int, first, last, max_ids=(0, 0, 0)):
    """A hall's generated past (server/seed.py, as `qrate seed-history` makes it) as the
    forwarder sends it: per day a list of events, each rating.created with its rating.
    Yields (day, events); the generator's seq and ids go on across days."""
    from server import seed as hall_seed
    gen, days = hall_seed.history(cfg, max_ids, first, last, seed)
    import json as _json
    for day_rows in days:
        by_ticket = {r[1]: r for r in day_rows["ratings"]}
        out = []
        for seq, kind, at, ts, day, ticket, window, clerk, service, data in day_rows["events"]:
            e = {"seq": seq, "type": kind, "at": at, "ts": ts, "day": day, "ticket": ticket,
                 "window": window, "clerk": clerk, "service": service,
                 "data": _json.loads(data) if isinstance(data, str) else (data or {})}
            if kind == "rating.created" and ticket in by_ticket:
                rid, tid, score, reasons, w, c, s, rday, created, rts = by_ticket[ticket]
                e["rating"] = {"id": rid, "ticket": tid, "score": score, "reasons": reasons,
                               "comment": "", "window": w, "clerk": c, "service": s, "day": rday,
                               "source": "touch", "created_at": created, "ts": rts, "excluded": 0}
            out.append(e)
        yield day_rows["events"][0][4] if day_rows["events"] else None, out
