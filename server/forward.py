"""The city forwarder (store-and-forward): this hall's event log, pushed to the city.

A background task of ``qrate serve`` (a greenlet under gevent, a thread otherwise)
reads ``ticket_events`` after the last seq the city acknowledged, in seq order, in
batches, and POSTs them with the hall's token to ``[city] url`` + ``/api/city/ingest``.
It never takes the hall's write lock and never runs inside a change: the hall works
exactly as without a city, for days offline if need be; the log is the queue. The
city stores each (hall id, epoch, seq) once, so a resent batch changes nothing; when
the city misses events (a gap), it answers 409 with the seq it holds, and the
forwarder sends again from there. docs/city.md.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import Callable, Optional

from . import config as hall_config
from . import evaluation, store

log = logging.getLogger("qrate.forward")
BATCH = 500
IDLE_S = 1.0
MAX_BACKOFF_S = 10.0  # a city back after days is reached within 10 s


class CityRefused(Exception):
    """The city answered with an error that resending will not cure (a bad token, a bad batch)."""


class Forwarder:
    """Pushes the hall's log to the city; ``push_once`` sends one batch, ``run_forever`` loops."""

    def __init__(self, db_path, url: str, token: str, hall_id: str, tz: str = "Asia/Shanghai",
                 batch: int = BATCH, timeout_s: float = 10.0, retry_max_s: float = MAX_BACKOFF_S,
                 sleep: Callable[[float], None] = time.sleep):
        self.db_path, self.url = db_path, url.rstrip("/")
        self.token, self.hall_id, self.tz = token, hall_id, tz
        self.batch, self.timeout_s, self.sleep = batch, timeout_s, sleep
        self.stopped = threading.Event()
        self.wake = threading.Event()
        self.backoff_s = 0.0
        self.retry_max_s = retry_max_s
        self.sent_batches = 0

    # -- one step ------------------------------------------------------------
    def state(self, db) -> tuple[int, dict]:
        """This epoch's row, created at the first sight of the epoch (a restore: see docs)."""
        epoch = store.hall_epoch(db)
        row = store.forward_state(db, epoch)
        if row is None:
            # a new epoch after a restore goes on from the restored log's end; before any
            # epoch row exists (the first start with a city) the whole log is sent
            earlier = [store.forward_state(db, e) for e in range(1, epoch)]
            start = store.last_event_seq(db) if any(earlier) else 0
            store.save_forward_state(db, epoch, start_seq=start, now_ts=time.time())
            row = store.forward_state(db, epoch)
        return epoch, row

    def push_once(self) -> int:
        """Send the next batch; returns how many events the city took as new (0: up to date).

        Raises OSError / urllib errors when the city cannot be reached, CityRefused when it refuses."""
        db = store.connect(self.db_path)
        try:
            epoch, row = self.state(db)
            after = row["acked_seq"]
            events = store.events_to_forward(db, after, self.batch)
            if not events:
                return 0
            with_promises(db, events)
            answer = self._post({"hall_id": self.hall_id, "epoch": epoch, "after": after,
                                 "tz": self.tz, "events": events})
            ack = int(answer["ack"])
            if answer.get("gap"):
                # the city has less than we thought (its database was restored): go back
                log.warning("city holds seq %s of epoch %s, not %s: sending again from there",
                            ack, epoch, after)
                store.rewind_forward_state(db, epoch, ack, time.time())
                return 0
            store.save_forward_state(db, epoch, acked_seq=ack, ok_ts=time.time(), now_ts=time.time())
            self.sent_batches += 1
            return int(answer.get("stored", 0))
        finally:
            db.close()

    def _post(self, payload: dict) -> dict:
        data = json.dumps(payload, ensure_ascii=False).encode()
        req = urllib.request.Request(self.url + "/api/city/ingest", data=data, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                answer = json.loads(body)
            except ValueError:
                answer = {}
            if exc.code == 409 and "ack" in answer:
                return {"ack": answer["ack"], "gap": True}
            if exc.code >= 500:
                raise OSError(f"city answered {exc.code}") from exc
            raise CityRefused(f"city answered {exc.code}: {body[:200]!r}") from exc

    # -- the loop --------------------------------------------------------------
    def run_forever(self) -> None:
        """Until stop(): send while there is something to send; wait after errors (1 s, 2 s … 10 s;
        new events do not cut that wait short)."""
        log.info("forwarding to the city at %s as hall %s", self.url, self.hall_id)
        while not self.stopped.is_set():
            try:
                n = self.push_once()
                self.backoff_s = 0.0
                if n == 0 and not self._more():
                    self._wait(IDLE_S)
            except CityRefused as exc:
                self._failed(str(exc), logging.ERROR)
            except (OSError, ValueError) as exc:
                self._failed(str(exc), logging.INFO)
            except Exception as exc:  # never let the loop die: the hall goes on regardless
                log.exception("forwarder step failed")
                self._failed(str(exc), logging.INFO)

    def _more(self) -> bool:
        db = store.connect(self.db_path)
        try:
            epoch = store.hall_epoch(db)
            row = store.forward_state(db, epoch)
            return row is not None and store.last_event_seq(db) > row["acked_seq"]
        finally:
            db.close()

    def _failed(self, why: str, level: int) -> None:
        self.backoff_s = min(self.retry_max_s, max(min(1.0, self.retry_max_s), self.backoff_s * 2))
        log.log(level, "city not reached (%s); trying again in %.0f s", why, self.backoff_s)
        try:
            db = store.connect(self.db_path)
            try:
                store.save_forward_state(db, store.hall_epoch(db), error=why, now_ts=time.time())
            finally:
                db.close()
        except Exception:  # pragma: no cover - a locked file: the next round writes it
            pass
        self.stopped.wait(self.backoff_s)

    def _wait(self, seconds: float) -> None:
        self.wake.wait(seconds)
        self.wake.clear()

    def notify(self, _body: Optional[dict] = None) -> None:
        """A change committed (an ops listener): send soon."""
        self.wake.set()

    def stop(self) -> None:
        self.stopped.set()
        self.wake.set()


def promises(raw: dict) -> dict:
    """The part of a hall configuration the city needs for "promises kept" (docs/city.md):
    each service's targets (as ``config.build`` makes them) and the reason-tag map."""
    raw = hall_config.merge(hall_config.DEFAULTS, raw or {})
    services = {}
    for s in raw.get("services") or []:
        if isinstance(s, dict) and s.get("code"):
            services[s["code"]] = {"target_wait_s": int(float(s.get("target_wait_min", 20)) * 60),
                                   "target_service_s": int(float(s.get("target_service_min", 10)) * 60),
                                   "target_good_rate": float(s.get("target_good_rate", 0.95))}
    return {"services": services, "reason_map": dict(raw["ratings"].get("reason_map") or {})}


def with_promises(db, events: list[dict]) -> None:
    """Give a batch what the city needs beside the log: the configuration in force at its
    first event and at every config.changed (``config``: {"seq", "promises"}; the city keeps
    each under (hall, epoch, seq)), and each rating's reasons as national reasons
    (``national_reasons``, by the map in force when it was given)."""
    if not events:
        return
    first = store.config_in_force(db, int(events[0]["seq"]))
    current = None
    if first is not None:
        current = promises(json.loads(first[1]))
        events[0]["config"] = {"seq": first[0], "promises": current}
    for e in events:
        if e["type"] == "config.changed":
            found = store.config_in_force(db, int(e["seq"]))
            if found is not None and found[0] == int(e["seq"]):
                current = promises(json.loads(found[1]))
                e["config"] = {"seq": found[0], "promises": current}
        rating = e.get("rating")
        if rating is not None:
            reasons = rating.get("reasons") or []
            if isinstance(reasons, str):
                reasons = json.loads(reasons or "[]")
            rating["national_reasons"] = evaluation.national_reasons(
                reasons, current["reason_map"] if current else None)


def for_hall(cfg) -> Optional[Forwarder]:
    """The hall's forwarder, or None without a [city] url."""
    city = cfg.raw.get("city") or {}
    if not city.get("url"):
        return None
    return Forwarder(cfg.db_path, city["url"], str(city.get("token", "")), str(city.get("hall_id", "")),
                     tz=cfg.raw["hall"]["timezone"], batch=int(city.get("batch", BATCH)),
                     retry_max_s=float(city.get("retry_max_s", MAX_BACKOFF_S)))


def status(db_path) -> dict:
    """The forwarder's progress (for the health page): epoch, acked seq, log end, last error."""
    db = store.connect(db_path)
    try:
        epoch = store.hall_epoch(db)
        row = store.forward_state(db, epoch) or {}
        last = store.last_event_seq(db)
        return {"epoch": epoch, "acked_seq": row.get("acked_seq", 0), "last_seq": last,
                "behind": max(0, last - row.get("acked_seq", 0)), "last_ok_ts": row.get("last_ok_ts"),
                "last_error": row.get("last_error")}
    finally:
        db.close()
