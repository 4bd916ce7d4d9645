"""USB HID device health from `qrate agent` (docs/usb-hid.md): each agent posts what its
devices are doing (connected, the last key, the by-path name) with its device token, and
managers read it beside the printers and the serial pads on the dashboard.

The reports are kept in memory only: an agent reports every few seconds, so after a
restart the hall knows its devices again within one interval. An agent that has not
reported for three intervals is "unknown", never "disconnected": the hall cannot tell
whether its devices are there.

What a manager must see is pushed at once to the Socket.IO `managers` room as `device`
(docs/api.md, docs/usb-hid.md): a USB device plugged in or out (a report compared with
the agent's last one, path by path; an agent's first report too), an agent gone silent
(noticed by a small background task) or back, a serial port opened or closed, its
heartbeat late or back (devices/serialpad.py, through the device port). Only changes go,
never each report or heartbeat, and nothing is written to the hall's log: this is health,
not the hall's record, and a dashboard that reconnects reads it all again."""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Callable, Optional

from flask import current_app
from pydantic import BaseModel, Field

from .engine import N_
from .i18n import translate
from .web import Routes, Strict, ops, require

routes = Routes()
route = routes.route
log = logging.getLogger("qrate.devices")

REPORT_S = 10.0  # the agent's interval (devices/agent.py); silent for 3 of them: unknown
WATCH_S = 1.0  # how often the server looks for an agent gone silent (while any reports)
AGENT_ROLES = ("pad", "keypad", "kiosk")


class HidDeviceIn(Strict):
    path: str = Field(max_length=200, pattern=r"^/dev/input/",
                      description="The stable /dev/input/by-id or by-path name")
    role: str = Field(pattern=r"^(pad|keypad|scanner)$")
    connected: bool
    name: str = Field(default="", max_length=120, description="The device's own name (evdev)")
    last_key: Optional[str] = Field(default=None, max_length=40)
    last_key_at: Optional[str] = Field(default=None, max_length=40, description="ISO 8601")
    keys: int = Field(default=0, ge=0, description="Key presses read since the agent started")
    error: Optional[str] = Field(default=None, max_length=200, description="Why it is not read")


class HealthIn(Strict):
    devices: list[HidDeviceIn] = Field(max_length=16)
    interval_s: float = Field(default=REPORT_S, ge=1, le=300,
                              description="How often this agent reports")


class HealthOut(BaseModel):
    received_at: str
    devices: int


class HidOut(BaseModel):
    at: str
    agents: list[dict] = Field(description="One per device token: device, kind, window, "
                               "reported_at, state (reporting | unknown), devices with their state "
                               "(connected | disconnected | unknown)")


class HidHealth:
    """The agents' latest reports, keyed by their device's name. ``push`` gets each change
    (a `device` message body); ``now``, ``sleep`` and ``spawn`` are the hall's clock and the
    server's background tasks (the watcher that notices an agent gone silent)."""

    def __init__(self, push: Optional[Callable[[dict], None]] = None,
                 now: Optional[Callable[[], datetime]] = None,
                 sleep: Callable[[float], None] = time.sleep, spawn: Optional[Callable] = None):
        self._lock = threading.Lock()
        self.reports: dict[str, dict] = {}
        self.push, self.now, self.sleep, self.spawn = push, now, sleep, spawn
        self._silent: set[str] = set()  # agents told to be silent
        self._watching = False
        self._last_put = 0.0  # time.monotonic() of the last report

    def put(self, device: str, kind: str, window: Optional[int], at: datetime, body: HealthIn) -> None:
        devices = [d.model_dump() for d in body.devices]
        with self._lock:
            old = self.reports.get(device)
            fresh = old is None or device in self._silent or \
                (at - old["reported_at"]).total_seconds() > 3 * old["interval_s"]
            self.reports[device] = {"device": device, "kind": kind, "window": window,
                                    "reported_at": at, "interval_s": body.interval_s,
                                    "devices": devices}
            self._silent.discard(device)
            self._last_put = time.monotonic()
            watch = not self._watching and self.spawn is not None and self.now is not None
            if watch:
                self._watching = True
        changes = self._changes(device, window, at, None if fresh else old, devices)
        if fresh:
            changes.insert(0, {"kind": "agent", "device": device, "window": window,
                               "state": "reporting", "at": at.isoformat()})
        for change in changes:
            self._push(change)
        if watch:
            self.spawn(self._watch)

    @staticmethod
    def _changes(device: str, window: Optional[int], at: datetime, old: Optional[dict],
                 devices: list[dict]) -> list[dict]:
        """What a report changed, path by path (``old`` None: every device is news)."""
        was = {d["path"]: d["connected"] for d in (old or {}).get("devices", [])}
        out = []
        for d in devices:
            if old is None or was.get(d["path"]) != d["connected"]:
                out.append({"kind": "hid", "device": device, "window": window, "path": d["path"],
                            "role": d["role"], "state": "connected" if d["connected"] else "disconnected",
                            "at": at.isoformat()})
        for path in was.keys() - {d["path"] for d in devices}:
            out.append({"kind": "hid", "device": device, "window": window, "path": path,
                        "state": "removed", "at": at.isoformat()})
        return out

    def _push(self, body: dict) -> None:
        if self.push is None:
            return
        try:
            self.push(body)
        except Exception:  # a push that fails never refuses the agent's report
            log.exception("could not push a device change")

    def check(self) -> bool:
        """Tell of every agent that fell silent since the last look; False when nothing is
        left to watch (every agent silent, or no report for long: the next report restarts it)."""
        now = self.now()
        with self._lock:
            gone = []
            for r in self.reports.values():
                age = (now - r["reported_at"]).total_seconds()
                if age > 3 * r["interval_s"] and r["device"] not in self._silent:
                    self._silent.add(r["device"])
                    gone.append((r, age))
            longest = max((3 * r["interval_s"] for r in self.reports.values()), default=0)
            idle = time.monotonic() - self._last_put > longest + 60  # a hall clock that stands still
            go_on = not idle and len(self._silent) < len(self.reports)
            if not go_on:
                self._watching = False
        for r, age in gone:
            self._push({"kind": "agent", "device": r["device"], "window": r["window"], "state": "unknown",
                        "since": r["reported_at"].isoformat(), "age_s": round(age, 1), "at": now.isoformat()})
        return go_on

    def _watch(self) -> None:
        while True:
            self.sleep(WATCH_S)
            try:
                if not self.check():
                    return
            except Exception:  # never let the watcher die quietly with agents to watch
                log.exception("agent watch failed")
                with self._lock:
                    self._watching = False
                return

    def view(self, now: datetime) -> list[dict]:
        with self._lock:
            reports = list(self.reports.values())
        out = []
        for r in sorted(reports, key=lambda r: (r["window"] is None, r["window"] or 0, r["device"])):
            age = (now - r["reported_at"]).total_seconds()
            silent = age > 3 * r["interval_s"]
            out.append({"device": r["device"], "kind": r["kind"], "window": r["window"],
                        "reported_at": r["reported_at"].isoformat(), "age_s": round(age, 1),
                        "state": "unknown" if silent else "reporting",
                        "devices": [{**d, "state": "unknown" if silent else
                                     ("connected" if d["connected"] else "disconnected")}
                                    for d in r["devices"]]})
        return out


def hid_health() -> HidHealth:
    ext = current_app.extensions
    if "qrate_hid" not in ext:
        sio = ext.get("qrate_socketio")
        ext["qrate_hid"] = HidHealth(push=pusher(sio) if sio is not None else None, now=ops().now,
                                     sleep=sio.sleep if sio is not None else time.sleep,
                                     spawn=sio.start_background_task if sio is not None else None)
    return ext["qrate_hid"]


def pusher(sio) -> Callable[[dict], None]:
    """A device change to the managers' room only (`device`): never to the public rooms,
    never in the hall's log (see the module's doc)."""
    def push(body: dict) -> None:
        sio.emit("device", body, to="managers")
    return push


@route("/devices/health", "POST", "qrate agent reports its USB HID devices' health", "a pad, keypad or kiosk",
       body=HealthIn, response=HealthOut, tags=("devices",))
def report_health(body: HealthIn):
    p = require(*AGENT_ROLES)
    now = ops().now()
    hid_health().put(p.name, p.role, p.window, now, body)
    return {"received_at": now.isoformat(), "devices": len(body.devices)}


@route("/devices/hid", "GET", "USB HID devices as their agents last reported them", "manager",
       response=HidOut, tags=("devices",))
def hid_view():
    require("manager")
    now = ops().now()
    return {"at": now.isoformat(), "agents": hid_health().view(now)}


DEVICE_TEXT = {
    "disconnected": N_("USB device %(path)s (%(device)s) is not connected"),
    "unknown": N_("qrate agent %(device)s has not reported for %(minutes)s min: its USB devices are unknown"),
    "serial": N_("Serial device %(url)s is disconnected"),
    "late": N_("Serial device %(url)s has stopped sending its heartbeat"),
}


def device_alerts(now: datetime) -> list[dict]:
    """Alerts in force for GET /api/alerts: a USB device unplugged, an agent gone silent, a
    serial port closed or whose heartbeat stopped (a pad that never sent one is no alert)."""
    out = []
    for agent in hid_health().view(now):
        if agent["state"] == "unknown":
            params = {"device": agent["device"], "minutes": int(agent["age_s"] // 60)}
            out.append({"type": "device", "device": agent["device"], "state": "unknown",
                        "since": agent["reported_at"], "waited_s": agent["age_s"], **_words("unknown", params)})
            continue
        for d in agent["devices"]:
            if d["state"] == "disconnected":
                params = {"device": agent["device"], "path": d["path"]}
                out.append({"type": "device", "device": agent["device"], "path": d["path"],
                            "state": "disconnected", "since": None, "waited_s": None,
                            **_words("disconnected", params)})
    hub = current_app.extensions.get("qrate_devices")
    for port in (hub.serial.health() if getattr(hub, "serial", None) else []):
        state = "serial" if not port.get("connected") else ("late" if port.get("heartbeat") == "late" else None)
        if state:
            out.append({"type": "device", "url": port["url"], "state": state,
                        "since": port.get("heartbeat_at"), "waited_s": None,
                        **_words(state, {"url": port["url"]})})
    return out


def _words(key: str, params: dict) -> dict:
    return {"message": translate(DEVICE_TEXT[key], "zh_CN", **params),
            "message_en": translate(DEVICE_TEXT[key], "en", **params)}
