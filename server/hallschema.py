"""The one schema of the hall's configuration (pydantic v2 models).

hall.toml, ``PUT /api/config`` and the admin pages are all checked here: an unknown
key is an error naming the nearest valid key, types and ranges are checked, codes
and numbers are unique, and each problem is one line naming the file, the line of
the key in hall.toml and the key's path. Adding a section is one model class and
one field on ``HallFile`` (docs/configuration.md).
"""
from __future__ import annotations

import copy
import difflib
import json
import re
import typing
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, Optional, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)

from .workdays import parse_spec


class Section(BaseModel):
    """A table of hall.toml: strict types (an int is a float, nothing else converts), no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True)


# --- value types ------------------------------------------------------------------

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def _hhmm(text: str) -> str:
    m = _HHMM.match(text.strip())
    if not m or int(m[1]) > 24 or int(m[2]) > 59 or (int(m[1]) == 24 and int(m[2])):
        raise ValueError(f"'{text}' is not a time like 08:30")
    return text


def _period(text: str) -> str:
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f"'{text}' is not a period like 08:30-12:00")
    a, b = (_hhmm(p) for p in parts)
    if tuple(map(int, b.strip().split(":"))) <= tuple(map(int, a.strip().split(":"))):
        raise ValueError(f"'{text}' ends before it starts")
    return text


def _duration(text: str) -> str:
    try:
        parse_spec(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a duration like 24h, 3d or 15wd (working days)") from None
    return text


def _zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{text}' (e.g. Asia/Shanghai)") from None
    return text


def _url(text: str) -> str:
    if not re.match(r"^https?://[^/\s]+", text):
        raise ValueError(f"'{text}' is not an address like http://10.0.0.5:5000")
    return text


def _day(value) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError(f"'{value}' is not a day like 2026-10-01") from None


HHMM = Annotated[str, AfterValidator(_hhmm)]
Period = Annotated[str, AfterValidator(_period)]
Duration = Annotated[str, AfterValidator(_duration)]
Weekday = Annotated[int, Field(ge=1, le=7)]
Share = Annotated[float, Field(ge=0, le=1)]
Minutes = Annotated[float, Field(gt=0, le=24 * 60)]
Text = Annotated[str, Field(max_length=500)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Day = Annotated[Union[date, str], AfterValidator(_day)]


# --- the sections -------------------------------------------------------------------

class Hall(Section):
    name: Name = "qrate"
    name_en: Annotated[str, Field(max_length=100)] = "qrate"
    timezone: Annotated[str, AfterValidator(_zone)] = "Asia/Shanghai"
    public_url: Annotated[str, AfterValidator(_url)] = "http://127.0.0.1:5000"
    enforce_hours: bool = True
    notice: Text = ""


class Server(Section):
    host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 5000


class Data(Section):
    folder: Annotated[str, Field(min_length=1)] = "data"


class Printer(Section):
    url: Annotated[str, Field(min_length=1)] = "dummy://"
    mode: Literal["text", "raster"] = "text"
    header: list[Text] = []
    footer: list[Text] = []
    qr: Literal["native", "image"] = "native"
    qr_size: Annotated[int, Field(ge=1, le=16)] = 6
    cut: bool = True
    dots: Annotated[int, Field(ge=128, le=2048)] = 576
    font: str = ""
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    poll_s: Annotated[float, Field(gt=0, le=3600)] = 5.0
    retry_max_s: Annotated[float, Field(gt=0, le=3600)] = 30.0


class Queue(Section):
    no_show_after_recalls: Annotated[int, Field(ge=0, le=20)] = 2
    recent_services: Annotated[int, Field(ge=1, le=1000)] = 20


class Flags(Section):
    min_ratings: Annotated[int, Field(ge=0)] = 30
    short_service_s: Annotated[float, Field(ge=0)] = 60
    burst_count: Annotated[int, Field(ge=1)] = 5
    burst_minutes: Minutes = 10


ReasonCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class Ratings(Section):
    window_minutes: Minutes = 10
    prompt_seconds: Annotated[float, Field(gt=0, le=3600)] = 60
    presses_per_minute: Annotated[float, Field(gt=0, le=6000)] = 12
    press_burst: Annotated[int, Field(ge=1, le=1000)] = 3
    reasons: list[ReasonCode] = ["attitude", "efficiency", "knowledge", "long_wait", "other"]
    flags: Flags = Flags()


class Followup(Section):
    owner: str = ""
    owners: dict[str, str] = {}
    callback: Duration = "1wd"
    verify: Duration = "3wd"
    rectify: Duration = "15wd"
    reply: Duration = "15wd"
    due_soon_hours: Annotated[float, Field(ge=0, le=24 * 30)] = 24


class Alerts(Section):
    long_wait_min: Minutes = 30
    long_wait_count: Annotated[int, Field(ge=0)] = 5
    check_s: Annotated[float, Field(gt=0, le=3600)] = 30


class Assessment(Section):
    min_count: Annotated[int, Field(ge=0)] = 5


class Calendar(Section):
    holidays: list[Day] = []
    workdays: list[Day] = []


class Slot(Section):
    from_: Annotated[HHMM, Field(alias="from")]
    to: HHMM
    cap: Annotated[int, Field(ge=0)]
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)


class Appointments(Section):
    slot_min: Annotated[int, Field(ge=1, le=240)] = 15
    capacity: Annotated[int, Field(ge=0)] = 0
    walk_in_share: Share = 0.5
    horizon_days: Annotated[int, Field(ge=0, le=366)] = 7
    checkin_before_min: Annotated[int, Field(ge=0, le=240)] = 30
    checkin_after_min: Annotated[int, Field(ge=0, le=240)] = 15


class Service(Section):
    code: Annotated[str, Field(pattern=r"^[A-Z]{1,2}$")]
    name: Name
    name_en: Annotated[str, Field(max_length=100)] = ""
    category: Annotated[str, Field(max_length=100)] = ""
    category_en: Annotated[str, Field(max_length=100)] = ""
    target_wait_min: Minutes = 20
    target_service_min: Minutes = 10
    target_good_rate: Share = 0.95
    hours: list[Period] = []
    days: list[Weekday] = [1, 2, 3, 4, 5, 6, 7]
    daily_cap: Optional[Annotated[int, Field(ge=0)]] = None
    warn_at: Share = 0.9
    slots: list[Slot] = []
    materials: Text = ""
    materials_en: Text = ""
    appointments: Optional[Appointments] = None


class Window(Section):
    number: Annotated[int, Field(ge=1, le=9999)]
    name: Annotated[str, Field(max_length=100)] = ""
    services: list[Annotated[str, Field(pattern=r"^[A-Z]{1,2}$")]] = []
    order: Literal["fifo", "ranked"] = "fifo"
    pad: Optional[str] = None
    keypad: Optional[str] = None


class Staff(Section):
    employee_no: Annotated[str, Field(min_length=1, max_length=20)]
    name: Annotated[str, Field(max_length=100)] = ""
    role: Literal["clerk", "manager", "admin"] = "clerk"
    photo: str = ""
    commitment: Text = ""
    commitment_en: Text = ""
    post: str = ""


class Indicator(Section):
    figure: Annotated[str, Field(min_length=1)]
    target: float
    weight: Annotated[float, Field(ge=0)] = 1
    better: Literal["lower", "higher"] = "higher"


class Post(Section):
    code: Annotated[str, Field(min_length=1, max_length=20)]
    name: Name
    name_en: str = ""
    indicators: list[Indicator] = []


class Rota(Section):
    window: Annotated[int, Field(ge=1)]
    weekdays: list[Weekday] = [1, 2, 3, 4, 5]
    hours: list[Period] = []


class City(Section):
    url: str = ""
    token: str = ""
    hall_id: Union[str, int] = ""


class Backup(Section):
    folder: str = ""
    keep: Annotated[int, Field(ge=1, le=3650)] = 14
    at: HHMM = "02:00"


Positive = Annotated[float, Field(gt=0)]


class Security(Section):
    """docs/security.md: trusted origins, cookie flags, rate limits, the sign-in throttle."""

    trusted_origins: list[Annotated[str, Field(pattern=r"://")]] = []
    secure_cookies: bool = False
    proxies: Annotated[int, Field(ge=0, le=10)] = 0
    anonymous_per_minute: Positive = 3000
    anonymous_burst: Positive = 600
    voice_per_minute: Positive = 120
    voice_burst: Positive = 30
    login_free_failures: Annotated[int, Field(ge=1, le=10)] = 5
    login_max_delay_s: Positive = 300
    login_per_minute: Positive = 120
    login_burst: Positive = 60
    voice_cache_mb: Positive = 50


class Publish(Section):
    """Which per-window and per-clerk figures are public (阳光政务)."""

    figures: list[Literal["window_satisfaction", "clerk_satisfaction"]] = ["window_satisfaction"]


class HallFile(Section):
    """The whole hall.toml; a new section is a model above and one field here."""

    hall: Hall = Hall()
    server: Server = Server()
    data: Data = Data()
    printer: Printer = Printer()
    queue: Queue = Queue()
    ratings: Ratings = Ratings()
    followup: Followup = Followup()
    alerts: Alerts = Alerts()
    assessment: Assessment = Assessment()
    calendar: Calendar = Calendar()
    city: Optional[City] = None
    backup: Optional[Backup] = None
    security: Security = Security()
    publish: Publish = Publish()
    services: list[Service] = []
    windows: list[Window] = []
    staff: list[Staff] = []
    posts: list[Post] = []
    rota: list[Rota] = []


# keys only an admin may change (PUT /api/config by a manager touching them → 403)
ADMIN_ONLY = ("printer", "server", "data", "city", "backup", "security", "staff.role")


# --- problems ---------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """One thing wrong: where (the key's path) and what to do."""

    loc: tuple
    message: str

    @property
    def path(self) -> str:
        return key_path(self.loc)

    def as_field(self) -> dict:
        return {"field": ".".join(str(x) for x in self.loc), "key": self.path,
                "problem": self.message}


def key_path(loc: tuple) -> str:
    """('services', 2, 'target_wait_min') → '[[services]] #3 target_wait_min'."""
    if not loc:
        return "(file)"
    head, rest = loc[0], list(loc[1:])
    if head in _ARRAYS:
        out = f"[[{head}]]"
        if rest and isinstance(rest[0], int):
            out += f" #{rest.pop(0) + 1}"
    else:
        out = f"[{head}]"
    for part in rest:
        out += f" #{part + 1}" if isinstance(part, int) else f" {part}"
    return out


_ARRAYS = {name for name, f in HallFile.model_fields.items()
           if typing.get_origin(f.annotation) is list}


def _model_at(loc: tuple):
    """The model class whose fields a key at ``loc`` belongs to (for 'did you mean')."""
    model: Any = HallFile
    for part in loc[:-1]:
        ann = _unwrap(model)
        if isinstance(part, int):
            continue
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)) or part not in ann.model_fields:
            return None
        model = ann.model_fields[part].annotation
    ann = _unwrap(model)
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def _unwrap(ann):
    while True:
        origin = typing.get_origin(ann)
        if origin in (list, Union, Optional) or origin is typing.Annotated:
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            if origin is typing.Annotated:
                args = args[:1]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            ann = models[0] if models else args[0]
            continue
        if origin is dict:
            return None
        return ann


def _field_names(model) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _message(err: dict) -> str:
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        model = _model_at(loc)
        names = _field_names(model) if model else []
        near = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.5)
        if near:
            return f"unknown key; did you mean '{near[0]}'?"
        return "unknown key; known: " + ", ".join(names) if names else "unknown key"
    if err["type"] == "missing":
        return "missing; write it"
    msg = err["msg"]
    msg = msg.removeprefix("Value error, ")
    if "input" in err and err["type"] not in ("value_error",):
        shown = repr(err["input"])
        if len(shown) <= 40 and not isinstance(err["input"], (dict, list)):
            msg += f", not {shown}"
    return msg


def problems(data: dict, tolerated: Optional[dict] = None) -> tuple[Optional[HallFile], list[Problem]]:
    """Check a whole configuration (hall.toml's shape); the model, or the problems.

    ``tolerated``: keys outside the models that are accepted anyway (config.DEFAULTS:
    a key another part added there before its model was written here)."""
    if not isinstance(data, dict):
        return None, [Problem((), "the configuration must be a table of sections")]
    try:
        model = HallFile.model_validate(data)
    except ValidationError as exc:
        out, seen, dropped = [], set(), []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("str", "int", "date"))))
            key = (loc, err["type"])
            if err["type"] == "extra_forbidden" and _known(loc, tolerated):
                dropped.append(loc)
                continue
            if key in seen:
                continue
            seen.add(key)
            out.append(Problem(loc, _message(err)))
        if out:
            return None, out + cross_checks(data)
        return problems(_without(data, dropped), None)
    return model, cross_checks(data)


def _without(data, locs: list[tuple]):
    data = copy.deepcopy(data)
    for loc in locs:
        node = data
        for part in loc[:-1]:
            node = node[part]
        node.pop(loc[-1], None)
    return data


def _known(loc: tuple, tree) -> bool:
    for part in loc:
        if isinstance(part, int):
            if not isinstance(tree, list) or not tree:
                return False
            tree = tree[0]
            continue
        if not isinstance(tree, dict) or part not in tree:
            return False
        tree = tree[part]
    return tree is not None


def _rows(data: dict, section: str) -> list[tuple[int, dict]]:
    rows = data.get(section)
    return [(i, r) for i, r in enumerate(rows) if isinstance(r, dict)] if isinstance(rows, list) else []


def cross_checks(data: dict) -> list[Problem]:
    """What one key cannot say alone: duplicates and references between sections
    (on the raw data, so they are reported beside the other problems)."""
    out: list[Problem] = []

    def unique(section, attr, what):
        seen: dict = {}
        for i, row in _rows(data, section):
            value = row.get(attr)
            if value is None or isinstance(value, (dict, list)):
                continue
            if value in seen:
                out.append(Problem((section, i, attr),
                                   f"{what} {value!r} is used twice (first at #{seen[value] + 1})"))
            else:
                seen[value] = i

    unique("services", "code", "service code")
    unique("windows", "number", "window number")
    unique("staff", "employee_no", "employee number")
    unique("posts", "code", "post code")
    codes = [r.get("code") for _, r in _rows(data, "services")]
    if not all(isinstance(c, str) and re.fullmatch(r"[A-Z]{1,2}", c) for c in codes):
        codes = []  # a wrong code is its own problem: no "unknown service" for each of its windows
    for i, w in _rows(data, "windows") if codes else ():
        served = w.get("services") if isinstance(w.get("services"), list) else []
        for j, code in enumerate(served):
            if isinstance(code, str) and code not in codes:
                out.append(Problem(("windows", i, "services", j),
                                   f"unknown service {code!r}; known: "
                                   f"{', '.join(str(c) for c in codes) or 'none'}"))
        if len(set(map(str, served))) != len(served):
            out.append(Problem(("windows", i, "services"), "a service is listed twice"))
    numbers = [r.get("number") for _, r in _rows(data, "windows")]
    for i, r in _rows(data, "rota"):
        if isinstance(r.get("window"), int) and r["window"] not in numbers:
            out.append(Problem(("rota", i, "window"), f"unknown window {r['window']}"))
    posts = [r.get("code") for _, r in _rows(data, "posts")]
    for i, s in _rows(data, "staff"):
        if s.get("post") and s["post"] not in posts:
            out.append(Problem(("staff", i, "post"),
                               f"unknown post {s['post']!r}; known: "
                               f"{', '.join(str(p) for p in posts) or 'none'}"))
    reasons = (data.get("ratings") or {}).get("reasons") if isinstance(data.get("ratings"), dict) else None
    if isinstance(reasons, list) and len(set(map(str, reasons))) != len(reasons):
        out.append(Problem(("ratings", "reasons"), "a reason is listed twice"))
    return out


# --- where a key is in hall.toml -------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def key_lines(text: str) -> dict[tuple, int]:
    """The line (1-based) of each table header and key in a TOML text, by path."""
    lines: dict[tuple, int] = {}
    counts: dict[str, int] = {}
    current: tuple = ()
    for n, line in enumerate(text.splitlines(), 1):
        m = _HEADER.match(line)
        if m and not _KEY.match(line):
            name = m[2]
            if m[1] == "[[":
                counts[name] = counts.get(name, -1) + 1
                current = tuple(name.split(".")) + (counts[name],)
            else:
                current = tuple(name.split("."))
            lines.setdefault(current, n)
            continue
        k = _KEY.match(line)
        if k:
            lines.setdefault(current + (k[1],), n)
    return lines


def line_of(loc: tuple, lines: dict[tuple, int]) -> Optional[int]:
    """The line of the key at ``loc``, else of its nearest enclosing key or table."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def format_problems(found: list[Problem], file: str, text: Optional[str]) -> list[str]:
    """One line per problem: ``FILE:LINE: KEY: what``."""
    lines = key_lines(text) if text is not None else {}
    out = []
    for p in found:
        n = line_of(p.loc, lines)
        out.append((n or 0, f"{file}:{n if n else '-'}: {p.path}: {p.message}"))
    return [line for _, line in sorted(out, key=lambda x: x[0])]


def admin_keys(old: dict, new: dict) -> list[str]:
    """The admin-only keys (ADMIN_ONLY) a change from ``old`` to ``new`` touches."""
    touched = []
    for key in ADMIN_ONLY:
        if "." in key:
            section, field = key.split(".")
            before = {s.get("employee_no"): s.get(field, "clerk") for s in old.get(section, [])}
            after = {s.get("employee_no"): s.get(field, "clerk") for s in new.get(section, [])}
            if any(after[k] != before.get(k, "clerk") for k in after) or \
                    any(k not in after and v != "clerk" for k, v in before.items()):
                touched.append(key)
        elif old.get(key) != new.get(key):
            touched.append(key)
    return touched


def normalise(model: HallFile) -> dict:
    """The checked configuration as plain TOML-able data with every default filled in."""
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


# --- what changed, and hall.toml written back -------------------------------------------

ID_KEYS = {"services": "code", "windows": "number", "staff": "employee_no", "posts": "code"}


def diff(old: dict, new: dict) -> list[dict]:
    """Every changed key, old → new: ``{"key": "services.A.name", "old": ..., "new": ...}``.
    Rows of [[services]], [[windows]], [[staff]] and [[posts]] are matched by their code,
    number or employee number, so a renamed window is one change, not a shifted list."""
    out: list[dict] = []

    def walk(path: str, a, b):
        if a == b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in list(a) + [k for k in b if k not in a]:
                walk(f"{path}.{k}" if path else str(k), a.get(k), b.get(k))
            return
        out.append({"key": path, "old": a, "new": b})

    for section in list(old) + [k for k in new if k not in old]:
        a, b = old.get(section), new.get(section)
        ident = ID_KEYS.get(section)
        if ident and isinstance(a, list) and isinstance(b, list):
            ra = {str(r.get(ident)): r for r in a if isinstance(r, dict)}
            rb = {str(r.get(ident)): r for r in b if isinstance(r, dict)}
            for k in list(ra) + [k for k in rb if k not in ra]:
                walk(f"{section}.{k}", ra.get(k), rb.get(k))
            if [str(r.get(ident)) for r in a] != [str(r.get(ident)) for r in b] and set(ra) == set(rb):
                out.append({"key": f"{section}.order", "old": list(ra), "new": list(rb)})
        else:
            walk(section, a, b)
    return out


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k) -> str:
    k = str(k)
    return k if _BARE.match(k) else json.dumps(k, ensure_ascii=False)


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (date,)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        items = [f"{_key(k)} = {_value(x)}" for k, x in v.items() if x is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def to_toml(data: dict, heading: str = "") -> str:
    """A configuration as hall.toml text: tables, then arrays of tables; nested tables inline.
    ``tomllib.loads(to_toml(d)) == d`` for every configuration this schema accepts."""
    parts = [heading] if heading else []
    tables = [(k, v) for k, v in data.items() if isinstance(v, dict)]
    arrays = [(k, v) for k, v in data.items() if isinstance(v, list)
              and all(isinstance(r, dict) for r in v)]
    for name, table in tables:
        lines = [f"[{_key(name)}]"] + [f"{_key(k)} = {_value(v)}" for k, v in table.items()
                                       if v is not None]
        parts.append("\n".join(lines))
    for name, rows in arrays:
        if not rows:
            parts.append(f"{_key(name)} = []")
            continue
        for row in rows:
            lines = [f"[[{_key(name)}]]"] + [f"{_key(k)} = {_value(v)}" for k, v in row.items()
                                             if v is not None]
            parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"
