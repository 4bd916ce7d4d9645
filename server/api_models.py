"""Response models of the answers that their route modules do not model themselves, for
/api/openapi.json: field by field, so schemathesis and integrators can check them.

A leaf of the web layer (pydantic only). ``RESPONSES`` maps (METHOD, rule) to a model,
or to the name of a model another route already declares (``"TicketOut"``), or to
(that name, a model of the fields it adds). ``server.openapi.document`` uses it for a
route whose decorator declares no ``response=``; tests/test_security_openapi.py fails
when a JSON answer is left a bare object.

Nested rows keep their fields optional and nullable (a figure of a day with no ratings is
null); the fields a row always has are required where the code guarantees them.
"""
from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

Num = Optional[float]


class Open(BaseModel):
    """An answer's object: the fields below, and more may be added later."""

    model_config = ConfigDict(extra="allow")


# --- shared pieces ------------------------------------------------------------------

class Spread(Open):
    """A duration's distribution in seconds (null with no data)."""
    mean: Num = None
    p50: Num = None
    p90: Num = None
    max: Num = None


class Figures(Open):
    """One window's or clerk's figures over a period (server/readside/tables.py)."""
    window: Optional[int] = None
    staff: Optional[str] = None
    issued: Optional[int] = None
    called: Optional[int] = None
    served: Optional[int] = None
    no_show: Optional[int] = None
    transferred: Optional[int] = None
    no_show_rate: Num = None
    wait_s: Optional[Spread] = None
    service_s: Optional[Spread] = None
    wait_over_target_rate: Num = None
    service_over_target_rate: Num = None
    ratings: Optional[int] = None
    participation: Num = None
    mean_score: Num = None
    good_rate: Num = None
    satisfied_rate: Num = None
    levels: Optional[dict[str, int]] = Field(None, description="Ratings per score 1..5")
    low_reasons: Optional[list[dict[str, Any]]] = None
    callback_rate: Num = None
    followup_rate: Num = None
    targets: Optional[dict[str, Num]] = None
    wait_index: Num = None
    service_index: Num = None
    open_s: Num = None
    serving_s: Num = None


class MonthSatisfaction(Open):
    ratings: Optional[int] = None
    satisfied_rate: Num = None
    good_rate: Num = None
    mean_score: Num = None


class Range(Open):
    from_: str = Field(alias="from")
    to: str


# --- ratings, flags, devices -----------------------------------------------------

class RatingRow(Open):
    id: int
    ticket: Optional[int] = None
    score: int
    reasons: list[str] = []
    comment: Optional[str] = None
    window: Optional[int] = None
    clerk: Optional[str] = None
    service: Optional[str] = None
    day: Optional[str] = None
    source: Optional[str] = None
    device: Optional[str] = None
    created_at: Optional[str] = None
    excluded: Optional[bool] = None
    exclude_reason: Optional[str] = None
    case_no: Optional[str] = None
    matter_code: Optional[str] = None
    matter_name: Optional[str] = None
    dimensions: Optional[Any] = None
    content_version: Optional[str] = None
    number: Optional[str] = None


class RatingsOut(Range):
    ratings: list[RatingRow]


class FlagRow(Open):
    window: Optional[int] = None
    kind: str
    ratings: Optional[int] = None
    detail: Optional[str] = None


class FlagsOut(Range):
    flags: list[FlagRow]


class SerialPort(Open):
    url: Optional[str] = None
    pad_window: Optional[int] = None
    keypad_window: Optional[int] = None
    connected: Optional[bool] = None
    opened: Optional[int] = None
    frames: Optional[int] = None
    dropped: Optional[int] = None
    ratings: Optional[int] = None
    last_error: Optional[str] = None
    last_frame_at: Optional[str] = None
    heartbeat: Optional[str] = Field(None, description="unknown, ok or late")


class SerialOut(Open):
    ports: list[SerialPort]


# --- screens -------------------------------------------------------------------------

class NoticeOut(Open):
    text: str
    at: Optional[str] = None
    by: Optional[str] = Field(None, description="Only in the manager's answer to PUT")


class BoardService(Open):
    code: str
    target_wait_s: Num = None
    called: Optional[int] = None
    late_waiting: Optional[int] = None
    kept: Optional[int] = None
    kept_rate: Num = None
    wait_p50_s: Num = None


class BoardWindow(Open):
    number: int
    month: Optional[MonthSatisfaction] = None


class BoardStaff(Open):
    employee_no: str
    name: Optional[str] = None
    commitment: Optional[str] = None
    commitment_en: Optional[str] = None
    month: Optional[MonthSatisfaction] = Field(None, description="Only where [publish] figures lists clerk_satisfaction, or for a manager")


class BoardOut(Open):
    day: str
    month: str
    services: list[BoardService]
    windows: list[BoardWindow]
    staff: list[BoardStaff]
    published: list[str] = Field(description="The figures the hall publishes ([publish] figures)")


class MeTodayOut(Open):
    day: str
    employee_no: str
    served: int
    no_show: int
    service_s: Optional[Spread] = None
    ratings: int
    satisfied_rate: Num = None
    good_rate: Num = None
    mean_score: Num = None
    levels: dict[str, int]


# --- stats ----------------------------------------------------------------------------

class LiveService(Open):
    service: str
    name: Optional[str] = None
    waiting: int
    longest_wait_s: Num = None


class LiveRating(Open):
    number: Optional[str] = None
    window: Optional[int] = None
    clerk: Optional[str] = None
    service: Optional[str] = None
    score: int
    at: Optional[str] = None
    reasons: list[str] = []


class StatsLiveOut(Open):
    at: str
    day: str
    services: list[LiveService]
    windows_open: int
    windows: int
    latest_ratings: list[LiveRating]


class ScorecardOut(Open):
    day: str
    windows: list[Figures]
    staff: list[Figures]


class RankingsOut(Range):
    period: str
    windows: list[Figures]
    staff: list[Figures]


class PairClerk(Open):
    staff: str
    name: Optional[str] = None
    score: Num = None
    served: Optional[int] = None
    service_s: Num = None


class PairRow(Open):
    service: str
    service_name: Optional[str] = None
    mentor: Optional[PairClerk] = Field(None, description="null when no clerk qualifies")
    mentee: PairClerk
    flags: list[str] = []
    trend: Optional[Any] = Field(None, description="Both clerks' daily figures (as /stats/trend)")


class PairsOut(Range):
    pairs: list[PairRow]


class TrendDay(Open):
    day: str
    served: Optional[int] = None
    service_s: Num = None
    wait_s: Num = None
    good_rate: Num = None
    score: Num = None


class TrendOut(Range):
    staff: dict[str, list[TrendDay]] = Field(description="Employee number -> its days")


class AppointmentStatsRow(Open):
    service: str
    name: Optional[str] = None
    booked: Optional[int] = None
    checked_in: Optional[int] = None
    late: Optional[int] = None
    no_show: Optional[int] = None
    cancelled: Optional[int] = None
    pending: Optional[int] = None
    show_rate: Num = None
    walk_in_wait_s: Optional[Spread] = None
    appointment_wait_s: Optional[Spread] = None
    punctuality_s: Optional[Spread] = None
    walk_in_calls: Optional[int] = None
    appointment_calls: Optional[int] = None


class AppointmentStatsOut(Range):
    rows: list[AppointmentStatsRow]


# --- managers' settings and the configuration ----------------------------------------

class SettingsOut(Open):
    hall: dict[str, Any]
    services: list[dict[str, Any]]
    windows: list[dict[str, Any]]
    staff: list[dict[str, Any]]
    alerts: dict[str, Any]


class HallConfigOut(Open):
    """The hall's configuration as hall.toml holds it (docs/configuration.md); the ETag
    header is its digest, for If-Match on PUT."""
    hall: dict[str, Any]
    services: list[dict[str, Any]]
    windows: list[dict[str, Any]]


class ConfigChange(Open):
    seq: int
    at: str
    by: Optional[str] = None
    source: Optional[str] = None
    changes: list[Any] = []


class ConfigChangesOut(Open):
    changes: list[ConfigChange]


class CommitmentHistoryRow(Open):
    employee_no: str
    at: Optional[str] = None
    by: Optional[str] = None
    commitment: Optional[str] = None
    commitment_en: Optional[str] = None


class CommitmentHistoryOut(Open):
    commitments: list[CommitmentHistoryRow]


# --- appointments ----------------------------------------------------------------------

class AppointmentService(Open):
    code: str
    name: Optional[str] = None
    name_en: Optional[str] = None
    horizon_days: Optional[int] = None
    slot_min: Optional[int] = None
    remote_quota: Optional[int] = None
    materials: Optional[str] = None
    materials_en: Optional[str] = None


class AppointmentServicesOut(Open):
    services: list[AppointmentService]
    remote_tickets: bool


class AppointmentsOut(Open):
    appointments: list[dict[str, Any]] = Field(description="The day's bookings (BookingOut), masked")


class CheckInExtra(Open):
    late: bool = Field(description="Came after check-in closed: a walk-in ticket instead")
    booking_code: Optional[str] = None
    slot: Optional[str] = None
    slot_label: Optional[str] = None


# --- planning ---------------------------------------------------------------------------

class PlanOut(Open):
    day: str
    weekday: Optional[int] = None
    workday: Optional[bool] = None
    weeks: Optional[int] = None
    basis: Optional[str] = None
    basis_days: list[str] = []
    target_share: Num = None
    rows: list[dict[str, Any]] = Field(description="Per service and hour: arrivals, windows needed, expected wait")
    groups: list[dict[str, Any]] = []
    hours: list[dict[str, Any]] = []


# --- assessment, commitments, feedback, training -------------------------------------------

class AssessmentRow(Open):
    staff: str
    name: Optional[str] = None
    post: Optional[str] = None
    post_name: Optional[str] = None
    post_name_en: Optional[str] = None
    indicators: list[dict[str, Any]] = []
    score: Num = None
    served: Optional[int] = None
    ratings: Optional[int] = None
    periodic_score: Num = None
    daily_score: Num = None
    days_scored: Optional[int] = None
    rank: Optional[int] = None


class AssessmentOut(Range):
    period: str
    weights: dict[str, Num]
    rows: list[AssessmentRow]
    distribution: list[dict[str, Any]]


class CommitmentOut(Open):
    id: int
    staff: str
    year: int
    text: str
    text_en: Optional[str] = None
    targets: list[Any] = []
    made_at: Optional[str] = None
    made_by: Optional[str] = None
    replaced_at: Optional[str] = None


class CommitmentsOut(Open):
    year: int
    commitments: list[dict[str, Any]]


class CommitmentsReportOut(Range):
    year: int
    commitments: list[dict[str, Any]]
    complete: bool
    kept_count: int
    not_kept_count: int
    history: list[dict[str, Any]]


class PledgesOut(Open):
    year: int
    published: bool
    from_: Optional[str] = Field(None, alias="from")
    to: Optional[str] = None
    words: Optional[dict[str, dict[str, str]]] = None
    commitments: list[dict[str, Any]]


class FeedbackFigures(Open):
    received: int
    answered: int
    fell_due: int
    answered_on_time: int
    overdue_open: int
    on_time_rate: Num = None


class FeedbackListOut(Range):
    state: str
    figures: FeedbackFigures
    feedback: list[dict[str, Any]]


class FeedbackOut(Open):
    id: int
    kind: str
    created_at: str
    reply_due: str
    phone: Optional[str] = Field(None, description="Masked")


class ReplyOut(Open):
    id: int
    reply: str
    replied_at: str
    replied_by: str
    reply_due: str
    on_time: bool


class TicketFeedbackOut(Open):
    feedback: list[dict[str, Any]]


class CatalogueOut(Open):
    items: list[dict[str, Any]]


class SuggestionRow(Open):
    staff: str
    name: Optional[str] = None
    post: Optional[str] = None
    post_name: Optional[str] = None
    weak: list[dict[str, Any]] = []
    low_reasons: list[dict[str, Any]] = []
    items: list[Any] = []


class SuggestionsOut(Range):
    catalogue: int
    staff: list[SuggestionRow]


class TrainingRecordOut(Open):
    id: int
    staff: str
    item: str
    day: str
    note: Optional[str] = None
    recorded_at: Optional[str] = None
    recorded_by: Optional[str] = None


class TrainingRecordsOut(Range):
    records: list[dict[str, Any]]
    items: list[Any]


class BeforeAfterOut(Open):
    staff: str
    day: str
    days: int
    before: Optional[dict[str, Any]] = Field(None, description="from, to, the figures, score, indicators")
    after: Optional[dict[str, Any]] = None
    services: list[str]
    by_service: list[dict[str, Any]]


class EvaluationContentOut(Open):
    current: str
    versions: list[dict[str, Any]]


class OpenApiOut(Open):
    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]



# --- session 4: printers per kiosk, the door, the notice log, one opinion -----------

class KioskPrinterOut(Open):
    """The device.changed body of a kiosk's printer bound or removed."""
    device: str = Field(description="kiosk:NAME")
    kind: str
    kiosk: str
    name: str
    printer: Optional[str] = Field(None, description="The URL; null: the default printer")
    by: str


class DoorOut(Open):
    day: str
    code: str = Field(description="The door's 6-digit code of that day")
    url: str = Field(description="What the door's QR holds")


class NoticeRow(Open):
    id: int
    kind: str
    status: str
    attempts: int
    last_error: Optional[str] = None
    created_at: Optional[str] = None
    tried_at: Optional[str] = None
    sent_at: Optional[str] = None
    next_ts: Optional[float] = None
    ticket: int
    number: Optional[str] = None
    service: Optional[str] = None


class NoticeLogOut(Open):
    day: str
    counts: dict[str, int]
    notices: list[NoticeRow]


class FeedbackOneOut(Open):
    id: int
    kind: str
    text: Optional[str] = None
    source: Optional[str] = None
    created_at: str
    reply_due: str
    reply: Optional[str] = None
    replied_at: Optional[str] = None
    phone: str = Field(description="Masked")
    phone_full: Optional[str] = Field(None, description="The whole number, to call back")
    on_time: Optional[bool] = None
    overdue: bool


Answer = Union[type[BaseModel], str, tuple]

RESPONSES: dict[tuple[str, str], Answer] = {
    ("GET", "/openapi.json"): OpenApiOut,
    ("GET", "/ratings"): RatingsOut,
    ("GET", "/ratings/flags"): FlagsOut,
    ("GET", "/devices/serial"): SerialOut,
    ("GET", "/notice"): NoticeOut,
    ("PUT", "/notice"): NoticeOut,
    ("GET", "/display/board"): BoardOut,
    ("GET", "/me/today"): MeTodayOut,
    ("GET", "/stats/live"): StatsLiveOut,
    ("GET", "/stats/scorecard"): ScorecardOut,
    ("GET", "/stats/rankings"): RankingsOut,
    ("GET", "/stats/pairs"): PairsOut,
    ("GET", "/stats/trend"): TrendOut,
    ("GET", "/manage/settings"): SettingsOut,
    ("GET", "/config"): HallConfigOut,
    ("PUT", "/config"): HallConfigOut,
    ("GET", "/config/changes"): ConfigChangesOut,
    ("GET", "/config/commitments"): CommitmentHistoryOut,
    ("POST", "/config/staff/<employee_no>/photo"): HallConfigOut,
    ("GET", "/appointments/services"): AppointmentServicesOut,
    ("GET", "/appointments"): AppointmentsOut,
    ("POST", "/appointments/check-in"): ("TicketOut", CheckInExtra),
    ("POST", "/appointments/<code>/check-in"): ("TicketOut", CheckInExtra),
    ("POST", "/remote-tickets"): "TicketOut",
    ("POST", "/status/<key>/check-in"): "TicketOut",
    ("POST", "/status/<key>/cancel"): "TicketOut",
    ("GET", "/stats/appointments"): AppointmentStatsOut,
    ("GET", "/plan"): PlanOut,
    ("GET", "/stats/assessment"): AssessmentOut,
    ("POST", "/commitments"): CommitmentOut,
    ("GET", "/commitments"): CommitmentsOut,
    ("GET", "/commitments/report"): CommitmentsReportOut,
    ("GET", "/pledges"): PledgesOut,
    ("POST", "/feedback"): FeedbackOut,
    ("GET", "/feedback"): FeedbackListOut,
    ("POST", "/feedback/<int:id>/reply"): ReplyOut,
    ("GET", "/status/<key>/feedback"): TicketFeedbackOut,
    ("GET", "/training/catalogue"): CatalogueOut,
    ("GET", "/training/suggestions"): SuggestionsOut,
    ("POST", "/training/records"): TrainingRecordOut,
    ("GET", "/training/records"): TrainingRecordsOut,
    ("GET", "/training/before-after"): BeforeAfterOut,
    ("GET", "/evaluation/content"): EvaluationContentOut,
    ("PUT", "/devices/<name>/printer"): KioskPrinterOut,
    ("POST", "/door/check-in"): ("TicketOut", CheckInExtra),
    ("GET", "/door"): DoorOut,
    ("GET", "/appointments/notices"): NoticeLogOut,
    ("GET", "/feedback/<int:id>"): FeedbackOneOut,
}
