"""What of a pushed event is public (docs/security.md, "What is public").

The lobby, the window screens, the pads and anyone on the hall's Wi-Fi may connect to
Socket.IO without a token: they get every event (every seq) with the staff-only fields
taken out. Staff-only: clerks' free-text reasons and notes (they may hold a citizen's
name, ID or phone number), who did what (employee numbers of managers), a single
rating's score (a per-clerk figure unless the hall publishes clerk satisfaction), and
any personal field an event may carry (names, phones, case numbers). Plain Python.
"""
from __future__ import annotations

# fields removed from every event, whatever its type
ALWAYS_STAFF = frozenset(("note", "comment", "by", "author", "phone", "phone_last4", "id_last4",
                          "name", "case_no", "matter_name", "error"))
# a `reason` is public only when it is one of these codes (never a clerk's free text)
PUBLIC_REASONS = frozenset(("day_end", "sign_in", "sign_out", "take_over", "callback", "expired",
                            "remote_expired"))  # a phone ticket not checked in (docs/appointments.md)
# per type: further staff-only fields; "score" is dropped unless the hall publishes it
BY_TYPE = {"rating.created": frozenset(("score", "reasons")),
           "case.changed": frozenset(("step", "status", "appeal_status", "rating")),
           "device.changed": frozenset(("printer",))}  # a kiosk's printer URL (staff only)


def public_event(body: dict, published: frozenset | set | tuple = ()) -> dict:
    """The event as public rooms get it: ``body`` itself when nothing is staff-only, else a
    copy without those fields. ``published``: the hall's [publish] figures."""
    drop = set(ALWAYS_STAFF) | set(BY_TYPE.get(body.get("type"), ()))
    if "clerk_satisfaction" in published and body.get("type") == "rating.created":
        drop.discard("score")
    reason = body.get("reason")
    if reason is not None and reason not in PUBLIC_REASONS and reason != "":
        drop.add("reason")
    hit = drop.intersection(body)
    if not hit:
        return body
    return {k: v for k, v in body.items() if k not in hit}
