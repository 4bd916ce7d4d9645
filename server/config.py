"""The hall file (hall.toml): loading, defaults, validation and `qrate init`."""
from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field
from datetime import time
from importlib import resources
from pathlib import Path
from typing import Any, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import appointments as appt
from . import hallschema
from .engine import N_, Service, Slot, Window
from .i18n import translate
from .posts import BETTER, FIGURES, GENERAL_POST, NO_SOURCE, Indicator, Post
from .workdays import parse_spec

DEFAULTS: dict[str, Any] = {
    "hall": {"name": "qrate", "name_en": "qrate", "timezone": "Asia/Shanghai",
             "public_url": "http://127.0.0.1:5000", "enforce_hours": True, "notice": "",
             "language": "zh-CN"},
    "server": {"host": "127.0.0.1", "port": 5000},
    "data": {"folder": "data"},
    "printer": {"url": "dummy://", "mode": "text"},
    "queue": {"no_show_after_recalls": 2, "recent_services": 20},
    "ratings": {"window_minutes": 10, "prompt_seconds": 60, "presses_per_minute": 12,
                "press_burst": 3,
                "reasons": ["attitude", "efficiency", "knowledge", "long_wait", "other"],
                # the hall's reason tags → the national reasons of the 好差评 feed (evaluation.py)
                "reason_map": {"attitude": "attitude", "efficiency": "efficiency",
                               "knowledge": "level", "long_wait": "efficiency", "other": "other"},
                "ticket_dimensions": False,  # the touch pad asks the sub-scores of tickets too
                "flags": {"min_ratings": 30, "short_service_s": 60, "burst_count": 5,
                          "burst_minutes": 10}},
    "followup": {"owner": "", "owners": {}, "callback": "1wd", "verify": "3wd",
                 "contact_retention_days": 30,
                 "rectify": "15wd", "reply": "15wd", "due_soon_hours": 24},
    "alerts": {"long_wait_min": 30, "long_wait_count": 5, "check_s": 30},
    "city": {"url": "", "token": "", "hall_id": "", "batch": 500, "retry_max_s": 10},
    "planning": {"weeks": 8, "target_share": 0.8, "erlang_a_from": 0.05},
    "rota": [],
    "appointments": {"closures": [], "retention_days": 30, "bookings_per_minute": 20,
                     "remote_tickets": False, "remote_expire_min": 60, "near_places": 3,
                     "webhook": {"url": "", "retries": 5, "timeout_s": 5, "backoff_s": 2}},
    # running a real hall (docs/operations.md): the daily backup, token expiry, silent windows
    "backup": {"folder": "", "keep": 14, "at": "12:30"},
    "auth": {"user_token_hours": 10, "device_token_days": 365},
    "signin": {"silent_minutes": 20},
    "assessment": {"min_count": 5, "daily_weight": 0.3, "periodic_weight": 0.7,
                   "default_post": ""},
    "posts": [],
    "feedback": {"reply": "5wd", "max_chars": 500, "per_ticket_per_hour": 3,
                 "kiosk_per_hour": 30, "per_address_per_minute": 6},
    "training": [],
    "devices": {"language": {}},
    # docs/security.md: trusted origins, cookie flags, rate limits, the sign-in throttle
    "security": {"trusted_origins": [], "secure_cookies": False, "proxies": 0,
                 "anonymous_per_minute": 3000, "anonymous_burst": 600,
                 "voice_per_minute": 120, "voice_burst": 30,
                 "login_free_failures": 5, "login_max_delay_s": 300,
                 "login_per_minute": 120, "login_burst": 60, "voice_cache_mb": 50},
    # which per-window and per-clerk figures are public (阳光政务): lobby, pad, status page
    "publish": {"figures": ["window_satisfaction"]},
    "services": [],
    "windows": [],
    "staff": [],
}


class ConfigError(Exception):
    """The hall file is wrong; the message says where and what to write.

    ``lines``: one line per problem (file, line, key, what), as `qrate serve` prints them;
    ``problems``: the same as hallschema.Problem objects (the API's 422 fields)."""

    def __init__(self, message: str, lines=None, problems=()):
        super().__init__(message)
        self.lines = list(lines) if lines else [message]
        self.problems = list(problems)


def merge(base: dict, over: dict) -> dict:
    """Deep-merge ``over`` into a copy of ``base`` (lists are replaced)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def _clock(text: str, where: str) -> time:
    m = _HHMM.match(str(text).strip())
    if not m or int(m[1]) > 24 or int(m[2]) > 59 or (int(m[1]) == 24 and int(m[2])):
        raise ConfigError(f"{where}: '{text}' is not a time like 08:30")
    if int(m[1]) == 24:
        return time.max
    return time(int(m[1]), int(m[2]))


def _period(text: str, where: str, cap: int = 0) -> Slot:
    parts = str(text).split("-")
    if len(parts) != 2:
        raise ConfigError(f"{where}: '{text}' is not a period like 08:30-12:00")
    start, end = _clock(parts[0], where), _clock(parts[1], where)
    if end <= start:
        raise ConfigError(f"{where}: '{text}' ends before it starts")
    return Slot(start, end, cap)


@dataclass
class Staff:
    employee_no: str
    name: str
    role: str = "clerk"
    photo: str = ""
    commitment: str = ""
    commitment_en: str = ""
    post: str = ""


@dataclass
class HallConfig:
    """The hall file, checked and turned into engine objects."""

    folder: Path
    raw: dict
    services: dict[str, Service] = field(default_factory=dict)
    windows: dict[int, Window] = field(default_factory=dict)
    window_devices: dict[int, dict] = field(default_factory=dict)
    staff: dict[str, Staff] = field(default_factory=dict)
    rota: list = field(default_factory=list)   # [(window, weekdays, (Slot, ...))]: _planning
    appointment_rules: dict[str, "appt.Rules"] = field(default_factory=dict)  # per service code
    closures: frozenset = frozenset()  # [appointments] closures: days the hall is shut
    posts: dict[str, Post] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.raw["hall"]["name"]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.raw["hall"]["timezone"])

    @property
    def data_folder(self) -> Path:
        return (self.folder / self.raw["data"]["folder"]).resolve()

    @property
    def db_path(self) -> Path:
        return self.data_folder / "qrate.db"


def load(folder: Path | str, overrides: Optional[dict] = None) -> HallConfig:
    """Read DIR/hall.toml over the defaults, then the overrides; check it all."""
    folder = Path(folder).resolve()
    path = folder / "hall.toml"
    raw: dict = {}
    text = None
    if path.exists():
        text = path.read_text(encoding="utf-8")
        raw = parse_toml(text, str(path))
    elif overrides is None:
        raise ConfigError(f"{path} does not exist; run `qrate init {folder}` first")
    data = merge(merge(DEFAULTS, raw), overrides or {})
    if overrides and "rota" not in overrides:  # the one rule: a window removed takes its rota
        data, _ = without_rota_of_removed_windows(merge(DEFAULTS, raw), data)
    check(data, str(path), text)
    return build(folder, data)


def without_rota_of_removed_windows(before: dict, after: dict) -> tuple[dict, list[dict]]:
    """A window removed takes its [[rota]] entries with it (PUT /api/config, the window
    editor, overrides): ``after`` without the entries of windows ``before`` had and
    ``after`` has not, and the entries dropped. A rota naming a window that never was
    stays, for the check to report."""
    def numbers(raw):
        rows = raw.get("windows") if isinstance(raw.get("windows"), list) else []
        return {w.get("number") for w in rows if isinstance(w, dict)}
    gone = numbers(before) - numbers(after)
    rota = after.get("rota")
    if not gone or not isinstance(rota, list):
        return after, []
    dropped = [r for r in rota if isinstance(r, dict) and r.get("window") in gone]
    if not dropped:
        return after, []
    return {**after, "rota": [r for r in rota if not (isinstance(r, dict) and r.get("window") in gone)]}, dropped


def parse_toml(text: str, file: str) -> dict:
    """A TOML text as a dict; a syntax error is one line naming the file and the line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = m[1] if m else "-"
        what = re.sub(r"\s*\(at line.*\)$", "", str(exc)) or "not valid TOML"
        raise ConfigError(f"{file}:{where}: (file): {what}") from None


def check(data: dict, file: str = "hall.toml", text: Optional[str] = None):
    """Validate a whole configuration against server.hallschema; ConfigError with one line each."""
    model, found = hallschema.problems(data, DEFAULTS)
    if found:
        lines = hallschema.format_problems(found, file, text)
        raise ConfigError("\n".join(lines), lines, found)
    return model


def build(folder: Path, data: dict) -> HallConfig:
    cfg = HallConfig(folder=folder, raw=data)
    try:
        cfg.tz
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"[hall] timezone: unknown time zone '{data['hall']['timezone']}'") from exc
    for i, s in enumerate(data["services"]):
        where = f"[[services]] #{i + 1}"
        code = str(s.get("code", ""))
        if not re.fullmatch(r"[A-Z]{1,2}", code):
            raise ConfigError(f"{where}: code must be one or two capital letters (A-Z, AA-ZZ), "
                              f"not '{code}'")
        if code in cfg.services:
            raise ConfigError(f"{where}: code '{code}' is used twice")
        if not s.get("name"):
            raise ConfigError(f"{where}: name is missing")
        hours = tuple(_period(p, f"{where} hours") for p in s.get("hours", []))
        slots = []
        for slot in s.get("slots", []):
            try:
                slots.append(_period(f"{slot['from']}-{slot['to']}", f"{where} slots",
                                     int(slot["cap"])))
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"{where} slots: each slot needs from, to and cap") from exc
        days = tuple(int(d) for d in s.get("days", range(1, 8)))
        if any(d < 1 or d > 7 for d in days):
            raise ConfigError(f"{where} days: weekdays are 1 (Monday) to 7 (Sunday)")
        cap = s.get("daily_cap")
        cfg.services[code] = Service(
            code=code, name=s["name"], name_en=s.get("name_en", s["name"]),
            target_wait_s=int(float(s.get("target_wait_min", 20)) * 60),
            target_service_s=int(float(s.get("target_service_min", 10)) * 60),
            target_good_rate=float(s.get("target_good_rate", 0.95)),
            hours=hours, days=days, daily_cap=int(cap) if cap else None,
            warn_at=float(s.get("warn_at", 0.9)), slots=tuple(slots),
            materials=s.get("materials", ""), materials_en=s.get("materials_en", ""))
    for i, w in enumerate(data["windows"]):
        where = f"[[windows]] #{i + 1}"
        try:
            number = int(w["number"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: number must be a whole number") from exc
        if number in cfg.windows:
            raise ConfigError(f"{where}: window {number} is listed twice")
        services = tuple(str(c) for c in w.get("services", []))
        unknown = [c for c in services if c not in cfg.services]
        if unknown:
            raise ConfigError(f"{where}: unknown services {unknown}; known: {sorted(cfg.services)}")
        order = w.get("order", "fifo")
        if order not in ("fifo", "ranked"):
            raise ConfigError(f"{where}: order must be 'fifo' or 'ranked'")
        cfg.windows[number] = Window(number=number, name=w.get("name") or translate(N_("Window %(n)s"), "zh_CN", n=number),
                                     services=services, order=order)
        cfg.window_devices[number] = {"pad": w.get("pad"), "keypad": w.get("keypad")}
    for s in data["staff"]:
        no = str(s.get("employee_no", ""))
        if not no:
            raise ConfigError("[[staff]]: employee_no is missing")
        cfg.staff[no] = Staff(employee_no=no, name=s.get("name", no), role=s.get("role", "clerk"),
                              photo=s.get("photo", ""), commitment=s.get("commitment", ""),
                              commitment_en=s.get("commitment_en", ""))
    _check_city(data)
    _planning(cfg, data)
    build_appointments(cfg, data)
    _check_operations(data)
    _build_posts(cfg, data)
    _build_feedback_training(cfg, data)
    build_citizens(cfg, data)
    _check_security(data)
    return cfg


def _check_city(data: dict) -> None:
    """[city] url, token, hall_id (the city forwarder, docs/city.md); batch 1–5000."""
    city = data.get("city") or {}
    url = str(city.get("url", ""))
    if url and not re.match(r"^https?://", url):
        raise ConfigError(f"[city] url: '{url}' must start with http:// or https://")
    if url and not (city.get("token") and city.get("hall_id")):
        raise ConfigError("[city]: with a url, token and hall_id are needed too "
                          "(from `qrate city hall add NAME --db URL`)")
    try:
        batch = int(city.get("batch", 500))
    except (TypeError, ValueError) as exc:
        raise ConfigError("[city] batch: a whole number, 1 to 5000") from exc
    if not 1 <= batch <= 5000:
        raise ConfigError("[city] batch: a whole number, 1 to 5000")
    try:
        retry = float(city.get("retry_max_s", 10))
    except (TypeError, ValueError) as exc:
        raise ConfigError("[city] retry_max_s: seconds, 0.1 to 3600") from exc
    if not 0.1 <= retry <= 3600:
        raise ConfigError("[city] retry_max_s: seconds, 0.1 to 3600")


def _planning(cfg: HallConfig, data: dict) -> None:
    """[planning] (the staffing planner) and [[rota]] (the scheduled windows); docs/planning.md."""
    p = data.get("planning", {})
    try:
        weeks, share, from_ = int(p["weeks"]), float(p["target_share"]), float(p["erlang_a_from"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError("[planning]: weeks must be a whole number, target_share and "
                          "erlang_a_from numbers") from exc
    if not 1 <= weeks <= 52:
        raise ConfigError(f"[planning] weeks: {weeks} is not between 1 and 52")
    if not 0 < share < 1:
        raise ConfigError(f"[planning] target_share: {share} must be above 0 and below 1, e.g. 0.8")
    if not 0 <= from_ <= 1:
        raise ConfigError(f"[planning] erlang_a_from: {from_} must be between 0 and 1")
    for i, r in enumerate(data.get("rota", [])):
        where = f"[[rota]] #{i + 1}"
        try:
            window = int(r["window"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: window must be a window number") from exc
        if window not in cfg.windows:
            raise ConfigError(f"{where}: window {window} is not in [[windows]]; known: {sorted(cfg.windows)}")
        days = tuple(int(d) for d in r.get("weekdays", range(1, 6)))   # default Monday-Friday
        if not days or any(d < 1 or d > 7 for d in days):
            raise ConfigError(f"{where} weekdays: weekdays are 1 (Monday) to 7 (Sunday)")
        hours = r.get("hours", [])
        hours = [hours] if isinstance(hours, str) else list(hours)
        if not hours:
            raise ConfigError(f"{where} hours: give periods like [\"08:30-12:00\", \"13:30-17:30\"]")
        cfg.rota.append((window, days, tuple(_period(h, f"{where} hours") for h in hours)))


def build_appointments(cfg: HallConfig, data: dict) -> None:
    """[[services]] appointments = {...} and the hall's [appointments] section (docs/appointments.md)."""
    section = data["appointments"]
    try:
        cfg.closures = appt.parse_closures(section.get("closures", []))
        for i, s in enumerate(data["services"]):
            rules = appt.parse_rules(s.get("appointments"), f"[[services]] #{i + 1} appointments")
            if rules is not None:
                cfg.appointment_rules[str(s["code"])] = rules
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    for key in ("retention_days", "bookings_per_minute", "remote_expire_min", "near_places"):
        value = section.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"[appointments] {key} must be a whole number, 0 or more, not {value!r}")
    if not isinstance(section.get("remote_tickets"), bool):
        raise ConfigError("[appointments] remote_tickets must be true or false")
    hook = section.get("webhook", {})
    if not isinstance(hook.get("url", ""), str) or (hook.get("url") and not re.match(r"^https?://", hook["url"])):
        raise ConfigError("[appointments] webhook.url must start with http:// or https://")

def _check_operations(data: dict) -> None:
    """[backup], [auth] and [signin]: types and ranges (docs/operations.md)."""
    b = data["backup"]
    if not isinstance(b.get("folder"), str):
        raise ConfigError("[backup] folder: a folder path as text (\"\" for no daily backup)")
    _clock(b.get("at"), "[backup] at")
    checks = (("backup", "keep", 1, 3650), ("auth", "user_token_hours", 1, 24 * 31),
              ("auth", "device_token_days", 1, 3650), ("signin", "silent_minutes", 0, 24 * 60))
    for section, key, lo, hi in checks:
        value = data[section].get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise ConfigError(f"[{section}] {key}: a number from {lo} to {hi}, not {value!r}")


TRAINING_KINDS = ("concentrated", "secondment", "on_the_job", "self_study")
TRAINING_CATEGORIES = ("skills", "etiquette", "policy")


def _build_feedback_training(cfg: HallConfig, data: dict) -> None:
    """[feedback] (citizens' opinions: reply deadline, bounds) and [[training]] (the
    hall's training catalogue, each item linked to indicators or rating reasons)."""
    fb = data.get("feedback") or {}
    try:
        parse_spec(fb.get("reply", "5wd"))
    except ValueError as exc:
        raise ConfigError(f"[feedback] reply: {exc}") from exc
    for key in ("max_chars", "per_ticket_per_hour", "kiosk_per_hour", "per_address_per_minute"):
        value = fb.get(key, DEFAULTS["feedback"][key])
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10000:
            raise ConfigError(f"[feedback] {key}: must be a whole number from 1 to 10000, not {value!r}")
    reasons = set(data["ratings"].get("reasons") or [])
    seen: set = set()
    for i, t in enumerate(data.get("training") or []):
        where = f"[[training]] #{i + 1}"
        code = str(t.get("code", "")) if isinstance(t, dict) else ""
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", code):
            raise ConfigError(f"{where}: code must be 1-32 letters, digits, '-' or '_', not '{code}'")
        if code in seen:
            raise ConfigError(f"{where}: code '{code}' is used twice")
        seen.add(code)
        if not t.get("name"):
            raise ConfigError(f"{where} ({code}): name is missing")
        if t.get("kind") not in TRAINING_KINDS:
            raise ConfigError(f"{where} ({code}): kind must be one of {', '.join(TRAINING_KINDS)}")
        if t.get("category") not in TRAINING_CATEGORIES:
            raise ConfigError(f"{where} ({code}): category must be one of "
                              f"{', '.join(TRAINING_CATEGORIES)}")
        bad = [f for f in t.get("figures", []) if f not in FIGURES]
        if bad:
            raise ConfigError(f"{where} ({code}): unknown figures {bad}; known: {', '.join(FIGURES)}")
        bad = [r for r in t.get("reasons", []) if r not in reasons]
        if bad:
            raise ConfigError(f"{where} ({code}): unknown rating reasons {bad}; "
                              f"known ([ratings] reasons): {', '.join(sorted(reasons))}")
        if not t.get("figures") and not t.get("reasons"):
            raise ConfigError(f"{where} ({code}): name the figures or rating reasons it addresses")


def _number(value, where: str, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
        raise ConfigError(f"{where}: must be a number of at least {low:g}, not {value!r}")
    return float(value)


def _build_posts(cfg: HallConfig, data: dict) -> None:
    """[[posts]] (岗位 and their indicators), [[staff]] post and the [assessment] weights."""
    for i, p in enumerate(data.get("posts") or []):
        code = str(p.get("code", "")) if isinstance(p, dict) else ""
        where = f"[[posts]] #{i + 1}"
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,16}", code):
            raise ConfigError(f"{where}: code must be 1-16 letters, digits, '-' or '_', not '{code}'")
        if code in cfg.posts:
            raise ConfigError(f"{where}: code '{code}' is used twice")
        if not p.get("name"):
            raise ConfigError(f"{where} ({code}): name is missing")
        raw = p.get("indicators") or []
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f"{where} ({code}): indicators must list at least one "
                              "{figure, target, weight, better}")
        indicators = []
        for j, ind in enumerate(raw):
            at = f"{where} ({code}) indicators #{j + 1}"
            if not isinstance(ind, dict):
                raise ConfigError(f"{at}: must be a table {{figure, target, weight, better}}")
            extra = sorted(set(ind) - {"figure", "target", "weight", "better"})
            if extra:
                raise ConfigError(f"{at}: unknown keys {extra}; an indicator has figure, "
                                  "target, weight and better")
            figure = str(ind.get("figure", ""))
            if figure in NO_SOURCE:
                raise ConfigError(f"{at}: figure '{figure}' cannot be used: {NO_SOURCE[figure]}")
            if figure not in FIGURES:
                raise ConfigError(f"{at}: unknown figure '{figure}'; known: {', '.join(FIGURES)}")
            better = ind.get("better", FIGURES[figure])
            if better not in BETTER:
                raise ConfigError(f"{at}: better must be 'lower' or 'higher', not {better!r}")
            if "target" not in ind:
                raise ConfigError(f"{at}: target is missing")
            target = _number(ind["target"], f"{at} target", float("-inf"))
            weight = _number(ind.get("weight", 1), f"{at} weight")
            if weight <= 0:
                raise ConfigError(f"{at} weight: must be more than 0")
            indicators.append(Indicator(figure, target, weight, better))
        cfg.posts[code] = Post(code, str(p["name"]), str(p.get("name_en") or p["name"]),
                               tuple(indicators))
    for s in data["staff"]:
        post = str(s.get("post") or "")
        if post and post not in cfg.posts:
            raise ConfigError(f"[[staff]] {s.get('employee_no')}: unknown post '{post}'; "
                              f"known: {sorted(cfg.posts) or 'none (add [[posts]])'}")
        cfg.staff[str(s["employee_no"])].post = post
    section = data.get("assessment") or {}
    default = str(section.get("default_post") or "")
    if default and default not in cfg.posts:
        raise ConfigError(f"[assessment] default_post: unknown post '{default}'; "
                          f"known: {sorted(cfg.posts)}")
    daily = _number(section.get("daily_weight", 0.3), "[assessment] daily_weight")
    periodic = _number(section.get("periodic_weight", 0.7), "[assessment] periodic_weight")
    if daily + periodic <= 0:
        raise ConfigError("[assessment] daily_weight + periodic_weight must be more than 0")
    min_count = section.get("min_count", 5)
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ConfigError(f"[assessment] min_count: must be a whole number of at least 1, "
                          f"not {min_count!r}")


def post_of(cfg: HallConfig, employee_no: str) -> Post:
    """The post a clerk is judged by: the staff's own, else [assessment] default_post,
    else the built-in general post."""
    staff = cfg.staff.get(employee_no)
    code = (staff.post if staff else "") or (cfg.raw.get("assessment") or {}).get("default_post")
    return cfg.posts.get(code or "") or cfg.posts.get(GENERAL_POST.code) or GENERAL_POST


CATEGORY_MAX = 8
LANGUAGES = ("zh-CN", "en")


def build_citizens(cfg: HallConfig, data: dict) -> None:
    """Check the citizen-side keys: service categories, the hall's and devices' language."""
    categories: list[str] = []
    for i, s in enumerate(data["services"]):
        where = f"[[services]] #{i + 1}"
        cat = s.get("category", "")
        if not isinstance(cat, str) or not isinstance(s.get("category_en", ""), str):
            raise ConfigError(f"{where}: category and category_en must be text")
        if cat and cat not in categories:
            categories.append(cat)
    if len(categories) > CATEGORY_MAX:
        raise ConfigError(f"[[services]] category: at most {CATEGORY_MAX} categories, "
                          f"not {len(categories)} ({', '.join(categories)})")
    hall = data["hall"]
    if hall.get("language", "zh-CN") not in LANGUAGES:
        raise ConfigError(f"[hall] language: '{hall.get('language')}' is not one of "
                          f"{', '.join(LANGUAGES)}")
    days = data["followup"].get("contact_retention_days", 30)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650:
        raise ConfigError(f"[followup] contact_retention_days: a whole number of days 0-3650, "
                          f"not '{days}'")
    for name, lang in (data.get("devices", {}).get("language", {}) or {}).items():
        if lang not in LANGUAGES:
            raise ConfigError(f"[devices.language] {name}: '{lang}' is not one of "
                              f"{', '.join(LANGUAGES)}")


PUBLISHABLE = ("window_satisfaction", "clerk_satisfaction", "clerk_commitments")


def _check_security(data: dict) -> None:
    """[security] and [publish]: numbers in range, known figure names (docs/security.md)."""
    sec = data.get("security", {})
    for key in ("anonymous_per_minute", "anonymous_burst", "voice_per_minute", "voice_burst",
                "login_per_minute", "login_burst", "login_max_delay_s", "voice_cache_mb"):
        v = sec.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            raise ConfigError(f"[security] {key}: a positive number, not {v!r}")
    free = sec.get("login_free_failures")
    if isinstance(free, bool) or not isinstance(free, int) or not 1 <= free <= 10:
        raise ConfigError(f"[security] login_free_failures: a whole number 1-10, not {free!r}")
    proxies = sec.get("proxies")
    if isinstance(proxies, bool) or not isinstance(proxies, int) or proxies < 0:
        raise ConfigError(f"[security] proxies: a whole number >= 0, not {proxies!r}")
    if not isinstance(sec.get("secure_cookies"), bool):
        raise ConfigError("[security] secure_cookies: true or false")
    origins = sec.get("trusted_origins")
    if not isinstance(origins, list) or not all(isinstance(o, str) and "://" in o for o in origins):
        raise ConfigError("[security] trusted_origins: a list of origins like \"https://hall.example\"")
    figures = data.get("publish", {}).get("figures")
    if not isinstance(figures, list) or any(f not in PUBLISHABLE for f in figures):
        raise ConfigError(f"[publish] figures: a list of {', '.join(PUBLISHABLE)}; not {figures!r}")


def demo_text(always_open: bool = False, port: Optional[int] = None) -> str:
    """The demo hall's hall.toml; always_open lifts opening hours for a demo at any time."""
    text = resources.files("server").joinpath("demo_hall.toml").read_text(encoding="utf-8")
    if always_open:
        text = text.replace("enforce_hours = true", "enforce_hours = false")
    if port:
        text = text.replace("port = 5000", f"port = {port}")
        text = text.replace("127.0.0.1:5000", f"127.0.0.1:{port}")
    return text


def write_demo(folder: Path | str, always_open: bool = False, port: Optional[int] = None) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hall.toml"
    if path.exists():
        raise FileExistsError(str(path))
    path.write_text(demo_text(always_open, port), encoding="utf-8")
    (folder / "photos").mkdir(exist_ok=True)
    return path


def write_template(folder: Path | str, port: Optional[int] = None) -> Path:
    """A real hall's hall.toml to fill in (`qrate init DIR`): the hall's name marked TODO,
    one example service and window, no staff."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hall.toml"
    if path.exists():
        raise FileExistsError(str(path))
    text = resources.files("server").joinpath("hall_template.toml").read_text(encoding="utf-8")
    if port:
        text = text.replace("port = 5000", f"port = {port}").replace("127.0.0.1:5000", f"127.0.0.1:{port}")
    path.write_text(text, encoding="utf-8")
    return path
