"""schemathesis hooks (SCHEMATHESIS_HOOKS=tests.schemathesis_roles): every call carries the
token of a role, in turn per operation, so one schemathesis process calls each operation
as several roles (tests/test_security_openapi.py). One process, not one per role: each
run parses the whole document and generates its cases, which a busy 2-core hall PC pays
for many times over otherwise.

QRATE_ST_TOKENS: JSON [[role, token or null], ...]. QRATE_ST_LOGOUT: JSON
{"url": ..., "user": ..., "password": ...}: /api/logout gets a fresh sign-in of that user
each time (it ends the token it is called with), or no token in anonymous turns.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict

import requests
import schemathesis

ROLES = [tuple(x) for x in json.loads(os.environ.get("QRATE_ST_TOKENS", "[]"))]
LOGOUT = json.loads(os.environ.get("QRATE_ST_LOGOUT", "null"))
_turn: dict[str, int] = defaultdict(int)
USED: dict[str, int] = defaultdict(int)


def _role_for(label: str) -> tuple:
    # each operation starts at a role of its own (its name's hash) and goes round from there,
    # so operations with a single case are spread over every role too
    start = int(hashlib.sha256(label.encode()).hexdigest(), 16) % len(ROLES)
    role = ROLES[(start + _turn[label]) % len(ROLES)]
    _turn[label] += 1
    USED[role[0]] += 1
    _report()
    return role


def _report() -> None:
    """QRATE_ST_USED: where to write how many calls each role made (one file per process;
    rewritten after each call: the CLI runs no exit handlers of ours)."""
    if os.environ.get("QRATE_ST_USED"):
        with open(os.environ["QRATE_ST_USED"], "w", encoding="utf-8") as f:
            json.dump(USED, f)


@schemathesis.hook
def before_call(context, case, kwargs):
    if not ROLES:
        return
    name, token = _role_for(case.operation.label)
    if case.operation.label == "POST /api/logout" and token and LOGOUT:
        r = requests.post(LOGOUT["url"] + "/api/login", json={"user": LOGOUT["user"],
                                                              "password": LOGOUT["password"]}, timeout=20)
        token = r.json().get("token") if r.status_code == 200 else token
    case.headers.pop("Authorization", None)  # a generated one, or the last role's
    if token:
        case.headers["Authorization"] = f"Bearer {token}"
