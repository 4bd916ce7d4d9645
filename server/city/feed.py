"""The province's 好差评 feed: every rating the city holds, in the fields the national
rules name, as JSON Lines or CSV, incremental since the last export.

The schema is docs/haochaping-feed.schema.json (tests validate every line against it).
A rating enters the feed when it arrives and again whenever it or its follow-up case
changes (``ratings.feed_seq``); an export records the mark it reached in
``feed_exports``, and the next one starts after it. ``--all`` sends everything again.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Optional

from .. import evaluation

LEVEL_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
CHANNELS = {"touch": "onsite_device", "serial": "onsite_device", "pad": "onsite_device",
            "kiosk": "kiosk", "phone": "phone"}
HALL_CONTENT_VERSION = "hall-reasons-1"  # the hall's own reason tags (before evaluation content versions)
CSV_FIELDS = ("evaluation_id", "hall_id", "window_id", "clerk_no", "case_no", "matter_code",
              "matter_name", "channel", "level", "level_name", "content_version", "reasons",
              "comment", "rated_at", "excluded", "followup_callback_at", "followup_rectified_at",
              "followup_replied_at", "followup_rerating_level",
              "efficiency", "service_level", "attitude",  # the optional sub-scores (一次一评)
              "hall_reasons")  # the hall's own reason tags ('|'), beside the national `reasons`
DIMENSIONS = ("efficiency", "level", "attitude")


def _iso(value) -> Optional[str]:
    return value.isoformat() if value else None


def records(conn, after_seq: int = 0) -> tuple[list[dict], int]:
    """The feed's records with feed_seq > after_seq, oldest change first; and the mark reached."""
    rows = conn.execute(
        'SELECT r.hall_id, r.epoch, r.rating_id, r."window", r.clerk, r.service, r.score, '
        "r.reasons, r.comment, r.created_at, r.source, r.extra, r.excluded, r.feed_seq, "
        "c.callback_done_at, c.rectified_at, c.replied_at, c.rerating_score, c.case_id "
        "FROM ratings r LEFT JOIN cases c ON c.hall_id = r.hall_id AND c.epoch = r.epoch "
        "AND c.rating_id = r.rating_id WHERE r.feed_seq > %s ORDER BY r.feed_seq",
        [after_seq]).fetchall()
    out, mark = [], after_seq
    for (hall_id, epoch, rating_id, window, clerk, service, score, reasons, comment, created_at,
         source, extra, excluded, feed_seq, cb, rect, reply, rerating, case_id) in rows:
        mark = max(mark, feed_seq)
        extra = extra or {}
        rec = {
            "evaluation_id": f"{hall_id}-{epoch}-{rating_id}",
            "hall_id": hall_id,
            "window_id": str(window) if window is not None else None,
            "clerk_no": clerk or None,
            "case_no": extra.get("case_no"),
            "matter_code": extra.get("matter_code") or service,
            "matter_name": extra.get("matter_name") or service,
            "channel": extra.get("channel") or CHANNELS.get(source or "", "onsite_device"),
            "level": int(score),
            "level_name": LEVEL_NAMES[int(score)],
            "content_version": extra.get("content_version") or HALL_CONTENT_VERSION,
            # the national reasons (评价原因 of the on-site evaluation): as the hall mapped its
            # tags by its [ratings] reason_map when the rating was given, else by the defaults
            "reasons": _national(extra.get("national_reasons"), reasons),
            "hall_reasons": [str(r) for r in reasons or []],
            "comment": comment or "",
            "rated_at": created_at,
            "excluded": bool(excluded),
            "dimensions": _dimensions(extra.get("dimensions")),
            "followup": None,
        }
        if score <= 2:
            rec["followup"] = {"case_id": f"{hall_id}-{epoch}-{case_id}" if case_id else None,
                               "callback_at": _iso(cb), "rectified_at": _iso(rect),
                               "replied_at": _iso(reply), "rerating_level": rerating}
        out.append(rec)
    return out, mark


def _national(given, hall_reasons) -> list[str]:
    if isinstance(given, list) and all(r in evaluation.NATIONAL_REASONS for r in given):
        return list(given)
    return evaluation.national_reasons(hall_reasons or [])


def _dimensions(value) -> Optional[dict]:
    """The sub-scores {efficiency, level, attitude} as the hall sent them (JSON text), or None."""
    if isinstance(value, str):
        value = json.loads(value or "null")
    if not isinstance(value, dict):
        return None
    return {k: int(value[k]) for k in DIMENSIONS if value.get(k) is not None} or None


def last_mark(conn) -> int:
    row = conn.execute("SELECT max(through_seq) FROM feed_exports").fetchone()
    return row[0] or 0


def export(conn, fmt: str = "jsonl", everything: bool = False) -> tuple[str, int]:
    """The next export as text (JSON Lines or CSV) and how many ratings it holds; recorded."""
    if fmt not in ("jsonl", "csv"):
        raise ValueError(fmt)
    with conn.transaction():
        conn.execute("LOCK TABLE feed_exports IN EXCLUSIVE MODE")
        after = 0 if everything else last_mark(conn)
        recs, mark = records(conn, after)
        if fmt == "jsonl":
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
        else:
            buf = io.StringIO()
            buf.write("\ufeff")
            w = csv.writer(buf)
            w.writerow(CSV_FIELDS)
            for r in recs:
                f = r["followup"] or {}
                w.writerow([r["evaluation_id"], r["hall_id"], r["window_id"] or "", r["clerk_no"] or "",
                            r["case_no"] or "", r["matter_code"] or "", r["matter_name"] or "",
                            r["channel"], r["level"], r["level_name"], r["content_version"],
                            "|".join(r["reasons"]), r["comment"], r["rated_at"], int(r["excluded"]),
                            f.get("callback_at") or "", f.get("rectified_at") or "",
                            f.get("replied_at") or "", f.get("rerating_level") or "",
                            *[(r["dimensions"] or {}).get(k, "") for k in DIMENSIONS],
                            "|".join(r["hall_reasons"])])
            text = buf.getvalue()
        conn.execute("INSERT INTO feed_exports (exported_at, after_seq, through_seq, ratings, format) "
                     "VALUES (%s, %s, %s, %s, %s)",
                     [datetime.now(timezone.utc), after, mark, len(recs), fmt])
    return text, len(recs)
