"""The city's per-day summary: what every row figure needs, kept as the events arrive.

Three tables (migration m005_summary, server/city/db.py), all written in the same
transaction as the batch of events that changes them (``Delta.write`` in
``db.ingest``), so the summary never lags the events:

- ``city_cells``: one row per (hall, day, window, clerk, service): the additive counts
  (legs, issued, called, served, no-shows, transfers, rating levels, ratings without a
  ticket), the sums of the waits and service times, and the times themselves, exact,
  as sorted arrays of integer milliseconds. The by-window, by-clerk and by-service
  figures of one hall merge these.
- ``city_periods``: one row per (grain, period, hall), grain ``d`` a day or ``m`` a
  calendar month: the same counts, the sums and maxima, and a histogram of the waits
  and of the service times over fixed buckets (``bucket``: 5 s wide below an hour, 60 s
  wide below four hours, then one), as dense arrays of counts.
- ``city_bins``: per (hall, kind ``w``/``s``, bin, grain, period) the exact
  millisecond values that fell in that bin, as (sorted distinct values, counts); a bin
  is one bucket in a month row and eight buckets in a day row (``BIN_SHIFT``), so a day
  has few rows and a month's rows stay short.

Percentiles stay exact (nearest rank, the ⌈p·n/100⌉-th smallest, docs/figures.md): the
histograms of the periods a range covers (whole months from ``m`` rows, the days at
its ends from ``d`` rows) are added up to find the bucket holding the k-th value and
its rank inside the bucket; then only that bucket's exact values are read from
``city_bins`` and merged. Any bucket layout gives the same answer as long as it keeps
order (a value in a higher bucket is never smaller); the layout only decides how much
is read. The summary is additive, and a late or replayed batch only adds what was not
stored before (the events' INSERT ... RETURNING says what was new), so it equals the
raw computation over the events table (``stats.rows_raw``, the tests' oracle).
"""
from __future__ import annotations

import json
from bisect import bisect_right
from collections import defaultdict
from datetime import date, datetime, timedelta
from datetime import time as _time
from typing import Iterable, Optional
from zoneinfo import ZoneInfo

LEG_TYPES = ("ticket.issued", "ticket.called", "ticket.finished", "ticket.no_show",
             "ticket.transferred")
N_BUCKETS = 901
BIN_SHIFT = {"d": 3, "m": 0}  # a bin of city_bins is bucket >> shift
KINDS = ("w", "s")  # waits, service times


def bucket(ms: int) -> int:
    """The histogram bucket of a time in milliseconds (order-keeping)."""
    if ms < 3_600_000:
        return max(0, ms // 5000)                  # 0..719: 5 s wide below an hour
    if ms < 14_400_000:
        return 720 + (ms - 3_600_000) // 60_000   # 720..899: a minute wide below 4 h
    return 900


def buckets(ms):
    """``bucket`` over an int64 numpy array."""
    import numpy as np  # numpy only where the figures are read (a faster start of the CLI)
    ms = np.asarray(ms, dtype=np.int64)
    out = np.where(ms < 3_600_000, np.maximum(0, ms // 5000),
                   np.where(ms < 14_400_000, 720 + (ms - 3_600_000) // 60_000, 900))
    return out.astype(np.int64)


def month_of(day) -> date:
    d = day if isinstance(day, date) else date.fromisoformat(str(day))
    return d.replace(day=1)


# --- keeping it: the change one batch makes ------------------------------------------

class _Cell:
    __slots__ = ("n", "waits", "services", "levels", "untied")

    def __init__(self):
        self.n = [0, 0, 0, 0, 0, 0]   # legs, issued, called, served, no_show, transferred
        self.waits: list[int] = []
        self.services: list[int] = []
        self.levels = [0, 0, 0, 0, 0]
        self.untied = 0


_N_INDEX = {"ticket.issued": 1, "ticket.no_show": 4, "ticket.transferred": 5}


class Delta:
    """What a set of new events and rating changes adds to the summary."""

    def __init__(self):
        self.cells: dict[tuple, _Cell] = defaultdict(_Cell)
        # promises kept (m006): over-target counts per cell, 差评 reasons, window days touched
        self.promise_cells: dict[tuple, list] = defaultdict(lambda: [0] * len(PROMISE_COUNTS))
        self.reasons: dict[tuple, int] = defaultdict(int)
        self.window_days: set[tuple] = set()

    def __bool__(self):
        return bool(self.cells or self.promise_cells or self.reasons or self.window_days)

    def promise(self, hall: str, day, window, clerk, kind: str, leg_service: str,
                wait_ms: Optional[int], service_ms: Optional[int], limits: tuple) -> None:
        """One stored event judged against the targets in force at it (``Judge``): as the raw
        path's join on hall_configs (stats._over_sql). ``limits`` = (wait, service) in ms or None."""
        if kind == "window.changed":
            self.window_days.add((hall, window or 0, _day(day)))
            return
        if wait_ms is None and service_ms is None:
            return
        p = self.promise_cells[(hall, _day(day), window or 0, clerk or "", leg_service or "")]
        wait_limit, service_limit = limits
        if wait_ms is not None:
            p[0] += 1
            if wait_limit is not None:
                p[2] += 1
                p[1] += wait_ms > wait_limit
        if service_ms is not None:
            p[3] += 1
            p[6] += service_ms
            if service_limit is not None:
                p[5] += 1
                p[4] += service_ms > service_limit

    def event(self, hall: str, day, window, clerk, kind: str, leg_service: str,
              wait_ms: Optional[int], service_ms: Optional[int]) -> None:
        """One stored event (the columns of ``events``, generated ones included)."""
        if kind not in LEG_TYPES:
            return
        c = self.cells[(hall, _day(day), window or 0, clerk or "", leg_service or "")]
        c.n[0] += 1
        i = _N_INDEX.get(kind)
        if i:
            c.n[i] += 1
        if wait_ms is not None:
            c.n[2] += 1
            c.waits.append(int(wait_ms))
        if service_ms is not None:
            c.n[3] += 1
            c.services.append(int(service_ms))

    def rating(self, hall: str, day, window, clerk, service, score: int, tied: bool,
               sign: int, reasons=None, national=None) -> None:
        """A rating starts (+1) or stops (-1) counting (stored, or its exclusion changed)."""
        c = self.cells[(hall, _day(day), window or 0, clerk or "", service or "")]
        if 1 <= int(score) <= 5:  # as the raw path's FILTER (score = 1) … (score = 5)
            c.levels[int(score) - 1] += sign
        if not tied:
            c.untied += sign
        if int(score) in (1, 2):  # the 差评 reasons: the hall's tags and the national ones
            key = (hall, _day(day), window or 0, clerk or "", service or "")
            for kind, tags in (("h", reasons), ("n", national)):
                for tag in _tags(tags):
                    self.reasons[(*key, kind, tag)] += sign

    def write(self, conn) -> None:
        """Add this delta to the summary's tables (inside the caller's transaction)."""
        self._write_promises(conn)
        if not self.cells:
            return
        cells, periods, bins = [], {}, defaultdict(lambda: defaultdict(int))
        for key in sorted(self.cells):
            hall, day, window, clerk, service = key
            c = self.cells[key]
            c.waits.sort()
            c.services.sort()
            cells.append((hall, day, window, clerk, service, *c.n, sum(c.waits), sum(c.services),
                          c.waits, c.services, *c.levels, c.untied))
            for grain, period in (("d", day), ("m", day.replace(day=1))):
                p = periods.get((grain, period, hall))
                if p is None:
                    p = periods[(grain, period, hall)] = _Period()
                p.add(c)
                for kind, values in (("w", c.waits), ("s", c.services)):
                    for v in values:
                        bins[(hall, kind, bucket(v) >> BIN_SHIFT[grain], grain, period)][v] += 1
        with conn.cursor() as cur:
            cur.executemany(CELLS_UPSERT, cells)
            cur.executemany(PERIODS_UPSERT, [(g, per, h, *p.row()) for (g, per, h), p
                                             in sorted(periods.items())])
            rows = []
            for key in sorted(bins):
                values = sorted(bins[key])
                rows.append((*key, values, [bins[key][v] for v in values]))
            cur.executemany(BINS_UPSERT, rows)
        self.cells.clear()


    def _write_promises(self, conn) -> None:
        with conn.cursor() as cur:
            if self.promise_cells:
                cur.executemany(PROMISE_UPSERT, [(*k, *v) for k, v in sorted(self.promise_cells.items())])
            if self.reasons:
                cur.executemany(REASONS_UPSERT, [(*k, n) for k, n in sorted(self.reasons.items()) if n])
        if self.window_days:
            write_window_days(conn, sorted(self.window_days))
        self.promise_cells.clear()
        self.reasons.clear()
        self.window_days.clear()


def _tags(tags) -> list[str]:
    """A JSON array's elements as PostgreSQL's jsonb_array_elements_text gives them."""
    if isinstance(tags, str):
        try:
            tags = json.loads(tags)
        except ValueError:
            return []
    if not isinstance(tags, list):
        return []
    return [t if isinstance(t, str) else json.dumps(t) for t in tags if t is not None]


def _day(day) -> date:
    return day if isinstance(day, date) else date.fromisoformat(str(day))


class _Period:
    __slots__ = ("n", "levels", "untied", "sums", "maxes", "hists")

    def __init__(self):
        self.n = [0, 0, 0, 0, 0, 0]
        self.levels = [0, 0, 0, 0, 0]
        self.untied = 0
        self.sums = [0, 0]
        self.maxes = [None, None]
        self.hists = [defaultdict(int), defaultdict(int)]

    def add(self, c: _Cell) -> None:
        self.n = [a + b for a, b in zip(self.n, c.n)]
        self.levels = [a + b for a, b in zip(self.levels, c.levels)]
        self.untied += c.untied
        for i, values in enumerate((c.waits, c.services)):
            if values:
                self.sums[i] += sum(values)
                top = values[-1]
                self.maxes[i] = top if self.maxes[i] is None else max(self.maxes[i], top)
                h = self.hists[i]
                for v in values:
                    h[bucket(v)] += 1

    def row(self) -> tuple:
        dense = []
        for h in self.hists:
            arr = [0] * (max(h) + 1 if h else 0)
            for b, n in h.items():
                arr[b] = n
            dense.append(arr)
        return (*self.n, self.sums[0], self.maxes[0], self.sums[1], self.maxes[1], dense[0],
                dense[1], *self.levels, self.untied)


_COUNTS = ("legs", "issued", "called", "served", "no_show", "transferred")
_LEVELS = ("r1", "r2", "r3", "r4", "r5", "untied")
_ADD = ", ".join(f"{k} = t.{k} + EXCLUDED.{k}" for k in _COUNTS + _LEVELS)

CELLS_UPSERT = f"""
INSERT INTO city_cells AS t (hall_id, day, "window", clerk, service, {", ".join(_COUNTS)},
    wait_sum, service_sum, waits, services, {", ".join(_LEVELS)})
VALUES ({", ".join(["%s"] * 21)})
ON CONFLICT (hall_id, day, "window", clerk, service) DO UPDATE SET {_ADD},
    wait_sum = t.wait_sum + EXCLUDED.wait_sum, service_sum = t.service_sum + EXCLUDED.service_sum,
    waits = city_merge(t.waits, EXCLUDED.waits), services = city_merge(t.services, EXCLUDED.services)
"""

PERIODS_UPSERT = f"""
INSERT INTO city_periods AS t (grain, period, hall_id, {", ".join(_COUNTS)}, wait_sum, wait_max,
    service_sum, service_max, wait_hist, service_hist, {", ".join(_LEVELS)})
VALUES ({", ".join(["%s"] * 21)})
ON CONFLICT (grain, period, hall_id) DO UPDATE SET {_ADD},
    wait_sum = t.wait_sum + EXCLUDED.wait_sum, service_sum = t.service_sum + EXCLUDED.service_sum,
    wait_max = greatest(t.wait_max, EXCLUDED.wait_max),
    service_max = greatest(t.service_max, EXCLUDED.service_max),
    wait_hist = city_add(t.wait_hist, EXCLUDED.wait_hist),
    service_hist = city_add(t.service_hist, EXCLUDED.service_hist)
"""

BINS_UPSERT = """
INSERT INTO city_bins AS t (hall_id, kind, bin, grain, period, vals, cnts)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (hall_id, kind, bin, grain, period) DO UPDATE SET
    (vals, cnts) = (SELECT array_agg(v ORDER BY v), array_agg(n ORDER BY v)
                    FROM (SELECT v, sum(c)::integer AS n
                          FROM unnest(t.vals || EXCLUDED.vals, t.cnts || EXCLUDED.cnts) AS u(v, c)
                          GROUP BY v) AS m)
"""

SCHEMA = """
-- a sorted merge of two sorted arrays, and the element-wise sum of two count arrays
CREATE FUNCTION city_merge(a BIGINT[], b BIGINT[]) RETURNS BIGINT[] LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN cardinality(b) = 0 THEN a WHEN cardinality(a) = 0 THEN b ELSE
        (SELECT array_agg(v ORDER BY v) FROM (SELECT unnest(a) UNION ALL SELECT unnest(b)) AS x(v)) END
$$;
CREATE FUNCTION city_add(a INTEGER[], b INTEGER[]) RETURNS INTEGER[] LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN cardinality(b) = 0 THEN a WHEN cardinality(a) = 0 THEN b ELSE
        (SELECT array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i)
         FROM unnest(a, b) WITH ORDINALITY AS u(x, y, i)) END
$$;
CREATE TABLE city_cells (
    hall_id TEXT NOT NULL, day DATE NOT NULL, "window" INTEGER NOT NULL, clerk TEXT NOT NULL,
    service TEXT NOT NULL,
    legs BIGINT NOT NULL, issued BIGINT NOT NULL, called BIGINT NOT NULL, served BIGINT NOT NULL,
    no_show BIGINT NOT NULL, transferred BIGINT NOT NULL,
    wait_sum BIGINT NOT NULL, service_sum BIGINT NOT NULL,
    waits BIGINT[] NOT NULL, services BIGINT[] NOT NULL,
    r1 BIGINT NOT NULL, r2 BIGINT NOT NULL, r3 BIGINT NOT NULL, r4 BIGINT NOT NULL,
    r5 BIGINT NOT NULL, untied BIGINT NOT NULL,
    PRIMARY KEY (hall_id, day, "window", clerk, service)
);
CREATE TABLE city_periods (
    grain TEXT NOT NULL CHECK (grain IN ('d', 'm')), period DATE NOT NULL, hall_id TEXT NOT NULL,
    legs BIGINT NOT NULL, issued BIGINT NOT NULL, called BIGINT NOT NULL, served BIGINT NOT NULL,
    no_show BIGINT NOT NULL, transferred BIGINT NOT NULL,
    wait_sum BIGINT NOT NULL, wait_max BIGINT, service_sum BIGINT NOT NULL, service_max BIGINT,
    wait_hist INTEGER[] NOT NULL, service_hist INTEGER[] NOT NULL,
    r1 BIGINT NOT NULL, r2 BIGINT NOT NULL, r3 BIGINT NOT NULL, r4 BIGINT NOT NULL,
    r5 BIGINT NOT NULL, untied BIGINT NOT NULL,
    PRIMARY KEY (grain, period, hall_id)
);
CREATE TABLE city_bins (
    hall_id TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('w', 's')), bin INTEGER NOT NULL,
    grain TEXT NOT NULL, period DATE NOT NULL, vals BIGINT[] NOT NULL, cnts INTEGER[] NOT NULL,
    PRIMARY KEY (hall_id, kind, bin, grain, period)
);
-- the follow-up counts read the cases of a range of days (a margin of a day either side
-- for the halls' time zones, then the exact hall day)
CREATE INDEX cases_opened ON cases (opened_at);
"""


def _stream(conn, name: str, sql: str, args: list):
    """The rows of a query read through a named (server-side) cursor, 20,000 at a time, so a
    rebuild over years of events never holds them all."""
    with conn.cursor(name=name) as cur:
        cur.itersize = 20_000
        cur.execute(sql, args)
        yield from cur


def rebuild(conn, hall: Optional[str] = None, flush_every: int = 200_000) -> None:
    """Make the summary again from the events and ratings (the migration that adds it,
    and the bench after loading events with COPY). Inside the caller's transaction."""
    where, args = ("WHERE hall_id = %s", [hall]) if hall else ("", [])
    for table in ("city_cells", "city_periods", "city_bins"):
        conn.execute(f"DELETE FROM {table} {where}", args)
    delta = Delta()
    events = _stream(conn, "city_rebuild_events",
                     'SELECT hall_id, day, "window", clerk, type, leg_service, wait_ms, service_ms '
                     "FROM events WHERE type = ANY(%s) " + (where.replace("WHERE", "AND")),
                     [list(LEG_TYPES)] + args)
    for n, row in enumerate(events, 1):
        delta.event(*row)
        if n % flush_every == 0:
            delta.write(conn)
    for row in _stream(conn, "city_rebuild_ratings",
                       'SELECT hall_id, day, "window", clerk, service, score, ticket IS NOT NULL '
                       "FROM ratings WHERE NOT excluded " + (where.replace("WHERE", "AND")), args):
        delta.rating(*row, sign=1)
    delta.write(conn)
    if conn.execute("SELECT to_regclass('city_promise_cells')").fetchone()[0] is not None:
        rebuild_promises(conn, hall)


# --- reading it -------------------------------------------------------------------------

def split_range(start: date, end: date) -> tuple[list[date], list[date]]:
    """The whole calendar months inside [start, end] and the days outside them."""
    months, days = [], []
    m = start.replace(day=1)
    while m <= end:
        nxt = (m + timedelta(days=32)).replace(day=1)
        last = nxt - timedelta(days=1)
        if m >= start and last <= end:
            months.append(m)
        else:
            d = max(m, start)
            while d <= min(last, end):
                days.append(d)
                d += timedelta(days=1)
        m = nxt
    return months, days


def _ints(blob, size: int):
    """An INTEGER[] (size 4) or BIGINT[] (size 8) as PostgreSQL sends it (``array_send``:
    a header, then a length and a big-endian value per element; no NULLs here) as an int64
    numpy array, without a Python int per element."""
    import numpy as np
    if blob is None or len(blob) < 20 or int.from_bytes(blob[:4], "big") == 0:
        return np.zeros(0, dtype=np.int64)
    element = np.dtype([("n", ">i4"), ("v", f">i{size}")])
    return np.frombuffer(blob, dtype=element, offset=20)["v"].astype(np.int64)


def _runs(periods: list[date], month: bool = False) -> list[tuple[date, date]]:
    """Consecutive days (or months) as (first, last) runs."""
    out: list[list[date]] = []
    for p in periods:
        nxt = None
        if out:
            last = out[-1][1]
            nxt = (last + timedelta(days=32)).replace(day=1) if month else last + timedelta(days=1)
        if nxt == p:
            out[-1][1] = p
        else:
            out.append([p, p])
    return [(a, b) for a, b in out]


def _rank(n: int, p: int) -> int:
    return max(1, (p * n + 99) // 100)


def hall_counts(conn, start: date, end: date, hall: Optional[str] = None) -> dict:
    """Per hall: the counts, sums, maxima and exact p50/p90 from the periods and bins.

    Returns {hall: {"legs", "issued", …, "r1".."r5", "untied",
                    "w": (n, sum, p50, p90, max), "s": (…)}}."""
    import numpy as np
    months, days = split_range(start, end)
    h_sql = "AND hall_id = %(hall)s" if hall else ""
    args = {"months": months, "days": days, "hall": hall}
    periods = f"""((grain = 'm' AND period = ANY(%(months)s::date[]))
                   OR (grain = 'd' AND period = ANY(%(days)s::date[]))) {h_sql}"""
    out: dict[str, dict] = {}
    hists: dict[tuple, "np.ndarray"] = {}
    with conn.cursor(binary=True) as cur:
        cur.execute(f"""SELECT hall_id, {", ".join(_COUNTS + _LEVELS)}, wait_sum, wait_max,
                               service_sum, service_max, array_send(wait_hist),
                               array_send(service_hist)
                        FROM city_periods WHERE {periods}""", args)
        for row in cur:
            h = row[0]
            acc = out.get(h)
            if acc is None:
                acc = out[h] = {k: 0 for k in _COUNTS + _LEVELS}
                acc.update(w_sum=0, s_sum=0, w_max=None, s_max=None)
                hists[(h, "w")] = np.zeros(N_BUCKETS, dtype=np.int64)
                hists[(h, "s")] = np.zeros(N_BUCKETS, dtype=np.int64)
            for i, k in enumerate(_COUNTS + _LEVELS, start=1):
                acc[k] += row[i]
            w_sum, w_max, s_sum, s_max, w_hist, s_hist = row[13:19]
            acc["w_sum"] += w_sum
            acc["s_sum"] += s_sum
            if w_max is not None:
                acc["w_max"] = w_max if acc["w_max"] is None else max(acc["w_max"], w_max)
            if s_max is not None:
                acc["s_max"] = s_max if acc["s_max"] is None else max(acc["s_max"], s_max)
            for kind, blob in (("w", w_hist), ("s", s_hist)):
                arr = _ints(blob, 4)
                if len(arr):
                    hists[(h, kind)][:len(arr)] += arr
    # which bucket holds the k-th value, and its rank inside the bucket
    wanted: dict[tuple, list] = defaultdict(list)   # (hall, kind, bucket) -> [(p, rank in bucket)]
    for (h, kind), hist in hists.items():
        n = int(hist.sum())
        if not n:
            continue
        cum = np.cumsum(hist)
        for p in (50, 90):
            k = _rank(n, p)
            b = int(np.searchsorted(cum, k))          # first bucket with cum >= k
            below = int(cum[b - 1]) if b else 0
            wanted[(h, kind, b)].append((p, k - below))
    picked: dict[tuple, int] = {}
    if wanted:
        parts: dict[tuple, list] = defaultdict(list)
        with conn.cursor(binary=True) as cur:
            # one index range per key and run of periods: (hall, kind, bin, grain, period)
            for grain, lo, hi in [("m", a, b) for a, b in _runs(months, month=True)] + \
                                 [("d", a, b) for a, b in _runs(days)]:
                keys = sorted({(h, kind, b >> BIN_SHIFT[grain]) for h, kind, b in wanted})
                cur.execute("""SELECT t.hall_id, t.kind, t.bin, array_send(t.vals), array_send(t.cnts)
                               FROM unnest(%(h)s::text[], %(k)s::text[], %(b)s::int[]) AS q(h, k, b)
                               JOIN city_bins t ON t.hall_id = q.h AND t.kind = q.k AND t.bin = q.b
                                AND t.grain = %(g)s AND t.period BETWEEN %(lo)s AND %(hi)s""",
                            {"h": [k[0] for k in keys], "k": [k[1] for k in keys],
                             "b": [k[2] for k in keys], "g": grain, "lo": lo, "hi": hi})
                for h, kind, b, vals, cnts in cur:
                    parts[(h, kind, b, grain)].append((vals, cnts))
        for (h, kind, b), ranks in wanted.items():
            chunks = parts[(h, kind, b >> BIN_SHIFT["d"], "d")] + parts[(h, kind, b, "m")]
            vals = np.concatenate([_ints(v, 8) for v, _ in chunks])
            cnts = np.concatenate([_ints(c, 4) for _, c in chunks])
            keep = buckets(vals) == b                      # a day's bin holds 8 buckets
            vals, cnts = vals[keep], cnts[keep]
            order = np.argsort(vals, kind="stable")
            vals, cum = vals[order], np.cumsum(cnts[order])
            for p, r in ranks:
                picked[(h, kind, p)] = int(vals[int(np.searchsorted(cum, r))])
    for h, acc in out.items():
        for kind, n_key in (("w", "called"), ("s", "served")):
            n = acc[n_key]
            acc[kind] = (n, acc[f"{kind}_sum"], picked.get((h, kind, 50)),
                         picked.get((h, kind, 90)), acc[f"{kind}_max"]) if n else (0, None, None, None, None)
    return out


CELL_DIMS = {"window": '"window"', "staff": "clerk", "service": "service"}


def cell_rows(conn, dim: str, start: date, end: date, hall: str) -> list[tuple]:
    """One hall's rows by window | staff | service from the cells: (key, counts…,
    waits n/sum/p50/p90/max, services n/sum/p50/p90/max, r1..r5, untied, legs)."""
    key = CELL_DIMS[dim]
    spread = """cardinality({a}) , {a}_sum,
        {a}[greatest(1, (50 * cardinality({a}) + 99) / 100)],
        {a}[greatest(1, (90 * cardinality({a}) + 99) / 100)],
        {a}[cardinality({a})]"""
    sql = f"""
    WITH c AS (SELECT {key} AS k, * FROM city_cells
               WHERE hall_id = %(hall)s AND day BETWEEN %(start)s AND %(end)s),
    s AS (SELECT k, {", ".join(f"sum({x})::bigint AS {x}" for x in _COUNTS + _LEVELS)},
                 sum(wait_sum)::bigint AS waits_sum, sum(service_sum)::bigint AS services_sum
          FROM c GROUP BY k),
    w AS (SELECT k, array_agg(v ORDER BY v) AS waits FROM c, unnest(c.waits) AS v GROUP BY k),
    sv AS (SELECT k, array_agg(v ORDER BY v) AS services FROM c, unnest(c.services) AS v GROUP BY k),
    j AS (SELECT s.*, coalesce(w.waits, '{{}}') AS waits, coalesce(sv.services, '{{}}') AS services
          FROM s LEFT JOIN w USING (k) LEFT JOIN sv USING (k))
    SELECT k, issued, called, served, no_show, transferred,
           {spread.format(a="waits")}, {spread.format(a="services")},
           r1, r2, r3, r4, r5, untied, legs
    FROM j ORDER BY k"""
    return conn.execute(sql, {"hall": hall, "start": start, "end": end}).fetchall()


def day_rows(conn, start: date, end: date, hall: Optional[str] = None) -> list[tuple]:
    """Per hall and day: (hall, day, served, ratings, satisfied)."""
    h = "AND hall_id = %(hall)s" if hall else ""
    return conn.execute(f"""
        SELECT hall_id, period, served, r1 + r2 + r3 + r4 + r5, r4 + r5 FROM city_periods
        WHERE grain = 'd' AND period BETWEEN %(start)s AND %(end)s {h}
          AND (served > 0 OR r1 + r2 + r3 + r4 + r5 > 0)
        ORDER BY hall_id, period""", {"start": start, "end": end, "hall": hall}).fetchall()


# --- promises kept (服务承诺): what stats.promises needs, kept at intake ----------------------
#
# Migration m006_promises. The raw path (stats.promises_raw) judges each wait and service
# time by joining the events to hall_configs, reads the 差评 reasons from the ratings and the
# open time from every window.changed event; at a year's scale that reads millions of rows.
# The intake keeps instead, in the batch's own transaction:
#
# - city_promise_cells, per cell (hall, day, window, clerk, service): waits, waits over their
#   target, waits judged (their service had a target known to the city), the same for the
#   service times, and the service milliseconds (the busy part of open time). Each event is
#   judged when it is stored against the configuration in force at its seq (the hall_configs
#   row of the hall and epoch with the greatest seq at or below it: the forwarder sends it on
#   the batch's first event, so it is always stored before the events it judges).
# - city_reasons, per cell, kind ('h' the hall's tag, 'n' the national reason) and reason: the
#   count of not-excluded ratings 1-2 giving it (+1 / -1 as a rating starts or stops counting).
# - city_window_days, per (hall, window, day) that has window.changed events: the day's
#   events (ts, status, clerk in (epoch, seq) order, for a day not yet over or a changed time
#   zone), and, for a day that is over, its open time worked out once: the first segment's
#   length (counted when the window was open at midnight), the other segments per clerk, and
#   the state the day ends in. Days without an event are runs of whole days of the state
#   carried in, counted at query time. Remade from the day's stored events whenever a batch
#   brings one, so it is a function of what is stored, like the rest.

PROMISE_COUNTS = ("waits", "wait_over", "wait_judged", "services", "service_over",
                  "service_judged", "serving_ms")

PROMISE_SCHEMA = """
CREATE TABLE city_promise_cells (
    hall_id TEXT NOT NULL, day DATE NOT NULL, "window" INTEGER NOT NULL, clerk TEXT NOT NULL,
    service TEXT NOT NULL,
    waits BIGINT NOT NULL, wait_over BIGINT NOT NULL, wait_judged BIGINT NOT NULL,
    services BIGINT NOT NULL, service_over BIGINT NOT NULL, service_judged BIGINT NOT NULL,
    serving_ms BIGINT NOT NULL,
    PRIMARY KEY (hall_id, day, "window", clerk, service)
);
CREATE TABLE city_reasons (
    hall_id TEXT NOT NULL, day DATE NOT NULL, "window" INTEGER NOT NULL, clerk TEXT NOT NULL,
    service TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('h', 'n')), reason TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (hall_id, day, "window", clerk, service, kind, reason)
);
CREATE TABLE city_window_days (
    hall_id TEXT NOT NULL, "window" INTEGER NOT NULL, day DATE NOT NULL, tz TEXT NOT NULL,
    ts FLOAT8[] NOT NULL, status TEXT[] NOT NULL, clerks TEXT[] NOT NULL,
    end_epoch INTEGER NOT NULL, end_seq BIGINT NOT NULL, end_status TEXT, end_clerk TEXT NOT NULL,
    first_ms BIGINT, seg_clerks TEXT[] NOT NULL, seg_ms BIGINT[] NOT NULL,
    seg_total BIGINT NOT NULL,  -- the sum of seg_ms (a hall's idle time needs only the window's)
    has_segs BOOLEAN NOT NULL,  -- seg_clerks is not empty (a segment of 0 ms still counts as one)
    PRIMARY KEY (hall_id, "window", day)
);
-- what a hall's open time reads, from the index alone (an index-only scan over the range)
CREATE INDEX city_window_days_day ON city_window_days (day)
    INCLUDE (hall_id, "window", tz, first_ms, seg_total, has_segs, end_status);
-- a window's state before a range: its event with the greatest (epoch, seq) before it
CREATE INDEX city_window_days_last ON city_window_days (hall_id, "window", end_epoch, end_seq);
"""

_P_ADD = ", ".join(f"{k} = t.{k} + EXCLUDED.{k}" for k in PROMISE_COUNTS)
PROMISE_UPSERT = f"""
INSERT INTO city_promise_cells AS t (hall_id, day, "window", clerk, service, {", ".join(PROMISE_COUNTS)})
VALUES ({", ".join(["%s"] * (5 + len(PROMISE_COUNTS)))})
ON CONFLICT (hall_id, day, "window", clerk, service) DO UPDATE SET {_P_ADD}
"""
REASONS_UPSERT = """
INSERT INTO city_reasons AS t (hall_id, day, "window", clerk, service, kind, reason, n)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (hall_id, day, "window", clerk, service, kind, reason) DO UPDATE SET n = t.n + EXCLUDED.n
"""
WINDOW_DAY_UPSERT = """
INSERT INTO city_window_days (hall_id, "window", day, tz, ts, status, clerks, end_epoch, end_seq,
    end_status, end_clerk, first_ms, seg_clerks, seg_ms, seg_total, has_segs)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (hall_id, "window", day) DO UPDATE SET tz = EXCLUDED.tz, ts = EXCLUDED.ts,
    status = EXCLUDED.status, clerks = EXCLUDED.clerks, end_epoch = EXCLUDED.end_epoch,
    end_seq = EXCLUDED.end_seq, end_status = EXCLUDED.end_status, end_clerk = EXCLUDED.end_clerk,
    first_ms = EXCLUDED.first_ms, seg_clerks = EXCLUDED.seg_clerks, seg_ms = EXCLUDED.seg_ms,
    seg_total = EXCLUDED.seg_total, has_segs = EXCLUDED.has_segs
"""


def _limit_ms(value, key: str) -> Optional[float]:
    """``(value->>key)::float8 * 1000`` as the raw path takes it (None where SQL gives NULL)."""
    if not isinstance(value, dict) or value.get(key) is None:
        return None
    try:
        return float(value[key]) * 1000
    except (TypeError, ValueError):
        return None


class Judge:
    """The targets in force by (hall, epoch, seq): each hall_configs row from its seq to the
    next row's, per service (wait limit ms, service limit ms)."""

    def __init__(self, rows: Iterable[tuple]):  # (hall, epoch, seq, promises)
        by: dict[tuple, list] = defaultdict(list)
        for hall, epoch, seq, promises in rows:
            services = promises.get("services") if isinstance(promises, dict) else None
            limits = {code: (_limit_ms(v, "target_wait_s"), _limit_ms(v, "target_service_s"))
                      for code, v in services.items()} if isinstance(services, dict) else {}
            by[(hall, epoch)].append((int(seq), limits))
        self.by = {k: ([s for s, _ in sorted(v, key=lambda x: x[0])],
                       [lim for _, lim in sorted(v, key=lambda x: x[0])]) for k, v in by.items()}

    @classmethod
    def load(cls, conn, hall: Optional[str] = None, epoch: Optional[int] = None) -> "Judge":
        where, args = [], []
        if hall is not None:
            where.append("hall_id = %s")
            args.append(hall)
        if epoch is not None:
            where.append("epoch = %s")
            args.append(epoch)
        sql = "SELECT hall_id, epoch, seq, promises FROM hall_configs"
        return cls(conn.execute(sql + (" WHERE " + " AND ".join(where) if where else ""), args))

    def limits(self, hall: str, epoch: int, seq: int, service: str) -> tuple:
        entry = self.by.get((hall, epoch))
        if entry is None:
            return (None, None)
        i = bisect_right(entry[0], seq) - 1
        if i < 0:
            return (None, None)
        return entry[1][i].get(service or "", (None, None))


def _midnight(day: date, tz) -> float:
    return datetime.combine(day, _time(), tz).timestamp()


def walk_day(carried, events, lo: float, stop: float, add) -> None:
    """One window's day exactly as the raw path (stats.open_time) counts it: from ``carried``
    (status, clerk) or None at midnight ``lo``, through the day's (ts, status, clerk) events,
    to ``stop``; ``add(clerk, ms)`` for every segment open for a positive time."""
    opened = (carried[0], carried[1], lo) if carried is not None else None
    for ts, status, clerk in events:
        ts = max(ts, lo)
        if opened is not None:
            _close(opened, min(ts, stop), add)
        opened = (status, clerk or "", ts)
    if opened is not None:
        _close(opened, stop, add)


def _close(opened, until: float, add) -> None:
    status, clerk, since = opened
    if status == "open" and until > since:
        add(clerk, int(round((until - since) * 1000)))


def window_day_row(hall: str, window: int, day: date, tz_name: str, events: list[tuple]) -> tuple:
    """The city_window_days row of one window's day from its (epoch, seq, ts, status, clerk)
    events in (epoch, seq) order."""
    tz = ZoneInfo(tz_name)
    lo, hi = _midnight(day, tz), _midnight(day + timedelta(days=1), tz)
    evs = [(float(ts), status, clerk or "") for _, _, ts, status, clerk in events]
    until = min(max(evs[0][0], lo), hi)
    first = int(round((until - lo) * 1000)) if until > lo else None
    segs: dict[str, int] = {}

    def add(clerk, ms):
        segs[clerk] = segs.get(clerk, 0) + ms

    walk_day(None, evs, lo, hi, add)
    last = events[-1]
    return (hall, window, day, tz_name, [e[0] for e in evs], [e[1] for e in evs],
            [e[2] for e in evs], last[0], last[1], last[3], last[4] or "", first,
            list(segs), [segs[c] for c in segs], sum(segs.values()), bool(segs))


def write_window_days(conn, keys: list[tuple]) -> None:
    """Make the rows of these (hall, window, day) again from the stored window.changed events."""
    tzs = dict(conn.execute("SELECT hall_id, tz FROM halls").fetchall())
    got: dict[tuple, list] = defaultdict(list)
    for hall, window, day, epoch, seq, ts, status, clerk in conn.execute("""
            SELECT e.hall_id, coalesce(e."window", 0), e.day, e.epoch, e.seq, e.ts,
                   e.data->>'status', e.data->>'clerk'
            FROM unnest(%s::text[], %s::int[], %s::date[]) AS q(h, w, d)
            JOIN events e ON e.hall_id = q.h AND coalesce(e."window", 0) = q.w AND e.day = q.d
                         AND e.type = 'window.changed'
            ORDER BY 1, 2, 3, 4, 5""", [[k[0] for k in keys], [k[1] for k in keys],
                                        [k[2] for k in keys]]).fetchall():
        got[(hall, window, day)].append((epoch, seq, ts, status, clerk))
    rows = [window_day_row(h, w, d, tzs.get(h) or "Asia/Shanghai", evs)
            for (h, w, d), evs in sorted(got.items())]
    if rows:
        with conn.cursor() as cur:
            cur.executemany(WINDOW_DAY_UPSERT, rows)


def rebuild_promises(conn, hall: Optional[str] = None, flush_every: int = 200_000) -> None:
    """Make the promises' summary again from the stored events, ratings and hall_configs."""
    where, args = ("WHERE hall_id = %s", [hall]) if hall else ("", [])
    for table in ("city_promise_cells", "city_reasons", "city_window_days"):
        conn.execute(f"DELETE FROM {table} {where}", args)
    judge = Judge.load(conn, hall)
    delta = Delta()
    and_hall = where.replace("WHERE", "AND")
    events = _stream(conn, "city_rebuild_promises",
                     'SELECT hall_id, day, "window", clerk, type, leg_service, wait_ms, service_ms, '
                     "epoch, seq FROM events WHERE (type IN ('ticket.called', 'ticket.finished') "
                     "AND (wait_ms IS NOT NULL OR service_ms IS NOT NULL) "
                     "OR type = 'window.changed') " + and_hall, args)
    for n, (h, day, window, clerk, kind, s, wait_ms, service_ms, epoch, seq) in enumerate(events, 1):
        delta.promise(h, day, window, clerk, kind, s, wait_ms, service_ms,
                      judge.limits(h, epoch, seq, s))
        if n % flush_every == 0:
            delta._write_promises(conn)
    bad = _stream(conn, "city_rebuild_reasons",
                  'SELECT hall_id, day, "window", clerk, service, reasons, '
                  "extra->'national_reasons' FROM ratings WHERE NOT excluded AND score IN (1, 2) "
                  + and_hall, args)
    for h, day, window, clerk, service, reasons, national in bad:
        key = (h, _day(day), window or 0, clerk or "", service or "")
        for kind, tags in (("h", reasons), ("n", national)):
            for tag in _tags(tags):
                delta.reasons[(*key, kind, tag)] += 1
    delta._write_promises(conn)


# --- reading the promises' summary -----------------------------------------------------

P_DIMS = {"hall": "hall_id", "window": '"window"', "staff": "clerk", "service": "service"}


def promise_rows(conn, dim: str, start: date, end: date, hall: Optional[str] = None) -> list[tuple]:
    """(key, waits, wait_over, judged, services, service_over, serving_ms) as stats._over_sql;
    by hall, the rows are per (hall, window) too: (hall, window, …) for the idle time."""
    key = "hall_id, \"window\"" if dim == "hall" else P_DIMS[dim]
    h = "AND hall_id = %(hall)s" if hall else ""
    return conn.execute(f"""
        SELECT {key}, sum(waits)::bigint, sum(wait_over)::bigint, sum(wait_judged)::bigint,
               sum(services)::bigint, sum(service_over)::bigint, sum(serving_ms)::bigint
        FROM city_promise_cells WHERE day BETWEEN %(start)s AND %(end)s {h}
          AND (waits > 0 OR services > 0)
        GROUP BY {key}""", {"start": start, "end": end, "hall": hall}).fetchall()


def reason_rows(conn, dim: str, start: date, end: date, hall: Optional[str] = None) -> list[tuple]:
    """(key, kind, reason, count) of the 差评 reasons, as stats._reasons_sql and _national_sql."""
    key = P_DIMS[dim]
    h = "AND hall_id = %(hall)s" if hall else ""
    return conn.execute(f"""
        SELECT {key}, kind, reason, sum(n)::bigint FROM city_reasons
        WHERE day BETWEEN %(start)s AND %(end)s {h}
        GROUP BY {key}, kind, reason HAVING sum(n) > 0""",
        {"start": start, "end": end, "hall": hall}).fetchall()


def open_time(conn, start: date, end: date, now: datetime, hall: Optional[str] = None,
              totals: bool = False) -> dict:
    """{(hall, window, clerk): open ms} over the days start..end, equal to stats.open_time
    (the raw path); with ``totals`` the clerk is left out ('') where only the window's sum
    is needed (the hall's idle time)."""
    if totals:
        return _open_totals(conn, start, end, now, hall)
    h = "AND hall_id = %(hall)s" if hall else ""
    args = {"start": start, "end": end, "hall": hall}
    tzs = dict(conn.execute("SELECT hall_id, tz FROM halls").fetchall())
    before = _before(conn, start, hall)
    rows = conn.execute(f"""
        SELECT hall_id, "window", day, tz, first_ms, seg_clerks, seg_ms, end_status, end_clerk
        FROM city_window_days WHERE day BETWEEN %(start)s AND %(end)s {h}
        ORDER BY hall_id, "window", day""", args).fetchall()
    out: dict = {}
    now_ts = now.timestamp()
    keys = sorted(set(before) | {(r[0], r[1]) for r in rows})
    by_window: dict = defaultdict(list)
    for r in rows:
        by_window[(r[0], r[1])].append(r)
    for hall_id, window in keys:
        tz_name = tzs.get(hall_id) or "Asia/Shanghai"
        tz = ZoneInfo(tz_name)
        today = now.astimezone(tz).date()

        def add(clerk, ms, _k=(hall_id, window)):
            k = (*_k, "" if totals else clerk)
            out[k] = out.get(k, 0) + ms

        carried = before.get((hall_id, window))
        d = start
        for r in by_window.get((hall_id, window), []) + [None]:
            last = (r[2] - timedelta(days=1)) if r is not None else end
            if carried is not None and carried[0] == "open" and d <= last:
                _whole_days(carried[1], d, last, today, tz, now_ts, add)
            if r is None:
                break
            day, row_tz, first, seg_clerks, seg_ms = r[2], r[3], r[4], r[5], r[6]
            if day < today and row_tz == tz_name:
                if carried is not None and carried[0] == "open" and first is not None:
                    add(carried[1], first)
                for c, ms in zip(seg_clerks, seg_ms):
                    add(c, ms)
            else:  # a day not over yet (or the hall's time zone changed): from its events
                ts, status, clerks = conn.execute(
                    'SELECT ts, status, clerks FROM city_window_days WHERE hall_id = %s AND '
                    '"window" = %s AND day = %s', [hall_id, window, day]).fetchone()
                lo = _midnight(day, tz)
                stop = min(_midnight(day + timedelta(days=1), tz), now_ts)
                walk_day(carried, list(zip(ts, status, clerks)), lo, stop, add)
            carried = (r[7], r[8])
            d = day + timedelta(days=1)
    return out


def _whole_days(clerk: str, first: date, last: date, today: date, tz, now_ts: float, add) -> None:
    """Days first..last open from midnight to midnight (or now), as the raw path counts a day
    without events of a window left open: each day's length, rounded alone (whole seconds)."""
    past_end = min(last, today - timedelta(days=1))
    if first <= past_end:
        add(clerk, int(round((_midnight(past_end + timedelta(days=1), tz) - _midnight(first, tz)) * 1000)))
    if first <= today <= last:
        lo = _midnight(today, tz)
        stop = min(_midnight(today + timedelta(days=1), tz), now_ts)
        if stop > lo:
            add(clerk, int(round((stop - lo) * 1000)))


def _before(conn, start: date, hall: Optional[str]) -> dict:
    """{(hall, window): (status, clerk)} of each window's last event (greatest epoch, seq)
    before ``start``: the windows by a skip scan of the key, then one index probe each."""
    h = "WHERE hall_id = %(hall)s" if hall else ""
    h2 = "AND t.hall_id = %(hall)s" if hall else ""
    return {(r[0], r[1]): (r[2], r[3]) for r in conn.execute(f"""
        WITH RECURSIVE w AS (
            (SELECT hall_id, "window" FROM city_window_days {h} ORDER BY hall_id, "window" LIMIT 1)
            UNION ALL
            SELECT x.hall_id, x."window" FROM w, LATERAL (
                SELECT t.hall_id, t."window" FROM city_window_days t
                WHERE (t.hall_id, t."window") > (w.hall_id, w."window") {h2}
                ORDER BY t.hall_id, t."window" LIMIT 1) x)
        SELECT w.hall_id, w."window", b.end_status, b.end_clerk FROM w, LATERAL (
            SELECT end_status, end_clerk FROM city_window_days t
            WHERE t.hall_id = w.hall_id AND t."window" = w."window" AND t.day < %(start)s
            ORDER BY t.end_epoch DESC, t.end_seq DESC LIMIT 1) b""",
        {"start": start, "hall": hall}).fetchall()}


def _open_totals(conn, start: date, end: date, now: datetime, hall: Optional[str]) -> dict:
    """``open_time`` summed per window ({(hall, window, ''): ms}), in numpy: a window's
    days over are (open at midnight ? first segment : 0) + its other segments, the days
    without events between them whole days of the state carried in; a day not over yet (or
    of a changed time zone) is walked from its events as in ``open_time``."""
    import numpy as np
    h = "AND hall_id = %(hall)s" if hall else ""
    tzs = dict(conn.execute("SELECT hall_id, tz FROM halls").fetchall())
    before = _before(conn, start, hall)
    rows = conn.execute(f"""
        SELECT hall_id, "window", day - %(start)s::date, tz, coalesce(first_ms, -1),
               seg_total, has_segs, coalesce(end_status = 'open', false)
        FROM city_window_days WHERE day BETWEEN %(start)s AND %(end)s {h}
        ORDER BY day""", {"start": start, "end": end, "hall": hall}).fetchall()  # the index's order
    out: dict = {}
    now_ts = now.timestamp()
    n_days = (end - start).days + 1
    groups: dict = defaultdict(list)
    for r in rows:
        groups[(r[0], r[1])].append(r)
    for key in set(before) - set(groups):
        groups[key] = []
    by_tz: dict = defaultdict(list)
    for (hall_id, window) in groups:
        by_tz[tzs.get(hall_id) or "Asia/Shanghai"].append((hall_id, window))
    for tz_name, keys in by_tz.items():
        tz = ZoneInfo(tz_name)
        today = (now.astimezone(tz).date() - start).days   # as an offset from start
        mid = np.array([_midnight(start + timedelta(days=i), tz) for i in range(n_days + 1)])
        for key in keys:
            rs = groups[key]
            b = before.get(key)
            state = b is not None and b[0] == "open"
            total, present, d = 0, False, 0
            for r in rs + [None]:
                hall_id, window, off, row_tz, first, seg, has, end_open = r or (None,) * 8
                last = (off - 1) if r is not None else n_days - 1
                if state and d <= last:   # whole days d..last of the state carried in
                    past_end = min(last, today - 1)
                    if d <= past_end:
                        total += int(round((mid[past_end + 1] - mid[d]) * 1000))
                        present = True
                    if d <= today <= last and today < n_days:
                        lo = mid[today]
                        stop = min(_midnight(start + timedelta(days=today + 1), tz), now_ts)
                        if stop > lo:
                            total += int(round((stop - lo) * 1000))
                            present = True
                if r is None:
                    break
                if off < today and row_tz == tz_name:
                    if state and first >= 0:
                        total += first
                        present = True
                    total += seg
                    present = present or has
                else:
                    acc = []
                    ts, status, clerks = conn.execute(
                        'SELECT ts, status, clerks FROM city_window_days WHERE hall_id = %s AND '
                        '"window" = %s AND day = %s', [hall_id, window, start + timedelta(days=off)]).fetchone()
                    day = start + timedelta(days=off)
                    walk_day(("open", "") if state else None, list(zip(ts, status, clerks)),
                             _midnight(day, tz), min(_midnight(day + timedelta(days=1), tz), now_ts),
                             lambda c, ms: acc.append(ms))
                    total += sum(acc)
                    present = present or bool(acc)
                state = end_open
                d = off + 1
            if present:
                out[(key[0], key[1], "")] = total
    return out
