"""The city's figures, in PostgreSQL, with the hall's own definitions (docs/figures.md).

Counts, sums, percentiles (nearest rank: the ⌈p·n/100⌉-th smallest, in integers
``(p*n + 99) / 100``), maxima and the follow-up case counts are aggregated in SQL
from the stored events, ratings and cases; the rates are then made by the one
definition of each figure (``server.readside.figures``, pure Python), so a hall's
row at the city equals the hall's own ``/api/stats/...`` row to the last digit.

``rows`` and ``days`` read the per-day summary that the intake keeps
(server/city/summary.py: whole days, exact); ``rows_raw`` and ``days_raw`` compute the
same from the stored events, ratings and cases, and are the tests' oracle. The
follow-up case counts are computed from the cases at query time in both (their
deadlines are judged against the time of the query).

Times: the event's seconds become integer milliseconds as the hall's summary makes
them (``round(seconds * 1000)``, ties to even in both; the events table's generated
columns ``wait_ms``, ``service_ms`` and ``leg_service``, migration m003), and seconds
again on output.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import date as _date
from datetime import time as _time
from typing import Optional
from zoneinfo import ZoneInfo

from ..readside import figures as F
from . import summary

DIMS = {"hall": ("hall_id", "hall_id", "hall_id"),
        "window": ('coalesce("window", 0)', 'coalesce("window", 0)', 'coalesce(c."window", 0)'),
        "staff": ("coalesce(clerk, '')", "coalesce(clerk, '')", "coalesce(c.clerk, '')"),
        "service": ("s", "coalesce(service, '')", "coalesce(c.service, '')")}
ROW_KEYS = ("issued", "called", "served", "no_show", "transferred", "no_show_rate", "wait_s",
            "service_s", "ratings", "participation", "mean_score", "good_rate", "satisfied_rate",
            "levels", "callback_rate", "followup_rate")
LEG_TYPES = ("ticket.issued", "ticket.called", "ticket.finished", "ticket.no_show",
             "ticket.transferred")

_SPREAD = """cardinality({a}) AS {a}_n, {a}_sum,
    {a}[greatest(1, (50 * cardinality({a}) + 99) / 100)] AS {a}_p50,
    {a}[greatest(1, (90 * cardinality({a}) + 99) / 100)] AS {a}_p90,
    {a}[cardinality({a})] AS {a}_max"""


def _sql(dim: str, hall: bool) -> str:
    ev_key, rating_key, case_key = DIMS[dim]
    hall_ev = "AND hall_id = %(hall)s" if hall else ""
    hall_c = "AND c.hall_id = %(hall)s" if hall else ""
    return f"""
WITH ev AS (
    SELECT hall_id, "window", clerk, type, leg_service AS s, wait_ms, service_ms
    FROM events
    WHERE day BETWEEN %(start)s AND %(end)s AND type = ANY(%(types)s) {hall_ev}
), legs AS (
    SELECT {ev_key} AS k,
           count(*) FILTER (WHERE type = 'ticket.issued') AS issued,
           count(wait_ms) AS called,
           count(service_ms) AS served,
           count(*) FILTER (WHERE type = 'ticket.no_show') AS no_show,
           count(*) FILTER (WHERE type = 'ticket.transferred') AS transferred,
           coalesce(array_agg(wait_ms ORDER BY wait_ms) FILTER (WHERE wait_ms IS NOT NULL),
                    '{{}}') AS waits,
           sum(wait_ms) AS waits_sum,
           coalesce(array_agg(service_ms ORDER BY service_ms) FILTER (WHERE service_ms IS NOT NULL),
                    '{{}}') AS services,
           sum(service_ms) AS services_sum
    FROM ev GROUP BY 1
), legs2 AS (
    SELECT k, issued, called, served, no_show, transferred,
           {_SPREAD.format(a="waits")}, {_SPREAD.format(a="services")}
    FROM legs
), rt AS (
    SELECT {rating_key} AS k,
           count(*) FILTER (WHERE score = 1) AS r1, count(*) FILTER (WHERE score = 2) AS r2,
           count(*) FILTER (WHERE score = 3) AS r3, count(*) FILTER (WHERE score = 4) AS r4,
           count(*) FILTER (WHERE score = 5) AS r5,
           count(*) FILTER (WHERE ticket IS NULL) AS untied
    FROM ratings
    WHERE NOT excluded AND day BETWEEN %(start)s AND %(end)s {hall_ev}
    GROUP BY 1
), cs AS (
{_cases_body(case_key, hall_c)}
)
SELECT coalesce(l.k, r.k) AS k, coalesce(l.issued, 0), coalesce(l.called, 0),
       coalesce(l.served, 0), coalesce(l.no_show, 0), coalesce(l.transferred, 0),
       coalesce(l.waits_n, 0), l.waits_sum, l.waits_p50, l.waits_p90, l.waits_max,
       coalesce(l.services_n, 0), l.services_sum, l.services_p50, l.services_p90, l.services_max,
       coalesce(r.r1, 0), coalesce(r.r2, 0), coalesce(r.r3, 0), coalesce(r.r4, 0),
       coalesce(r.r5, 0), cs.cb_due, cs.cb_ok, cs.fu_due, cs.fu_ok, coalesce(r.untied, 0)
FROM legs2 l FULL JOIN rt r ON r.k = l.k
LEFT JOIN cs ON cs.k = coalesce(l.k, r.k)
ORDER BY 1
"""


def _cases_body(case_key: str, hall_c: str) -> str:
    return f"""    SELECT {case_key} AS k,
           count(*) FILTER (WHERE cb_due) AS cb_due,
           count(*) FILTER (WHERE cb_due AND callback_done_at <= callback_due) AS cb_ok,
           count(*) FILTER (WHERE fu_due) AS fu_due,
           count(*) FILTER (WHERE fu_due AND rectified_at IS NOT NULL AND replied_at IS NOT NULL
                            AND rectify_due IS NOT NULL AND rectified_at <= rectify_due
                            AND replied_at <= reply_due_) AS fu_ok
    FROM (SELECT c.*, coalesce(c.reply_due, c.rectify_due) AS reply_due_,
                 (c.callback_due IS NOT NULL AND (c.callback_due <= %(now)s
                  OR c.callback_done_at IS NOT NULL)) AS cb_due,
                 (coalesce(c.reply_due, c.rectify_due) IS NOT NULL
                  AND (coalesce(c.reply_due, c.rectify_due) <= %(now)s
                       OR (c.rectified_at IS NOT NULL AND c.replied_at IS NOT NULL))) AS fu_due
          FROM cases c JOIN halls h USING (hall_id)
          WHERE NOT c.excluded {hall_c}
            AND c.opened_at >= %(start)s::date - 1 AND c.opened_at < %(end)s::date + 2
            AND (c.opened_at AT TIME ZONE h.tz)::date BETWEEN %(start)s AND %(end)s) c
    GROUP BY 1"""


def _cases_sql(dim: str, hall: bool) -> str:
    """Per key: callback and follow-up cases due and done in time (raw: they depend on
    the time of the query)."""
    return _cases_body(DIMS[dim][2], "AND c.hall_id = %(hall)s" if hall else "")


def _spread(n, total, p50, p90, top) -> dict:
    if not n:
        return {"mean": None, "p50": None, "p90": None, "max": None}
    return {"mean": int(total) / n / 1000, "p50": p50 / 1000, "p90": p90 / 1000, "max": top / 1000}


def rows(conn, *, dim: str, start: str, end: str, now: datetime,
         hall: Optional[str] = None) -> list[dict]:
    """Rows of figures by hall (all halls), or by window | staff | service within one hall,
    from the per-day summary (server/city/summary.py); equal to ``rows_raw``."""
    _check(dim, hall)
    d0, d1 = date.fromisoformat(str(start)), date.fromisoformat(str(end))
    tuples = []
    if dim == "hall":
        for key, c in sorted(summary.hall_counts(conn, d0, d1, hall).items()):
            tuples.append((key, c["issued"], c["called"], c["served"], c["no_show"],
                           c["transferred"], *c["w"], *c["s"], c["r1"], c["r2"], c["r3"],
                           c["r4"], c["r5"], c["untied"], c["legs"]))
    else:
        tuples = summary.cell_rows(conn, dim, d0, d1, hall)
    # a key is there when it has a leg event or a rating that counts (as in rows_raw)
    tuples = [t for t in tuples if t[-1] or sum(t[16:21])]
    cases = {k: v for k, *v in conn.execute(_cases_sql(dim, hall is not None),
                                            {"start": start, "end": end, "now": now,
                                             "hall": hall}).fetchall()}
    return _make_rows(dim, [(*t[:21], *cases.get(t[0], (None,) * 4), t[21]) for t in tuples])


def rows_raw(conn, *, dim: str, start: str, end: str, now: datetime,
             hall: Optional[str] = None) -> list[dict]:
    """The same rows computed from the raw events, ratings and cases (the tests' oracle)."""
    _check(dim, hall)
    args = {"start": start, "end": end, "now": now, "hall": hall, "types": list(LEG_TYPES)}
    return _make_rows(dim, conn.execute(_sql(dim, hall is not None), args).fetchall())


def _check(dim: str, hall: Optional[str]) -> None:
    if dim not in DIMS:
        raise ValueError(dim)
    if dim != "hall" and hall is None:
        raise ValueError("a hall is needed below the hall level")


def _make_rows(dim: str, tuples) -> list[dict]:
    """The row figures from the aggregated tuples (the same for both paths)."""
    out = []
    for r in tuples:
        (key, issued, called, served, no_show, transferred, wn, wsum, w50, w90, wmax,
         sn, ssum, s50, s90, smax, r1, r2, r3, r4, r5, cb_due, cb_ok, fu_due, fu_ok, untied) = r
        by_person = dim in ("window", "staff")
        if by_person and not key:
            continue
        levels = [r1, r2, r3, r4, r5]
        n_ratings = sum(levels)
        if by_person and not (called or served or no_show or n_ratings):
            continue
        rating = F.satisfaction(levels)
        out.append({
            dim: key, "issued": called if by_person else issued, "called": called,
            "served": served, "no_show": no_show, "transferred": transferred,
            "no_show_rate": F.no_show_rate(no_show, served),
            "wait_s": _spread(wn, wsum, w50, w90, wmax),
            "service_s": _spread(sn, ssum, s50, s90, smax),
            "ratings": rating["ratings"], "participation": F.participation(n_ratings - untied, served),
            "mean_score": rating["mean_score"], "good_rate": rating["good_rate"],
            "satisfied_rate": rating["satisfied_rate"], "levels": F.levels_dict(levels),
            "callback_rate": F.ratio(cb_ok, cb_due) if cb_due is not None else None,
            "followup_rate": F.ratio(fu_ok, fu_due) if fu_due is not None else None})
    return out


def halls_table(conn, *, start: str, end: str, now: datetime, weights: Optional[dict] = None) -> list[dict]:
    """The halls side by side: their rows, names, and a rank by the city's weights."""
    names = {h: n for h, n in conn.execute("SELECT hall_id, name FROM halls").fetchall()}
    out = rows(conn, dim="hall", start=start, end=end, now=now)
    for row in out:
        row["name"] = names.get(row["hall"], row["hall"])
    return rank(out, weights or CITY_WEIGHTS)


CITY_WEIGHTS = {"satisfied_rate": 40, "good_rate": 20, "wait_p90": 20, "participation": 20}
WAIT_P90_BEST_S = 600.0  # a p90 wait at or below 10 minutes scores full marks on that part


def rank(rows_: list[dict], weights: dict, min_count: int = F.DEFAULT_MIN_COUNT) -> list[dict]:
    """The city's ranking: a 0–100 score from the weighted parts that have data, rank 1 best
    (ties share); a hall with fewer than min_count served or ratings has no score."""
    for row in rows_:
        parts = []
        if row["satisfied_rate"] is not None:
            parts.append((weights.get("satisfied_rate", 0), row["satisfied_rate"]))
        if row["good_rate"] is not None:
            parts.append((weights.get("good_rate", 0), row["good_rate"]))
        if row["participation"] is not None:
            parts.append((weights.get("participation", 0), min(1.0, row["participation"])))
        p90 = row["wait_s"]["p90"]
        if p90 is not None:
            parts.append((weights.get("wait_p90", 0), min(1.0, WAIT_P90_BEST_S / max(p90, 1e-9))))
        total_w = sum(w for w, _ in parts)
        if row["served"] < min_count or row["ratings"] < min_count or not total_w:
            row["score"] = None
        else:
            row["score"] = 100 * sum(w * v for w, v in parts) / total_w
    scores = [r["score"] for r in rows_ if r["score"] is not None]
    for row in rows_:
        row["rank"] = None if row["score"] is None else 1 + sum(1 for x in scores if x > row["score"])
    return sorted(rows_, key=lambda r: (r["rank"] is None, r["rank"] or 0, r["hall"]))


def days(conn, *, start: str, end: str, hall: Optional[str] = None) -> list[dict]:
    """Per hall and day: served and the satisfied rate (the dashboard's trend lines), from
    the summary's day rows; equal to ``days_raw``."""
    return [{"hall": hall_id, "day": day.isoformat(), "served": served, "ratings": n,
             "satisfied_rate": F.ratio(sat, n)}
            for hall_id, day, served, n, sat in summary.day_rows(
                conn, date.fromisoformat(str(start)), date.fromisoformat(str(end)), hall)]


def days_raw(conn, *, start: str, end: str, hall: Optional[str] = None) -> list[dict]:
    """The same from the raw events and ratings (the tests' oracle)."""
    sql = """
    SELECT coalesce(e.hall_id, r.hall_id), coalesce(e.day, r.day), coalesce(e.served, 0),
           coalesce(r.n, 0), coalesce(r.sat, 0)
    FROM (SELECT hall_id, day, count(*) AS served FROM events
          WHERE type = 'ticket.finished' AND day BETWEEN %(start)s AND %(end)s {h} GROUP BY 1, 2) e
    FULL JOIN (SELECT hall_id, day, count(*) AS n, count(*) FILTER (WHERE score >= 4) AS sat
               FROM ratings WHERE NOT excluded AND day BETWEEN %(start)s AND %(end)s {h}
               GROUP BY 1, 2) r ON r.hall_id = e.hall_id AND r.day = e.day
    ORDER BY 1, 2"""
    h = "AND hall_id = %(hall)s" if hall else ""
    out = []
    for hall_id, day, served, n, sat in conn.execute(sql.format(h=h), {"start": start, "end": end,
                                                                     "hall": hall}).fetchall():
        out.append({"hall": hall_id, "day": day.isoformat(), "served": served, "ratings": n,
                    "satisfied_rate": F.ratio(sat, n)})
    return out


# --- promises kept (服务承诺): targets, idle time, low-rating reasons ------------------------
#
# Each hall's batches carry the part of its configuration these figures need (targets per
# service, the reason-tag map), kept in hall_configs under (hall, epoch, seq) from where it
# was in force (server/forward.py with_promises). A wait or service time is judged by the
# target of its service in force when it happened; open time comes from window.changed as at
# the hall (readside/summary._open_time); the low-rating reasons are the tags of 差评 (1–2)
# not excluded. docs/city.md "Promises kept".

PROMISE_DIMS = ("hall", "window", "staff", "service")
TOP_REASONS = 5


def _over_sql(dim: str, hall: bool) -> str:
    ev_key = DIMS[dim][0]
    hall_ev = "AND hall_id = %(hall)s" if hall else ""
    return f"""
WITH ev AS (
    SELECT hall_id, epoch, seq, "window", clerk, leg_service AS s, wait_ms, service_ms
    FROM events
    WHERE day BETWEEN %(start)s AND %(end)s AND type IN ('ticket.called', 'ticket.finished')
      AND (wait_ms IS NOT NULL OR service_ms IS NOT NULL) {hall_ev}
), cfg AS (  -- each configuration from its seq to the next one's
    SELECT hall_id, epoch, seq AS lo, promises,
           coalesce(lead(seq) OVER (PARTITION BY hall_id, epoch ORDER BY seq),
                    9223372036854775807) AS hi
    FROM hall_configs WHERE true {hall_ev}
), lim AS (  -- one row per configuration and service: its limits in milliseconds
    SELECT c.hall_id, c.epoch, c.lo, c.hi, t.key AS s,
           (t.value->>'target_wait_s')::float8 * 1000 AS wait_limit,
           (t.value->>'target_service_s')::float8 * 1000 AS service_limit
    FROM cfg c, jsonb_each(c.promises->'services') t
), j AS (
    SELECT ev.*, l.wait_limit, l.service_limit
    FROM ev LEFT JOIN lim l ON l.hall_id = ev.hall_id AND l.epoch = ev.epoch AND l.s = ev.s
                           AND ev.seq >= l.lo AND ev.seq < l.hi
)
SELECT {ev_key} AS k, count(wait_ms), count(*) FILTER (WHERE wait_ms > wait_limit),
       count(wait_ms) FILTER (WHERE wait_limit IS NOT NULL),
       count(service_ms), count(*) FILTER (WHERE service_ms > service_limit),
       coalesce(sum(service_ms), 0)
FROM j GROUP BY 1
"""


def _reasons_sql(dim: str, hall: bool) -> str:
    key = DIMS[dim][1]
    hall_r = "AND hall_id = %(hall)s" if hall else ""
    return f"""
SELECT {key} AS k, reason, count(*)
FROM ratings, jsonb_array_elements_text(reasons) AS reason
WHERE NOT excluded AND score IN (1, 2) AND day BETWEEN %(start)s AND %(end)s {hall_r}
GROUP BY 1, 2
"""


def _national_sql(dim: str, hall: bool) -> str:
    key = DIMS[dim][1]
    hall_r = "AND hall_id = %(hall)s" if hall else ""
    return f"""
SELECT {key} AS k, reason, count(*)
FROM ratings, jsonb_array_elements_text(coalesce(extra->'national_reasons', '[]')) AS reason
WHERE NOT excluded AND score IN (1, 2) AND day BETWEEN %(start)s AND %(end)s {hall_r}
GROUP BY 1, 2
"""


def _top(counts: dict) -> list[dict]:
    """The hall's order: most first, then by code; the first five."""
    return [{"reason": r, "count": n}
            for r, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:TOP_REASONS]]


def open_time(conn, *, start: str, end: str, now: datetime, hall: Optional[str] = None) -> dict:
    """Milliseconds each (hall, window, clerk) was open on days start..end, from the halls'
    window.changed events, day by day exactly as the hall's summary counts them."""
    hall_w = "AND hall_id = %(hall)s" if hall else ""
    args = {"start": start, "end": end, "hall": hall}
    tzs = {h: tz for h, tz in conn.execute("SELECT hall_id, tz FROM halls").fetchall()}
    before = conn.execute(f"""
        SELECT DISTINCT ON (hall_id, "window") hall_id, "window", data->>'status', data->>'clerk'
        FROM events WHERE type = 'window.changed' AND day < %(start)s {hall_w}
        ORDER BY hall_id, "window", epoch DESC, seq DESC""", args).fetchall()
    during = conn.execute(f"""
        SELECT hall_id, day, "window", ts, data->>'status', data->>'clerk' FROM events
        WHERE type = 'window.changed' AND day BETWEEN %(start)s AND %(end)s {hall_w}
        ORDER BY hall_id, epoch, seq""", args).fetchall()
    state: dict = {}
    for hall_id, window, status, clerk in before:
        state.setdefault(hall_id, {})[window] = (status, clerk or "")
    by_day: dict = {}
    for hall_id, day, window, ts, status, clerk in during:
        by_day.setdefault(hall_id, {}).setdefault(day.isoformat(), []).append((window, ts, status, clerk))
    out: dict = {}
    first, last = _date.fromisoformat(start), _date.fromisoformat(end)
    for hall_id in set(state) | set(by_day):
        tz = ZoneInfo(tzs.get(hall_id) or "Asia/Shanghai")
        carried = {w: s for w, s in state.get(hall_id, {}).items()}
        days = by_day.get(hall_id, {})
        d = first
        while d <= last:
            lo = datetime.combine(d, _time(), tz).timestamp()
            hi = datetime.combine(d + timedelta(days=1), _time(), tz).timestamp()
            stop = min(hi, now.timestamp())
            opened = {w: (s, c, lo) for w, (s, c) in carried.items()}

            def close(window, until):
                status, clerk, since = opened[window]
                if status == "open" and until > since:
                    key = (hall_id, window, clerk)
                    out[key] = out.get(key, 0) + int(round((until - since) * 1000))

            for window, ts, status, clerk in days.get(d.isoformat(), []):
                ts = max(ts, lo)
                if window in opened:
                    close(window, min(ts, stop))
                opened[window] = (status, clerk or "", ts)
            for window in opened:
                close(window, stop)
            carried = {w: (s, c) for w, (s, c, _) in opened.items()}
            d += timedelta(days=1)
    return out


def promises(conn, *, dim: str, start: str, end: str, now: datetime,
             hall: Optional[str] = None) -> list[dict]:
    """Promises kept by hall (all halls), or by window | staff | service within one hall:

    - ``wait_over_target_rate`` and ``service_over_target_rate`` as the hall's rows have them;
      ``promise_kept_rate``: the share of waits within the promised wait (承诺时限内叫号);
      ``judged_waits``: how many waits had a target known to the city;
    - ``open_s``, ``serving_s``, ``idle_s`` (windows and clerks as at the hall; a hall's are
      the sums of its windows') and ``idle_share`` = idle / open;
    - ``low_reasons``: the top five reason tags of 差评 [{reason, count}], as at the hall, and
      ``low_reasons_national``: the same ratings' national reasons (好差评).

    Read from the summary the intake keeps (summary.py, m006); ``promises_raw`` computes the
    same from the stored events, ratings and hall_configs (the tests' oracle)."""
    _check_promises(dim, hall)
    first, last = _date.fromisoformat(start), _date.fromisoformat(end)
    over = summary.promise_rows(conn, dim, first, last, hall)
    win_serving = None
    if dim == "hall":  # rows per (hall, window): the hall's sums, and each window's serving
        win_serving, by_hall = {}, {}
        for h, w, *counts in over:
            win_serving[(h, w)] = win_serving.get((h, w), 0) + counts[5]
            acc = by_hall.setdefault(h, [0] * 6)
            for i, n in enumerate(counts):
                acc[i] += n
        over = [(h, *acc) for h, acc in by_hall.items()]
    reasons, national = [], []
    for k, kind, reason, n in summary.reason_rows(conn, dim, first, last, hall):
        (reasons if kind == "h" else national).append((k, reason, n))
    opened = None
    if dim != "service":
        opened = summary.open_time(conn, first, last, now, hall, totals=dim == "hall")
    return _promise_rows(dim, over, reasons, national, opened, win_serving)


def promises_raw(conn, *, dim: str, start: str, end: str, now: datetime,
                 hall: Optional[str] = None) -> list[dict]:
    """``promises`` computed from the stored events, ratings and hall_configs."""
    _check_promises(dim, hall)
    args = {"start": start, "end": end, "hall": hall}
    scoped = hall is not None
    over = conn.execute(_over_sql(dim, scoped), args).fetchall()
    reasons = conn.execute(_reasons_sql(dim, scoped), args).fetchall()
    national = conn.execute(_national_sql(dim, scoped), args).fetchall()
    opened = win_serving = None
    if dim != "service":
        opened = open_time(conn, start=start, end=end, now=now, hall=hall)
        if dim == "hall":
            win_serving = _serving_by(conn, "window", args, scoped)
    return _promise_rows(dim, over, reasons, national, opened, win_serving)


def _check_promises(dim: str, hall: Optional[str]) -> None:
    if dim not in PROMISE_DIMS:
        raise ValueError(dim)
    if dim != "hall" and hall is None:
        raise ValueError("a hall is needed below the hall level")


def _promise_rows(dim: str, over, reasons, national, opened: Optional[dict],
                  win_serving: Optional[dict]) -> list[dict]:
    """The rows from what both paths give: over-target counts per key, the 差评 reasons per
    key, open ms per (hall, window, clerk), and (by hall) service ms per (hall, window)."""
    rows: dict = {}

    def row(key):
        if key not in rows:
            rows[key] = {dim: key, "waits": 0, "wait_over": 0, "judged_waits": 0, "services": 0,
                         "service_over": 0, "serving_ms": 0, "open_ms": 0, "idle_ms": 0,
                         "reasons": {}, "national": {}}
        return rows[key]

    by_person = dim in ("window", "staff")
    for k, waits, w_over, judged, services, s_over, serving in over:
        if by_person and not k:
            continue
        r = row(k)
        r.update(waits=waits, wait_over=w_over, judged_waits=judged, services=services,
                 service_over=s_over, serving_ms=int(serving))
    for found, field in ((reasons, "reasons"), (national, "national")):
        for k, reason, n in found:
            if by_person and not k:
                continue
            row(k)[field][reason] = n
    if opened is not None:
        if dim == "hall":  # a hall's idle time: the sum of its windows' (each max(0, open - serving))
            per_window = {}
            for (h, w, _c), ms in opened.items():
                if w:
                    per_window[(h, w)] = per_window.get((h, w), 0) + ms
            for (h, w), ms in per_window.items():
                r = row(h)
                r["open_ms"] += ms
                r["idle_ms"] += max(0, ms - win_serving.get((h, w), 0))
        else:
            for (h, w, c), ms in opened.items():
                key = w if dim == "window" else c
                if ms and key:
                    row(key)["open_ms"] += ms
            serving = {k: r["serving_ms"] for k, r in rows.items()}
            for k, r in rows.items():
                r["idle_ms"] = max(0, r["open_ms"] - serving.get(k, 0))
    out = []
    for key in sorted(rows, key=lambda k: (k is None, k)):
        r = rows[key]
        item = {dim: key,
                "wait_over_target_rate": F.ratio(r["wait_over"], r["waits"]),
                "service_over_target_rate": F.ratio(r["service_over"], r["services"]),
                "promise_kept_rate": F.ratio(r["waits"] - r["wait_over"], r["waits"]),
                "waits": r["waits"], "judged_waits": r["judged_waits"],
                "low_reasons": _top(r["reasons"]), "low_reasons_national": _top(r["national"])}
        if dim != "service":
            item["open_s"] = r["open_ms"] / 1000
            item["serving_s"] = r["serving_ms"] / 1000
            item["idle_s"] = r["idle_ms"] / 1000 if r["open_ms"] else None
            item["idle_share"] = F.ratio(r["idle_ms"], r["open_ms"])
        out.append(item)
    return out


def _serving_by(conn, dim: str, args: dict, scoped: bool) -> dict:
    """(hall, key) → the sum of service milliseconds (the busy part of open time)."""
    key = DIMS[dim][0]
    hall_ev = "AND hall_id = %(hall)s" if scoped else ""
    return {(h, k): int(ms) for h, k, ms in conn.execute(f"""
        SELECT hall_id, {key}, coalesce(sum(service_ms), 0) FROM events
        WHERE day BETWEEN %(start)s AND %(end)s AND type = 'ticket.finished' {hall_ev}
        GROUP BY 1, 2""", args).fetchall()}


def targets(conn, hall: str, at: Optional[datetime] = None) -> Optional[dict]:
    """The hall's promises (targets per service, reason map) as last received, or None."""
    row = conn.execute("SELECT promises FROM hall_configs WHERE hall_id = %s "
                       "ORDER BY epoch DESC, seq DESC LIMIT 1", [hall]).fetchone()
    return row[0] if row else None
