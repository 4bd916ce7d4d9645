"""Users, devices and the bearer tokens they hold.

Passwords are hashed with Werkzeug's scrypt. Tokens are random, shown once,
and stored only as their SHA-256, so a copied database gives no working token.
Tokens live in the database and so survive a restart.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from werkzeug.security import check_password_hash, generate_password_hash

from . import store
from .engine import N_, QueueError
from .runtime import run_blocking

USER_ROLES = ("clerk", "manager", "admin")  # admin: a manager who also runs accounts, devices, printer
DEVICE_KINDS = ("kiosk", "pad", "keypad", "display")
DEVICE_KINDS += ("integration",)  # the hall's or city's business system (一窗式, bookings)


class UserExists(QueueError):
    code = "user_exists"
    message = N_("Employee number %(employee_no)s already has an account.")


class DeviceExists(QueueError):
    code = "device_exists"
    message = N_("A device named %(name)s already exists.")


class BadLogin(QueueError):
    code, status = "bad_login", 401
    message = N_("Wrong employee number or password.")


@dataclass
class Principal:
    """Who is calling: a signed-in user or a device."""

    kind: str  # user | device
    subject: str  # employee number or device id
    role: str  # clerk | manager | kiosk | pad | keypad | display
    window: Optional[int]
    name: str = ""
    token_hash: str = ""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def add_user(db, employee_no: str, role: str, password: str, name: str = "") -> None:
    if role not in USER_ROLES:
        raise ValueError(role)
    if store.user_exists(db, employee_no):
        raise UserExists(employee_no=employee_no)
    store.insert_user(db, employee_no, name or employee_no, role, generate_password_hash(password), _now())


_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    """A hash of nothing, made once: an unknown user costs the same scrypt as a known one."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(generate_password_hash(secrets.token_urlsafe(16)))
    return _DUMMY_HASH[0]


def check_login(db, employee_no: str, password: str) -> dict:
    """The user behind a right password, else BadLogin. The hash runs in a real OS thread
    (runtime.run_blocking: never on the gevent loop) and as long for an unknown user."""
    row = store.user_for_login(db, employee_no)
    hashed = row[3] if row is not None else _dummy_hash()
    ok = run_blocking(check_password_hash, hashed, password)
    if row is None or not ok:
        raise BadLogin()
    return {"employee_no": row[0], "name": row[1], "role": row[2]}


def new_token(db, kind: str, subject: str, role: str, window: Optional[int],
              expires_in_s: Optional[float] = None) -> str:
    raw = secrets.token_urlsafe(32)
    store.insert_token(db, token_hash(raw), kind, subject, role, window, _now())
    if expires_in_s is not None:
        store.set_token_expiry(db, token_hash(raw), time.time() + expires_in_s)
    return raw


def add_device(db, name: str, kind: str, window: Optional[int], *,
               expires_in_s: Optional[float] = None, printer: Optional[str] = None) -> tuple[int, str]:
    """Register a device; returns its id and its token (shown once)."""
    if kind not in DEVICE_KINDS:
        raise ValueError(kind)
    if store.device_exists(db, name):
        raise DeviceExists(name=name)
    raw = secrets.token_urlsafe(32)
    device_id = store.insert_device(db, name, kind, window, token_hash(raw), _now())
    if expires_in_s is not None:
        store.set_token_expiry(db, token_hash(raw), time.time() + expires_in_s)
    if printer:
        store.set_device_printer(db, device_id, printer)
    return device_id, raw


def resolve(db, raw: Optional[str]) -> Optional[Principal]:
    """The principal behind a raw token, or None."""
    if not raw or len(raw) > 200:
        return None
    h = token_hash(raw)
    owner = store.token_owner(db, h, time.time())
    if owner is None:
        return None
    kind, subject, role, window, name = owner
    if kind == "device":
        _seen(db, subject)
    return Principal(kind, subject, role, window, name, h)


_last_seen: dict[str, str] = {}  # device id -> when it last called, not yet written


def _seen(db, device_id: str) -> None:
    """Remember when a device called (in memory: a request never waits on a write)."""
    _last_seen[device_id] = _now()


def flush_seen(db) -> int:
    """Write the devices' "last seen" kept in memory (the server does it every minute)."""
    pending = dict(_last_seen)
    for device_id, at in pending.items():
        store.device_seen(db, int(device_id), at)
        if _last_seen.get(device_id) == at:
            _last_seen.pop(device_id, None)
    return len(pending)


def last_seen(device_id) -> Optional[str]:
    """The not-yet-written "last seen" of a device, if any."""
    return _last_seen.get(str(device_id))


def set_user_active(db, employee_no: str, active: bool) -> None:
    """Enable or disable an account; a disabled account's tokens stop at once."""
    store.set_user_active(db, employee_no, active, _now())


def reset_password(db, employee_no: str, password: str) -> None:
    """A new password; every sign-in of the account ends."""
    store.set_password(db, employee_no, generate_password_hash(password))


def set_language(db, employee_no: str, language: Optional[str]) -> None:
    """The language a user's own pages (the clerk's console) show; None: the hall's."""
    store.set_user_language(db, employee_no, language)


def language(db, employee_no: str) -> Optional[str]:
    return store.user_language(db, employee_no)


def revoke_device(db, name: str) -> None:
    store.revoke_device(db, name)


def resolve_hash(db, h: Optional[str]) -> Optional[Principal]:
    """The principal behind a token's SHA-256 (what a page's session cookie keeps), or None."""
    if not isinstance(h, str) or len(h) != 64:
        return None
    owner = store.token_owner(db, h, time.time())  # an expired token is no principal
    if owner is None:
        return None
    kind, subject, role, window, name = owner
    return Principal(kind, subject, role, window, name, h)


def expires_at(db, h: str) -> Optional[float]:
    """When the token with this SHA-256 expires (a Unix time), or None (no expiry, unknown)."""
    return store.token_expiry(db, h)


def revoke(db, token_hash_: str) -> None:
    store.revoke_token(db, token_hash_)


def end_other_sign_ins(db, employee_no: str, window: int, raw_token: str,
                       displaced: Optional[str]) -> None:
    """After a clerk signs in at ``window``: their tokens at other windows end, and so do
    the displaced clerk's at this one (they can no longer act there)."""
    store.revoke_user_tokens_at(db, employee_no, window, token_hash(raw_token))
    if displaced:
        store.revoke_window_tokens(db, displaced, window)
