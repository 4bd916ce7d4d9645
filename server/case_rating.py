"""Rules of a rating tied to a case (一次一评): the errors, the sub-scores, the case fields.

Plain Python (no SQL, no Flask): the service layer (server/operations.py) applies them.
docs/ratings.md, "Ratings of a case".
"""
from __future__ import annotations

from typing import Optional

from .engine import N_, QueueError
from .evaluation import DIMENSIONS

CASE_FIELDS = ("case_no", "matter_code", "matter_name")


class NoRatingDue(QueueError):
    code, status = "no_rating_due", 409
    message = N_("No rating is due at window %(window)s now.")


class BadDimensions(QueueError):
    code, status = "bad_dimensions", 422
    message = N_("dimensions takes efficiency, level and attitude, each 1 to 5 (got %(got)s).")


def check_dimensions(dimensions: Optional[dict]) -> Optional[dict]:
    """The sub-scores as stored ({code: 1–5}, only those given), or None for none."""
    if not dimensions:
        return None
    if not isinstance(dimensions, dict) or not set(dimensions) <= set(DIMENSIONS):
        raise BadDimensions(got=", ".join(sorted(map(str, dimensions)))[:80])
    out = {}
    for key, value in dimensions.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise BadDimensions(got=f"{key}={value!r}"[:80])
        out[key] = value
    return out or None


def case_fields(request: Optional[dict]) -> dict:
    """case_no, matter_code, matter_name of a request (nothing for a plain ticket rating)."""
    if not request:
        return {}
    return {k: request[k] for k in CASE_FIELDS}
