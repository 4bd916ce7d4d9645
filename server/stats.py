"""The read side: the hall's figures from the event log, as plain rows.

Definitions are DESIGN.md "Figures". Speed comes from a per-day summary
(``stats_cells``): one row per (day, hour, window, clerk, service) with the
additive counts and the exact wait and service times of that cell (integer
milliseconds, packed). A day is summarised once; triggers on ``ticket_events``
and ``ratings`` mark a day dirty when anything of it changes, and a dirty day
(today always is) is summarised again from the log at query time. Means, rates
and percentiles are computed from the exact values, so the summary changes
speed, never a figure. See docs/stats.md.
"""
from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Iterable, Optional

import numpy as np
import sqlite_utils
from sqlite_utils import Migrations

migrations = Migrations("qrate-stats")

DIMENSIONS = {"windows": "window", "staff": "staff", "services": "service",
              "hours": "hour", "days": "day"}
LOW_SCORES = (1, 2)


@migrations()
def m001_stats_summary(db: sqlite_utils.Database) -> None:
    db.executescript("""
    CREATE TABLE stats_cells (
        day TEXT NOT NULL,
        hour INTEGER NOT NULL,
        window INTEGER NOT NULL,      -- 0: not at a window (issued counts)
        clerk TEXT NOT NULL,          -- '' when none
        service TEXT NOT NULL,
        issued INTEGER NOT NULL DEFAULT 0,
        called INTEGER NOT NULL DEFAULT 0,
        served INTEGER NOT NULL DEFAULT 0,
        no_show INTEGER NOT NULL DEFAULT 0,
        transferred INTEGER NOT NULL DEFAULT 0,
        waits BLOB,                   -- int32 little-endian milliseconds, one per called leg
        services BLOB,                -- int32 milliseconds, one per served ticket
        r1 INTEGER NOT NULL DEFAULT 0, r2 INTEGER NOT NULL DEFAULT 0,
        r3 INTEGER NOT NULL DEFAULT 0, r4 INTEGER NOT NULL DEFAULT 0,
        r5 INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, window, clerk, service, hour)
    ) WITHOUT ROWID;
    CREATE TABLE stats_open (
        day TEXT NOT NULL, window INTEGER NOT NULL, clerk TEXT NOT NULL,
        open_ms INTEGER NOT NULL,
        PRIMARY KEY (day, window, clerk)
    ) WITHOUT ROWID;
    CREATE TABLE stats_reasons (
        day TEXT NOT NULL, window INTEGER NOT NULL, clerk TEXT NOT NULL, service TEXT NOT NULL,
        hour INTEGER NOT NULL, reason TEXT NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (day, window, clerk, service, hour, reason)
    ) WITHOUT ROWID;
    CREATE TABLE stats_dirty (day TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TRIGGER stats_dirty_event AFTER INSERT ON ticket_events
        BEGIN INSERT OR IGNORE INTO stats_dirty (day) VALUES (NEW.day); END;
    CREATE TRIGGER stats_dirty_rating AFTER INSERT ON ratings
        BEGIN INSERT OR IGNORE INTO stats_dirty (day) VALUES (NEW.day); END;
    CREATE TRIGGER stats_dirty_rating_update AFTER UPDATE ON ratings
        BEGIN INSERT OR IGNORE INTO stats_dirty (day) VALUES (OLD.day);
              INSERT OR IGNORE INTO stats_dirty (day) VALUES (NEW.day); END;
    INSERT OR IGNORE INTO stats_dirty (day) SELECT DISTINCT day FROM ticket_events;
    INSERT OR IGNORE INTO stats_dirty (day) SELECT DISTINCT day FROM ratings;
    """)


@migrations()
def m002_stats_rollups(db: sqlite_utils.Database) -> None:
    cols = """hour INTEGER NOT NULL, window INTEGER NOT NULL, clerk TEXT NOT NULL,
        service TEXT NOT NULL, issued INTEGER NOT NULL DEFAULT 0, called INTEGER NOT NULL DEFAULT 0,
        served INTEGER NOT NULL DEFAULT 0, no_show INTEGER NOT NULL DEFAULT 0,
        transferred INTEGER NOT NULL DEFAULT 0, waits BLOB, services BLOB,
        r1 INTEGER NOT NULL DEFAULT 0, r2 INTEGER NOT NULL DEFAULT 0, r3 INTEGER NOT NULL DEFAULT 0,
        r4 INTEGER NOT NULL DEFAULT 0, r5 INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, window, clerk, service, hour)"""
    db.executescript(f"""
    -- day holds the month (YYYY-MM): whole past months merged, for long ranges
    CREATE TABLE stats_months (day TEXT NOT NULL, {cols}) WITHOUT ROWID;
    CREATE TABLE stats_month_done (month TEXT PRIMARY KEY) WITHOUT ROWID;
    -- one row per (day, service): figures by day over long ranges
    CREATE TABLE stats_daily (day TEXT NOT NULL, {cols}) WITHOUT ROWID;
    CREATE TRIGGER stats_dirty_month AFTER INSERT ON stats_dirty BEGIN
        DELETE FROM stats_months WHERE day = substr(NEW.day, 1, 7);
        DELETE FROM stats_month_done WHERE month = substr(NEW.day, 1, 7);
    END;
    """)
    conn = db.conn
    days = [r[0] for r in conn.execute("SELECT DISTINCT day FROM stats_cells")]
    for day in days:
        rows = conn.execute(f"SELECT {CELL_COLUMNS} FROM stats_cells WHERE day = ?", [day]).fetchall()
        conn.executemany(f"INSERT INTO stats_daily ({CELL_COLUMNS}) VALUES ({', '.join('?' * 17)})",
                         _rollup(rows, _daily_key))


# --- building one day's summary from the log ---------------------------------

def _ms(seconds) -> int:
    return int(round(float(seconds) * 1000))


class _Cell:
    __slots__ = ("issued", "called", "served", "no_show", "transferred", "waits", "services",
                 "levels")

    def __init__(self):
        self.issued = self.called = self.served = self.no_show = self.transferred = 0
        self.waits: list[int] = []
        self.services: list[int] = []
        self.levels = [0, 0, 0, 0, 0]


def _pack(values: list[int]) -> bytes:
    return np.asarray(values, dtype="<i4").tobytes()


# Today's event-derived cells, per database file, extended by sequence number on
# each query (the log is append-only, so only new events need reading).
_LIVE: dict = {}
EVENT_TYPES = ("'ticket.issued', 'ticket.called', 'ticket.finished', 'ticket.no_show', "
               "'ticket.transferred'")


def _copy_cells(cells: dict) -> dict:
    out: dict = defaultdict(_Cell)
    for key, c in cells.items():
        n = out[key]
        n.issued, n.called, n.served, n.no_show, n.transferred = \
            c.issued, c.called, c.served, c.no_show, c.transferred
        n.waits, n.services = list(c.waits), list(c.services)
    return out


def build_day(db, day: str, tz, now: Optional[datetime] = None, incremental: bool = False) -> dict:
    """Summarise one hall day from ticket_events and ratings (nothing is written).

    incremental: reuse this process's cells of the day and read only newer events
    (for today, summarised at every query)."""
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
        cache_key = (db.execute("PRAGMA database_list").fetchone()[2], day)
        cached = _LIVE.get(cache_key)
    if cached:
        last_seq, cells = cached[0], _copy_cells(cached[1])
        # the day index (day, type, seq) seeks straight to the events after last_seq
        rows = db.execute(columns + f"WHERE day = ? AND type IN ({EVENT_TYPES}) AND seq > ?",
                          [day, last_seq])
    else:
        last_seq, cells = 0, defaultdict(_Cell)
        rows = db.execute(columns + f"WHERE day = ? AND type IN ({EVENT_TYPES})", [day])
    for seq, kind, ts, window, clerk, service, how, wait_s, service_s, from_service in rows:
        last_seq = max(last_seq, seq)
        if kind == "ticket.transferred":  # the log stores the new service; count the leg's own
            service = from_service or service
        if kind == "ticket.issued":
            cells[(hour_of(ts), 0, "", service)].issued += 1
            continue
        c = cells[(hour_of(ts), window or 0, clerk or "", service or "")]
        if kind == "ticket.called":
            if how != "callback":  # a call back is not a new wait
                c.called += 1
                c.waits.append(_ms(wait_s))
        elif kind == "ticket.finished":
            c.served += 1
            c.services.append(_ms(service_s))
        elif kind == "ticket.no_show":
            c.no_show += 1
        else:
            c.transferred += 1
    if incremental:
        for key in [k for k in _LIVE if k[0] == cache_key[0] and k[1] < day]:
            _LIVE.pop(key, None)
        _LIVE[cache_key] = (last_seq, _copy_cells(cells))
    reasons: Counter = Counter()
    for window, clerk, service, ts, score, reason_json in db.execute(
            "SELECT window, clerk, service, ts, score, reasons FROM ratings "
            "WHERE day = ? AND excluded = 0", [day]):
        key = (hour_of(ts), window or 0, clerk or "", service or "")
        cells[key].levels[score - 1] += 1
        if score in LOW_SCORES:
            for reason in json.loads(reason_json or "[]"):
                reasons[(*key, str(reason))] += 1
    return {"cells": cells, "reasons": reasons,
            "open": _open_time(db, day, day_start, day_end, now)}


def _open_time(db, day: str, start: datetime, end: datetime, now: Optional[datetime]) -> dict:
    """Milliseconds each (window, clerk) was open during the day, from window.changed."""
    state: dict[int, tuple] = {}
    for window, status, clerk in db.execute(
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

    for window, ts, status, clerk in db.execute(
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


CELL_COLUMNS = ("day, hour, window, clerk, service, issued, called, served, no_show, transferred, "
                "waits, services, r1, r2, r3, r4, r5")


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


def _months_within(start: str, end: str, today: str) -> list[str]:
    """Whole calendar months inside start..end that ended before today."""
    out = []
    first = date.fromisoformat(start[:8] + "01")
    while first.isoformat() <= end:
        nxt = (first + timedelta(days=32)).replace(day=1)
        last = (nxt - timedelta(days=1)).isoformat()
        if first.isoformat() >= start and last <= end and last < today:
            out.append(first.isoformat()[:7])
        first = nxt
    return out


def _outside(start: str, end: str, months: set) -> list[tuple[str, str]]:
    """The day ranges of start..end not inside the given whole months."""
    out, lo = [], start
    for month in sorted(months):
        first = f"{month}-01"
        last = ((date.fromisoformat(first) + timedelta(days=32)).replace(day=1)
                - timedelta(days=1)).isoformat()
        if lo < first:
            out.append((lo, (date.fromisoformat(first) - timedelta(days=1)).isoformat()))
        lo = (date.fromisoformat(last) + timedelta(days=1)).isoformat()
    if lo <= end:
        out.append((lo, end))
    return out


def load(db, start: str, end: str, tz, today: str, now: Optional[datetime] = None,
         persist: bool = True, grain: str = "cells",
         clerks: Optional[list] = None) -> tuple[list, list, list]:
    """The summary rows of days start..end (ISO dates): stored ones, and dirty days built now.

    grain "cells" gives one row per (day, hour, window, clerk, service); "month"
    merges whole past months into one row per (month, hour, window, clerk,
    service) (not for figures by day); "daily" gives one row per (day, service)
    (only for figures by day without a window or clerk filter). One read
    transaction sees one snapshot. Dirty past days (and missing month roll-ups)
    are written back in the same transaction; if a change landed meanwhile,
    the write is skipped (the figures returned are still those of the snapshot).
    ``clerks`` keeps only stored rows of those clerks (for trends).
    """
    only = ""
    if clerks:
        only = f" AND clerk IN ({', '.join('?' * len(clerks))})"
    extra = list(clerks or [])
    conn = db.conn if hasattr(db, "conn") else db
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        live = {r[0] for r in conn.execute(
            "SELECT day FROM stats_dirty WHERE day BETWEEN ? AND ?", [start, end])}
        rolled: set = set()
        to_roll: list = []
        if grain == "month":
            dirty_months = {d[:7] for d in live}
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
        for lo, hi in _outside(start, end, rolled):  # read day rows only where no roll-up serves
            fresh += [r for r in conn.execute(
                f"SELECT {CELL_COLUMNS} FROM {table} WHERE day BETWEEN ? AND ?{only}",
                [lo, hi, *extra]) if r[0] not in live]
        new_months = []
        for month in to_roll:
            rows = [r for r in fresh if r[0][:7] == month]
            merged = _rollup(rows, _month_key)
            new_months.append((month, merged))
            fresh = [r for r in fresh if r[0][:7] != month] + merged
        cells += fresh
        reasons = [r for r in conn.execute(
            "SELECT day, hour, window, clerk, service, reason, n FROM stats_reasons "
            f"WHERE day BETWEEN ? AND ?{only}", [start, end, *extra]) if r[0] not in live]
        opened = [r for r in conn.execute(
            f"SELECT day, window, clerk, open_ms FROM stats_open WHERE day BETWEEN ? AND ?{only}",
            [start, end, *extra]) if r[0] not in live]
        past: list[tuple] = []
        for day in sorted(live):
            built = build_day(conn, day, tz, now if day >= today else None,
                              incremental=day >= today)
            c, r, o = _day_rows(day, built)
            cells += c
            reasons += r
            opened += o
            if day < today:
                past.append((day, c, r, o))
        if own and persist and (past or new_months):
            try:
                _store_days(conn, past)
                for month, merged in new_months:
                    conn.execute("DELETE FROM stats_months WHERE day = ?", [month])
                    conn.executemany(f"INSERT INTO stats_months ({CELL_COLUMNS}) VALUES "
                                     f"({', '.join('?' * 17)})", merged)
                    conn.execute("INSERT OR REPLACE INTO stats_month_done (month) VALUES (?)", [month])
            except sqlite3.OperationalError:
                pass  # someone wrote since our snapshot; the next query stores it
        if own:
            conn.execute("COMMIT")
    except BaseException:
        if own and conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return cells, reasons, opened


def _store_days(conn, days: list) -> None:
    for day, cells, reasons, opened in days:
        for table in ("stats_cells", "stats_daily", "stats_reasons", "stats_open"):
            conn.execute(f"DELETE FROM {table} WHERE day = ?", [day])
        conn.executemany(f"INSERT INTO stats_cells ({CELL_COLUMNS}) VALUES "
                         f"({', '.join('?' * 17)})", cells)
        conn.executemany(f"INSERT INTO stats_daily ({CELL_COLUMNS}) VALUES "
                         f"({', '.join('?' * 17)})", _rollup(cells, _daily_key))
        conn.executemany("INSERT INTO stats_reasons (day, hour, window, clerk, service, reason, n) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         [(d, h, w, c, s, reason, n) for d, h, w, c, s, reason, n in reasons])
        conn.executemany("INSERT INTO stats_open VALUES (?, ?, ?, ?)", opened)
        conn.execute("DELETE FROM stats_dirty WHERE day = ?", [day])


def refresh(db, tz, today: str) -> int:
    """Summarise every dirty past day now (after a bulk load); returns how many."""
    conn = db.conn if hasattr(db, "conn") else db
    days = [r[0] for r in conn.execute("SELECT day FROM stats_dirty WHERE day < ? ORDER BY day",
                                       [today])]
    for day in days:
        with conn:
            _store_days(conn, [(day, *_day_rows(day, build_day(conn, day, tz)))])
    if days:  # and merge whole months now, so the first long query need not
        first = conn.execute("SELECT min(day) FROM stats_cells").fetchone()[0]
        load(conn, first, (date.fromisoformat(today) - timedelta(days=1)).isoformat(), tz, today,
             grain="month")
    return len(days)


def warm(db_path, tz, now: datetime) -> int:
    """At start-up: summarise dirty past days and read today once, so the first
    manager's query does not pay for it (run it in a real thread)."""
    from .store import connect
    db = connect(db_path)
    try:
        today = now.date().isoformat()
        done = refresh(db, tz, today)
        build_day(db.conn, today, tz, now, incremental=True)
        return done
    finally:
        db.close()


# --- figures -------------------------------------------------------------------

def nearest_rank(sorted_or_not: np.ndarray, p: int) -> int:
    """The p-th percentile by the nearest-rank method (the ceil(p/100 * n)-th smallest)."""
    n = len(sorted_or_not)
    k = (p * n + 99) // 100
    return int(np.partition(sorted_or_not, k - 1)[k - 1])


def spread(values_ms: np.ndarray) -> dict:
    """mean, p50, p90 and max in seconds (null without data)."""
    if len(values_ms) == 0:
        return {"mean": None, "p50": None, "p90": None, "max": None}
    return {"mean": round(float(values_ms.sum(dtype=np.int64)) / len(values_ms) / 1000, 3),
            "p50": nearest_rank(values_ms, 50) / 1000, "p90": nearest_rank(values_ms, 90) / 1000,
            "max": int(values_ms.max()) / 1000}


def _ratio(a, b) -> Optional[float]:
    return a / b if b else None


class _Group:
    __slots__ = ("issued", "called", "served", "no_show", "transferred", "levels", "waits",
                 "services", "open_ms", "reasons")

    def __init__(self):
        self.issued = self.called = self.served = self.no_show = self.transferred = 0
        self.levels = [0, 0, 0, 0, 0]
        self.waits: dict[str, list] = defaultdict(list)  # per service: blobs
        self.services: dict[str, list] = defaultdict(list)
        self.open_ms = 0
        self.reasons: Counter = Counter()


def _key(dim: str, day, hour, window, clerk, service):
    return {"window": window, "staff": clerk, "service": service, "hour": hour, "day": day}[dim]


def figures(db, cfg, dim: str, start: str, end: str, *, today: str,
            now: Optional[datetime] = None, window: Optional[int] = None,
            staff: Optional[str] = None, service: Optional[str] = None,
            summary=None) -> list[dict]:
    """Rows of figures by window | staff | service | hour | day over days start..end."""
    tz = cfg.tz
    if summary is None:
        grain = "month" if dim != "day" else ("daily" if window is None and staff is None else "cells")
        summary = load(db, start, end, tz, today, now, grain=grain)
    cells, reasons, opened = summary
    groups: dict = defaultdict(_Group)

    def wanted(w, c, s) -> bool:
        return ((window is None or w == window) and (staff is None or c == staff)
                and (service is None or s == service))

    issue_ok = window is None and staff is None and dim not in ("window", "staff")
    for (day, hour, w, c, s, issued, called, served, no_show, transferred, waits, services,
         r1, r2, r3, r4, r5) in cells:
        key = _key(dim, day, hour, w, c, s)
        if issued and issue_ok and (service is None or s == service):
            groups[key].issued += issued
        if not wanted(w, c, s) or (dim in ("window", "staff") and not key):
            continue
        if not (called or served or no_show or transferred or r1 or r2 or r3 or r4 or r5):
            continue
        g = groups[key]
        g.called += called
        g.served += served
        g.no_show += no_show
        g.transferred += transferred
        for i, n in enumerate((r1, r2, r3, r4, r5)):
            g.levels[i] += n
        if waits:
            g.waits[s].append(waits)
        if services:
            g.services[s].append(services)
    for day, hour, w, c, s, reason, n in reasons:
        if wanted(w, c, s):
            key = _key(dim, day, hour, w, c, s)
            if key in groups:
                groups[key].reasons[reason] += n
    if dim in ("window", "staff") and service is None:
        for day, w, c, ms in opened:
            key = w if dim == "window" else c
            if ms and key and wanted(w, c, None):
                groups[key].open_ms += ms
    cases = followup_cases(db, tz, start, end, now)
    if cases is not None:
        cases = [c for c in cases if wanted(c["window"], c["staff"], c["service"])]
    rows = []
    for key in sorted(groups):
        g = groups[key]
        if dim in ("window", "staff") and not (g.called or g.served or g.no_show or sum(g.levels)
                                                or g.open_ms):
            continue
        rows.append(_row(cfg, dim, key, g, cases))
    return rows


def _row(cfg, dim: str, key, g: _Group, cases: Optional[list]) -> dict:
    waits = {s: np.frombuffer(b"".join(v), dtype="<i4") for s, v in g.waits.items()}
    services = {s: np.frombuffer(b"".join(v), dtype="<i4") for s, v in g.services.items()}
    all_waits = np.concatenate(list(waits.values())) if waits else np.empty(0, dtype="<i4")
    all_services = np.concatenate(list(services.values())) if services else np.empty(0, "<i4")
    ratings = sum(g.levels)
    # Each leg is judged by the targets of its own service.
    svc = cfg.services
    wait_over = sum(int((v > svc[s].target_wait_s * 1000).sum()) for s, v in waits.items() if s in svc)
    service_over = sum(int((v > svc[s].target_service_s * 1000).sum())
                       for s, v in services.items() if s in svc)
    wait_index = sum(float(v.sum(dtype=np.int64)) / 1000 / svc[s].target_wait_s
                     for s, v in waits.items() if s in svc)
    service_index = sum(float(v.sum(dtype=np.int64)) / 1000 / svc[s].target_service_s
                        for s, v in services.items() if s in svc)
    label = {"window": "window", "staff": "staff", "service": "service", "hour": "hour",
             "day": "day"}[dim]
    issued = g.issued if dim not in ("window", "staff") else g.called
    row = {label: key, "issued": issued, "called": g.called, "served": g.served,
           "no_show": g.no_show, "transferred": g.transferred,
           "no_show_rate": _ratio(g.no_show, g.served + g.no_show),
           "wait_s": spread(all_waits), "service_s": spread(all_services),
           "wait_over_target_rate": _ratio(wait_over, len(all_waits)),
           "service_over_target_rate": _ratio(service_over, len(all_services)),
           "ratings": ratings, "participation": _ratio(ratings, g.served),
           "mean_score": _ratio(sum((i + 1) * n for i, n in enumerate(g.levels)), ratings),
           "good_rate": _ratio(sum(g.levels[2:]), ratings),
           "satisfied_rate": _ratio(sum(g.levels[3:]), ratings),
           "levels": {str(i + 1): n for i, n in enumerate(g.levels)},
           "low_reasons": [{"reason": r, "count": n} for r, n in
                           sorted(g.reasons.items(), key=lambda x: (-x[1], x[0]))[:5]],
           "callback_rate": None, "followup_rate": None}
    # The targets this row is judged by: those of the services it served, weighted by volume.
    legs_by_service = {s: len(v) for s, v in waits.items() if s in svc}
    if legs_by_service:
        n = sum(legs_by_service.values())
        row["targets"] = {
            "wait_s": round(sum(svc[s].target_wait_s * k for s, k in legs_by_service.items()) / n, 1),
            "service_s": round(sum(svc[s].target_service_s * k for s, k in legs_by_service.items()) / n, 1),
            "good_rate": round(sum(svc[s].target_good_rate * k for s, k in legs_by_service.items()) / n, 4)}
    elif dim == "service" and key in svc:
        s = svc[key]
        row["targets"] = {"wait_s": s.target_wait_s, "service_s": s.target_service_s,
                          "good_rate": s.target_good_rate}
    else:
        row["targets"] = None
    row["wait_index"] = _ratio(wait_index, len(all_waits))
    row["service_index"] = _ratio(service_index, len(all_services))
    if dim in ("window", "staff"):
        serving_ms = int(all_services.sum(dtype=np.int64))
        row["open_s"] = g.open_ms / 1000
        row["serving_s"] = serving_ms / 1000
        row["idle_s"] = max(0, g.open_ms - serving_ms) / 1000 if g.open_ms else None
    if cases is not None:
        mine = [c for c in cases if _case_key(dim, c) == key]
        row["callback_rate"], row["followup_rate"] = _case_rates(mine)
    if dim == "window" and key in cfg.windows:
        row["name"] = cfg.windows[key].name
    elif dim == "staff":
        st = cfg.staff.get(key)
        row["name"] = st.name if st else key
    elif dim == "service" and key in svc:
        row["name"], row["name_en"] = svc[key].name, svc[key].name_en
    return row


# --- follow-up cases (rating_cases, server/ratings.py; docs/ratings.md) ------------

def followup_cases(db, tz, start: str, end: str, now: Optional[datetime]) -> Optional[list]:
    """Cases opened on days start..end, or None when the hall has no follow-up table."""
    conn = db.conn if hasattr(db, "conn") else db
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                        "AND name = 'rating_cases'").fetchone():
        return None
    lo = (date.fromisoformat(start) - timedelta(days=1)).isoformat()
    hi = (date.fromisoformat(end) + timedelta(days=2)).isoformat()
    now = now or datetime.now(tz)
    out = []
    for row in conn.execute(
            "SELECT window, clerk, service, opened_at, callback_due, callback_done_at, "
            "rectify_due, rectified_at, replied_at, reply_due FROM rating_cases "
            "WHERE excluded = 0 AND opened_at >= ? AND opened_at < ?", [lo, hi]):
        parsed = [_when(v, tz) for v in row[3:]]
        opened = parsed[0]
        if opened is None or not (start <= opened.date().isoformat() <= end):
            continue
        out.append({"window": row[0], "staff": row[1] or "", "service": row[2],
                    "day": opened.date().isoformat(), "hour": opened.hour,
                    "callback_due": parsed[1], "callback_done": parsed[2],
                    "rectify_due": parsed[3], "rectified": parsed[4], "replied": parsed[5],
                    "reply_due": parsed[6] or parsed[3], "now": now})
    return out


def _when(text, tz) -> Optional[datetime]:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


def _case_key(dim: str, case: dict):
    return case[dim]


def _case_rates(cases: list) -> tuple[Optional[float], Optional[float]]:
    """callback rate = called back by the deadline / fell due (due, or done early);
    follow-up rate = rectified and replied by the deadline / fell due."""
    cb_due = cb_ok = fu_due = fu_ok = 0
    for c in cases:
        now = c["now"]
        if c["callback_due"] is not None and (c["callback_due"] <= now or c["callback_done"]):
            cb_due += 1
            cb_ok += bool(c["callback_done"] and c["callback_done"] <= c["callback_due"])
        # rectified by the rectify deadline and replied by the reply deadline; a case
        # falls due at its reply deadline, or earlier when both are done
        if c["reply_due"] is not None and (c["reply_due"] <= now or
                                           (c["rectified"] and c["replied"])):
            fu_due += 1
            fu_ok += bool(c["rectified"] and c["replied"] and c["rectified"] <= c["rectify_due"]
                          and c["replied"] <= c["reply_due"])
    return _ratio(cb_ok, cb_due), _ratio(fu_ok, fu_due)


# --- scorecards, rankings, flags and pairs (日常考评与定期考评、结对帮扶) ---------

SCORE_WEIGHTS = {"service": 40, "good": 40, "wait": 20}
MIN_RATINGS = 5  # fewer ratings than this: the good-rating rate is not judged
MIN_SERVED = 5   # fewer served than this: service time is not judged


def score(row: dict) -> Optional[float]:
    """0-100 against the row's own targets: service time 40, good ratings 40, waits 20."""
    parts = []
    if row["service_index"] is not None and row["served"] >= MIN_SERVED:
        parts.append((SCORE_WEIGHTS["service"], min(1.0, 1 / max(row["service_index"], 1e-9))))
    if row["good_rate"] is not None and row["targets"] and row["ratings"] >= MIN_RATINGS:
        parts.append((SCORE_WEIGHTS["good"], min(1.0, row["good_rate"] / row["targets"]["good_rate"])))
    if row["wait_over_target_rate"] is not None:
        parts.append((SCORE_WEIGHTS["wait"], 1 - row["wait_over_target_rate"]))
    if not parts:
        return None
    total = sum(w for w, _ in parts)
    return round(100 * sum(w * v for w, v in parts) / total, 1)


def flags(row: dict) -> list[str]:
    """Where a row falls short of the targets of the services it served."""
    out = []
    if row["service_index"] is not None and row["served"] >= MIN_SERVED and row["service_index"] > 1:
        out.append("slow_service")
    if (row["good_rate"] is not None and row["targets"] and row["ratings"] >= MIN_RATINGS
            and row["good_rate"] < row["targets"]["good_rate"]):
        out.append("low_good_rate")
    if row["no_show_rate"] is not None and row["no_show"] >= 3 and row["no_show_rate"] > 0.15:
        out.append("many_no_shows")
    return out


def judge(rows: Iterable[dict]) -> list[dict]:
    """Add score, flags and rank (1 = best) to rows of windows or staff.

    Only rows with at least MIN_SERVED served tickets are ranked."""
    rows = list(rows)
    for row in rows:
        row["score"] = score(row)
        row["flags"] = flags(row)
    ranked = [r for r in rows if r["score"] is not None and r["served"] >= MIN_SERVED]
    scores = [r["score"] for r in ranked]
    for row in ranked:  # ties share a rank (1, 1, 3, ...)
        row["rank"] = 1 + sum(1 for x in scores if x > row["score"])
    for row in rows:
        row.setdefault("rank", None)
    return sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0,
                                       -(r["score"] if r["score"] is not None else -1)))


def period_range(period: str) -> tuple[str, str]:
    """'2026-03' (a month), '2026-Q1' (a quarter) or '2026-03-05' (a day) as first..last day."""
    if "Q" in period.upper():
        year, q = period.upper().split("-Q")
        first = date(int(year), 3 * int(q) - 2, 1)
        months = 3
    elif period.count("-") == 1:
        year, month = period.split("-")
        first, months = date(int(year), int(month), 1), 1
    else:
        d = date.fromisoformat(period)
        return d.isoformat(), d.isoformat()
    m = first.month - 1 + months
    last = date(first.year + m // 12, m % 12 + 1, 1) - timedelta(days=1)
    return first.isoformat(), last.isoformat()


def pairs(db, cfg, start: str, end: str, *, today: str, now=None, summary=None) -> list[dict]:
    """For each service, clerks falling short paired with the best clerk on it (结对帮扶)."""
    summary = summary or load(db, start, end, cfg.tz, today, now, grain="month")
    out = []
    for code in cfg.services:
        rows = judge(figures(db, cfg, "staff", start, end, today=today, now=now, service=code,
                             summary=summary))
        rows = [r for r in rows if r["served"] >= MIN_SERVED and r["score"] is not None]
        short = [r for r in rows if r["flags"]]
        for r in short:
            # a mentor has no flag, enough ratings, and at least a fifth of the mentee's
            # volume on this service; without one the clerk is listed with mentor null
            good = [g for g in rows if not g["flags"] and g["ratings"] >= MIN_RATINGS
                    and 5 * g["served"] >= r["served"]]
            out.append({"service": code, "service_name": cfg.services[code].name,
                        "mentor": _brief(good[0]) if good else None, "mentee": _brief(r),
                        "flags": r["flags"]})
    return out


def pairs_with_trends(db, cfg, start: str, end: str, *, today: str, now=None) -> list[dict]:
    """pairs() over start..end, each with both clerks' daily trend from start to today."""
    out = pairs(db, cfg, start, end, today=today, now=now)
    if out:
        last = max(end, today)
        clerks = sorted({p[k]["staff"] for p in out for k in ("mentor", "mentee") if p[k]})
        summary = load(db, start, last, cfg.tz, today, now, clerks=clerks)
        for p in out:
            who = [p[k]["staff"] for k in ("mentor", "mentee") if p[k]]
            p["trend"] = trend(db, cfg, who, start, last,
                               today=today, service=p["service"], now=now, summary=summary)
    return out


def _brief(row: dict) -> dict:
    return {"staff": row["staff"], "name": row.get("name"), "score": row["score"],
            "served": row["served"], "service_s": row["service_s"]["mean"],
            "good_rate": row["good_rate"], "service_index": row["service_index"]}


def trend(db, cfg, staff: list[str], start: str, end: str, *, today: str, service=None,
          now=None, summary=None) -> dict:
    """Day-by-day figures and score of some clerks (a pair's progress)."""
    summary = summary or load(db, start, end, cfg.tz, today, now, clerks=list(staff))
    out = {}
    for who in staff:
        rows = figures(db, cfg, "day", start, end, today=today, now=now, staff=who,
                       service=service, summary=summary)
        out[who] = [{"day": r["day"], "served": r["served"], "service_s": r["service_s"]["mean"],
                     "wait_s": r["wait_s"]["mean"], "good_rate": r["good_rate"],
                     "score": score(r)} for r in rows if r["called"] or r["served"]]
    return out


# --- today, live --------------------------------------------------------------

def live(db, cfg, now: datetime) -> dict:
    """Now: waiting per service and its longest wait, windows open, the latest ratings."""
    today = now.date().isoformat()
    services = {code: {"service": code, "name": s.name, "waiting": 0, "longest_wait_s": None}
                for code, s in cfg.services.items()}
    for service, leg_at in db.execute(
            "SELECT service, leg_at FROM tickets WHERE day = ? AND status = 'waiting'", [today]):
        row = services.setdefault(service, {"service": service, "name": service, "waiting": 0,
                                            "longest_wait_s": None})
        row["waiting"] += 1
        waited = round((now - datetime.fromisoformat(leg_at)).total_seconds())
        row["longest_wait_s"] = max(row["longest_wait_s"] or 0, waited)
    states = {r[0]: r[1] for r in db.execute("SELECT number, status FROM windows_state")}
    latest = [{"number": n, "window": w, "clerk": c, "service": s, "score": sc, "at": at,
               "reasons": json.loads(rs or "[]")}
              for n, w, c, s, sc, at, rs in db.execute(
                  "SELECT t.number, r.window, r.clerk, r.service, r.score, r.created_at, r.reasons "
                  "FROM ratings r JOIN tickets t ON t.id = r.ticket WHERE r.day = ? "
                  "ORDER BY r.ts DESC LIMIT 10", [today])]
    return {"at": now.isoformat(), "day": today, "services": list(services.values()),
            "windows_open": sum(1 for n in cfg.windows if states.get(n) == "open"),
            "windows": len(cfg.windows), "latest_ratings": latest}


def long_waits(db, cfg, now: datetime, over_s: int) -> dict[str, int]:
    """Per service, how many citizens have waited longer than over_s seconds."""
    out: Counter = Counter()
    for service, leg_at in db.execute(
            "SELECT service, leg_at FROM tickets WHERE day = ? AND status = 'waiting'",
            [now.date().isoformat()]):
        if (now - datetime.fromisoformat(leg_at)).total_seconds() > over_s:
            out[service] += 1
    return dict(out)


# --- flat tables for CSV / XLSX ------------------------------------------------

COLUMNS = [("issued", "取号/接待数"), ("called", "叫号数"), ("served", "办结数"),
           ("no_show", "过号数"), ("transferred", "转移数"), ("no_show_rate", "过号率"),
           ("wait_s.mean", "等候均值(秒)"), ("wait_s.p50", "等候中位数(秒)"),
           ("wait_s.p90", "等候P90(秒)"), ("wait_s.max", "等候最长(秒)"),
           ("service_s.mean", "办理均值(秒)"), ("service_s.p50", "办理中位数(秒)"),
           ("service_s.p90", "办理P90(秒)"), ("service_s.max", "办理最长(秒)"),
           ("wait_over_target_rate", "等候超时占比"), ("service_over_target_rate", "办理超时占比"),
           ("ratings", "评价数"), ("participation", "参评率"), ("mean_score", "平均分"),
           ("good_rate", "好评率"), ("satisfied_rate", "满意率"),
           ("levels.1", "非常不满意"), ("levels.2", "不满意"), ("levels.3", "基本满意"),
           ("levels.4", "满意"), ("levels.5", "非常满意"),
           ("callback_rate", "差评回访率"), ("followup_rate", "差评整改率")]
KEY_LABELS = {"window": "窗口", "staff": "工号", "service": "业务", "hour": "时段", "day": "日期"}


def flat(dim: str, rows: list[dict]) -> tuple[list[str], list[str], list[list]]:
    """(keys, Chinese labels, rows) of a figures table, one column per figure."""
    keys = [dim] + (["name"] if dim in ("window", "staff", "service") else []) + [k for k, _ in COLUMNS]
    labels = [KEY_LABELS[dim]] + (["名称"] if dim in ("window", "staff", "service") else []) \
        + [zh for _, zh in COLUMNS]
    out = []
    for row in rows:
        line = []
        for k in keys:
            v = row
            for part in k.split("."):
                v = v.get(part) if isinstance(v, dict) else None
            line.append(v)
        out.append(line)
    return keys, labels, out
