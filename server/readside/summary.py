"""The per-day summary of the event log: the rows every figure is computed from.

One row per (day, hour, window, clerk, service) in ``stats_cells`` with the
additive counts and the exact wait and service times of that cell (integer
milliseconds, packed little-endian int32). A day is summarised once; triggers on
``ticket_events`` and ``ratings`` mark a day dirty when anything of it changes,
and a dirty day (today always is) is summarised again from the log at query time.
Whole past months are merged into ``stats_months`` for long ranges, and
``stats_daily`` holds one row per (day, service) for figures by day.
The tables and triggers are created by the storage migrations, not here.

Today's cells are kept per database file and extended by sequence number on
each query (the log is append-only, so only new events need reading). That
cache is shared by every thread that reads (the warm-up at start, each report
in the thread pool): it is guarded by a lock and handed out as copies.
"""
from __future__ import annotations

import array
import json
import sqlite3
import sys
import threading
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Iterable, NamedTuple, Optional

from gevent import monkey

CELL_COLUMNS = ("day, hour, window, clerk, service, issued, called, served, no_show, transferred, "
                "waits, services, r1, r2, r3, r4, r5")
_CELL_VALUES = ", ".join("?" * 17)
EVENT_TYPES = ("'ticket.issued', 'ticket.called', 'ticket.finished', 'ticket.no_show', "
               "'ticket.transferred'")
LOW_SCORES = (1, 2)


class Summary(NamedTuple):
    """Summary rows of a range: cells (17 columns as CELL_COLUMNS), reasons
    (day, hour, window, clerk, service, reason, n) and open time (day, window, clerk, open_ms)."""
    cells: list
    reasons: list
    opened: list


def _conn(db):
    return db.conn if hasattr(db, "conn") else db


def hall_today(cfg, now: datetime) -> str:
    """The hall day of ``now`` (ISO date), in the hall's time zone."""
    return now.astimezone(cfg.tz).date().isoformat()


# --- the lock -----------------------------------------------------------------

def _real_lock():
    """A lock of the operating system, also when gevent has patched ``threading``:
    the cache is shared by real threads of gevent's pool, not only by greenlets."""
    if monkey.is_module_patched("threading"):
        return monkey.get_original("threading", "Lock")()
    return threading.Lock()


# --- building one day's summary from the log ---------------------------------

def _ms(seconds) -> int:
    return int(round(float(seconds or 0) * 1000))


class _Cell:
    __slots__ = ("issued", "called", "served", "no_show", "transferred", "waits", "services",
                 "levels")

    def __init__(self):
        self.issued = self.called = self.served = self.no_show = self.transferred = 0
        self.waits: list[int] = []
        self.services: list[int] = []
        self.levels = [0, 0, 0, 0, 0]

    def copy(self) -> "_Cell":
        n = _Cell()
        n.issued, n.called, n.served, n.no_show, n.transferred = \
            self.issued, self.called, self.served, self.no_show, self.transferred
        n.waits, n.services, n.levels = list(self.waits), list(self.services), list(self.levels)
        return n


def _copy_cells(cells: dict) -> defaultdict:
    out: defaultdict = defaultdict(_Cell)
    for key, c in list(cells.items()):
        out[key] = c.copy()
    return out


def _pack(values: list[int]) -> bytes:
    """int32 little-endian, as the summary stores times."""
    a = array.array("i", values)
    if sys.byteorder != "little":  # pragma: no cover - every hall PC we know is little-endian
        a.byteswap()
    return a.tobytes()


def unpack(blob: Optional[bytes]) -> list[int]:
    """The milliseconds of a packed summary column."""
    a = array.array("i")
    if blob:
        a.frombytes(blob)
        if sys.byteorder != "little":  # pragma: no cover
            a.byteswap()
    return a.tolist()


class TodayCache:
    """Event-derived cells of the days still changing, per database file.

    Each entry is (last_seq, ts of that event, cells). ``take`` hands out a copy
    (made under the lock), ``put`` stores a copy, keeps the newer of two entries and
    drops older days of the same file. Only entries up to the reader's own snapshot
    are used, so a report never mixes two snapshots."""

    def __init__(self):
        self._lock = _real_lock()
        self._entries: dict = {}

    def take(self, key) -> Optional[tuple[int, float, defaultdict]]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            return entry[0], entry[1], _copy_cells(entry[2])

    def put(self, key, last_seq: int, last_ts: float, cells: dict) -> None:
        copy = _copy_cells(cells)
        with self._lock:
            for old in [k for k in self._entries if k[0] == key[0] and k[1] < key[1]]:
                del self._entries[old]
            current = self._entries.get(key)
            if current is None or current[0] <= last_seq:
                self._entries[key] = (last_seq, last_ts, copy)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


CACHE = TodayCache()


def _file_of(conn) -> str:
    return conn.execute("PRAGMA database_list").fetchone()[2] or ""


def build_day(db, day: str, tz, now: Optional[datetime] = None,
              incremental: bool = False) -> dict:
    """Summarise one hall day from ticket_events and ratings (nothing is written).

    incremental: start from the cached cells of the day and read only newer events
    (for days still changing, summarised at every query). Returns
    {"cells": {(hour, window, clerk, service): _Cell}, "reasons": Counter, "open": {...}}."""
    conn = _conn(db)
    d = date.fromisoformat(day)
    day_start = datetime.combine(d, time(), tz)
    day_end = datetime.combine(d + timedelta(days=1), time(), tz)
    hours: dict[int, int] = {}

    def hour_of(ts: float) -> int:
        key = int(ts // 60)
        h = hours.get(key)
        if h is None:
            h = hours[key] = datetime.fromtimestamp(ts, tz).hour
        return h

    columns = ("SELECT seq, type, ts, window, clerk, service, json_extract(data, '$.how'), "
               "json_extract(data, '$.wait_s'), json_extract(data, '$.service_s'), "
               "json_extract(data, '$.from_service') FROM ticket_events ")
    cache_key = cached = None
    if incremental:
        path = _file_of(conn)
        if path:  # an in-memory database has no name to share a cache by
            cache_key = (path, day)
            cached = CACHE.take(cache_key)
    if cached is not None:
        last_seq, last_ts, cells = cached
        # the entry must be of this file's log (not a restored older one) and not newer
        # than this reader's snapshot
        row = conn.execute("SELECT ts FROM ticket_events WHERE seq = ?", [last_seq]).fetchone()
        if last_seq and (row is None or row[0] != last_ts):
            cached = None
    if cached is not None:
        # the day index (day, type) and the seq bound read only the newer events
        rows = conn.execute(columns + f"WHERE day = ? AND type IN ({EVENT_TYPES}) AND seq > ?",
                            [day, last_seq])
    else:
        last_seq, last_ts, cells = 0, 0.0, defaultdict(_Cell)
        rows = conn.execute(columns + f"WHERE day = ? AND type IN ({EVENT_TYPES})", [day])
    for seq, kind, ts, window, clerk, service, how, wait_s, service_s, from_service in rows:
        if seq > last_seq:
            last_seq, last_ts = seq, ts
        if kind == "ticket.transferred":  # the log stores the new service; count the leg's own
            service = from_service or service
        if kind == "ticket.issued":
            cells[(hour_of(ts), 0, "", service)].issued += 1
            continue
        c = cells[(hour_of(ts), window or 0, clerk or "", service or "")]
        if kind == "ticket.called":
            if how != "callback":  # a call back is not a new wait
                c.called += 1
                if wait_s is not None:  # None: the clock jumped (engine.interval_s)
                    c.waits.append(_ms(wait_s))
        elif kind == "ticket.finished":
            c.served += 1
            if service_s is not None:
                c.services.append(_ms(service_s))
        elif kind == "ticket.no_show":
            c.no_show += 1
        else:
            c.transferred += 1
    if cache_key is not None:
        CACHE.put(cache_key, last_seq, last_ts, cells)
    reasons: Counter = Counter()
    for window, clerk, service, ts, score, reason_json in conn.execute(
            "SELECT window, clerk, service, ts, score, reasons FROM ratings "
            "WHERE day = ? AND excluded = 0", [day]):
        key = (hour_of(ts), window or 0, clerk or "", service or "")
        cells[key].levels[score - 1] += 1
        if score in LOW_SCORES:
            for reason in json.loads(reason_json or "[]"):
                reasons[(*key, str(reason))] += 1
    return {"cells": cells, "reasons": reasons,
            "open": _open_time(conn, day, day_start, day_end, now)}


def _open_time(conn, day: str, start: datetime, end: datetime, now: Optional[datetime]) -> dict:
    """Milliseconds each (window, clerk) was open during the day, from window.changed."""
    state: dict[int, tuple] = {}
    for window, status, clerk in conn.execute(
            "SELECT window, json_extract(data, '$.status'), json_extract(data, '$.clerk') "
            "FROM ticket_events WHERE seq IN (SELECT max(seq) FROM ticket_events "
            "WHERE type = 'window.changed' AND day < ? GROUP BY window)", [day]):
        state[window] = (status, clerk or "", start.timestamp())
    stop = end.timestamp() if now is None else min(end.timestamp(), now.timestamp())
    open_ms: Counter = Counter()

    def close(window: int, until: float) -> None:
        status, clerk, since = state[window]
        if status == "open" and until > since:
            open_ms[(window, clerk)] += int(round((until - since) * 1000))

    for window, ts, status, clerk in conn.execute(
            "SELECT window, ts, json_extract(data, '$.status'), json_extract(data, '$.clerk') "
            "FROM ticket_events WHERE day = ? AND type = 'window.changed' ORDER BY seq", [day]):
        ts = max(ts, start.timestamp())
        if window in state:
            close(window, min(ts, stop))
        state[window] = (status, clerk or "", ts)
    for window in state:
        close(window, stop)
    return dict(open_ms)


def _day_rows(day: str, built: dict) -> tuple[list, list, list]:
    cells = [(day, h, w, c, s, x.issued, x.called, x.served, x.no_show, x.transferred,
              _pack(x.waits) if x.waits else None, _pack(x.services) if x.services else None,
              *x.levels) for (h, w, c, s), x in built["cells"].items()]
    reasons = [(day, *key, n) for key, n in built["reasons"].items()]
    opened = [(day, w, c, ms) for (w, c), ms in built["open"].items()]
    return cells, reasons, opened


# --- roll-ups --------------------------------------------------------------------

def _rollup(rows: Iterable[tuple], key) -> list[tuple]:
    """Merge summary rows that share key(row): counts add up, packed times concatenate."""
    groups: dict = {}
    for r in rows:
        k = key(r)
        g = groups.get(k)
        if g is None:
            groups[k] = [*k, *r[5:10], [r[10]] if r[10] else [], [r[11]] if r[11] else [], *r[12:]]
            continue
        for i in range(5, 10):
            g[i] += r[i]
        if r[10]:
            g[10].append(r[10])
        if r[11]:
            g[11].append(r[11])
        for i in range(12, 17):
            g[i] += r[i]
    return [(*g[:10], b"".join(g[10]) or None, b"".join(g[11]) or None, *g[12:])
            for g in groups.values()]


def _month_key(r):
    return (r[0][:7], r[1], r[2], r[3], r[4])


def _daily_key(r):
    return (r[0], -1, -1, "*", r[4])


def daily_rows(cells: Iterable[tuple]) -> list[tuple]:
    """The stats_daily rows (one per day and service) of some cell rows."""
    return _rollup(cells, _daily_key)


def month_end(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _months_within(start: str, end: str, today: str) -> list[str]:
    """Whole calendar months inside start..end that ended before today."""
    out = []
    first = date.fromisoformat(start[:8] + "01")
    while first.isoformat() <= end:
        last = month_end(first).isoformat()
        if first.isoformat() >= start and last <= end and last < today:
            out.append(first.isoformat()[:7])
        first = month_end(first) + timedelta(days=1)
    return out


def _outside(start: str, end: str, months: set) -> list[tuple[str, str]]:
    """The day ranges of start..end not inside the given whole months."""
    out, lo = [], start
    for month in sorted(months):
        first = date.fromisoformat(f"{month}-01")
        if lo < first.isoformat():
            out.append((lo, (first - timedelta(days=1)).isoformat()))
        lo = (month_end(first) + timedelta(days=1)).isoformat()
    if lo <= end:
        out.append((lo, end))
    return out


# --- reading a range ----------------------------------------------------------------

def summary_rows(db, cfg, *, now: datetime, start: str, end: str, grain: str = "cells",
                 clerks: Optional[list] = None, persist: bool = True) -> Summary:
    """The summary rows of days start..end (ISO dates): stored ones, and dirty days built now.

    grain "cells": one row per (day, hour, window, clerk, service); "month" merges whole
    past months into one row per (month, hour, window, clerk, service) (not for figures
    by day); "daily": one row per (day, service) (only for figures by day over the whole
    hall). One read transaction sees one snapshot. Dirty past days (and missing month
    roll-ups) are written back at the end when the file is free at once; if anyone
    else writes, the write-back is skipped (never waited for) and the next query
    stores it. ``clerks`` keeps only stored rows of those clerks (for trends)."""
    return _summary(_conn(db), cfg.tz, start, end, hall_today(cfg, now), now, grain=grain,
                    clerks=clerks, persist=persist)


def _summary(conn, tz, start: str, end: str, today: str, now: Optional[datetime], *,
             grain: str = "cells", clerks: Optional[list] = None, persist: bool = True) -> Summary:
    only = ""
    if clerks:
        only = f" AND clerk IN ({', '.join('?' * len(clerks))})"
    extra = list(clerks or [])
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        changing = {r[0] for r in conn.execute(
            "SELECT day FROM stats_dirty WHERE day BETWEEN ? AND ?", [start, end])}
        rolled: set = set()
        to_roll: list = []
        if grain == "month":
            dirty_months = {d[:7] for d in changing}
            whole = [m for m in _months_within(start, end, today) if m not in dirty_months]
            done = {r[0] for r in conn.execute("SELECT month FROM stats_month_done")}
            rolled = {m for m in whole if m in done}
            to_roll = [m for m in whole if m not in done]
        cells: list = []
        for month in sorted(rolled):
            cells += conn.execute(f"SELECT {CELL_COLUMNS} FROM stats_months WHERE day = ?",
                                  [month]).fetchall()
        table = "stats_daily" if grain == "daily" else "stats_cells"
        fresh = []
        for lo, hi in _outside(start, end, rolled):  # day rows only where no roll-up serves
            fresh += [r for r in conn.execute(
                f"SELECT {CELL_COLUMNS} FROM {table} WHERE day BETWEEN ? AND ?{only}",
                [lo, hi, *extra]) if r[0] not in changing]
        new_months = []
        for month in to_roll:
            rows = [r for r in fresh if r[0][:7] == month]
            merged = _rollup(rows, _month_key)
            new_months.append((month, merged))
            fresh = [r for r in fresh if r[0][:7] != month] + merged
        cells += fresh
        reasons = [r for r in conn.execute(
            "SELECT day, hour, window, clerk, service, reason, n FROM stats_reasons "
            f"WHERE day BETWEEN ? AND ?{only}", [start, end, *extra]) if r[0] not in changing]
        opened = [r for r in conn.execute(
            f"SELECT day, window, clerk, open_ms FROM stats_open WHERE day BETWEEN ? AND ?{only}",
            [start, end, *extra]) if r[0] not in changing]
        past: list[tuple] = []
        for day in sorted(changing):
            built = build_day(conn, day, tz, now if day >= today else None,
                              incremental=day >= today)
            c, r, o = _day_rows(day, built)
            cells += c
            reasons += r
            opened += o
            if day < today:
                past.append((day, c, r, o))
        if own and persist and (past or new_months):
            _write_back(conn, past, new_months)
        if own:
            conn.execute("COMMIT")
    except BaseException:
        if own and conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return Summary(cells, reasons, opened)


class snapshot:
    """One read transaction around several reads (a no-op inside a caller's transaction)."""

    def __init__(self, db):
        self.conn = _conn(db)
        self.own = False

    def __enter__(self):
        self.own = not self.conn.in_transaction
        if self.own:
            self.conn.execute("BEGIN")
        return self.conn

    def __exit__(self, *exc):
        if self.own and self.conn.in_transaction:
            self.conn.execute("COMMIT" if exc[0] is None else "ROLLBACK")
        return False


LEVEL_COLUMNS = {"window": 2, "clerk": 3, "service": 4}


def level_counts(db, cfg, *, now: datetime, start: str, end: str, by: str = "window") -> dict:
    """Rating level counts [n1, …, n5] per window | clerk | service over days start..end:
    the r1..r5 of the same summary rows as summary_rows (stored days summed in SQL,
    changing days built from the log), without reading any times."""
    column = {"window": "window", "clerk": "clerk", "service": "service"}[by]
    today = hall_today(cfg, now)
    out: dict = {}
    with snapshot(db) as conn:
        changing = [r[0] for r in conn.execute(
            "SELECT day FROM stats_dirty WHERE day BETWEEN ? AND ? ORDER BY day", [start, end])]
        marks = ", ".join("?" * len(changing))
        skip = f" AND day NOT IN ({marks})" if changing else ""
        for key, *levels in conn.execute(
                f"SELECT {column}, sum(r1), sum(r2), sum(r3), sum(r4), sum(r5) FROM stats_cells "
                f"WHERE day BETWEEN ? AND ?{skip} AND (r1 + r2 + r3 + r4 + r5) > 0 "
                f"GROUP BY {column}", [start, end, *changing]):
            if key:
                out[key] = [int(n or 0) for n in levels]
        index = LEVEL_COLUMNS[by] - 1   # in a built cell's key (hour, window, clerk, service)
        for day in changing:
            built = build_day(conn, day, cfg.tz, now if day >= today else None,
                              incremental=day >= today)
            for key, cell in built["cells"].items():
                if key[index] and any(cell.levels):
                    counts = out.setdefault(key[index], [0, 0, 0, 0, 0])
                    for i in range(5):
                        counts[i] += cell.levels[i]
    return out


def day_cells(db, cfg, *, now: datetime, day: str) -> list[tuple]:
    """The summary rows (CELL_COLUMNS) of one day: stored, or built when it is changing."""
    with snapshot(db) as conn:
        if conn.execute("SELECT 1 FROM stats_dirty WHERE day = ?", [day]).fetchone() is None:
            return conn.execute(f"SELECT {CELL_COLUMNS} FROM stats_cells WHERE day = ?",
                                [day]).fetchall()
        today = hall_today(cfg, now)
        built = build_day(conn, day, cfg.tz, now if day >= today else None,
                          incremental=day >= today)
        return _day_rows(day, built)[0]


def _write_back(conn, past: list, new_months: list) -> None:
    """Store dirty past days and month roll-ups in the reader's transaction, without
    waiting: if the file is busy or changed since our snapshot, skip (the next query
    stores it). A report never makes a writer, nor itself, wait for the file."""
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        conn.execute("SAVEPOINT readside_write_back")
        try:
            _store_days(conn, past)
            for month, merged in new_months:
                conn.execute("DELETE FROM stats_months WHERE day = ?", [month])
                conn.executemany(f"INSERT INTO stats_months ({CELL_COLUMNS}) VALUES ({_CELL_VALUES})",
                                 merged)
                conn.execute("INSERT OR REPLACE INTO stats_month_done (month) VALUES (?)", [month])
            conn.execute("RELEASE readside_write_back")
        except sqlite3.OperationalError:  # busy, or someone wrote since our snapshot
            conn.execute("ROLLBACK TO readside_write_back")
            conn.execute("RELEASE readside_write_back")
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")


def _store_days(conn, days: list) -> None:
    for day, cells, reasons, opened in days:
        for table in ("stats_cells", "stats_daily", "stats_reasons", "stats_open"):
            conn.execute(f"DELETE FROM {table} WHERE day = ?", [day])
        conn.executemany(f"INSERT INTO stats_cells ({CELL_COLUMNS}) VALUES ({_CELL_VALUES})", cells)
        conn.executemany(f"INSERT INTO stats_daily ({CELL_COLUMNS}) VALUES ({_CELL_VALUES})",
                         daily_rows(cells))
        conn.executemany("INSERT INTO stats_reasons (day, hour, window, clerk, service, reason, n) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", reasons)
        conn.executemany("INSERT INTO stats_open (day, window, clerk, open_ms) VALUES (?, ?, ?, ?)",
                         opened)
        conn.execute("DELETE FROM stats_dirty WHERE day = ?", [day])


def refresh(db, cfg, *, now: datetime) -> int:
    """Summarise every dirty past day now (after a bulk load, at start); returns how many.

    Each day is its own short transaction; whole past months are then rolled up, so
    the first long query need not."""
    conn = _conn(db)
    today = hall_today(cfg, now)
    days = [r[0] for r in conn.execute("SELECT day FROM stats_dirty WHERE day < ? ORDER BY day",
                                       [today])]
    for day in days:
        _refresh_day(conn, cfg.tz, day)
    if days:
        first = conn.execute("SELECT min(day) FROM stats_cells").fetchone()[0]
        if first:
            _summary(conn, cfg.tz, first,
                     (date.fromisoformat(today) - timedelta(days=1)).isoformat(), today, now,
                     grain="month")
    return len(days)


def _refresh_day(conn, tz, day: str, attempts: int = 3) -> bool:
    """Build one past day and store it in one transaction: a change to that day
    landing meanwhile makes the write fail (the snapshot is stale) and we build again,
    so a dirty mark is never cleared by a summary older than the change."""
    for _ in range(attempts):
        conn.execute("BEGIN")
        try:
            built = build_day(conn, day, tz)
            _store_days(conn, [(day, *_day_rows(day, built))])
            conn.execute("COMMIT")
            return True
        except sqlite3.OperationalError:
            conn.execute("ROLLBACK")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return False


def warm(db, cfg, *, now: datetime) -> int:
    """At start-up: summarise dirty past days and read today once, so the first
    manager's query does not pay for it (run it on its own connection, in a real
    thread: ``Reader.run(warm)``). Returns how many past days were summarised."""
    done = refresh(db, cfg, now=now)
    build_day(_conn(db), hall_today(cfg, now), cfg.tz, now, incremental=True)
    return done


def clear_cache() -> None:
    """Forget the cached cells of today (tests; after a restore)."""
    CACHE.clear()
