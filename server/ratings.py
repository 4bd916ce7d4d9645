"""Rating integrity and the follow-up of bad ratings (差评).

Integrity: a rating is accepted only for the ticket last finished at that
window (the core already demands it was served there, within
``[ratings] window_minutes``, once), presses are rate-limited per pad, and
every rating keeps its source and device. Managers get flags for patterns that
cannot be honest.

Follow-up: a rating of 1 or 2 opens a case (回访 callback, 核实 verify,
整改 rectify, 反馈 reply) with an owner, notes and deadlines from the hall
file counted on the Chinese working-day calendar; one re-rating (追评) after
the reply; an appeal (申诉复核) a manager upholds excludes the rating from the
figures, with the reason kept. docs/ratings.md describes the tables.
"""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Optional

import sqlite_utils
from sqlite_utils import Migrations

from .engine import N_, QueueError
from .workdays import WorkCalendar, deadline, parse_spec

migrations = Migrations("qrate-ratings")

REASONS = ("attitude", "efficiency", "knowledge", "long_wait", "other")
REASON_WORDS = (N_("attitude"), N_("efficiency"), N_("knowledge"), N_("long_wait"), N_("other"))
STEPS = ("callback", "verify", "rectify", "reply")
STEP_DONE = {"callback": "callback_done", "verify": "verified", "rectify": "rectified",
             "reply": "replied"}

RATING_DEFAULTS = {"prompt_seconds": 60, "presses_per_minute": 12, "press_burst": 3,
                   "reasons": list(REASONS),
                   "flags": {"min_ratings": 30, "short_service_s": 60, "burst_count": 5,
                             "burst_minutes": 10}}
FOLLOWUP_DEFAULTS = {"owner": "", "owners": {}, "callback": "1wd", "verify": "3wd",
                     "rectify": "15wd", "reply": "15wd", "due_soon_hours": 24}


@migrations()
def m001_followup(db: sqlite_utils.Database) -> None:
    db.executescript("""
    CREATE TABLE rating_cases (
        id INTEGER PRIMARY KEY,
        rating INTEGER NOT NULL UNIQUE REFERENCES ratings(id),
        ticket INTEGER NOT NULL REFERENCES tickets(id),
        number TEXT NOT NULL,
        window INTEGER,
        clerk TEXT,
        service TEXT,
        score INTEGER NOT NULL,
        day TEXT NOT NULL,
        owner TEXT,
        status TEXT NOT NULL DEFAULT 'open',
        opened_at TEXT NOT NULL, opened_ts REAL NOT NULL,
        callback_due TEXT NOT NULL, callback_due_ts REAL NOT NULL,
        callback_done_at TEXT, callback_done_ts REAL,
        verify_due TEXT NOT NULL, verify_due_ts REAL NOT NULL,
        verified_at TEXT, verified_ts REAL, verify_finding TEXT,
        rectify_due TEXT NOT NULL, rectify_due_ts REAL NOT NULL,
        rectified_at TEXT, rectified_ts REAL,
        reply_due TEXT NOT NULL, reply_due_ts REAL NOT NULL,
        replied_at TEXT, replied_ts REAL,
        rerating_score INTEGER CHECK (rerating_score BETWEEN 1 AND 5),
        rerated_at TEXT,
        closed_at TEXT, closed_ts REAL,
        appeal_status TEXT NOT NULL DEFAULT 'none',
        appeal_reason TEXT, appealed_at TEXT, appealed_by TEXT,
        appeal_decision TEXT, appeal_decided_at TEXT, appeal_decided_by TEXT,
        excluded INTEGER NOT NULL DEFAULT 0,
        exclude_reason TEXT
    );
    CREATE INDEX rating_cases_status ON rating_cases(status, opened_ts);
    CREATE INDEX rating_cases_day ON rating_cases(day);

    CREATE TABLE case_notes (
        id INTEGER PRIMARY KEY,
        "case" INTEGER NOT NULL REFERENCES rating_cases(id),
        at TEXT NOT NULL,
        ts REAL NOT NULL,
        author TEXT NOT NULL,
        step TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX case_notes_case ON case_notes("case", id);

    CREATE TABLE pad_sequences (
        port TEXT PRIMARY KEY,
        seq TEXT NOT NULL,
        reply TEXT NOT NULL,
        ts REAL NOT NULL
    );
    """)


# --- errors -----------------------------------------------------------------

class NotLatest(QueueError):
    code = "not_latest"
    message = N_("Ticket %(number)s is not the last one finished at window %(window)s; only that one can be rated now.")


class RateLimited(QueueError):
    code, status = "rate_limited", 429
    message = N_("Too many ratings from this pad; wait a moment and try again.")


class UnknownReason(QueueError):
    code, status = "unknown_reason", 422
    message = N_("Reason '%(reason)s' is not one of: %(known)s.")


class UnknownCase(QueueError):
    code, status = "unknown_case", 404
    message = N_("Case %(case)s does not exist.")


class CaseStepRefused(QueueError):
    code = "case_step_refused"
    message = N_("Case %(case)s: %(why)s.")


def settings(cfg) -> dict:
    """[ratings] and [followup] over their defaults."""
    from .config import merge
    return {"ratings": merge(RATING_DEFAULTS, cfg.raw.get("ratings", {})),
            "followup": merge(FOLLOWUP_DEFAULTS, cfg.raw.get("followup", {}))}


def iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value else None


class PressGuard:
    """A token bucket per pad: a burst of presses, then one per (60 / presses_per_minute) s."""

    def __init__(self, per_minute: float, burst: int, clock=time.monotonic):
        self.rate, self.burst, self.clock = per_minute / 60.0, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self.refused: dict[int, int] = defaultdict(int)

    def take(self, key: str) -> bool:
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1, now)
            return True


class Ratings:
    """The rating side of one hall: integrity checks, cases and the read side."""

    def __init__(self, hall):
        self.hall = hall
        conf = settings(hall.cfg)
        self.conf, self.follow = conf["ratings"], conf["followup"]
        for key in STEPS:
            parse_spec(self.follow[key])  # a wrong spec fails at start, not at the first 差评
        self.calendar = WorkCalendar.from_config(hall.cfg.raw)
        # the hall's clock: the same time the rating rules use (and a test's fixed clock)
        self.guard = PressGuard(float(self.conf["presses_per_minute"]), int(self.conf["press_burst"]),
                                clock=lambda: hall.now().timestamp())
        hall.rating_checks.append(self.check)
        hall.after_rate.append(self.after_rate)

    # -- integrity ---------------------------------------------------------
    def check(self, s, t, w, now, *, source, device, already_rated, reasons) -> None:
        """Refuse presses that come too fast and tickets that are not the one just finished."""
        if not self.guard.take(f"{source}:{device or w.number}"):
            self.guard.refused[w.number] += 1
            raise RateLimited()
        known = self.conf["reasons"]
        for reason in reasons:
            if reason not in known:
                raise UnknownReason(reason=reason, known=", ".join(known))
        if already_rated or t.status != "done" or t.window != w.number:
            return  # the core refuses these with its own codes (409 already_rated, not_rateable)
        latest = self.latest_finished(s, w.number, t.day)
        if latest is not None and latest != t.id:
            raise NotLatest(number=t.number, window=w.number)

    @staticmethod
    def latest_finished(s, window: int, day: date) -> Optional[int]:
        row = s.db.execute(
            "SELECT id FROM tickets WHERE day = ? AND status = 'done' AND window = ? "
            "ORDER BY finished_at DESC, id DESC LIMIT 1", [day.isoformat(), window]).fetchone()
        return row[0] if row else None

    def pending(self, window: int) -> Optional[dict]:
        """The ticket a pad at this window should ask about now, or None."""
        h = self.hall
        with h.store() as s:
            tid = self.latest_finished(s, window, h.today())
            if tid is None:
                return None
            t = s.ticket(tid)
            if s.db.execute("SELECT 1 FROM ratings WHERE ticket = ?", [tid]).fetchone():
                return None
        age = (h.now() - t.finished_at).total_seconds()
        limit = min(float(self.conf["prompt_seconds"]),
                    float(h.cfg.raw["ratings"]["window_minutes"]) * 60)
        if age > limit:
            return None
        return {"ticket": t.id, "number": t.number, "service": t.service,
                "finished_at": iso(t.finished_at), "expires_in_s": round(limit - age, 1)}

    # -- cases ---------------------------------------------------------------
    def after_rate(self, s, rating: dict) -> None:
        """In the rating's transaction: a 差评 (1 or 2) opens a case."""
        if rating["score"] > 2:
            return
        opened = datetime.fromisoformat(rating["created_at"])
        due = {step: deadline(opened, self.follow[step], self.calendar) for step in STEPS}
        owner = self.follow["owners"].get(rating["service"]) or self.follow["owner"] or None
        row = {"rating": rating["id"], "ticket": rating["ticket"], "number": rating["number"],
               "window": rating["window"], "clerk": rating["clerk"], "service": rating["service"],
               "score": rating["score"], "day": rating["day"], "owner": owner,
               "opened_at": rating["created_at"], "opened_ts": rating["ts"]}
        for step in STEPS:
            row[f"{step}_due"] = iso(due[step])
            row[f"{step}_due_ts"] = due[step].timestamp()
        case_id = s.db.execute(
            f"INSERT INTO rating_cases ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values())).lastrowid
        reasons = json.loads(rating["reasons"]) if isinstance(rating["reasons"], str) else rating["reasons"]
        text = f"score {rating['score']}; reasons: {', '.join(reasons) or '-'}; {rating['comment']}".strip()
        self._note(s, case_id, "system", "opened", text, opened)

    def _note(self, s, case_id: int, author: str, step: str, text: str, at: datetime) -> None:
        s.db.execute('INSERT INTO case_notes ("case", at, ts, author, step, text) VALUES (?, ?, ?, ?, ?, ?)',
                     [case_id, iso(at), at.timestamp(), author, step, text])

    def _case_row(self, s, case_id: int) -> dict:
        rows = list(s.db.query("SELECT * FROM rating_cases WHERE id = ?", [case_id]))
        if not rows:
            raise UnknownCase(case=case_id)
        return rows[0]

    def _change_case(self, case_id: int, fn) -> dict:
        h = self.hall
        with h.lock, h.store() as s:
            with s.db.atomic():
                row = self._case_row(s, case_id)
                fn(s, row, h.now())
            return self.case_view(s, self._case_row(s, case_id), notes=True)

    def step(self, case_id: int, step: str, author: str, note: str, finding: str = "") -> dict:
        """Record a follow-up step done (callback, verify, rectify, reply) with a note."""
        if step not in STEPS:
            raise CaseStepRefused(case=case_id, why=N_("unknown step"))
        done = STEP_DONE[step]
        col = "callback_done" if step == "callback" else done

        def change(s, row, now):
            if row["status"] == "closed":
                raise CaseStepRefused(case=case_id, why=N_("it is closed"))
            if row[f"{col}_at"]:
                raise CaseStepRefused(case=case_id, why=N_("this step is done already"))
            if step == "reply" and not row["callback_done_at"]:
                raise CaseStepRefused(case=case_id, why=N_("call the citizen back before replying"))
            sets = {f"{col}_at": iso(now), f"{col}_ts": now.timestamp()}
            if step == "verify":
                sets["verify_finding"] = finding or None
            if step == "reply":
                sets["status"] = "replied"
            s.db.execute(f"UPDATE rating_cases SET {', '.join(k + ' = ?' for k in sets)} WHERE id = ?",
                         [*sets.values(), case_id])
            self._note(s, case_id, author, step, note, now)
        return self._change_case(case_id, change)

    def add_note(self, case_id: int, author: str, text: str) -> dict:
        def change(s, row, now):
            self._note(s, case_id, author, "note", text, now)
        return self._change_case(case_id, change)

    def set_owner(self, case_id: int, author: str, owner: str) -> dict:
        def change(s, row, now):
            s.db.execute("UPDATE rating_cases SET owner = ? WHERE id = ?", [owner, case_id])
            self._note(s, case_id, author, "owner", owner, now)
        return self._change_case(case_id, change)

    def rerate(self, case_id: int, author: str, score: int, comment: str = "") -> dict:
        """The one re-rating (追评) after the reply; it closes the case."""
        def change(s, row, now):
            if not row["replied_at"]:
                raise CaseStepRefused(case=case_id, why=N_("a re-rating comes after the reply"))
            if row["rerating_score"] is not None:
                raise CaseStepRefused(case=case_id, why=N_("it has been re-rated already"))
            s.db.execute("UPDATE rating_cases SET rerating_score = ?, rerated_at = ?, status = 'closed', "
                         "closed_at = ?, closed_ts = ? WHERE id = ?",
                         [score, iso(now), iso(now), now.timestamp(), case_id])
            self._note(s, case_id, author, "rerate", f"score {score}; {comment}".strip("; "), now)
        return self._change_case(case_id, change)

    def close(self, case_id: int, author: str, note: str) -> dict:
        def change(s, row, now):
            if not row["replied_at"] and row["appeal_status"] != "upheld":
                raise CaseStepRefused(case=case_id, why=N_("reply to the citizen before closing"))
            s.db.execute("UPDATE rating_cases SET status = 'closed', closed_at = ?, closed_ts = ? "
                         "WHERE id = ? AND status != 'closed'", [iso(now), now.timestamp(), case_id])
            self._note(s, case_id, author, "close", note, now)
        return self._change_case(case_id, change)

    def appeal(self, case_id: int, author: str, reason: str) -> dict:
        """The window's clerk (or a manager) appeals a rating as mistaken or malicious (申诉)."""
        def change(s, row, now):
            if row["appeal_status"] != "none":
                raise CaseStepRefused(case=case_id, why=N_("it has been appealed already"))
            s.db.execute("UPDATE rating_cases SET appeal_status = 'pending', appeal_reason = ?, "
                         "appealed_at = ?, appealed_by = ? WHERE id = ?",
                         [reason, iso(now), author, case_id])
            self._note(s, case_id, author, "appeal", reason, now)
        return self._change_case(case_id, change)

    def decide_appeal(self, case_id: int, author: str, uphold: bool, reason: str) -> dict:
        """A manager's review (复核): upheld excludes the rating from every figure, reason kept."""
        def change(s, row, now):
            if row["appeal_status"] != "pending":
                raise CaseStepRefused(case=case_id, why=N_("there is no pending appeal"))
            s.db.execute("UPDATE rating_cases SET appeal_status = ?, appeal_decision = ?, "
                         "appeal_decided_at = ?, appeal_decided_by = ? WHERE id = ?",
                         ["upheld" if uphold else "rejected", reason, iso(now), author, case_id])
            if uphold:
                s.db.execute("UPDATE rating_cases SET excluded = 1, exclude_reason = ?, status = 'closed', "
                             "closed_at = coalesce(closed_at, ?), closed_ts = coalesce(closed_ts, ?) "
                             "WHERE id = ?", [reason, iso(now), now.timestamp(), case_id])
                s.db.execute("UPDATE ratings SET excluded = 1, exclude_reason = ? WHERE id = ?",
                             [reason, row["rating"]])
            self._note(s, case_id, author, "appeal_decision",
                       f"{'upheld' if uphold else 'rejected'}: {reason}", now)
        return self._change_case(case_id, change)

    # -- read side -----------------------------------------------------------
    def case_view(self, s, row: dict, notes: bool = False, now: Optional[datetime] = None) -> dict:
        now_ts = (now or self.hall.now()).timestamp()
        soon = float(self.follow["due_soon_hours"]) * 3600
        pending = [(step, row[f"{step}_due_ts"]) for step, col in
                   (("callback", "callback_done"), ("verify", "verified"), ("rectify", "rectified"),
                    ("reply", "replied")) if not row[f"{col}_at"]]
        overdue = [step for step, due in pending if due < now_ts]
        due_soon = [step for step, due in pending if now_ts <= due < now_ts + soon]
        view = {k: v for k, v in row.items() if not k.endswith("_ts")}
        view["excluded"] = bool(row["excluded"])
        view["next_step"] = pending[0][0] if pending and row["status"] == "open" else None
        view["overdue"] = overdue if row["status"] == "open" else []
        view["due_soon"] = due_soon if row["status"] == "open" else []
        if notes:
            view["notes"] = [dict(r) for r in s.db.query(
                'SELECT at, author, step, text FROM case_notes WHERE "case" = ? ORDER BY id', [row["id"]])]
        return view

    def list_cases(self, state: str = "open") -> list[dict]:
        """open | due_soon | overdue | closed | all (replied cases count as open until closed)."""
        h = self.hall
        now = h.now()
        with h.store() as s:
            where = {"closed": "status = 'closed'", "all": "1"}.get(state, "status != 'closed'")
            rows = list(s.db.query(f"SELECT * FROM rating_cases WHERE {where} ORDER BY opened_ts"))
            views = [self.case_view(s, r, now=now) for r in rows]
        if state == "overdue":
            views = [v for v in views if v["overdue"]]
        elif state == "due_soon":
            views = [v for v in views if v["due_soon"] and not v["overdue"]]
        return views

    def get_case(self, case_id: int) -> dict:
        with self.hall.store() as s:
            return self.case_view(s, self._case_row(s, case_id), notes=True)

    def satisfaction(self, window: int) -> dict:
        """The window's figures this month (阳光政务): excluded ratings do not count."""
        h = self.hall
        first = h.today().replace(day=1).isoformat()
        with h.store() as s:
            n, satisfied, good, total = s.db.execute(
                "SELECT count(*), sum(score >= 4), sum(score >= 3), sum(score) FROM ratings "
                "WHERE window = ? AND day >= ? AND excluded = 0", [window, first]).fetchone()
        return {"since": first, "ratings": n,
                "satisfied_rate": round(satisfied / n, 4) if n else None,
                "good_rate": round(good / n, 4) if n else None,
                "mean_score": round(total / n, 2) if n else None}

    def flags(self, start: date, end: date) -> list[dict]:
        """Patterns that cannot be honest, per window, for managers to look into."""
        f = self.conf["flags"]
        out = []
        with self.hall.store() as s:
            for window, n, top in s.db.execute(
                    "SELECT window, count(*), sum(score = 5) FROM ratings WHERE day BETWEEN ? AND ? "
                    "AND excluded = 0 GROUP BY window ORDER BY window",
                    [start.isoformat(), end.isoformat()]).fetchall():
                if n >= int(f["min_ratings"]) and top == n:
                    out.append({"window": window, "kind": "all_top_score", "ratings": n,
                                "detail": N_("every rating is 5 (very satisfied)")})
            rows = s.db.execute(
                "SELECT r.window, r.ts, json_extract(e.data, '$.service_s') FROM ratings r "
                "JOIN ticket_events e ON e.ticket = r.ticket AND e.type = 'ticket.finished' "
                "WHERE r.day BETWEEN ? AND ? AND r.excluded = 0 ORDER BY r.window, r.ts",
                [start.isoformat(), end.isoformat()]).fetchall()
        span, need = float(f["burst_minutes"]) * 60, int(f["burst_count"])
        short: dict[int, list[float]] = defaultdict(list)
        for window, ts, service_s in rows:
            if service_s is not None and service_s < float(f["short_service_s"]):
                short[window].append(ts)
        for window, stamps in short.items():
            best, lo = 0, 0
            for hi in range(len(stamps)):
                while stamps[hi] - stamps[lo] > span:
                    lo += 1
                best = max(best, hi - lo + 1)
            if best >= need:
                out.append({"window": window, "kind": "hollow_burst", "ratings": best,
                            "detail": N_("many ratings close together behind very short services")})
        for window, refused in sorted(self.guard.refused.items()):
            if refused:
                out.append({"window": window, "kind": "refused_presses", "ratings": refused,
                            "detail": N_("presses refused for coming too fast (since the server started)")})
        return out

    def calendar_status(self) -> dict:
        year = self.hall.today().year
        return {"year": year, "official": WorkCalendar.covered(year),
                "next_year_official": WorkCalendar.covered(year + 1)}


def init_app(app, hall) -> Ratings:
    ratings = Ratings(hall)
    app.extensions["qrate_ratings"] = ratings
    return ratings


def month_start(day: date) -> date:
    return day.replace(day=1)


def days_back(day: date, n: int) -> date:
    return day - timedelta(days=n)
