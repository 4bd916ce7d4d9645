"""`qrate simulate`: a hall day drawn from the plan's model, played against a real
`qrate serve` over its public API, in compressed time.

Citizens take tickets at the kiosk API (Poisson arrivals per service and hour, at the
plan's rates); simulated clerks sign in at the planned windows for the hours they are
staffed, call the next ticket, recall and mark a no-show when the citizen does not
come, serve for a log-normal time with the service's mean and spread, finish, and the
window's pad rates about two services in three. The server runs on a test clock
(QRATE_TEST_NOW at the day's first hour, QRATE_TEST_SPEED = speed), so every wait and
service keeps its simulated length in the hall's own figures; at the end the
simulator reads /api/stats/hours for the day and prints the promise kept per service
and hour. docs/planning.md.
"""
from __future__ import annotations

import json
import math
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta
from pathlib import Path
from typing import Optional

from concurrent.futures import ThreadPoolExecutor

import requests

from . import auth, store
from .engine import N_

RATED = 0.65
KIOSKS = 6
SIGN_IN_LEAD_S = 600      # clerks sign in this long (hall time) before their shift
RECALL_AFTER_S = 10       # a citizen who does not come: recall after this long, each time
SIM_PASSWORD_BYTES = 12


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Staffing:
    """Which windows are staffed in which hour: {hour: [window, ...]}."""
    by_hour: dict[int, list[int]]

    def windows(self) -> list[int]:
        return sorted({w for ws in self.by_hour.values() for w in ws})


def staffing_from_plan(cfg, plan: dict, *, minus_at_peak: int = 0) -> Staffing:
    """The planned windows of each hour: for each group of services sharing windows (and
    each service on its own windows) its windows_needed, taken from its windows in
    order. ``minus_at_peak`` takes that many windows away at each group's busiest hour."""
    from .readside.planning import group_windows, groups
    by_hour: dict[int, list[int]] = {}
    for h in plan["hours"]:
        chosen: list[int] = []
        for part in h["parts"]:
            codes = part["service"].split("+")
            own = sorted(group_windows(cfg, codes))
            k = part["windows_needed"]
            if minus_at_peak:
                peak = max((x for x in plan["hours"]
                            for p in x["parts"] if p["service"] == part["service"]),
                           key=lambda x: next(p["windows_needed"] for p in x["parts"]
                                              if p["service"] == part["service"]))
                if peak["hour"] == h["hour"]:
                    k = max(1, k - minus_at_peak)
            chosen += own[:k]
        by_hour[h["hour"]] = sorted(chosen)
    return Staffing(by_hour)


def staffing_from_rota(cfg, day: date, hours: list[int]) -> Staffing:
    """The windows the [[rota]] schedules in each hour."""
    from .readside.planning import scheduled_windows
    return Staffing({h: sorted(scheduled_windows(cfg, day, h) or ()) for h in hours})


@dataclass
class Model:
    """The day's model, from the plan rows: per service and hour the arrival rate, the
    mean service time and spread and the no-show share."""
    rows: list[dict]

    def arrivals(self, hours: list[int], rng: random.Random) -> list[tuple[float, str]]:
        """(seconds after midnight, service) of every citizen, sorted."""
        out = []
        for r in self.rows:
            if r["hour"] not in hours or r["arrivals_per_h"] <= 0:
                continue
            t = r["hour"] * 3600.0
            end = t + 3600.0
            rate = r["arrivals_per_h"] / 3600.0
            while True:
                t += rng.expovariate(rate)
                if t >= end:
                    break
                out.append((t, r["service"]))
        return sorted(out)

    def service(self, code: str, hour: int) -> dict:
        mine = [r for r in self.rows if r["service"] == code]
        if not mine:
            return {"mean_service_s": 120.0, "service_cv": 0.5, "no_show_rate": 0.0}
        return min(mine, key=lambda r: abs(r["hour"] - hour))


@dataclass
class Tally:
    issued: int = 0
    refused: int = 0
    served: int = 0
    no_show: int = 0
    rated: int = 0
    rating_missed: int = 0
    errors: list = field(default_factory=list)
    late: list = field(default_factory=list)     # hall seconds each ticket came after its moment
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def error(self, text: str) -> None:
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append(text)


class SimClock:
    """The hall's time as the server reads it, followed on this side at the same speed."""

    def __init__(self, server_now: datetime, speed: float):
        self.origin_hall, self.origin, self.speed = server_now, time.monotonic(), speed

    def now(self) -> datetime:
        return self.origin_hall + timedelta(seconds=(time.monotonic() - self.origin) * self.speed)

    def sleep_until(self, when: datetime, stop: threading.Event) -> bool:
        """Sleep (real time) until the hall time ``when``; False when stopped."""
        while not stop.is_set():
            left = (when - self.now()).total_seconds() / self.speed
            if left <= 0:
                return True
            stop.wait(min(left, 0.5))
        return False

    def sleep(self, hall_seconds: float, stop: threading.Event) -> bool:
        return self.sleep_until(self.now() + timedelta(seconds=hall_seconds), stop)


def _lognormal(rng: random.Random, mean: float, cv: Optional[float]) -> float:
    cv = cv if cv and cv > 0 else 0.6
    s2 = math.log(1 + cv * cv)
    return rng.lognormvariate(math.log(mean) - s2 / 2, math.sqrt(s2))


class Clerk(threading.Thread):
    """A simulated clerk at one window: signs in for the hours the window is staffed,
    calls, recalls and marks no-shows, serves and finishes; the pad rates."""

    def __init__(self, sim: "Simulation", window: int, employee_no: str, pad_token: str,
                 hours: list[int], seed: int):
        super().__init__(daemon=True, name=f"clerk-{window}")
        self.sim, self.window, self.employee_no, self.pad = sim, window, employee_no, pad_token
        self.hours = sorted(hours)
        self.rng = random.Random(seed)
        self.http = requests.Session()
        self.token: Optional[str] = None

    def _post(self, path: str, body=None, token=None):
        return self.http.post(self.sim.url + path, json=body or {}, timeout=10,
                              headers={"Authorization": f"Bearer {token or self.token}"})

    def staffed(self, when: datetime) -> bool:
        return when.hour in self.hours and when.date() == self.sim.day

    def sign_in(self) -> None:
        r = self.http.post(self.sim.url + "/api/login", timeout=10,
                           json={"user": self.employee_no, "password": self.sim.password,
                                 "window": self.window})
        if r.status_code != 200:
            self.sim.tally.error(f"login {self.window}: {r.status_code} {r.text[:120]}")
            return
        self.token = r.json()["token"]

    def sign_out(self) -> None:
        if self.token:
            self._post("/api/logout")
            self.token = None

    def run(self) -> None:
        sim, stop = self.sim, self.sim.stop
        end = datetime.combine(sim.day, dtime(0), sim.cfg.tz) + timedelta(hours=sim.hours[-1] + 1)
        try:
            while not stop.is_set():
                now = sim.clock.now()
                # a clerk signs in a few minutes before the shift (signing in takes real time)
                soon = now + timedelta(seconds=SIGN_IN_LEAD_S)
                on_duty = (now.date() == sim.day and now.hour in self.hours) or \
                    (soon.date() == sim.day and soon.hour in self.hours and soon.hour != now.hour)
                # after the simulated hours a window still open serves the queue out
                draining = now >= end and self.token is not None
                if not (on_duty or draining):
                    self.sign_out()
                    if now >= end:
                        return
                    nxt = min([h for h in self.hours if h > now.hour] or [now.hour + 1])
                    start = datetime.combine(sim.day, dtime(min(nxt, 23)), now.tzinfo) \
                        - timedelta(seconds=SIGN_IN_LEAD_S)
                    sim.clock.sleep_until(min(start, now + timedelta(seconds=300)), stop)
                    continue
                if not self.token:
                    self.sign_in()
                    if not self.token:
                        sim.clock.sleep(60, stop)
                        continue
                called_at = sim.clock.now()
                r = self._post(f"/api/windows/{self.window}/call-next")
                if r.status_code == 204:
                    if draining and sim.arrivals_done.is_set() and sim.queue_empty():
                        return
                    sim.clock.sleep(self.rng.uniform(5, 15), stop)
                    continue
                if r.status_code != 200:
                    sim.tally.error(f"call-next {self.window}: {r.status_code} {r.text[:120]}")
                    sim.clock.sleep(30, stop)
                    continue
                self.serve(r.json(), called_at)
        finally:
            self.sign_out()

    def serve(self, ticket: dict, called_at: datetime) -> None:
        """Serve from the moment of the call: the time the requests take is part of the
        service, not added to it (so the compressed clock keeps the service times)."""
        sim, stop = self.sim, self.sim.stop
        code, tid = ticket["service"], ticket["id"]
        m = sim.model.service(code, sim.clock.now().hour)
        if self.rng.random() < (m.get("no_show_rate") or 0.0):
            for _ in range(sim.recalls_needed):
                sim.clock.sleep(RECALL_AFTER_S, stop)
                self._post(f"/api/tickets/{tid}/recall")
            sim.clock.sleep(RECALL_AFTER_S, stop)
            r = self._post(f"/api/tickets/{tid}/no-show")
            if r.status_code == 200:
                sim.tally.add("no_show")
            else:
                sim.tally.error(f"no-show {tid}: {r.status_code} {r.text[:120]}")
            return
        took = _lognormal(self.rng, m["mean_service_s"], m.get("service_cv"))
        sim.clock.sleep_until(called_at + timedelta(seconds=took), stop)
        r = self._post(f"/api/tickets/{tid}/finish")
        if r.status_code != 200:
            sim.tally.error(f"finish {tid}: {r.status_code} {r.text[:120]}")
            return
        sim.tally.add("served")
        if self.rng.random() < RATED:
            score = self.rng.choices([5, 4, 3, 2, 1], weights=[70, 20, 6, 3, 1])[0]
            body = {"ticket": tid, "score": score}
            if score <= 2:
                body["reasons"] = ["long_wait"]
            # the citizen rates on the pad while the clerk calls the next one
            sim.pad_jobs.submit(self._rate, body)

    def _rate(self, body: dict) -> None:
        try:
            r = requests.post(self.sim.url + "/api/ratings", json=body, timeout=10,
                              headers={"Authorization": f"Bearer {self.pad}"})
        except requests.RequestException as exc:
            self.sim.tally.error(f"rating: {exc}")
            return
        if r.status_code == 201:
            self.sim.tally.add("rated")
        elif r.status_code == 409:
            self.sim.tally.add("rating_missed")   # the window finished the next one first
        else:
            self.sim.tally.error(f"rating {body['ticket']}: {r.status_code} {r.text[:120]}")


class Simulation:
    """One simulated day (or some of its hours) against a running server at ``url``."""

    def __init__(self, cfg, url: str, day: date, plan: dict, staffing: Staffing, speed: float,
                 seed: int, hours: Optional[list[int]] = None):
        self.cfg, self.url, self.day, self.plan = cfg, url.rstrip("/"), day, plan
        self.staffing, self.speed, self.seed = staffing, speed, seed
        self.model = Model(plan["rows"])
        self.hours = hours or sorted({r["hour"] for r in plan["rows"]})
        self.tally = Tally()
        self.stop = threading.Event()
        self.arrivals_done = threading.Event()
        self.password = secrets.token_urlsafe(SIM_PASSWORD_BYTES)
        self.recalls_needed = int(cfg.raw["queue"].get("no_show_after_recalls", 0))
        self.http = requests.Session()
        self.clock: Optional[SimClock] = None
        self.pad_jobs = ThreadPoolExecutor(4, thread_name_prefix="pad")

    # accounts: as `qrate demo` makes them, straight into the hall's database (before the
    # server's compressed clock starts: hashing passwords takes real seconds)
    def accounts(self) -> None:
        db = store.connect(self.cfg.db_path)
        tag = secrets.token_hex(3)
        try:
            self.kiosk = auth.add_device(db, f"sim-kiosk-{tag}", "kiosk", None)[1]
            self.pads, self.clerks = {}, {}
            for w in self.staffing.windows():
                self.pads[w] = auth.add_device(db, f"sim-pad-{w}-{tag}", "pad", w)[1]
                no = f"sim{w}{tag}"
                auth.add_user(db, no, "clerk", self.password, f"模拟{w}号")
                self.clerks[w] = no
            self.manager = f"simm{tag}"
            auth.add_user(db, self.manager, "manager", self.password, "模拟管理员")
        finally:
            db.close()

    def server_now(self) -> datetime:
        return datetime.fromisoformat(self.http.get(self.url + "/api/queue", timeout=10).json()["at"])

    def queue_empty(self) -> bool:
        try:
            q = self.http.get(self.url + "/api/queue", timeout=10).json()
        except (requests.RequestException, ValueError):
            return False
        return not any(t.get("status") == "waiting" for t in q.get("tickets", []))

    def citizens(self) -> None:
        """Each citizen takes a ticket at their own moment; a slow answer to one does not
        hold back the next (a few kiosks at once)."""
        rng = random.Random(self.seed)
        midnight = datetime.combine(self.day, dtime(0), self.cfg.tz)
        begun = (self.clock.now() - midnight).total_seconds()   # a demo joins mid-hour
        with ThreadPoolExecutor(KIOSKS, thread_name_prefix="kiosk") as kiosks:
            for at, code in self.model.arrivals(self.hours, rng):
                if at < begun - 1:
                    continue
                if not self.clock.sleep_until(midnight + timedelta(seconds=at), self.stop):
                    break
                kiosks.submit(self._ticket, code, midnight + timedelta(seconds=at))
        self.arrivals_done.set()

    def _ticket(self, code: str, due: datetime) -> None:
        try:
            r = requests.post(self.url + "/api/tickets", json={"service": code, "priority": False},
                              headers={"Authorization": f"Bearer {self.kiosk}"}, timeout=30)
        except requests.RequestException as exc:
            self.tally.error(f"ticket: {exc}")
            return
        if r.status_code == 201:
            self.tally.add("issued")
            late = (datetime.fromisoformat(r.json()["issued_at"]) - due).total_seconds()
            with self.tally.lock:
                self.tally.late.append(late)
        else:
            self.tally.add("refused")
            self.tally.error(f"ticket {code}: {r.status_code} {r.text[:120]}")

    def run(self, timeout_s: float = 3600) -> dict:
        if not hasattr(self, "kiosk"):
            self.accounts()
        self.clock = SimClock(self.server_now(), self.speed)
        threads = [Clerk(self, w, self.clerks[w], self.pads[w],
                         [h for h, ws in self.staffing.by_hour.items() if w in ws and h in self.hours],
                         self.seed * 1000 + w)
                   for w in self.staffing.windows()]
        threads = [t for t in threads if t.hours]
        for t in threads:
            t.start()
        arrivals = threading.Thread(target=self.citizens, daemon=True, name="citizens")
        arrivals.start()
        deadline = time.monotonic() + timeout_s
        arrivals.join(max(0.0, deadline - time.monotonic()))
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self.stop.set()
        self.pad_jobs.shutdown(wait=True)
        return self.results()

    def results(self) -> dict:
        """The promise kept per service and hour, from the hall's own figures of the day."""
        r = self.http.post(self.url + "/api/login", json={"user": self.manager, "password": self.password},
                           timeout=10)
        head = {"Authorization": f"Bearer {r.json()['token']}"}
        share = float(self.plan["target_share"])
        rows = []
        for code, svc in self.cfg.services.items():
            stats = self.http.get(self.url + "/api/stats/hours", headers=head, timeout=60,
                                  params={"from": self.day.isoformat(), "to": self.day.isoformat(),
                                          "service": code}).json()["rows"]
            for s in stats:
                if not s["called"] or s["hour"] not in self.hours:
                    continue
                within = 1 - (s["wait_over_target_rate"] or 0.0)
                rows.append({"service": code, "hour": s["hour"], "called": s["called"],
                             "wait_mean_s": s["wait_s"]["mean"], "wait_p90_s": s["wait_s"]["p90"],
                             "share_within_target": within, "target_wait_s": svc.target_wait_s,
                             "kept": within >= share})
        kept = sum(r["kept"] for r in rows)
        planned = [p for p in self.plan["rows"] if p["hour"] in self.hours]
        planned_share = (sum(p["share_within_target"] >= share for p in planned) / len(planned)
                         if planned else None)
        t = self.tally
        return {"day": self.day.isoformat(), "speed": self.speed, "seed": self.seed,
                "hours": self.hours, "staffing": {str(h): ws for h, ws in self.staffing.by_hour.items()
                                                  if h in self.hours},
                "target_share": share, "rows": rows, "hours_kept": kept, "hours_total": len(rows),
                "kept_share": kept / len(rows) if rows else None, "planned_share": planned_share,
                "issued": t.issued, "refused": t.refused, "served": t.served, "no_show": t.no_show,
                "rated": t.rated, "rating_missed": t.rating_missed, "errors": t.errors,
                "ticket_late_s": _spread(t.late)}


def start_server(hall_dir: Path, day: date, first_hour: int, speed: float, tz,
                 port: Optional[int] = None, log: Optional[Path] = None):
    """`qrate serve` on a free port with the test clock at ``day first_hour:00`` running
    ``speed`` times faster. Returns (process, url)."""
    port = port or free_port()
    # the clock starts early enough that the server is up before the first hour begins
    start = datetime.combine(day, dtime(first_hour), tz) - timedelta(seconds=min(7200, 3 * speed + SIGN_IN_LEAD_S))
    env = {**os.environ, "QRATE_TEST_NOW": start.isoformat(), "QRATE_TEST_SPEED": f"{speed:g}",
           "PYTHONUNBUFFERED": "1"}
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "server.entry", "serve", "--hall", str(hall_dir),
                             "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"qrate serve exited with {proc.returncode}")
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                return proc, url
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("qrate serve did not start in 30 s")


def _spread(values: list) -> dict:
    """How late the tickets came against their simulated moments (hall seconds): a
    machine too slow for the speed shows here first."""
    if not values:
        return {"mean": None, "p90": None, "max": None}
    v = sorted(values)
    return {"mean": sum(v) / len(v), "p90": v[max(0, (90 * len(v) + 99) // 100 - 1)], "max": v[-1]}


def result_text(res: dict, tr) -> str:
    lines = [tr(N_("Simulated %(day)s at %(speed)s times real speed (seed %(seed)s): %(issued)s tickets, "
                "%(served)s served, %(no_show)s no-shows, %(rated)s ratings."),
                day=res["day"], speed=f"{res['speed']:g}", seed=res["seed"], issued=res["issued"],
                served=res["served"], no_show=res["no_show"], rated=res["rated"])]
    for r in res["rows"]:
        lines.append(f"  {r['service']}  {r['hour']:02d}  {r['called']:4d}  "
                     f"{(r['wait_mean_s'] or 0) / 60:6.1f} min  {r['share_within_target']:6.1%}  "
                     + ("✓" if r["kept"] else "✗"))
    share = "—" if res["kept_share"] is None else f"{res['kept_share']:.0%}"
    lines.append(tr(N_("Promise kept in %(kept)s of %(total)s service hours (%(share)s)."),
                    kept=res["hours_kept"], total=res["hours_total"], share=share))
    if res["errors"]:
        lines += [tr(N_("Server answers the simulator did not expect:"))] + ["  " + e for e in res["errors"]]
    return "\n".join(lines)


def as_json(res: dict) -> str:
    return json.dumps(res, ensure_ascii=False, indent=1)
