"""The queue engine's rules, read as a spec: each rule takes the state and the time and
returns the event that carries the change (or refuses with a QueueError); ``apply``
folds the event into the ticket. No database, no web: plain objects only."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from conftest import TZ
from server import engine
from server.engine import Event, Service, Slot, Ticket, Window

pytestmark = pytest.mark.unit

FRIDAY = date(2026, 11, 27)
NINE = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)

SOCIAL = Service("A", "社会保障", "Social Security")
MEDICAL = Service("B", "医疗保障", "Medical Insurance")
SERVICES = {"A": SOCIAL, "B": MEDICAL}


def at(minutes: float) -> datetime:
    """Friday 27 November 2026, ``minutes`` after 09:00 in the hall's zone."""
    return NINE + timedelta(minutes=minutes)


def issued(service: str = "A", seq: int = 1, minutes: float = 0, tid: int | None = None,
           priority: bool = False) -> Ticket:
    """A waiting ticket, made the way the service layer makes one: rule, then apply."""
    event = engine.issue(SERVICES[service], day=FRIDAY, now=at(minutes), issued_today=seq - 1,
                         issued_in_slot=0, priority=priority)
    t = engine.apply(event)
    t.id = tid if tid is not None else seq
    return t


def window(number: int = 3, services=("A", "B"), status: str = "open", order: str = "fifo",
           clerk: str | None = "1003") -> Window:
    return Window(number, f"{number}号窗口", tuple(services), status, clerk, order)


def called(t: Ticket, w: Window, minutes: float) -> Ticket:
    engine.apply(engine.call(t, w, now=at(minutes)), t)
    return t


# --- issuing: numbers -----------------------------------------------------------------

def test_the_first_ticket_of_a_service_is_number_001_with_the_service_letter():
    event = engine.issue(SOCIAL, day=FRIDAY, now=NINE, issued_today=0, issued_in_slot=0)
    assert event.type == "ticket.issued" and event.at == NINE
    assert event.data == {"service": "A", "seq": 1, "number": "A001", "day": "2026-11-27",
                          "priority": False, "priority_kind": None}


@pytest.mark.parametrize("issued_today,number", [(1, "A002"), (22, "A023"), (998, "A999"),
                                                 (999, "A1000"), (1233, "A1234")])
def test_numbers_count_up_per_service_and_grow_a_digit_past_999(issued_today, number):
    event = engine.issue(SOCIAL, day=FRIDAY, now=NINE, issued_today=issued_today, issued_in_slot=0)
    assert event.data["seq"] == issued_today + 1 and event.data["number"] == number
    assert engine.apply(event).number == number


def test_a_priority_ticket_without_a_kind_is_of_kind_other():
    event = engine.issue(SOCIAL, day=FRIDAY, now=NINE, issued_today=0, issued_in_slot=0, priority=True)
    assert (event.data["priority"], event.data["priority_kind"]) == (True, "other")
    event = engine.issue(SOCIAL, day=FRIDAY, now=NINE, issued_today=0, issued_in_slot=0,
                         priority=False, priority_kind="elderly")
    assert event.data["priority_kind"] is None  # a kind alone does not make a priority ticket


def test_apply_makes_a_waiting_ticket_whose_leg_starts_at_issue():
    t = issued("B", seq=5, minutes=3)
    assert (t.number, t.service, t.status, t.day) == ("B005", "B", "waiting", FRIDAY)
    assert t.issued_at == t.leg_at == at(3)
    assert (t.window, t.clerk, t.recalls, t.calls, t.transfers) == (None, None, 0, 0, 0)


# --- issuing: opening hours, caps and slots ------------------------------------------

LUNCH_BREAK = Service("A", "社会保障", "Social Security",
                      hours=(Slot(time(8, 30), time(12, 0), 0), Slot(time(13, 30), time(17, 30), 0)),
                      days=(1, 2, 3, 4, 5))


@pytest.mark.parametrize("when,is_open", [
    (datetime(2026, 11, 27, 8, 29, 59, tzinfo=TZ), False),
    (datetime(2026, 11, 27, 8, 30, tzinfo=TZ), True),
    (datetime(2026, 11, 27, 11, 59, 59, tzinfo=TZ), True),
    (datetime(2026, 11, 27, 12, 0, tzinfo=TZ), False),      # a period's end is not in it
    (datetime(2026, 11, 27, 13, 30, tzinfo=TZ), True),
    (datetime(2026, 11, 28, 10, 0, tzinfo=TZ), False),      # Saturday: not one of its days
])
def test_a_service_is_open_in_its_periods_on_its_days(when, is_open):
    assert LUNCH_BREAK.is_open(when) is is_open


def test_outside_its_hours_a_service_refuses_with_its_hours():
    with pytest.raises(engine.ServiceClosed) as refused:
        engine.issue(LUNCH_BREAK, day=FRIDAY, now=datetime(2026, 11, 27, 12, 30, tzinfo=TZ),
                     issued_today=0, issued_in_slot=0)
    assert refused.value.code == "service_closed" and refused.value.status == 409
    assert refused.value.params["hours"] == "08:30-12:00, 13:30-17:30"
    assert "08:30-12:00, 13:30-17:30" in str(refused.value)


def test_a_hall_that_does_not_enforce_hours_issues_at_any_time():
    event = engine.issue(LUNCH_BREAK, day=date(2026, 11, 29), now=datetime(2026, 11, 29, 3, 0, tzinfo=TZ),
                         issued_today=0, issued_in_slot=0, enforce_hours=False)
    assert event.data["number"] == "A001"


def test_a_service_without_hours_is_open_all_day_and_says_so():
    assert SOCIAL.is_open(datetime(2026, 11, 29, 0, 0, tzinfo=TZ))
    assert SOCIAL.hours_label() == "00:00-24:00"
    assert Slot(time(20, 0), time.max, 0).label() == "20:00-24:00"


def test_the_daily_cap_stops_the_next_ticket():
    capped = Service("A", "社会保障", "Social Security", daily_cap=5)
    assert engine.issue(capped, day=FRIDAY, now=NINE, issued_today=4, issued_in_slot=0).data["number"] == "A005"
    with pytest.raises(engine.DailyCapReached) as refused:
        engine.issue(capped, day=FRIDAY, now=NINE, issued_today=5, issued_in_slot=0)
    assert refused.value.code == "daily_cap_reached" and refused.value.params["cap"] == 5


def test_a_time_slot_quota_counts_only_the_tickets_of_its_slot():
    slotted = Service("A", "社会保障", "Social Security",
                      slots=(Slot(time(8, 0), time(10, 0), 3), Slot(time(10, 0), time(12, 0), 2)))
    with pytest.raises(engine.SlotCapReached) as refused:
        engine.issue(slotted, day=FRIDAY, now=at(30), issued_today=3, issued_in_slot=3)
    assert refused.value.code == "slot_cap_reached" and refused.value.params["slot"] == "08:00-10:00"
    # at 10:00 the next slot begins: its own quota, the day's count goes on
    event = engine.issue(slotted, day=FRIDAY, now=at(60), issued_today=3, issued_in_slot=0)
    assert event.data["number"] == "A004"
    # outside every slot there is no slot quota
    assert engine.issue(slotted, day=FRIDAY, now=at(240), issued_today=9, issued_in_slot=99)


def test_hours_are_checked_before_caps():
    both = Service("A", "社会保障", "Social Security", hours=LUNCH_BREAK.hours, daily_cap=1)
    with pytest.raises(engine.ServiceClosed):
        engine.issue(both, day=FRIDAY, now=datetime(2026, 11, 27, 12, 30, tzinfo=TZ),
                     issued_today=1, issued_in_slot=0)


# --- who is called next ---------------------------------------------------------------

def test_nothing_waiting_means_nobody_to_call():
    assert engine.pick_next(window(), []) is None
    done = issued()
    done.status = "done"
    assert engine.pick_next(window(), [done]) is None


def test_oldest_first_across_the_services_of_the_window():
    a1, b1, a2 = issued("A", 1, 0, tid=1), issued("B", 1, 1, tid=2), issued("A", 2, 2, tid=3)
    assert engine.pick_next(window(), [a2, b1, a1]) is a1
    assert engine.pick_next(window(), [a2, b1]) is b1


def test_priority_tickets_go_first_then_by_issue_time():
    a1 = issued("A", 1, 0, tid=1)
    b1 = issued("B", 1, 5, tid=2, priority=True)
    a2 = issued("A", 2, 9, tid=3, priority=True)
    assert engine.pick_next(window(), [a1, b1, a2]) is b1
    assert engine.pick_next(window(), [a1, a2]) is a2


def test_a_window_takes_only_the_services_it_serves():
    b1 = issued("B", 1, 0)
    assert engine.pick_next(window(services=("A",)), [b1]) is None


def test_a_ranked_window_takes_its_services_in_listed_order():
    a1, b1 = issued("A", 1, 0, tid=1), issued("B", 1, 5, tid=2)
    ranked = window(services=("B", "A"), order="ranked")
    assert engine.pick_next(ranked, [a1, b1]) is b1          # B first, though A waited longer
    assert engine.pick_next(window(services=("B", "A")), [a1, b1]) is a1   # fifo: the oldest
    urgent = issued("A", 2, 9, tid=3, priority=True)
    assert engine.pick_next(ranked, [a1, b1, urgent]) is urgent   # priority still first


def test_a_ticket_sent_to_one_window_is_only_taken_there():
    a1, a2 = issued("A", 1, 0, tid=1), issued("A", 2, 1, tid=2)
    a1.target_window = 2
    assert engine.pick_next(window(1, ("A",)), [a1, a2]) is a2
    assert engine.pick_next(window(2, ("A",)), [a1, a2]) is a1
    # even a window that does not serve its service takes a ticket sent to it
    assert engine.pick_next(window(2, ("E",)), [a1, a2]) is a1


def test_a_window_calls_only_when_open_and_free():
    engine.check_window_can_call(window(), None)
    with pytest.raises(engine.WindowNotOpen) as refused:
        engine.check_window_can_call(window(status="paused"), None)
    assert refused.value.code == "window_not_open"
    with pytest.raises(engine.WindowNotOpen):
        engine.check_window_can_call(window(status="closed"), None)
    with pytest.raises(engine.WindowBusy) as refused:
        engine.check_window_can_call(window(), issued())
    assert refused.value.params["number"] == "A001"


# --- calling and serving ----------------------------------------------------------------

def test_a_call_records_the_wait_since_the_leg_began():
    t, w = issued("A", 1, 0), window()
    event = engine.call(t, w, now=at(5))
    assert (event.type, event.ticket, event.window, event.clerk) == ("ticket.called", 1, 3, "1003")
    assert event.data == {"how": "next", "number": "A001", "service": "A", "wait_s": 300.0}
    engine.apply(event, t)
    assert (t.status, t.window, t.clerk, t.called_at, t.calls) == ("called", 3, "1003", at(5), 1)


def test_a_call_out_of_order_needs_a_service_of_the_window_and_says_why():
    t = issued("B", 1, 0)
    event = engine.call(t, window(), now=at(1), how="direct", reason="预约")
    assert event.data["how"] == "direct" and event.data["reason"] == "预约"
    with pytest.raises(engine.ServiceNotAtWindow) as refused:
        engine.call(t, window(10, ("E",)), now=at(1), how="direct")
    assert refused.value.code == "service_not_at_window"
    t.target_window = 2
    with pytest.raises(engine.NotAtWindow):
        engine.call(t, window(), now=at(1), how="direct")


def test_only_a_waiting_ticket_is_called():
    t = called(issued(), window(), 1)
    with pytest.raises(engine.WrongState) as refused:
        engine.call(t, window(4), now=at(2))
    assert refused.value.code == "wrong_state" and refused.value.params["status"] == "called"


def test_recalls_count_up_on_the_ticket_being_served():
    t, w = issued(), window()
    called(t, w, 1)
    for n in (1, 2):
        event = engine.recall(t, w, now=at(1 + n))
        assert event.type == "ticket.recalled" and event.data["recalls"] == n
        engine.apply(event, t)
    assert t.recalls == 2 and t.status == "called"
    with pytest.raises(engine.NotAtWindow):
        engine.recall(t, window(4), now=at(4))


def test_no_show_only_after_the_halls_number_of_recalls():
    t, w = issued(), window()
    called(t, w, 1)
    with pytest.raises(engine.TooFewRecalls) as refused:
        engine.no_show(t, w, now=at(2), min_recalls=2)
    assert refused.value.code == "too_few_recalls"
    assert refused.value.params == {"number": "A001", "recalls": 0, "needed": 2}
    engine.apply(engine.recall(t, w, now=at(2)), t)
    engine.apply(engine.recall(t, w, now=at(3)), t)
    event = engine.no_show(t, w, now=at(4), min_recalls=2)
    assert event.type == "ticket.no_show"
    engine.apply(event, t)
    assert (t.status, t.finished_at) == ("no_show", at(4))


def test_a_hall_without_a_recall_rule_takes_a_no_show_at_once():
    t, w = issued(), window()
    called(t, w, 1)
    assert engine.no_show(t, w, now=at(2)).type == "ticket.no_show"


def test_finish_records_the_service_time_and_the_clerk():
    t, w = issued(), window()
    called(t, w, 5)
    event = engine.finish(t, w, now=at(12))
    assert (event.type, event.clerk) == ("ticket.finished", "1003")
    assert event.data == {"number": "A001", "service": "A", "service_s": 420.0}
    engine.apply(event, t)
    assert (t.status, t.finished_at) == ("done", at(12))


def test_only_the_window_serving_a_ticket_finishes_it():
    t = issued()
    with pytest.raises(engine.WrongState):
        engine.finish(t, window(), now=at(1))          # still waiting
    called(t, window(3), 1)
    with pytest.raises(engine.NotAtWindow) as refused:
        engine.finish(t, window(4), now=at(2))
    assert refused.value.code == "not_at_window"


def test_park_then_call_back_at_the_same_window_keeps_the_recalls():
    t, w = issued(), window()
    called(t, w, 1)
    engine.apply(engine.recall(t, w, now=at(2)), t)
    event = engine.park(t, w, now=at(3), note="去复印材料")
    assert event.type == "ticket.parked" and event.data["note"] == "去复印材料"
    engine.apply(event, t)
    assert (t.status, t.window, t.note) == ("parked", 3, "去复印材料")
    assert engine.pick_next(w, [t]) is None                 # a parked ticket is not in the queue
    with pytest.raises(engine.NotAtWindow):
        engine.call(t, window(4), now=at(9), how="callback")   # only where it was parked
    with pytest.raises(engine.WrongState):
        engine.call(t, w, now=at(9))                         # not as "next": it is parked
    back = engine.call(t, w, now=at(10), how="callback", reason="材料已复印")
    engine.apply(back, t)
    assert (t.status, t.called_at, t.calls, t.recalls) == ("called", at(10), 2, 1)


# --- transfer and cancel ------------------------------------------------------------------

def test_a_transfer_keeps_the_number_and_the_place_and_starts_a_new_leg():
    a1, w = issued("A", 1, 0, tid=1), window()
    b1 = issued("B", 1, 1, tid=2)
    called(a1, w, 2)
    event = engine.transfer(a1, now=at(4), service=MEDICAL, note="医保问题", by_window=3)
    assert event.type == "ticket.transferred" and event.window == 3
    assert event.data == {"number": "A001", "from_service": "A", "service": "B", "to_window": None,
                          "note": "医保问题"}
    engine.apply(event, a1)
    assert (a1.number, a1.service, a1.status, a1.issued_at, a1.leg_at) == ("A001", "B", "waiting", at(0), at(4))
    assert (a1.window, a1.clerk, a1.called_at, a1.transfers) == (None, None, None, 1)
    # it stands before B001, issued after it
    assert engine.pick_next(window(4, ("B",)), [b1, a1]) is a1
    # its next call measures the wait of the new leg
    assert engine.call(a1, window(4, ("B",)), now=at(6)).data["wait_s"] == 120.0


def test_a_transfer_to_a_window_waits_for_that_window_only():
    t = issued()
    engine.apply(engine.transfer(t, now=at(1), window=window(2, ("A",))), t)
    assert (t.target_window, t.service) == (2, "A")
    assert engine.pick_next(window(1, ("A",)), [t]) is None
    assert engine.pick_next(window(2, ("A",)), [t]) is t
    engine.apply(engine.call(t, window(2, ("A",)), now=at(2)), t)
    assert t.target_window is None  # called: it belongs to no window's queue any more


def test_a_transfer_that_changes_nothing_is_refused():
    t = issued()
    with pytest.raises(engine.SameService) as refused:
        engine.transfer(t, now=at(1), service=SOCIAL)
    assert refused.value.code == "same_target"
    with pytest.raises(engine.SameService):
        engine.transfer(t, now=at(1))
    # the ticket being served may go back into its own queue
    called(t, window(), 1)
    assert engine.transfer(t, now=at(2), service=SOCIAL).data["service"] == "A"


def test_a_finished_ticket_is_neither_transferred_nor_cancelled():
    t, w = issued(), window()
    called(t, w, 1)
    engine.apply(engine.finish(t, w, now=at(2)), t)
    with pytest.raises(engine.WrongState):
        engine.transfer(t, now=at(3), service=MEDICAL)
    with pytest.raises(engine.WrongState):
        engine.cancel(t, now=at(3))


def test_cancel_takes_a_waiting_or_parked_ticket_out():
    t = issued()
    event = engine.cancel(t, now=at(1), reason="群众离开")
    assert event.type == "ticket.cancelled" and event.data == {"number": "A001", "reason": "群众离开"}
    engine.apply(event, t)
    assert (t.status, t.finished_at) == ("cancelled", at(1))
    served = called(issued("A", 2), window(), 1)
    with pytest.raises(engine.WrongState):
        engine.cancel(served, now=at(2))   # the one being served is finished, parked or a no-show


# --- ratings ---------------------------------------------------------------------------------

def finished(minutes: float = 10) -> tuple[Ticket, Window]:
    t, w = issued(), window()
    called(t, w, 1)
    engine.apply(engine.finish(t, w, now=at(minutes)), t)
    return t, w


def test_a_rating_of_the_service_just_finished_at_this_window():
    t, w = finished()
    event = engine.rate(t, w, now=at(11), score=4, already_rated=False, within_s=600,
                        reasons=["efficiency"], source="serial")
    assert (event.type, event.ticket, event.window, event.clerk) == ("rating.created", 1, 3, "1003")
    assert event.data == {"number": "A001", "service": "A", "score": 4, "reasons": ["efficiency"],
                          "source": "serial"}
    assert engine.apply(event, t).status == "done"  # a rating changes no ticket


@pytest.mark.parametrize("case,error,why", [
    ("twice", engine.AlreadyRated, None),
    ("waiting", engine.NotRateable, "it has not been served"),
    ("no_show", engine.NotRateable, "it has not been served"),
    ("other_window", engine.NotRateable, "it was served at another window"),
    ("too_late", engine.NotRateable, "the time for rating it has passed"),
])
def test_ratings_the_hall_cannot_trust_are_refused(case, error, why):
    t, w = finished(10)
    kw = dict(now=at(11), score=5, already_rated=False, within_s=600)
    if case == "twice":
        kw["already_rated"] = True
    elif case == "waiting":
        t, w = issued("A", 2, tid=2), window()
    elif case == "no_show":
        t, w = issued("A", 2, tid=2), window()
        called(t, w, 1)
        engine.apply(engine.no_show(t, w, now=at(2)), t)
    elif case == "other_window":
        w = window(4)
    elif case == "too_late":
        kw["now"] = at(10) + timedelta(seconds=601)
    with pytest.raises(error) as refused:
        engine.rate(t, w, **kw)
    if why:
        assert refused.value.params["why"] == why and refused.value.code == "not_rateable"
    else:
        assert refused.value.code == "already_rated"


def test_a_rating_on_the_last_second_of_its_window_counts():
    t, w = finished(10)
    assert engine.rate(t, w, now=at(20), score=3, already_rated=False, within_s=600)


# --- windows --------------------------------------------------------------------------------

def test_pause_and_resume_a_window():
    w = window()
    event = engine.pause(w, now=at(0), reason="午休")
    assert (event.type, event.window, event.ticket) == ("window.changed", 3, None)
    assert event.data == {"status": "paused", "clerk": "1003", "reason": "午休", "was": "open"}
    engine.apply(event, None, w)
    assert w.status == "paused"
    with pytest.raises(engine.WindowNotOpen):
        engine.pause(w, now=at(1))
    engine.apply(engine.resume(w, now=at(2)), None, w)
    assert w.status == "open"
    with pytest.raises(engine.WrongState):
        engine.resume(w, now=at(3))


def test_signing_out_closes_the_window_and_clears_the_clerk():
    w = window()
    event = engine.window_change(w, now=at(0), status="closed", clerk=None)
    engine.apply(event, None, w)
    assert (w.status, w.clerk) == ("closed", None)
    kept = engine.window_change(window(), now=at(0), status="paused")   # '' keeps the clerk
    assert kept.clerk == "1003"


# --- replay -----------------------------------------------------------------------------------

def test_events_replayed_from_their_stored_form_rebuild_the_ticket():
    t, w = issued(), window()
    log = []
    for rule in (lambda: engine.call(t, w, now=at(2)), lambda: engine.recall(t, w, now=at(3)),
                 lambda: engine.park(t, w, now=at(4), note="x"),
                 lambda: engine.call(t, w, now=at(5), how="callback"),
                 lambda: engine.finish(t, w, now=at(9))):
        event = rule()
        engine.apply(event, t)
        log.append(Event(event.type, event.at.isoformat(), event.ticket, event.window, event.clerk,
                         event.data))   # as read back from ticket_events: times are text
    first = engine.issue(SOCIAL, day=FRIDAY, now=at(0), issued_today=0, issued_in_slot=0)
    again = engine.apply(Event(first.type, first.at.isoformat(), 1, data=first.data))
    for event in log:
        engine.apply(event, again)
    assert again == t


# --- the wait estimate ------------------------------------------------------------------------

@pytest.mark.parametrize("ahead,open_windows,idle,mean,expected", [
    (3, 0, 0, 300.0, None),    # no open window serves it: no honest estimate
    (3, 2, 0, None, None),     # no service time known yet
    (0, 1, 1, 300.0, 0),       # an idle window takes it at once
    (1, 2, 2, 300.0, 0),       # one ahead, two idle windows
    (0, 1, 0, 300.0, 150),     # the one window is half way through its service
    (1, 1, 0, 300.0, 450),     # one ahead of it: that service, then half of the current one
    (4, 2, 0, 300.0, 750),     # 4 / 2 + 0.5 services
    (3, 2, 1, 301.0, 452),     # rounded up to the second
])
def test_estimate_wait(ahead, open_windows, idle, mean, expected):
    assert engine.estimate_wait(ahead, open_windows=open_windows, idle_windows=idle,
                                mean_service_s=mean) == expected


# --- errors ----------------------------------------------------------------------------------

def test_every_refusal_carries_a_code_a_status_and_a_message_with_its_details():
    err = engine.UnknownService(service="Z", known="A, B, C")
    assert (err.code, err.status) == ("unknown_service", 404)
    assert str(err) == "Service 'Z' does not exist; known: A, B, C."
    assert isinstance(err, engine.QueueError)
    assert (engine.UnknownWindow.status, engine.UnknownTicket.status) == (404, 404)
    assert engine.QueueError().status == 409
