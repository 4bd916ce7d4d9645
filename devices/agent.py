"""`qrate agent --server URL --token TOKEN`: a small process on the PC next to USB HID
devices (a window's 评价器 or caller keypad, a kiosk's scanner). It reads the evdev
devices its own small file names, decodes their keys (devices/hid.py) and speaks the
hall's HTTP API with its device token exactly as the touch pad, a keypad or the kiosk
page does, so every action takes the same service-layer path as theirs. docs/usb-hid.md.
"""
from __future__ import annotations

import logging
import re
import threading
import time
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Callable, Optional

from .hid import Action, HidDecoder

log = logging.getLogger("qrate.agent")
KEY_PATHS = {"RECALL": "recall", "NOSHOW": "no-show", "FINISH": "finish"}
APPOINTMENT = re.compile(r"^[A-Za-z0-9-]{4,32}$")
REPORT_S = 10.0  # seconds between health reports (POST /api/devices/health)


class Http:
    """The hall's API over HTTP with a bearer token (requests, one session)."""

    def __init__(self, server: str, token: str, timeout: float = 5.0):
        import requests
        self.base, self.timeout = server.rstrip("/"), timeout
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}",
                                     "Accept-Language": "zh-CN"})

    def __call__(self, method: str, path: str, body: Optional[dict] = None) -> tuple[int, object]:
        r = self.session.request(method, self.base + path, json=body, timeout=self.timeout)
        try:
            return r.status_code, r.json() if r.content else None
        except ValueError:
            return r.status_code, None


class Agent:
    """Turns decoded actions into the API calls a pad, keypad or kiosk makes."""

    def __init__(self, api: Callable[[str, str, Optional[dict]], tuple[int, object]]):
        self.api = api
        status, me = api("GET", "/api/me", None)
        if status != 200 or not isinstance(me, dict):
            raise RuntimeError(f"the hall refused the token (HTTP {status}); "
                               "give the agent a device token from `qrate device add`")
        self.role, self.window, self.name = me["role"], me.get("window"), me.get("name")
        self.done: list[dict] = []  # what each action did (the last ones are kept for health)

    def act(self, action: Action) -> dict:
        """One action; returns {action, status, answer} (a refusal is logged, never raised)."""
        if action.role == "pad":
            out = self._rate(int(action.value))
        elif action.role == "keypad":
            out = self._key(action.value)
        else:
            out = self._scan(action.value)
        out["action"] = f"{action.role}:{action.value}"
        self.done = (self.done + [out])[-20:]
        if out["status"] >= 400:
            log.warning("%s refused: %s", out["action"], out["answer"])
        return out

    def _rate(self, score: int) -> dict:
        status, state = self.api("GET", "/api/pad/state", None)
        pending = state.get("pending") if isinstance(state, dict) else None
        if status != 200 or not pending:
            return {"status": 409, "answer": "no rating is due at this window"}
        status, answer = self.api("POST", "/api/ratings", {"ticket": pending["ticket"], "score": score})
        return {"status": status, "answer": answer}

    def _key(self, key: str) -> dict:
        n = self.window
        if key == "NEXT":
            status, answer = self.api("POST", f"/api/windows/{n}/call-next", None)
            return {"status": status, "answer": answer}
        status, windows = self.api("GET", "/api/windows", None)
        w = next((x for x in (windows or {}).get("windows", []) if x["number"] == n), None)
        if key == "PAUSE":
            verb = "resume" if w and w["status"] == "paused" else "pause"
            status, answer = self.api("POST", f"/api/windows/{n}/{verb}", {} if verb == "pause" else None)
            return {"status": status, "answer": answer}
        if not w or not w.get("current"):
            return {"status": 409, "answer": "nobody is being served"}
        status, answer = self.api("POST", f"/api/tickets/{w['current']['id']}/{KEY_PATHS[key]}", None)
        return {"status": status, "answer": answer}

    def _scan(self, text: str) -> dict:
        # an appointment code is checked in as the kiosk page does; a ticket's own QR code
        # (its status URL) needs nothing from the kiosk
        if "/t/" in text:
            return {"status": 200, "answer": "a ticket's status code: nothing to do"}
        if not APPOINTMENT.match(text):
            return {"status": 422, "answer": f"not an appointment code: {text[:40]!r}"}
        status, answer = self.api("POST", f"/api/appointments/{text}/check-in", None)
        return {"status": status, "answer": answer}


def load_devices(path: Path) -> list[dict]:
    """The agent's file: [[devices]] path = "/dev/input/by-id/...", role, keymap (optional)."""
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for i, d in enumerate(raw.get("devices", [])):
        if not str(d.get("path", "")).startswith("/dev/input/"):
            raise ValueError(f"[[devices]] #{i + 1}: path must be a /dev/input/by-id or by-path name")
        HidDecoder(d.get("role", ""), d.get("keymap"))  # a wrong role or key name fails here
        out.append({"path": d["path"], "role": d["role"], "keymap": d.get("keymap")})
    if not out:
        raise ValueError(f"{path}: no [[devices]]")
    return out


def read_device(entry: dict, agent: Agent, stop: threading.Event, retry_s: float = 2.0,
                changed: Optional[threading.Event] = None,
                open_device: Optional[Callable[[str], object]] = None) -> None:
    """Read one evdev device, grabbed, until stopped; unplugged, it is opened again when back.

    Its health stays in ``entry`` (connected, name, last key and when, keys, error) for the
    agent's health report; ``changed`` is set when it is plugged in or out, so the report
    goes at once. ``open_device`` opens a path (evdev.InputDevice by default; tests pass
    one that yields synthetic events)."""
    if open_device is None:
        import evdev  # Linux only: `pip install 'qrate[hid]'`
        open_device = evdev.InputDevice
    decoder = HidDecoder(entry["role"], entry.get("keymap"))
    entry.setdefault("connected", False)
    entry.setdefault("keys", 0)
    warned = False
    while not stop.is_set():
        try:
            dev = open_device(entry["path"])
            dev.grab()  # its keys never reach the desktop or the kiosk's browser
            log.info("reading %s (%s) as %s", entry["path"], dev.name, entry["role"])
            entry.update(connected=True, name=str(getattr(dev, "name", ""))[:120], error=None)
            warned = False
            if changed is not None:
                changed.set()
            for ev in dev.read_loop():
                action = decoder.feed(ev.type, ev.code, ev.value)
                if decoder.presses != entry["keys"]:
                    entry.update(last_key=decoder.last_key, last_key_at=wall_now(),
                                 keys=decoder.presses)
                if action is not None:
                    agent.act(action)
                if stop.is_set():
                    break
        except OSError as exc:  # not plugged in, or unplugged now: try again shortly
            if not warned:
                log.warning("%s: %s; waiting for it", entry["path"], exc)
                warned = True
            was = entry.get("connected")
            entry.update(connected=False, error=str(exc)[:200])
            if was and changed is not None:
                changed.set()
            stop.wait(retry_s)


def wall_now() -> str:
    """This PC's time, ISO 8601 with its offset (the hall shows when the last key came)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


HEALTH_KEYS = ("path", "role", "connected", "name", "last_key", "last_key_at", "keys", "error")


def health_report(devices: list[dict], interval_s: float = REPORT_S) -> dict:
    """The body of POST /api/devices/health: each device's health as the agent knows it."""
    return {"interval_s": interval_s,
            "devices": [{k: d[k] for k in HEALTH_KEYS if d.get(k) is not None}
                        | {"connected": bool(d.get("connected"))} for d in devices]}


def report_health(api: Callable[[str, str, Optional[dict]], tuple[int, object]], devices: list[dict],
                  stop: threading.Event, changed: threading.Event, interval_s: float = REPORT_S) -> None:
    """Send the devices' health every ``interval_s`` and at once when one is plugged in or
    out; a hall that cannot be reached is tried again at the next round. ``api``: its own
    HTTP session (the readers' threads share theirs)."""
    while not stop.is_set():
        changed.clear()
        try:
            status, answer = api("POST", "/api/devices/health", health_report(devices, interval_s))
            if status >= 400:
                log.warning("the hall refused the health report (HTTP %s): %s", status, answer)
        except Exception as exc:  # noqa: BLE001 - the hall is away: the next round tries again
            log.warning("could not send the health report: %s", exc)
        changed.wait(interval_s)


def run(server: str, token: str, config: Path) -> None:
    devices = load_devices(config)
    agent = Agent(Http(server, token))
    stop, changed = threading.Event(), threading.Event()
    threads = [threading.Thread(target=read_device, args=(d, agent, stop), daemon=True,
                                kwargs={"changed": changed}, name=f"hid {d['path']}") for d in devices]
    threads.append(threading.Thread(target=report_health, args=(Http(server, token), devices, stop, changed),
                                    daemon=True, name="hid health"))
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(1)
    except KeyboardInterrupt:
        stop.set()
