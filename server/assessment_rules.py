"""The rules of the assessment's changes (issue 15): yearly commitments, citizens'
feedback and training records; their domain errors (turned into JSON at the edge).

Plain Python over the configuration's objects; the service layer calls it inside its
transaction (server/operations.py, "assessment" block).
"""
from __future__ import annotations

import re
from typing import Optional

from .engine import N_, QueueError


class UnknownStaff(QueueError):
    code, status = "unknown_staff", 404
    message = N_("Employee number %(staff)s is not in the hall file's staff; known: %(known)s.")


class NotAnIndicator(QueueError):
    code, status = "not_an_indicator", 422
    message = N_("'%(figure)s' is not an indicator of post %(post)s; choose from: %(known)s.")


class UnknownFeedback(QueueError):
    code, status = "unknown_feedback", 404
    message = N_("There is no opinion number %(feedback)s.")


class AlreadyReplied(QueueError):
    code, status = "already_replied", 409
    message = N_("Opinion %(feedback)s has been answered already.")


class TooMuchFeedback(QueueError):
    code, status = "too_much_feedback", 429
    message = N_("Too many opinions from here in a short time; please try again in a while.")


class UnknownTrainingItem(QueueError):
    code, status = "unknown_training_item", 404
    message = N_("Training item '%(item)s' is not in the hall's catalogue; known: %(known)s.")


def commitment_targets(post, targets: list) -> list[dict]:
    """Each target {figure, target} checked against the post's indicators; the
    direction (better) is the indicator's."""
    indicators = {i.figure: i for i in post.indicators}
    out = []
    for t in targets:
        ind = indicators.get(t["figure"])
        if ind is None:
            raise NotAnIndicator(figure=t["figure"][:40], post=post.code,
                                 known=", ".join(indicators))
        out.append({"figure": ind.figure, "target": float(t["target"]), "better": ind.better})
    return out


_DIGITS = re.compile(r"\D")


def mask_phone(phone: str) -> str:
    """138****5678: the first three and last four digits, as callbacks show them."""
    digits = _DIGITS.sub("", phone or "")
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def clean_phone(phone: Optional[str]) -> str:
    """The digits of a phone number (7–15), or '' when none was given."""
    digits = _DIGITS.sub("", phone or "")
    return digits if 7 <= len(digits) <= 15 else ""
