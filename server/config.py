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

from . import hallschema
from .engine import N_, Service, Slot, Window
from .i18n import translate

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
                "flags": {"min_ratings": 30, "short_service_s": 60, "burst_count": 5,
                          "burst_minutes": 10}},
    "followup": {"owner": "", "owners": {}, "callback": "1wd", "verify": "3wd",
                 "contact_retention_days": 30,
                 "rectify": "15wd", "reply": "15wd", "due_soon_hours": 24},
    "alerts": {"long_wait_min": 30, "long_wait_count": 5, "check_s": 30},
    "assessment": {"min_count": 5},
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


@dataclass
class HallConfig:
    """The hall file, checked and turned into engine objects."""

    folder: Path
    raw: dict
    services: dict[str, Service] = field(default_factory=dict)
    windows: dict[int, Window] = field(default_factory=dict)
    window_devices: dict[int, dict] = field(default_factory=dict)
    staff: dict[str, Staff] = field(default_factory=dict)

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
    check(data, str(path), text)
    return build(folder, data)


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
    build_citizens(cfg, data)
    _check_security(data)
    return cfg


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


PUBLISHABLE = ("window_satisfaction", "clerk_satisfaction")


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
