"""`qrate seed-history`: a realistic past for a hall, written straight into the tables.

Arrivals follow the hour of day and the weekday; each service's windows are
simulated as one multi-server FIFO queue (so waits come from the queue, long at
the morning peak), service times are log-normal per service and per clerk,
some citizens do not come, a few are transferred to general enquiries, and
about two in three rate the service (worse after a long wait or with a weaker
clerk). Rows have exactly the shapes the service layer writes (tickets,
ticket_events with the same data fields, ratings, windows_state), so the
figures come from the same code as in a live hall. The generator writes
nothing itself: each day's rows go through the service layer
(``Operations.import_history``), one transaction per day.
"""
from __future__ import annotations

import heapq
import json
import math
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Iterator

from . import config

# Arrivals per hour relative to the day's mean, and per weekday (ISO 1..7).
HOUR_SHAPE = {8: 0.7, 9: 1.5, 10: 1.6, 11: 1.2, 12: 0.35, 13: 0.6, 14: 1.3, 15: 1.2, 16: 0.9,
              17: 0.35}
WEEKDAY = {1: 1.15, 2: 1.05, 3: 1.0, 4: 0.95, 5: 1.05, 6: 0.6, 7: 0.3}
# Mean service time in seconds per service (unknown codes: 120 s).
MEAN_SERVICE_S = {"A": 75, "B": 95, "C": 190, "D": 115, "E": 45}
GAP_S = (3, 10)  # from one finish to the next call
UTILISATION = 0.82
NO_SHOW = 0.04
RECALL = 0.05
TRANSFER = 0.015
RATED = 0.65
LOW_REASONS = ["long_wait", "efficiency", "attitude", "knowledge", "other"]  # the pad's tags (server.engine.RATING_REASONS)


def expand_hall(hall_dir: Path, windows: int) -> int:
    """Append windows (and their clerks) to hall.toml until it has ``windows``; returns how many added."""
    cfg = config.load(hall_dir)
    have = sorted(cfg.windows)
    if len(have) >= windows:
        return 0
    lines = []
    base = [cfg.windows[n] for n in have]
    for i, n in enumerate(range(max(have) + 1, max(have) + 1 + windows - len(have))):
        like = base[i % len(base)]
        services = ", ".join(f'"{s}"' for s in like.services)
        lines.append(f'\n[[windows]]\nnumber = {n}\nname = "{n}号窗口"\nservices = [{services}]\n')
    for n in range(1, windows + 6):
        no = str(1000 + n)
        if no not in cfg.staff:
            lines.append(f'\n[[staff]]\nemployee_no = "{no}"\nname = "工作人员{no}"\nrole = "clerk"\n'
                         f'commitment = "热情服务，限时办结。"\n')
    path = hall_dir / "hall.toml"
    with path.open("a", encoding="utf-8") as f:
        f.write("\n# Added by `qrate seed-history --windows`.\n" + "".join(lines))
    return windows - len(have)


class Generator:
    """Makes days of history for one hall, continuing after its existing ids."""

    def __init__(self, cfg, max_ids: tuple[int, int, int], seed: int = 1):
        self.cfg = cfg
        self.rng = random.Random(seed)
        self.windows = sorted(cfg.windows)
        self.pools: dict[str, list[int]] = {}
        for n in self.windows:
            first = cfg.windows[n].services[0] if cfg.windows[n].services else None
            if first:
                self.pools.setdefault(first, []).append(n)
        clerks = [str(1000 + n) for n in range(1, len(self.windows) + 6)]
        self.base_clerk = {n: clerks[i] for i, n in enumerate(self.windows)}
        self.relief = clerks[len(self.windows):]
        # Each clerk's speed (service time factor) and care (rating quality).
        self.speed = {c: self.rng.uniform(0.85, 1.15) for c in clerks}
        self.care = {c: self.rng.uniform(0.85, 1.0) for c in clerks}
        for c in clerks[6::13]:
            self.speed[c] = 1.6   # a few slow clerks
        for c in clerks[9::11]:
            self.care[c] = 0.35   # and a few with many poor ratings
        self.ticket_id, self.seq, self.rating_id = max_ids
        self.counts = {"tickets": 0, "events": 0, "ratings": 0}

    @staticmethod
    def _slices(periods):
        """(start, end) seconds of the day: the opening periods cut at each clock hour."""
        for a, b in periods:
            start = a.hour * 3600 + a.minute * 60
            end = (b.hour * 3600 + b.minute * 60) if b != time.max else 86340
            sec = start
            while sec < end:
                hour_end = min(end, (sec // 3600 + 1) * 3600)
                yield sec, hour_end
                sec = hour_end

    @classmethod
    def _hours(cls, periods) -> dict[int, float]:
        """Seconds of each clock hour inside the opening periods."""
        out: dict[int, float] = {}
        for sec, hour_end in cls._slices(periods):
            out[sec // 3600] = out.get(sec // 3600, 0) + hour_end - sec
        return out

    # -- one day --------------------------------------------------------------
    def day(self, d: date) -> dict:
        """One day's rows: {"tickets", "events", "ratings", "closed_windows"} (see Store.load_history)."""
        cfg, rng = self.cfg, self.rng
        tz = cfg.tz
        midnight = datetime.combine(d, time(), tz)
        base_ts = midnight.timestamp()
        offset = midnight.strftime("%z")
        offset = f"{offset[:3]}:{offset[3:]}"
        day_iso = d.isoformat()
        weekday = d.isoweekday()

        def iso(sec: int) -> str:
            h, rem = divmod(sec, 3600)
            m, s = divmod(rem, 60)
            if h >= 24:
                return (midnight + timedelta(seconds=sec)).isoformat()
            return f"{day_iso}T{h:02d}:{m:02d}:{s:02d}{offset}"

        events: list[tuple] = []   # (sec, order, type, ticket, window, clerk, service, data)
        tickets: dict[int, dict] = {}
        ratings: list[tuple] = []
        clerk_at = dict(self.base_clerk)
        for n in rng.sample(self.windows, min(3, len(self.windows))):
            clerk_at[n] = rng.choice(self.relief) if self.relief else clerk_at[n]
        open_windows = set()
        last_free = {}

        def arrivals(code: str) -> list[int]:
            svc = cfg.services[code]
            if weekday not in svc.days or code not in self.pools:
                return []
            periods = [(p.start, p.end) for p in svc.hours] or [(time(8, 30), time(17, 30))]
            mean = MEAN_SERVICE_S.get(code, 120)
            open_s = sum((datetime.combine(d, b if b != time.max else time(23, 59)) -
                          datetime.combine(d, a)).total_seconds() for a, b in periods)
            # each ticket holds its window for the service, the gap and any no-show wait
            held = mean + sum(GAP_S) / 2 + NO_SHOW * 120 + RECALL * 60
            per_day = UTILISATION * len(self.pools[code]) * open_s / held * WEEKDAY[weekday]
            shape_mean = sum(HOUR_SHAPE.get(h, 0.3) * overlap
                             for h, overlap in self._hours(periods).items()) / open_s
            out = []
            for sec, hour_end in self._slices(periods):
                share = (hour_end - sec) / open_s
                lam = per_day * share * HOUR_SHAPE.get(sec // 3600, 0.3) / shape_mean
                k = max(0, int(round(rng.gauss(lam, math.sqrt(lam))))) if lam > 0 else 0
                out += [rng.randrange(sec, hour_end) for _ in range(k)]
            return sorted(out)

        seqs: dict[str, int] = {}

        def issue(code: str, sec: int) -> dict:
            seqs[code] = seqs.get(code, 0) + 1
            self.ticket_id += 1
            number = f"{code}{seqs[code]:03d}"
            t = {"id": self.ticket_id, "service": code, "issue_service": code, "seq": seqs[code],
                 "number": number, "issued": sec, "leg": sec, "status": "waiting",
                 "window": None, "clerk": None, "called": None, "finished": None,
                 "recalls": 0, "calls": 0, "transfers": 0}
            tickets[t["id"]] = t
            events.append((sec, 0, "ticket.issued", t["id"], None, None, code,
                           f'{{"service": "{code}", "seq": {seqs[code]}, "number": "{number}", '
                           f'"day": "{day_iso}", "priority": false, "priority_kind": null}}'))
            return t

        def serve(code: str, queue: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
            """Run one service's windows over its queue; returns transfers to E."""
            pool = self.pools.get(code, [])
            if not pool or not queue:
                return []
            free = [(max(8 * 3600 + 25 * 60, last_free.get(n, 0)), n) for n in pool]
            heapq.heapify(free)
            moved = []
            mean = MEAN_SERVICE_S.get(code, 120)
            target = cfg.services[code].target_wait_s
            for arrive, t in queue:
                at, n = heapq.heappop(free)
                clerk = clerk_at[n]
                open_windows.add(n)
                start = max(arrive, at)
                t["calls"] += 1
                t.update(status="called", window=n, clerk=clerk, called=start)
                events.append((start, 1, "ticket.called", t["id"], n, clerk, code,
                               f'{{"how": "next", "number": "{t["number"]}", "service": "{code}", '
                               f'"wait_s": {float(start - arrive)}}}'))
                sec = start
                roll = rng.random()
                if roll < RECALL + NO_SHOW:
                    sec += 60
                    t["recalls"] = 1
                    events.append((sec, 2, "ticket.recalled", t["id"], n, clerk, code,
                                   f'{{"number": "{t["number"]}", "recalls": 1}}'))
                if roll < NO_SHOW:
                    sec += 60
                    t.update(status="no_show", finished=sec)
                    events.append((sec, 3, "ticket.no_show", t["id"], n, clerk, code,
                                   f'{{"number": "{t["number"]}", "service": "{code}"}}'))
                else:
                    st = max(20, int(rng.lognormvariate(math.log(mean * self.speed[clerk]) - 0.18, 0.6)))
                    if code != "E" and "E" in self.pools and rng.random() < TRANSFER:
                        sec += st // 2
                        t["transfers"] += 1
                        t.update(status="waiting", service="E", window=None, clerk=None,
                                 called=None, leg=sec)
                        events.append((sec, 3, "ticket.transferred", t["id"], n, None, "E",
                                       f'{{"number": "{t["number"]}", "from_service": "{code}", '
                                       f'"service": "E", "to_window": null, "note": ""}}'))
                        moved.append((sec, t))
                    else:
                        sec = start + st if sec == start else sec + st
                        service_s = sec - start
                        t.update(status="done", finished=sec)
                        events.append((sec, 3, "ticket.finished", t["id"], n, clerk, code,
                                       f'{{"number": "{t["number"]}", "service": "{code}", '
                                       f'"service_s": {float(service_s)}}}'))
                        if rng.random() < RATED:
                            self.rate(t, n, clerk, code, sec + rng.randint(3, 40),
                                      start - t["leg"] > target, events, ratings, iso, base_ts)
                free_at = sec + rng.randint(*GAP_S)
                last_free[n] = free_at
                heapq.heappush(free, (free_at, n))
            return moved

        moved: list = []
        for code in cfg.services:
            if code == "E":
                continue
            queue = [(sec, issue(code, sec)) for sec in arrivals(code)]
            moved += serve(code, queue)
        if "E" in cfg.services:
            queue = [(sec, issue("E", sec)) for sec in arrivals("E")] + moved
            queue.sort(key=lambda x: x[0])
            serve("E", queue)
        for t in tickets.values():  # anything the simulation left open ends the day cancelled
            if t["status"] == "waiting":
                t.update(status="cancelled", finished=86399)
                events.append((86399, 9, "ticket.cancelled", t["id"], None, None, t["service"],
                               f'{{"number": "{t["number"]}", "reason": "day_end"}}'))
        for n in sorted(open_windows):
            clerk = clerk_at[n]
            events.append((8 * 3600 + 25 * 60, -1, "window.changed", None, n, clerk, None,
                           f'{{"status": "open", "clerk": "{clerk}", "reason": "sign_in", "was": "closed"}}'))
            out = max(17 * 3600 + 35 * 60, last_free.get(n, 0) + 30)
            events.append((out, 9, "window.changed", None, n, None, None,
                           '{"status": "closed", "clerk": null, "reason": "sign_out", "was": "open"}'))
        # By time; sign-ins first and day-end last in their second; otherwise the
        # (stable) order of generation, which is causal for each ticket.
        events.sort(key=lambda e: (e[0], e[1] if e[1] in (-1, 9) else 0))
        rows = []
        last_seq: dict[int, int] = {}
        for sec, _, kind, ticket, window, clerk, service, data in events:
            self.seq += 1
            rows.append((self.seq, kind, iso(sec), base_ts + sec, day_iso, ticket, window, clerk,
                         service, data))
            if ticket is not None:
                last_seq[ticket] = self.seq
        ticket_rows = [(t["id"], day_iso, t["service"], t["seq"], t["number"], t["status"],
                        iso(t["issued"]), base_ts + t["issued"], iso(t["leg"]), t["window"], t["clerk"],
                        iso(t["called"]) if t["called"] is not None else None,
                        iso(t["finished"]) if t["finished"] is not None else None,
                        t["recalls"], t["calls"], t["transfers"], t["issue_service"],
                        f"s{t['id']:x}{self.rng.getrandbits(64):016x}", last_seq.get(t["id"], 0))
                       for t in tickets.values()]
        self.counts["tickets"] += len(tickets)
        self.counts["events"] += len(rows)
        self.counts["ratings"] += len(ratings)
        return {"tickets": ticket_rows, "events": rows, "ratings": ratings,
                "closed_windows": {n: self.seq for n in open_windows}}

    def rate(self, t, window, clerk, code, sec, waited_long, events, ratings, iso, base_ts) -> None:
        rng = self.rng
        low = 0.006 * (1 + 10 * (1 - self.care[clerk])) * (2 if waited_long else 1)
        roll = rng.random()
        if roll < low * 0.35:
            score = 1
        elif roll < low:
            score = 2
        elif roll < low + 0.02:
            score = 3
        elif roll < low + 0.15:
            score = 4
        else:
            score = 5
        reasons = []
        if score <= 2:
            reasons = ["long_wait"] if waited_long and rng.random() < 0.7 else \
                [rng.choice(LOW_REASONS[1:])]
        reasons_json = json.dumps(reasons, ensure_ascii=False)
        self.rating_id += 1
        events.append((sec, 4, "rating.created", t["id"], window, clerk, code,
                       f'{{"number": "{t["number"]}", "service": "{code}", "score": {score}, '
                       f'"reasons": {reasons_json}, "source": "touch"}}'))
        ratings.append((self.rating_id, t["id"], score, reasons_json, window, clerk, code,
                        datetime.fromtimestamp(base_ts, self.cfg.tz).date().isoformat(),
                        iso(sec), base_ts + sec))




def history(cfg, max_ids: tuple[int, int, int], first: date, last: date,
            seed: int = 1) -> tuple[Generator, Iterator[dict]]:
    """The generator (for its counts) and its days first..last, made one at a time."""
    gen = Generator(cfg, max_ids, seed)

    def days():
        d = first
        while d <= last:
            yield gen.day(d)
            d += timedelta(days=1)
    return gen, days()
