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
from pathlib import Path
from typing import Callable, Optional

from .hid import Action, HidDecoder

log = logging.getLogger("qrate.agent")
KEY_PATHS = {"RECALL": "recall", "NOSHOW": "no-show", "FINISH": "finish"}
APPOINTMENT = re.compile(r"^[A-Za-z0-9-]{4,32}$")


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


def read_device(entry: dict, agent: Agent, stop: threading.Event, retry_s: float = 2.0) -> None:
    """Read one evdev device, grabbed, until stopped; unplugged, it is opened again when back."""
    import evdev  # Linux only: `pip install 'qrate[hid]'`
    decoder = HidDecoder(entry["role"], entry.get("keymap"))
    while not stop.is_set():
        try:
            dev = evdev.InputDevice(entry["path"])
            dev.grab()  # its keys never reach the desktop or the kiosk's browser
            log.info("reading %s (%s) as %s", entry["path"], dev.name, entry["role"])
            entry["connected"] = True
            for ev in dev.read_loop():
                action = decoder.feed(ev.type, ev.code, ev.value)
                entry["last_key"] = decoder.last_key
                if action is not None:
                    agent.act(action)
                if stop.is_set():
                    break
        except OSError as exc:  # not plugged in, or unplugged now: try again shortly
            if entry.get("connected", True):
                log.warning("%s: %s; waiting for it", entry["path"], exc)
            entry["connected"] = False
            stop.wait(retry_s)


def run(server: str, token: str, config: Path) -> None:
    devices = load_devices(config)
    agent = Agent(Http(server, token))
    stop = threading.Event()
    threads = [threading.Thread(target=read_device, args=(d, agent, stop), daemon=True,
                                name=f"hid {d['path']}") for d in devices]
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(1)
    except KeyboardInterrupt:
        stop.set()
