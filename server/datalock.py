"""One server per data folder: an operating-system lock on DATA/serve.lock.

`qrate serve` (and `qrate demo`) hold it for their whole life; a second server on the
same folder fails at once and names the first (its pid and address, written into the
lock file). `qrate restore` takes it too, so it never replaces a database in use. The
OS releases the lock when the process ends, however it ends (SIGKILL, power cut), so a
stale file never blocks a start.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

try:  # pragma: no cover - the branch taken depends on the OS
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
    import msvcrt

LOCK_NAME = "serve.lock"


class HallBusy(Exception):
    """Another process holds the data folder."""

    def __init__(self, path: Path, holder: dict):
        super().__init__(str(path))
        self.path, self.holder = path, holder

    @property
    def pid(self) -> Optional[int]:
        return self.holder.get("pid")

    @property
    def address(self) -> str:
        return self.holder.get("address") or "?"

    @property
    def what(self) -> str:
        return self.holder.get("what") or "qrate serve"


class HallLock:
    """The data folder's lock; ``acquire`` raises HallBusy when another process holds it."""

    def __init__(self, data_folder: Path):
        self.path = Path(data_folder) / LOCK_NAME
        self._fd: Optional[int] = None
        self.info: dict = {}

    def acquire(self, what: str = "qrate serve") -> "HallLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            raise HallBusy(self.path, read_holder(self.path)) from None
        self._fd = fd
        self.record(what=what, pid=os.getpid(), address=None)
        return self

    def record(self, **info) -> None:
        """Write who holds the lock (pid, address) for a second server's message."""
        if self._fd is None:
            return
        self.info.update(info)
        data = json.dumps(self.info).encode()
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.ftruncate(self._fd, 0)
        os.write(self._fd, data)
        os.fsync(self._fd)

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.lseek(self._fd, 0, os.SEEK_SET)
                os.ftruncate(self._fd, 0)
            finally:
                os.close(self._fd)  # closing drops the lock
                self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def _lock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:  # pragma: no cover - Windows
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


def read_holder(path: Path) -> dict:
    """What the holder wrote into the lock file ({} when nothing readable)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8") or "{}")
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def held(data_folder: Path) -> Optional[dict]:
    """The holder's record when a process holds the folder's lock now, else None."""
    try:
        with HallLock(data_folder).acquire("check"):
            return None
    except HallBusy as busy:
        return busy.holder or {"pid": None}


def secure(data_folder: Path) -> None:
    """The data folder, the database and the secret key: the server's user only
    (0700 / 0600). New files made later inherit it through the umask `qrate serve` sets."""
    folder = Path(data_folder)
    if not folder.exists() or os.name != "posix":
        return
    os.chmod(folder, 0o700)
    for entry in folder.iterdir():
        try:
            os.chmod(entry, 0o700 if entry.is_dir() else 0o600)
        except OSError:  # a file that went away meanwhile (the WAL's -shm)
            pass
