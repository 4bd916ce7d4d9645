"""The city's per-day summary on a real PostgreSQL: its answers equal the raw computation
over the stored events (``stats.rows_raw``, ``stats.days_raw``, the oracle) to the last
digit, for a randomized multi-hall, multi-day data set sent in batches of random size,
with late halls, batches sent again, gaps, appeals that exclude a rating and undo it,
ratings without a ticket, call-backs, times at millisecond resolution across the
histogram's bucket edges, and a restore's new epoch. The events table is partitioned
by month, with the months ahead made before they are needed."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from city_kit import Postgres, qrate
from server.city import db as city_db
from server.city import stats, summary

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=TZ)
FIRST, LAST = date(2026, 10, 27), date(2026, 12, 3)
EDGES = [0, 1, 4999, 5000, 5001, 3_599_999, 3_600_000, 3_600_001, 14_399_999, 14_400_000,
         14_400_001, 20_000_000,
         60_000, 300_000, 300_001, 600_000, 900_500, 900_501, 1_200_000]  # the targets' edges


@pytest.fixture(scope="module")
def postgres():
    pg = Postgres().start()
    yield pg
    pg.stop()


class Hall:
    """A made-up hall's event log, in the forwarder's shape."""

    def __init__(self, hall_id: str, rng: random.Random, epoch: int = 1, seq: int = 0,
                 ids: int = 0):
        self.hall_id, self.rng, self.epoch = hall_id, rng, epoch
        self.seq, self.ticket, self.rating, self.case = seq, ids, ids, ids
        self.events: list[dict] = []
        self.ratings: dict[int, dict] = {}
        # promises kept: the configuration in force from each seq (the forwarder attaches the
        # one in force to a batch's first event, and each config.changed carries its own)
        self.configs: list[tuple[int, dict]] = [(0, self._promises())]

    def _promises(self) -> dict:
        """Targets per service; C has no wait target (its waits are not judged), E is absent."""
        r = self.rng
        return {"services": {"A": {"target_wait_s": r.choice([300, 600, 900.5]),
                                   "target_service_s": r.choice([120, 300])},
                             "B": {"target_wait_s": r.choice([60, 1200]), "target_service_s": 600},
                             "C": {"target_wait_s": None, "target_service_s": 900}},
                "reason_map": {"long_wait": "efficiency", "attitude": "attitude"}}

    def config_at(self, seq: int) -> dict:
        at = [c for c in self.configs if c[0] <= seq][-1]
        return {"seq": at[0], "promises": at[1]}

    def change_config(self, day: date, sec: int) -> None:
        promises = self._promises()
        e = self.add("config.changed", day, sec, data={"keys": ["services"]})
        self.configs.append((e["seq"], promises))
        e["config"] = {"seq": e["seq"], "promises": promises}

    def windows(self, day: date, sec: int, closing: bool) -> None:
        """Windows opened in the morning by a clerk, some handed over at noon, some left open
        overnight (their open time runs on through the days without events)."""
        for w in range(1, 5):
            if self.rng.random() < 0.3:
                continue
            self.add("window.changed", day, sec + w, window=w,
                     data={"status": "open", "clerk": f"10{w:02d}"})
            if self.rng.random() < 0.3:
                self.add("window.changed", day, sec + 4 * 3600 + w, window=w,
                         data={"status": self.rng.choice(["open", "paused"]), "clerk": "1099"})
            if closing and self.rng.random() < 0.7:
                self.add("window.changed", day, sec + 9 * 3600 + w, window=w,
                         data={"status": "closed", "clerk": None})

    def _ms_time(self) -> float:
        r = self.rng.random()
        if r < 0.08:
            return self.rng.choice(EDGES) / 1000
        if r < 0.5:
            return float(self.rng.randint(0, 1500))          # whole seconds, repeats
        return round(self.rng.uniform(0, 2400), 3)           # milliseconds

    def add(self, kind: str, day: date, sec: int, **kw) -> dict:
        self.seq += 1
        at = datetime.combine(day, datetime.min.time(), TZ) + timedelta(seconds=sec)
        e = {"seq": self.seq, "type": kind, "at": at.isoformat(), "ts": at.timestamp(),
             "day": day.isoformat(), "ticket": kw.pop("ticket", None),
             "window": kw.pop("window", None), "clerk": kw.pop("clerk", None),
             "service": kw.pop("service", None), "data": kw.pop("data", {})}
        e.update(kw)
        self.events.append(e)
        return e

    def rate(self, day: date, sec: int, ticket, window, clerk, service) -> None:
        self.rating += 1
        score = self.rng.choice([1, 2, 3, 4, 4, 5, 5, 5])
        at = datetime.combine(day, datetime.min.time(), TZ) + timedelta(seconds=sec)
        reasons = self.rng.sample(["long_wait", "attitude", "knowledge", "other"], self.rng.randint(0, 2))
        national = sorted({{"long_wait": "efficiency", "knowledge": "level"}.get(t, t) for t in reasons})
        r = {"id": self.rating, "ticket": ticket, "score": score, "reasons": reasons, "comment": "",
             "national_reasons": national,
             "window": window, "clerk": clerk, "service": service, "day": day.isoformat(),
             "source": "touch", "created_at": at.isoformat(), "ts": at.timestamp(), "excluded": 0}
        self.ratings[r["id"]] = r
        extra = {}
        if score <= 2:
            self.case += 1
            extra["case"] = {"id": self.case, "rating": r["id"], "window": window, "clerk": clerk,
                             "service": service, "opened_at": at.isoformat(),
                             "callback_due": (at + timedelta(hours=24)).isoformat(),
                             "callback_done_at": (at + timedelta(hours=self.rng.choice([2, 30]))).isoformat(),
                             "rectify_due": (at + timedelta(days=5)).isoformat()}
        self.add("rating.created", day, sec, ticket=ticket, window=window, clerk=clerk,
                 service=service, data={"score": score}, rating=dict(r), **extra)

    def day(self, day: date, tickets: int) -> None:
        rng = self.rng
        sec = 8 * 3600
        self.windows(day, sec - 600, closing=rng.random() < 0.8)
        if rng.random() < 0.1:
            self.change_config(day, sec + 3600)
        for _ in range(tickets):
            sec += rng.randint(5, 200)
            self.ticket += 1
            t, service = self.ticket, rng.choice("ABC")
            self.add("ticket.issued", day, sec, ticket=t, service=service, data={"service": service})
            if rng.random() < 0.1:
                continue  # still waiting at the day's end
            window = rng.randint(1, 4)
            clerk = f"10{window:02d}" if rng.random() < 0.9 else "1099"
            self.add("ticket.called", day, sec + 1, ticket=t, window=window, clerk=clerk,
                     service=service, data={"how": "next", "wait_s": self._ms_time()})
            roll = rng.random()
            if roll < 0.08:
                self.add("ticket.no_show", day, sec + 2, ticket=t, window=window, clerk=clerk,
                         service=service)
                if rng.random() < 0.5:  # called back later: no new wait
                    self.add("ticket.called", day, sec + 3, ticket=t, window=window, clerk=clerk,
                             service=service, data={"how": "callback", "wait_s": 99.0})
                continue
            if roll < 0.14:
                self.add("ticket.transferred", day, sec + 2, ticket=t, window=window,
                         service="E", data={"from_service": service, "service": "E"})
                service, window = "E", 5
                self.add("ticket.called", day, sec + 3, ticket=t, window=window, clerk="1005",
                         service=service, data={"how": "next", "wait_s": self._ms_time()})
                clerk = "1005"
            self.add("ticket.recalled", day, sec + 4, ticket=t, window=window, clerk=clerk,
                     service=service, data={})
            self.add("ticket.finished", day, sec + 5, ticket=t, window=window, clerk=clerk,
                     service=service, data={"service_s": self._ms_time()})
            if rng.random() < 0.6:
                self.rate(day, sec + 6, t, window, clerk, service)
        if rng.random() < 0.5:  # a case rated at the window without a ticket (一次一评)
            w = rng.randint(1, 4)
            self.rate(day, sec + 7, None, w, f"10{w:02d}", None)
        self.add("window.changed", day, sec + 8, window=1, data={"status": "closed"})

    def appeal(self, day: date, excluded: bool) -> None:
        """An appeal decided (or undone) on a past rating: its case.changed carries it."""
        r = self.rng.choice(list(self.ratings.values()))
        r = {**r, "excluded": 1 if excluded else 0}
        self.ratings[r["id"]] = r
        self.add("case.changed", day, 17 * 3600, data={"step": "appeal"}, rating=dict(r))


def send(conn, hall: Hall, after: int, events: list[dict]) -> dict:
    return city_db.ingest(conn, hall.hall_id, hall.epoch, after, events, tz="Asia/Shanghai")


def send_in_batches(conn, hall: Hall, rng: random.Random, start: int = 0) -> None:
    """Everything from seq ``start`` on, in batches of random size, some of them sent twice
    or overlapping (their answer was lost) and a gap now and then (refused)."""
    events = [e for e in hall.events if e["seq"] > start]
    i, after = 0, start
    while i < len(events):
        n = rng.randint(1, 60)
        part = events[i:i + n]
        part = [dict(part[0], config=part[0].get("config") or hall.config_at(part[0]["seq"]))] + part[1:]
        out = send(conn, hall, after, part)
        assert out["ack"] == part[-1]["seq"] and not out["gap"]
        if rng.random() < 0.2:  # the same batch again: changes nothing
            again = send(conn, hall, after, part)
            assert again["stored"] == 0 and again["ack"] == part[-1]["seq"]
        if rng.random() < 0.15 and i > 3:  # an overlap from a little earlier
            back = max(0, i - rng.randint(1, 3))
            send(conn, hall, events[back - 1]["seq"] if back else start, events[back:i + n])
        if rng.random() < 0.1 and i + n + 2 < len(events):  # a gap: refused, nothing stored
            gap = send(conn, hall, events[i + n + 1]["seq"], events[i + n + 2:i + n + 4])
            assert gap["gap"] and gap["stored"] == 0
        after = part[-1]["seq"]
        i += n


RANGES = [(FIRST, LAST), (date(2026, 11, 1), date(2026, 11, 30)), (date(2026, 10, 30), date(2026, 11, 2)),
          (date(2026, 11, 15), date(2026, 11, 15)), (date(2026, 11, 3), date(2026, 12, 2)),
          (date(2026, 12, 1), date(2026, 12, 31)), (date(2025, 1, 1), date(2027, 12, 31))]


def assert_summary_equals_raw(conn, halls: list[str]) -> int:
    checked = 0
    for start, end in RANGES:
        a = dict(start=start.isoformat(), end=end.isoformat(), now=NOW)
        fast, raw = stats.rows(conn, dim="hall", **a), stats.rows_raw(conn, dim="hall", **a)
        assert fast == raw, (start, end, _diff(fast, raw))
        checked += len(fast)
        for h in halls:
            for dim in ("window", "staff", "service"):
                fast = stats.rows(conn, dim=dim, hall=h, **a)
                raw = stats.rows_raw(conn, dim=dim, hall=h, **a)
                assert fast == raw, (h, dim, start, end, _diff(fast, raw))
                checked += len(fast)
        assert stats.promises(conn, dim="hall", **a) == stats.promises_raw(conn, dim="hall", **a), \
            (start, end, _diff(stats.promises(conn, dim="hall", **a), stats.promises_raw(conn, dim="hall", **a)))
        for h in halls:
            for dim in ("window", "staff", "service"):
                fast = stats.promises(conn, dim=dim, hall=h, **a)
                raw = stats.promises_raw(conn, dim=dim, hall=h, **a)
                assert fast == raw, (h, dim, start, end, _diff(fast, raw))
                checked += len(fast)
        d = dict(start=start.isoformat(), end=end.isoformat())
        assert stats.days(conn, **d) == stats.days_raw(conn, **d)
        assert stats.days(conn, hall=halls[0], **d) == stats.days_raw(conn, hall=halls[0], **d)
    return checked


def _diff(fast, raw):
    if len(fast) != len(raw):
        return ("rows", len(fast), len(raw))
    for x, y in zip(fast, raw):
        if x != y:
            return {k: (x[k], y.get(k)) for k in x if x[k] != y.get(k)}


@pytest.mark.api
def test_the_summary_equals_the_raw_events_to_the_last_digit(postgres):
    url = postgres.new_database("summary")
    rng = random.Random(20261201)
    conn = city_db.connect(url)
    try:
        halls = []
        for name in ("一号大厅", "二号大厅", "三号大厅"):
            hall_id, _ = city_db.add_hall(conn, name)
            halls.append(Hall(hall_id, random.Random(rng.random())))
        for hall in halls:
            d = FIRST
            while d <= (NOW.date() if hall is halls[0] else LAST):  # the first works today too
                if d.isoweekday() != 7 or hall is halls[0]:
                    hall.day(d, rng.randint(3, 18))
                if rng.random() < 0.15 and hall.ratings:
                    hall.appeal(d, excluded=True)
                if rng.random() < 0.05 and hall.ratings:
                    hall.appeal(d, excluded=False)   # an upheld appeal undone
                d += timedelta(days=1)
        # the first two send as they go; the third was offline and sends it all late,
        # after the others' figures were read once
        for hall in halls[:2]:
            send_in_batches(conn, hall, rng)
        assert_summary_equals_raw(conn, [h.hall_id for h in halls[:2]])
        send_in_batches(conn, halls[2], rng)
        # hall 1 restores a backup taken at 2026-11-20: a new epoch whose seqs start again,
        # with events on days the city already holds
        restored = Hall(halls[0].hall_id, random.Random(7), epoch=2, seq=0, ids=50_000)
        for d in (date(2026, 11, 20), date(2026, 11, 21), date(2026, 12, 3)):
            restored.day(d, 12)
        send_in_batches(conn, restored, rng)
        checked = assert_summary_equals_raw(conn, [h.hall_id for h in halls])
        assert checked > 100
        # every figure is really there: waits over the bucket edges, exclusions, untied
        with conn.cursor() as cur:
            assert cur.execute("SELECT count(DISTINCT epoch) FROM events").fetchone()[0] == 2
            assert cur.execute("SELECT count(*) FROM ratings WHERE excluded").fetchone()[0] > 0
            assert cur.execute("SELECT count(*) FROM ratings WHERE ticket IS NULL").fetchone()[0] > 0
            assert cur.execute("SELECT max(wait_ms) FROM events").fetchone()[0] >= 14_400_000
        top = stats.rows(conn, dim="hall", start="2025-01-01", end="2027-12-31", now=NOW)
        assert all(r["wait_s"]["p90"] is not None and r["ratings"] > 0 for r in top)
        # the promises had something to judge: waits over a target, waits without one, open
        # and idle time, 差评 reasons of both kinds
        kept = stats.promises(conn, dim="hall", start="2025-01-01", end="2027-12-31", now=NOW)
        assert len(kept) == 3 and all(0 < r["wait_over_target_rate"] < 1 and r["judged_waits"] < r["waits"]
                                      and r["idle_share"] and r["low_reasons"] and r["low_reasons_national"]
                                      for r in kept), kept
        today = stats.promises(conn, dim="window", hall=halls[0].hall_id, start=NOW.date().isoformat(),
                               end=NOW.date().isoformat(), now=NOW)
        assert any(r["open_s"] for r in today) and all(r["open_s"] <= 12 * 3600 for r in today)  # midnight to now at most
        # the summary made again from the stored rows is the same as the one kept at intake
        tables = ("city_cells", "city_periods", "city_bins", "city_promise_cells", "city_window_days")

        def kept_rows(t):  # a cell whose only rating was later excluded stays, all zeros
            return [r for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4, 5").fetchall()
                    if any(v not in (0, [], None) for v in r[5:])]

        before = {t: kept_rows(t) for t in tables}
        reasons = "SELECT * FROM city_reasons WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7"
        before["city_reasons"] = conn.execute(reasons).fetchall()
        with conn.transaction():
            summary.rebuild(conn)
        after = {t: kept_rows(t) for t in tables}
        after["city_reasons"] = conn.execute(reasons).fetchall()
        assert before == after
    finally:
        conn.close()


@pytest.mark.api
def test_events_are_partitioned_by_month_and_the_months_ahead_exist(postgres):
    url = postgres.new_database("parts")
    conn = city_db.connect(url)
    try:
        hall_id, _ = city_db.add_hall(conn, "分区大厅")
        today = date.today().replace(day=1)
        ahead = [today]
        for _ in range(city_db.MONTHS_AHEAD):
            ahead.append((ahead[-1] + timedelta(days=32)).replace(day=1))
        parts = city_db.partitions(conn)
        assert all(f"events_{m:%Y%m}" in parts for m in ahead), parts
        # an event of a month long ago (a hall's clock was wrong, or a late backlog) gets
        # its month made on arrival, and is stored in it
        hall = Hall(hall_id, random.Random(3))
        hall.day(date(2024, 2, 29), 5)
        send_in_batches(conn, hall, random.Random(4))
        assert "events_202402" in city_db.partitions(conn)
        n = conn.execute("SELECT count(*) FROM events_202402").fetchone()[0]
        assert n == len(hall.events) == conn.execute("SELECT count(*) FROM events").fetchone()[0]
        # a month's query reads that month's partition only
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT count(*) FROM events WHERE day BETWEEN '2024-02-01' AND '2024-02-29'"))
        assert "events_202402" in plan and f"events_{today:%Y%m}" not in plan
        assert stats.rows(conn, dim="hall", start="2024-02-29", end="2024-02-29", now=NOW) == \
            stats.rows_raw(conn, dim="hall", start="2024-02-29", end="2024-02-29", now=NOW)
    finally:
        conn.close()


@pytest.mark.api
def test_an_older_city_database_is_partitioned_and_summarised_by_the_migration(postgres, monkeypatch):
    url = postgres.new_database("upgrade")
    rng = random.Random(11)
    with psycopg.connect(url, autocommit=True) as conn:
        monkeypatch.setattr(city_db, "MIGRATIONS", city_db.MIGRATIONS[:3])
        city_db.migrate(conn)
        hall_id, _ = city_db.add_hall(conn, "旧库大厅")
        hall = Hall(hall_id, rng)
        for d in (date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)):
            hall.day(d, 15)
        hall.appeal(date(2026, 11, 2), excluded=True)
        # what the intake of session 3 stored (one row per event, ratings, cases)
        with conn.transaction():
            for e in hall.events:
                conn.execute('INSERT INTO events (hall_id, epoch, seq, type, at, ts, day, ticket, '
                             '"window", clerk, service, data) VALUES (%s, 1, %s, %s, %s, %s, %s, '
                             '%s, %s, %s, %s, %s)',
                             [hall_id, e["seq"], e["type"], e["at"], e["ts"], e["day"], e["ticket"],
                              e["window"], e["clerk"], e["service"], psycopg.types.json.Jsonb(e["data"])])
            newest = {}
            for e in hall.events:
                if e.get("rating"):
                    newest[e["rating"]["id"]] = (e["seq"], e["rating"])
            # (its ratings table was keyed without the day: m007 partitions it by month)
            monkeypatch.setattr(city_db, "RATINGS_UPSERT", city_db.RATINGS_UPSERT.replace(
                "ON CONFLICT (hall_id, epoch, rating_id, day)", "ON CONFLICT (hall_id, epoch, rating_id)"))
            city_db._put_ratings(conn, hall_id, 1, list(newest.values()), summary.Delta())
        raw_before = stats.rows_raw(conn, dim="hall", start="2026-10-01", end="2026-11-30", now=NOW)
        monkeypatch.undo()
        assert city_db.migrate(conn) == ["m004_partitions", "m005_summary", "m005_summary_fill",
                                         "m_promises_hall_configs", "m006_promises",
                                         "m006_promises_fill", "m007_ratings_partitions"]
        assert city_db.migrate(conn) == []
        assert {"events_202610", "events_202611"} <= set(city_db.partitions(conn))
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == len(hall.events)
        assert conn.execute("SELECT to_regclass('events_unpartitioned')").fetchone()[0] is None
        # the ratings moved into their months' partitions, all of them
        assert {"ratings_202610", "ratings_202611"} <= set(city_db.partitions(conn, "ratings"))
        assert conn.execute("SELECT count(*) FROM ratings").fetchone()[0] == len(newest) > 0
        assert conn.execute("SELECT to_regclass('ratings_unpartitioned')").fetchone()[0] is None
        after = stats.rows(conn, dim="hall", start="2026-10-01", end="2026-11-30", now=NOW)
        assert after == raw_before and after[0]["served"] > 0
        for dim in ("window", "staff", "service"):
            a = dict(dim=dim, hall=hall_id, start="2026-10-31", end="2026-11-01", now=NOW)
            assert stats.rows(conn, **a) == stats.rows_raw(conn, **a)
            assert stats.promises(conn, **a) == stats.promises_raw(conn, **a)
        a = dict(dim="hall", start="2026-10-01", end="2026-11-30", now=NOW)
        kept = stats.promises(conn, **a)
        assert kept == stats.promises_raw(conn, **a) and kept[0]["waits"] > 0
        assert kept[0]["low_reasons"] and kept[0]["open_s"] > 0


@pytest.mark.unit
def test_the_bucket_keeps_order_and_the_array_version_agrees():
    values = sorted(EDGES + [-5, -1] + list(range(0, 30_000_000, 777_777)))
    b = [summary.bucket(v) for v in values]
    assert b == sorted(b) and b[0] == 0 and b[-1] == summary.N_BUCKETS - 1
    assert summary.buckets(values).tolist() == b
    months, days = summary.split_range(date(2026, 10, 30), date(2027, 1, 2))
    assert months == [date(2026, 11, 1), date(2026, 12, 1)]
    assert days == [date(2026, 10, 30), date(2026, 10, 31), date(2027, 1, 1), date(2027, 1, 2)]


@pytest.mark.api
def test_old_months_are_detached_not_dropped_and_the_figures_stay(postgres):
    url = postgres.new_database("retention")
    conn = city_db.connect(url)
    try:
        hall_id, _ = city_db.add_hall(conn, "归档大厅")
        hall = Hall(hall_id, random.Random(21))
        for d in (date(2024, 2, 27), date(2024, 2, 28), date(2024, 3, 1), date(2024, 3, 4)):
            hall.day(d, 12)
        send_in_batches(conn, hall, random.Random(22))
        assert {"ratings_202402", "ratings_202403"} <= set(city_db.partitions(conn, "ratings"))
        a = dict(start="2024-02-01", end="2024-03-31", now=NOW)
        figures = stats.rows(conn, dim="hall", **a)
        kept = stats.promises(conn, dim="hall", **a)
        assert figures == stats.rows_raw(conn, dim="hall", **a) and figures[0]["ratings"] > 0
        assert kept == stats.promises_raw(conn, dim="hall", **a) and kept[0]["waits"] > 0
        n_feb = conn.execute("SELECT count(*) FROM events WHERE day < '2024-03-01'").fetchone()[0]
        listed = qrate("city", "partitions", "--db", url).stdout
        assert any(line.split()[:2] == ["events", "2024-02"] and line.split()[-1] == "events_202402"
                   for line in listed.splitlines()), listed
        assert {(p["name"], p["attached"]) for p in city_db.partition_list(conn)} >= {
            ("events_202402", True), ("ratings_202402", True), ("events_202403", True)}
        # a month within the last three, or not a month: refused, nothing detached
        too_new = qrate("city", "partitions", "--db", url, "--detach-before",
                        date.today().strftime("%Y-%m"), check=False)
        assert too_new.returncode == 1 and "2024" not in too_new.stdout
        assert qrate("city", "partitions", "--db", url, "--detach-before", "2024-3", check=False).returncode == 1
        assert "events_202402" in city_db.partitions(conn)
        out = qrate("city", "partitions", "--db", url, "--detach-before", "2024-03").stdout
        assert "events_202402_detached" in out and "ratings_202402_detached" in out
        assert any(line.split()[:2] == ["events", "2024-02"] and line.split()[-1] == "events_202402_detached"
                   for line in out.splitlines()), out
        assert {(p["name"], p["attached"]) for p in city_db.partition_list(conn)} >= {
            ("events_202402_detached", False), ("ratings_202402_detached", False), ("events_202403", True)}
        # detached, not dropped: the rows are still there, outside the events table; the
        # summary keeps the month's figures
        assert "events_202402" not in city_db.partitions(conn)
        assert conn.execute("SELECT count(*) FROM events WHERE day < '2024-03-01'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM events_202402_detached").fetchone()[0] == n_feb > 0
        assert stats.rows(conn, dim="hall", **a) == figures
        assert stats.promises(conn, dim="hall", **a)[0]["waits"] == kept[0]["waits"]
        # a late event of the detached month still finds a partition (a new, empty one)
        late = hall.add("ticket.issued", date(2024, 2, 29), 9 * 3600, ticket=99_999, service="A",
                        data={"service": "A"})
        assert send(conn, hall, late["seq"] - 1, [late])["stored"] == 1
        assert "events_202402" in city_db.partitions(conn)
    finally:
        conn.close()
