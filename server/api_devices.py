"""USB HID device health from `qrate agent` (docs/usb-hid.md): each agent posts what its
devices are doing (connected, the last key, the by-path name) with its device token, and
managers read it beside the printers and the serial pads on the dashboard.

The reports are kept in memory only: an agent reports every few seconds, so after a
restart the hall knows its devices again within one interval. An agent that has not
reported for three intervals is "unknown", never "disconnected": the hall cannot tell
whether its devices are there."""
from __future__ import annotations

import threading
from datetime import datetime
from typing import Optional

from flask import current_app
from pydantic import BaseModel, Field

from .engine import N_
from .i18n import translate
from .web import Routes, Strict, ops, require

routes = Routes()
route = routes.route

REPORT_S = 10.0  # the agent's interval (devices/agent.py); silent for 3 of them: unknown
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
    """The agents' latest reports, keyed by their device's name."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reports: dict[str, dict] = {}

    def put(self, device: str, kind: str, window: Optional[int], at: datetime, body: HealthIn) -> None:
        with self._lock:
            self.reports[device] = {"device": device, "kind": kind, "window": window,
                                    "reported_at": at, "interval_s": body.interval_s,
                                    "devices": [d.model_dump() for d in body.devices]}

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
        ext["qrate_hid"] = HidHealth()
    return ext["qrate_hid"]


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
