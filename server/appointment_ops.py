"""Appointments in the service layer: booking, cancelling, check-in, phone tickets.

Each change runs inside ``Operations.change()`` (the hall's one write lock, one
transaction with its event, pushes after commit). The rules are in
server/appointments.py; the SQL in server/store.py. Booking data (name, phone,
ID digits) never enters an event or a pushed body: events carry the booking's id,
service and slot only. The policy is written in docs/appointments.md.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime, timedelta
from typing import Optional

from . import appointments as appt
from . import engine
from .operations import Operations, iso
from .store import Store

DOOR_AHEAD_DAYS = 7  # the manager may print the door's poster this far ahead
DOOR_OLD_DAYS = 30  # an older door code than today's is named as such this long
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: typed from paper or a phone


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


class Appointments:
    """Bookings and check-ins of one hall, over its service layer."""

    def __init__(self, ops: Operations, secret: str = ""):
        self.ops = ops
        self.secret = secret.encode()  # signs the door's day code (door_code)
        self._purged_for: Optional[date] = None

    @property
    def cfg(self):
        """The hall's configuration in force (a PUT /api/config swaps it live)."""
        return self.ops.cfg

    @property
    def section(self) -> dict:
        return self.ops.cfg.raw["appointments"]

    # -- lookups -----------------------------------------------------------------
    def rules(self, code) -> tuple[engine.Service, appt.Rules]:
        svc = self.ops.service(code)
        rules = self.cfg.appointment_rules.get(svc.code)
        if rules is None:
            raise appt.AppointmentsOff(name=svc.name, name_en=svc.name_en)
        return svc, rules

    def capacity(self, svc: engine.Service, rules: appt.Rules) -> int:
        windows = sum(1 for w in self.cfg.windows.values() if svc.code in w.services)
        return appt.slot_capacity(rules, svc, windows)

    # -- slots -------------------------------------------------------------------
    def slots(self, code, day: date) -> dict:
        """A day's slots of one service with their free places."""
        svc, rules = self.rules(code)
        now, tz = self.ops.now(), self.ops.tz
        cap = self.capacity(svc, rules)
        limit = now.date() + timedelta(days=rules.horizon_days)
        why = appt.day_closed_reason(svc, day, self.ops.calendar, self.cfg.closures)
        with self.ops.store() as s:
            taken = s.bookings_per_slot(svc.code, day)
        rows = []
        if why is None and now.date() <= day <= limit:
            for at in appt.slot_starts(svc, rules, day, tz):
                used = taken.get(at.timestamp(), 0)
                rows.append({"slot": at.isoformat(), "label": appt.slot_label(at, rules),
                             "capacity": cap, "taken": used, "free": max(0, cap - used),
                             "bookable": at > now and used < cap})
        return {"service": svc.code, "service_name": svc.name, "service_name_en": svc.name_en,
                "day": day.isoformat(), "open": why is None and bool(rows),
                "closed_reason": why if why else (None if rows else "past_horizon"),
                "horizon_until": limit.isoformat(), "slot_min": rules.slot_min, "slots": rows}

    def services(self) -> list[dict]:
        out = []
        for code, rules in self.cfg.appointment_rules.items():
            svc = self.cfg.services[code]
            out.append({"code": code, "name": svc.name, "name_en": svc.name_en,
                        "horizon_days": rules.horizon_days, "slot_min": rules.slot_min,
                        "remote_quota": rules.remote_quota if self.section["remote_tickets"] else 0,
                        "materials": svc.materials, "materials_en": svc.materials_en})
        return out

    # -- booking -----------------------------------------------------------------
    def book(self, code, slot_text: str, name: str, phone: str, id_last4: str, *,
             source: str, device: Optional[str] = None) -> dict:
        """Book one place in a slot; refused when full, closed, booked twice or too far ahead."""
        svc, rules = self.rules(code)
        slot = appt.parse_slot(slot_text, self.ops.tz)
        if slot is None:
            raise appt.SlotUnknown(slot=slot_text, name=svc.name, name_en=svc.name_en)
        name, phone, id_last4 = name.strip(), appt.normal_phone(phone), id_last4.upper()
        with self.ops.change() as (s, bodies):
            self._purge(s)
            now = self.ops.now()
            same = s.same_person_booking(svc.code, slot.date(), phone, name, id_last4)
            if same is not None:
                same = {**same, "slot_label": appt.slot_label(
                    datetime.fromisoformat(same["slot_at"]), rules)}
            appt.check_booking(svc, rules, slot, now=now, cap=self.capacity(svc, rules),
                               taken=s.bookings_taken(svc.code, slot.timestamp()),
                               calendar=self.ops.calendar, closures=self.cfg.closures,
                               same_person=same)
            code_, key = new_code(), secrets.token_urlsafe(16)
            while s.booking(code=code_) is not None:
                code_ = new_code()
            booking_id = s.insert_booking({
                "code": code_, "key": key, "service": svc.code, "day": slot.date().isoformat(),
                "slot_at": slot.isoformat(), "slot_ts": slot.timestamp(), "status": "booked",
                "name": name, "phone": phone, "id_last4": id_last4, "source": source,
                "device": device, "created_at": iso(now)})
            self.ops._record_hall_event(s, bodies, "appointment.booked", {
                "booking": booking_id, "service": svc.code, "slot": slot.isoformat(),
                "source": source})
            return self._view(s, s.booking(booking_id=booking_id), rules, code_=True)

    def cancel(self, code: str) -> dict:
        """The citizen (or the platform) cancels a booking not yet used."""
        with self.ops.change() as (s, bodies):
            b = self._find(s, code)
            if b["status"] != "booked":
                raise appt.BookingClosed(status=b["status"])
            now = self.ops.now()
            s.update_booking(b["id"], {"status": "cancelled", "cancelled_at": iso(now)})
            self.ops._record_hall_event(s, bodies, "appointment.cancelled", {
                "booking": b["id"], "service": b["service"], "slot": b["slot_at"]})
            _, rules = self.rules(b["service"])
            return self._view(s, s.booking(booking_id=b["id"]), rules, code_=True)

    def status(self, key: str) -> Optional[dict]:
        """The citizen's own booking, by the key in its status_url (masked, with the code)."""
        with self.ops.store() as s:
            b = s.booking(key=key)
            if b is None:
                return None
            rules = self.cfg.appointment_rules.get(b["service"]) or appt.Rules()
            return self._view(s, b, rules, code_=True)

    def listing(self, day: date) -> list[dict]:
        """A day's bookings for managers: name, phone and ID digits masked."""
        with self.ops.store() as s:
            return [self._view(s, b, self.cfg.appointment_rules.get(b["service"]) or appt.Rules())
                    for b in s.bookings_of_day(day)]

    # -- check-in ----------------------------------------------------------------
    def check_in(self, code: Optional[str] = None, *, phone_last4: Optional[str] = None,
                 name: Optional[str] = None, key: Optional[str] = None) -> dict:
        """Check in at the kiosk (by code, or phone digits and name) or at the door (by the
        booking's key): an appointment ticket at once, or, late, a walk-in ticket."""
        with self.ops.change() as (s, bodies):
            if code is not None:
                b = self._find(s, code)
            elif key is not None:
                b = s.booking(key=key)
                if b is None:
                    raise appt.UnknownBooking()
            else:
                found = s.bookings_by_phone_name(self.ops.today(), phone_last4, name.strip())
                if not found:
                    raise appt.NoMatch()
                b = found[0]
            svc, rules = self.rules(b["service"])
            now = self.ops.now()
            if b["ticket"]:
                b = {**b, "number": s.ticket(b["ticket"]).number}
            verdict = appt.check_in_verdict(b, rules, now=now)
            slot = datetime.fromisoformat(b["slot_at"]).astimezone(self.ops.tz)
            if verdict == "on_time":
                ticket = self.ops._issue_in(s, bodies, svc, reserved=True, marks={
                    "appointment": True, "booking": b["id"], "queue_at": slot.isoformat()})
                status = "checked_in"
            else:  # late: a walk-in ticket, within the service's hours and caps
                ticket = self.ops._issue_in(s, bodies, svc, marks={"late_booking": b["id"]})
                status = "late"
            s.update_booking(b["id"], {"status": status, "checked_in_at": iso(now),
                                       "checked_in_ts": now.timestamp(), "ticket": ticket["id"]})
            self.ops._record_hall_event(s, bodies, "appointment.checked_in", {
                "booking": b["id"], "service": svc.code, "slot": b["slot_at"],
                "status": status, "ticket_id": ticket["id"], "number": ticket["number"]})
            return {**ticket, "late": status == "late", "booking_code": b["code"],
                    "slot": b["slot_at"], "slot_label": appt.slot_label(slot, rules)}

    # -- remote walk-in tickets (the phone page) ---------------------------------
    def remote_ticket(self, code) -> dict:
        """Today's ticket from a phone, within the service's quota; it must check in at the kiosk."""
        svc = self.ops.service(code)
        rules = self.cfg.appointment_rules.get(svc.code)
        if not self.section["remote_tickets"] or rules is None or rules.remote_quota <= 0:
            raise appt.RemoteOff(name=svc.name, name_en=svc.name_en)
        with self.ops.change() as (s, bodies):
            if s.remote_tickets_issued(self.ops.today(), svc.code) >= rules.remote_quota:
                raise appt.RemoteQuotaReached(quota=rules.remote_quota, name=svc.name,
                                              name_en=svc.name_en)
            return self.ops._issue_in(s, bodies, svc, marks={"remote": True, "checked_in": False})

    def check_in_remote(self, key: str, how: str = "kiosk") -> dict:
        """A phone ticket checks in (its code scanned at the kiosk, or the door's code
        scanned by the phone): it may be called from now on."""
        with self.ops.change() as (s, bodies):
            t = s.ticket_by_key(key) if len(key) < 64 else None
            if t is None:
                raise engine.UnknownTicket(ticket=key[:16])
            if not t.remote or t.checked_in:
                raise appt.NotRemote(number=t.number)
            t.need("waiting")
            ev = engine.Event("ticket.checked_in", self.ops.now(), t.id, None, None,
                              {"number": t.number, "service": t.service, "how": how})
            view = self.ops._record(s, bodies, ev, t)
            return {**view, "status_url": self.ops.status_url(key)}

    # -- the door's code: check in from the phone (docs/appointments.md) -------------
    def door_code(self, day: Optional[date] = None) -> str:
        """The door's code of a day: 6 digits of an HMAC of the day under the hall's secret
        key, so it changes each day and cannot be worked out from an old one."""
        day = day or self.ops.today()
        mac = hmac.new(self.secret, f"qrate-door:{day.isoformat()}".encode(), hashlib.sha256)
        return f"{int.from_bytes(mac.digest()[:8], 'big') % 10 ** 6:06d}"

    def door_url(self, day: Optional[date] = None) -> str:
        return self.cfg.raw["hall"]["public_url"].rstrip("/") + f"/door/{self.door_code(day)}"

    def door(self, day: Optional[date] = None) -> dict:
        """A day's door code and the URL its QR holds: today, or up to a week ahead (to
        print the posters in advance)."""
        today = self.ops.today()
        day = day or today
        if not today <= day <= today + timedelta(days=DOOR_AHEAD_DAYS):
            raise appt.DoorDayOut(day=day.isoformat(), days=DOOR_AHEAD_DAYS)
        return {"day": day.isoformat(), "code": self.door_code(day), "url": self.door_url(day)}

    def check_in_at_door(self, door: str, key: str) -> dict:
        """The phone that holds a phone ticket's or a booking's page scanned (or typed) the
        code at the hall's door: the same check-in as at the kiosk, only with today's code."""
        today = self.ops.today()
        if not hmac.compare_digest(door.encode(), self.door_code(today).encode()):
            if any(hmac.compare_digest(door.encode(), self.door_code(today - timedelta(days=n)).encode())
                   for n in range(1, DOOR_OLD_DAYS + 1)):
                raise appt.DoorCodeOld()
            raise appt.DoorCodeWrong()
        with self.ops.store() as s:
            is_ticket = s.ticket_by_key(key) is not None
        if is_ticket:
            return self.check_in_remote(key, how="door")
        return self.check_in(key=key)

    def expire_remote(self) -> int:
        """Cancel remote tickets not checked in within [appointments] remote_expire_min."""
        limit = self.ops.now() - timedelta(minutes=int(self.section["remote_expire_min"]))
        with self.ops.change() as (s, bodies):
            stale = s.stale_remote_tickets(self.ops.today(), limit.timestamp())
            for t in stale:
                self.ops._record(s, bodies, engine.cancel(t, now=self.ops.now(),
                                                          reason="remote_expired"), t)
            return len(stale)

    # -- helpers -----------------------------------------------------------------
    def _find(self, s: Store, code: str) -> dict:
        b = s.booking(code=code.strip().upper()) if isinstance(code, str) and len(code) <= 16 else None
        if b is None:
            raise appt.UnknownBooking()
        return b

    def _purge(self, s: Store) -> None:
        """Once a day: forget the personal data of bookings past the hall's retention."""
        today = self.ops.today()
        if self._purged_for != today:
            s.purge_bookings(today - timedelta(days=int(self.section["retention_days"])))
            self._purged_for = today

    def purge(self) -> int:
        with self.ops.lock, self.ops.store() as s, s.transaction():
            today = self.ops.today()
            n = s.purge_bookings(today - timedelta(days=int(self.section["retention_days"])))
            self._purged_for = today
            return n

    def _view(self, s: Store, b: dict, rules: appt.Rules, code_: bool = False) -> dict:
        svc = self.cfg.services.get(b["service"])
        slot = datetime.fromisoformat(b["slot_at"])
        view = {"id": b["id"], "service": b["service"],
                "service_name": svc.name if svc else b["service"],
                "service_name_en": svc.name_en if svc else b["service"],
                "slot": b["slot_at"], "slot_label": appt.slot_label(slot, rules), "day": b["day"],
                "status": b["status"], "source": b["source"], "created_at": b["created_at"],
                "checked_in_at": b["checked_in_at"],
                "name": appt.mask_name(b["name"]), "phone": appt.mask_phone(b["phone"]),
                "id_last4": "**" + b["id_last4"][-2:] if b["id_last4"] else "",
                "checkin_opens": iso(slot - timedelta(minutes=rules.checkin_before_min)),
                "checkin_closes": iso(slot + timedelta(minutes=rules.checkin_after_min)),
                "ticket": None}
        if b["ticket"]:
            t = s.ticket(b["ticket"])
            view["ticket"] = {"id": t.id, "number": t.number, "status": t.status,
                              "status_url": self.ops.status_url(getattr(t, "key"))}
        if code_:
            view["code"] = b["code"]
            view["status_url"] = self.status_url(b["key"])
        return view

    def status_url(self, key: str) -> str:
        return self.cfg.raw["hall"]["public_url"].rstrip("/") + f"/book/b/{key}"
