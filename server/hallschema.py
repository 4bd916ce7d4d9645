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
from dataclasses import dataclass, field
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
from pydantic_core import PydanticCustomError

from .engine import N_
from .i18n import translate

from .workdays import parse_spec


class Section(BaseModel):
    """A table of hall.toml: strict types (an int is a float, nothing else converts), no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True)


# --- value types ------------------------------------------------------------------

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def _hhmm(text: str) -> str:
    m = _HHMM.match(text.strip())
    if not m or int(m[1]) > 24 or int(m[2]) > 59 or (int(m[1]) == 24 and int(m[2])):
        raise _bad(N_("'%(value)s' is not a time like 08:30"), value=text)
    return text


def _period(text: str) -> str:
    parts = text.split("-")
    if len(parts) != 2:
        raise _bad(N_("'%(value)s' is not a period like 08:30-12:00"), value=text)
    a, b = (_hhmm(p) for p in parts)
    if tuple(map(int, b.strip().split(":"))) <= tuple(map(int, a.strip().split(":"))):
        raise _bad(N_("'%(value)s' ends before it starts"), value=text)
    return text


def _duration(text: str) -> str:
    try:
        parse_spec(text)
    except ValueError:
        raise _bad(N_("'%(value)s' is not a duration like 24h, 3d or 15wd (working days)"), value=text) from None
    return text


def _zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad(N_("unknown time zone '%(value)s' (e.g. Asia/Shanghai)"), value=text) from None
    return text


def _url(text: str) -> str:
    if not re.match(r"^https?://[^/\s]+", text):
        raise _bad(N_("'%(value)s' is not an address like http://10.0.0.5:5000"), value=text)
    return text


def _day(value) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise _bad(N_("'%(value)s' is not a day like 2026-10-01"), value=str(value)) from None


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
    language: Literal["zh-CN", "en"] = "zh-CN"  # device pages' language (docs/citizens.md)


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
# the national on-site evaluation's reasons (server/evaluation.py, onsite-2019.1)
NationalReason = Literal["efficiency", "level", "attitude", "process", "other"]


class Ratings(Section):
    window_minutes: Minutes = 10
    prompt_seconds: Annotated[float, Field(gt=0, le=3600)] = 60
    presses_per_minute: Annotated[float, Field(gt=0, le=6000)] = 12
    press_burst: Annotated[int, Field(ge=1, le=1000)] = 3
    reasons: list[ReasonCode] = ["attitude", "efficiency", "knowledge", "long_wait", "other"]
    # each reason tag → the national reason it is reported as (好差评; docs/ratings.md)
    reason_map: dict[ReasonCode, NationalReason] = {
        "attitude": "attitude", "efficiency": "efficiency", "knowledge": "level",
        "long_wait": "efficiency", "other": "other"}
    ticket_dimensions: bool = False  # the touch pad asks 服务效率/水平/态度 after a ticket's level too
    flags: Flags = Flags()


class Followup(Section):
    owner: str = ""
    owners: dict[str, str] = {}
    callback: Duration = "1wd"
    verify: Duration = "3wd"
    rectify: Duration = "15wd"
    reply: Duration = "15wd"
    due_soon_hours: Annotated[float, Field(ge=0, le=24 * 30)] = 24
    contact_retention_days: Annotated[int, Field(ge=0, le=3650)] = 30  # callback phones


class Alerts(Section):
    long_wait_min: Annotated[float, Field(ge=0, le=24 * 60)] = 30  # 0: any wait counts
    long_wait_count: Annotated[int, Field(ge=0)] = 5
    check_s: Annotated[float, Field(gt=0, le=3600)] = 30


class Assessment(Section):
    min_count: Annotated[int, Field(ge=1)] = 5
    daily_weight: Annotated[float, Field(ge=0)] = 0.3  # 日常考评 (docs/figures.md)
    periodic_weight: Annotated[float, Field(ge=0)] = 0.7  # 定期考评
    default_post: str = ""


class Feedback(Section):
    """Citizens' opinions (群众沟通反馈): the reply deadline and the bounds (docs/assessment.md)."""

    reply: Duration = "5wd"
    max_chars: Annotated[int, Field(ge=1, le=10000)] = 500
    per_ticket_per_hour: Annotated[int, Field(ge=1, le=10000)] = 3
    kiosk_per_hour: Annotated[int, Field(ge=1, le=10000)] = 30
    per_address_per_minute: Annotated[int, Field(ge=1, le=10000)] = 6


class Training(Section):
    """One item of the hall's training catalogue (教育培训)."""

    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
    name: Name
    name_en: str = ""
    kind: Literal["concentrated", "secondment", "on_the_job", "self_study"]
    category: Literal["skills", "etiquette", "policy"]
    figures: list[str] = []
    reasons: list[str] = []


class Devices(Section):
    """Per-device settings by device name: the language a device page shows."""

    language: dict[str, Literal["zh-CN", "en"]] = {}


class Calendar(Section):
    holidays: list[Day] = []
    workdays: list[Day] = []


class Slot(Section):
    from_: Annotated[HHMM, Field(alias="from")]
    to: HHMM
    cap: Annotated[int, Field(ge=0)]
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)


class Appointments(Section):
    slot_min: Annotated[int, Field(ge=5, le=240)] = 30
    capacity: Optional[Annotated[int, Field(ge=0, le=1000)]] = None  # None: derived from the windows
    walk_in_share: Share = 0.5
    horizon_days: Annotated[int, Field(ge=0, le=366)] = 7
    checkin_before_min: Annotated[int, Field(ge=0, le=240)] = 30
    checkin_after_min: Annotated[int, Field(ge=0, le=240)] = 15
    remote_quota: Annotated[int, Field(ge=0, le=10000)] = 0  # phone tickets a day (docs/appointments.md)


class Webhook(Section):
    url: Annotated[str, Field(pattern=r"^(https?://.*)?$")] = ""
    retries: Annotated[int, Field(ge=1, le=100)] = 5
    timeout_s: Annotated[Union[int, float], Field(gt=0, le=120)] = 5
    backoff_s: Annotated[Union[int, float], Field(ge=0, le=3600)] = 2


class HallAppointments(Section):
    """[appointments]: the hall's closures, retention, phone tickets, near notices (docs/appointments.md)."""

    closures: list[Day] = []
    retention_days: Annotated[int, Field(ge=0, le=3650)] = 30
    bookings_per_minute: Annotated[int, Field(ge=0, le=10000)] = 20
    remote_tickets: bool = False
    remote_expire_min: Annotated[int, Field(ge=0, le=1440)] = 60
    near_places: Annotated[int, Field(ge=0, le=1000)] = 3
    webhook: Webhook = Webhook()


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
    weight: Annotated[float, Field(gt=0)] = 1
    better: Optional[Literal["lower", "higher"]] = None  # None: the figure's own direction


class Post(Section):
    code: Annotated[str, Field(min_length=1, max_length=20)]
    name: Name
    name_en: str = ""
    indicators: list[Indicator] = []


class Rota(Section):
    window: Annotated[int, Field(ge=1)]
    weekdays: list[Weekday] = [1, 2, 3, 4, 5]
    hours: list[Period] = []


class Planning(Section):
    """The staffing planner (docs/planning.md)."""
    weeks: Annotated[int, Field(ge=1, le=52)] = 8
    target_share: Annotated[float, Field(gt=0, lt=1)] = 0.8
    erlang_a_from: Share = 0.05


class City(Section):
    url: str = ""
    token: str = ""
    hall_id: Union[str, int] = ""
    batch: Annotated[int, Field(ge=1, le=5000)] = 500          # events per request (server/forward.py)
    retry_max_s: Annotated[float, Field(ge=0.1, le=3600)] = 10  # longest wait between tries


class Backup(Section):
    folder: str = ""
    keep: Annotated[int, Field(ge=1, le=3650)] = 14
    at: HHMM = "12:30"  # config.DEFAULTS: the daily backup (docs/operations.md)


class Auth(Section):
    """Token expiry (docs/operations.md)."""
    user_token_hours: Annotated[float, Field(ge=1, le=744)] = 10
    device_token_days: Annotated[float, Field(ge=1, le=3650)] = 365


class Signin(Section):
    """A window silent this long (no console, no keypad) is paused; 0: never."""
    silent_minutes: Annotated[float, Field(ge=0, le=1440)] = 20


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

    figures: list[Literal["window_satisfaction", "clerk_satisfaction", "clerk_commitments"]] = ["window_satisfaction"]


class Kiosk(Section):
    """How long the ticket screen stays before the kiosk returns to its start (docs/printing.md)."""

    return_s: Annotated[int, Field(ge=1, le=600)] = 20


class Voice(Section):
    """The spoken calls' languages, in the order they are read (docs/voice.md)."""

    languages: list[Literal["zh", "en"]] = ["zh"]


class Serial(Section):
    """Every serial pad and keypad port of the hall (docs/serial-protocol.md)."""

    baudrate: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] = 9600
    # a device beats every 10 s: no $HB for this long is "late" (pushed to the managers)
    heartbeat_late_s: Annotated[float, Field(ge=2, le=600)] = 35.0


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
    appointments: HallAppointments = HallAppointments()
    city: Optional[City] = None
    backup: Optional[Backup] = None
    auth: Auth = Auth()
    signin: Signin = Signin()
    security: Security = Security()
    kiosk: Kiosk = Kiosk()
    voice: Voice = Voice()
    serial: Serial = Serial()
    publish: Publish = Publish()
    feedback: Feedback = Feedback()
    training: list[Training] = []
    devices: Devices = Devices()
    services: list[Service] = []
    windows: list[Window] = []
    staff: list[Staff] = []
    posts: list[Post] = []
    rota: list[Rota] = []
    planning: Planning = Planning()   # the staffing planner (docs/planning.md)


# keys only an admin may change (PUT /api/config by a manager touching them → 403)
ADMIN_ONLY = ("printer", "server", "data", "city", "backup", "security", "staff.role")


# --- problems ---------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """One thing wrong: where (the key's path) and what to do (a message id and its values)."""

    loc: tuple
    msgid: str
    params: dict = field(default_factory=dict)

    @property
    def path(self) -> str:
        return key_path(self.loc)

    @property
    def message(self) -> str:
        return translate(self.msgid, "en", **self.params)

    def text(self, locale: Optional[str] = None) -> str:
        """The message in ``locale`` (default: the request's, or the CLI's QRATE_LANG)."""
        return translate(self.msgid, locale, **self.params)

    def as_field(self) -> dict:
        return {"field": ".".join(str(x) for x in self.loc), "key": self.path,
                "problem": self.text(), "problem_en": self.message}


def _bad(msgid: str, **params) -> PydanticCustomError:
    return PydanticCustomError("hall_value", msgid, {"msgid": msgid, **params})


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


_TYPES = {
    "int_type": N_("a whole number, not %(input)s"), "int_parsing": N_("a whole number, not %(input)s"),
    "int_from_float": N_("a whole number, not %(input)s"),
    "float_type": N_("a number, not %(input)s"), "float_parsing": N_("a number, not %(input)s"),
    "bool_type": N_("true or false, not %(input)s"), "bool_parsing": N_("true or false, not %(input)s"),
    "string_type": N_("text in quotes, not %(input)s"), "list_type": N_("a list [...], not %(input)s"),
    "model_type": N_("a table, not %(input)s"), "dict_type": N_("a table, not %(input)s"),
    "model_attributes_type": N_("a table, not %(input)s"),
    "less_than_equal": N_("at most %(le)s, not %(input)s"),
    "greater_than_equal": N_("at least %(ge)s, not %(input)s"),
    "greater_than": N_("more than %(gt)s, not %(input)s"), "less_than": N_("less than %(lt)s, not %(input)s"),
    "string_too_short": N_("must not be empty"),
    "string_too_long": N_("at most %(max_length)s characters"),
    "literal_error": N_("one of %(expected)s, not %(input)s"),
    "string_pattern_mismatch": N_("%(input)s does not have the right form (%(pattern)s)"),
    "date_type": N_("a day like 2026-10-01, not %(input)s"),
}


def _shown(value) -> str:
    text = repr(value) if not isinstance(value, bool) else ("true" if value else "false")
    return text if len(text) <= 40 else text[:37] + "..."


def _message(err: dict) -> tuple[str, dict]:
    """A pydantic error as (message id, values)."""
    loc = tuple(err["loc"])
    kind, ctx = err["type"], dict(err.get("ctx") or {})
    if kind == "extra_forbidden":
        model = _model_at(loc)
        names = _field_names(model) if model else []
        near = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.5)
        if near:
            return N_("unknown key; did you mean '%(near)s'?"), {"near": near[0]}
        return N_("unknown key; known: %(known)s"), {"known": ", ".join(names) or "-"}
    if kind == "missing":
        return N_("missing; write it"), {}
    if kind == "hall_value":
        msgid = ctx.pop("msgid")
        return msgid, ctx
    if kind == "string_pattern_mismatch" and loc and loc[-1] in ("code", 0, 1, 2, 3) and \
            "A-Z" in str(ctx.get("pattern", "")):
        return N_("one or two capital letters like A or AB, not %(input)s"), {"input": _shown(err.get("input"))}
    if kind in _TYPES:
        params = {k: (int(v) if isinstance(v, float) and v.is_integer() else
                      v if isinstance(v, (int, float)) else str(v)) for k, v in ctx.items()}
        params["input"] = _shown(err.get("input"))
        return _TYPES[kind], params
    return "%(text)s", {"text": err["msg"]}


def problems(data: dict, tolerated: Optional[dict] = None) -> tuple[Optional[HallFile], list[Problem]]:
    """Check a whole configuration (hall.toml's shape); the model, or the problems.

    ``tolerated``: keys outside the models that are accepted anyway (config.DEFAULTS:
    a key another part added there before its model was written here)."""
    if not isinstance(data, dict):
        return None, [Problem((), N_("the configuration must be a table of sections"))]
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
            out.append(Problem(loc, *_message(err)))
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
                out.append(Problem((section, i, attr), what,
                                   {"value": str(value), "first": seen[value] + 1}))
            else:
                seen[value] = i

    unique("services", "code", N_("service code '%(value)s' is used twice (first at #%(first)s)"))
    unique("windows", "number", N_("window number %(value)s is used twice (first at #%(first)s)"))
    unique("staff", "employee_no", N_("employee number '%(value)s' is used twice (first at #%(first)s)"))
    unique("posts", "code", N_("post code '%(value)s' is used twice (first at #%(first)s)"))
    codes = [r.get("code") for _, r in _rows(data, "services")]
    if not all(isinstance(c, str) and re.fullmatch(r"[A-Z]{1,2}", c) for c in codes):
        codes = []  # a wrong code is its own problem: no "unknown service" for each of its windows
    for i, w in _rows(data, "windows") if codes else ():
        served = w.get("services") if isinstance(w.get("services"), list) else []
        for j, code in enumerate(served):
            if isinstance(code, str) and code not in codes:
                out.append(Problem(("windows", i, "services", j),
                                   N_("unknown service '%(value)s'; known: %(known)s"),
                                   {"value": code, "known": ", ".join(str(c) for c in codes) or "-"}))
        if len(set(map(str, served))) != len(served):
            out.append(Problem(("windows", i, "services"), N_("a service is listed twice")))
    numbers = [r.get("number") for _, r in _rows(data, "windows")]
    for i, r in _rows(data, "rota"):
        if isinstance(r.get("window"), int) and r["window"] not in numbers:
            out.append(Problem(("rota", i, "window"), N_("unknown window %(value)s"),
                               {"value": r["window"]}))
    posts = [r.get("code") for _, r in _rows(data, "posts")]
    for i, s in _rows(data, "staff"):
        if s.get("post") and s["post"] not in posts:
            out.append(Problem(("staff", i, "post"), N_("unknown post '%(value)s'; known: %(known)s"),
                               {"value": s["post"], "known": ", ".join(str(p) for p in posts) or "-"}))
    reasons = (data.get("ratings") or {}).get("reasons") if isinstance(data.get("ratings"), dict) else None
    if isinstance(reasons, list) and len(set(map(str, reasons))) != len(reasons):
        out.append(Problem(("ratings", "reasons"), N_("a reason is listed twice")))
    mapped = (data.get("ratings") or {}).get("reason_map") if isinstance(data.get("ratings"), dict) else None
    if isinstance(reasons, list) and isinstance(mapped, dict):
        # every tag the pad offers must say which national reason it is reported as
        for j, code in enumerate(reasons):
            if isinstance(code, str) and code not in mapped:
                out.append(Problem(("ratings", "reasons", j), N_(
                    "reason '%(value)s' has no national reason: add %(value)s = \"efficiency\", "
                    "\"level\", \"attitude\", \"process\" or \"other\" to [ratings] reason_map"),
                    {"value": code}))
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


def format_problems(found: list[Problem], file: str, text: Optional[str],
                    locale: Optional[str] = None) -> list[str]:
    """One line per problem: ``FILE:LINE: KEY: what``."""
    lines = key_lines(text) if text is not None else {}
    out = []
    for p in found:
        n = line_of(p.loc, lines)
        out.append((n or 0, f"{file}:{n if n else '-'}: {p.path}: {p.text(locale)}"))
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
    # empty arrays of tables first: after a [[table]] they would belong to it
    parts += [f"{_key(name)} = []" for name, rows in arrays if not rows]
    for name, table in tables:
        lines = [f"[{_key(name)}]"] + [f"{_key(k)} = {_value(v)}" for k, v in table.items()
                                       if v is not None]
        parts.append("\n".join(lines))
    for name, rows in arrays:
        if not rows:
            continue
        for row in rows:
            lines = [f"[[{_key(name)}]]"] + [f"{_key(k)} = {_value(v)}" for k, v in row.items()
                                             if v is not None]
            parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"
