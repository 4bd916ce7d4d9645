"""USB HID pads, keypads and scanners read with python-evdev, for `qrate agent`.

Many 评价器 and caller keypads are USB keyboards that type 1-5 or F1-F4, and QR and
barcode scanners type their content followed by Enter. The agent (devices/agent.py)
opens each device by its stable /dev/input/by-path or by-id name, grabs it (its keys
never reach the kiosk's browser), decodes key events with ``HidDecoder`` and speaks
the hall's API as a touch pad, a keypad or a kiosk does. See docs/usb-hid.md.

The decoder works on plain (type, code, value) triples, as evdev's InputEvent carries
them, so it is tested without /dev/uinput and without evdev installed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

EV_KEY = 1
PRESS, RELEASE, REPEAT = 1, 0, 2

# Linux input-event-codes.h: the keys the default maps name
KEY = {
    "KEY_1": 2, "KEY_2": 3, "KEY_3": 4, "KEY_4": 5, "KEY_5": 6, "KEY_6": 7, "KEY_7": 8,
    "KEY_8": 9, "KEY_9": 10, "KEY_0": 11, "KEY_MINUS": 12, "KEY_EQUAL": 13,
    "KEY_Q": 16, "KEY_W": 17, "KEY_E": 18, "KEY_R": 19, "KEY_T": 20, "KEY_Y": 21, "KEY_U": 22,
    "KEY_I": 23, "KEY_O": 24, "KEY_P": 25, "KEY_ENTER": 28, "KEY_A": 30, "KEY_S": 31,
    "KEY_D": 32, "KEY_F": 33, "KEY_G": 34, "KEY_H": 35, "KEY_J": 36, "KEY_K": 37, "KEY_L": 38,
    "KEY_SEMICOLON": 39, "KEY_LEFTSHIFT": 42, "KEY_Z": 44, "KEY_X": 45, "KEY_C": 46,
    "KEY_V": 47, "KEY_B": 48, "KEY_N": 49, "KEY_M": 50, "KEY_DOT": 52, "KEY_SLASH": 53,
    "KEY_RIGHTSHIFT": 54, "KEY_F1": 59, "KEY_F2": 60, "KEY_F3": 61, "KEY_F4": 62, "KEY_F5": 63,
    "KEY_KP7": 71, "KEY_KP8": 72, "KEY_KP9": 73, "KEY_KP4": 75, "KEY_KP5": 76, "KEY_KP6": 77,
    "KEY_KP1": 79, "KEY_KP2": 80, "KEY_KP3": 81, "KEY_KP0": 82, "KEY_KPENTER": 96,
}
NAME = {code: name for name, code in KEY.items()}

# The default key map of each role; a device's own map in the agent's file replaces it.
DEFAULT_MAPS = {
    "pad": {"KEY_1": "1", "KEY_2": "2", "KEY_3": "3", "KEY_4": "4", "KEY_5": "5",
            "KEY_KP1": "1", "KEY_KP2": "2", "KEY_KP3": "3", "KEY_KP4": "4", "KEY_KP5": "5"},
    "keypad": {"KEY_F1": "NEXT", "KEY_F2": "RECALL", "KEY_F3": "NOSHOW", "KEY_F4": "FINISH",
               "KEY_F5": "PAUSE"},
}
_CHARS = {**{f"KEY_{d}": d for d in "0123456789"}, **{f"KEY_KP{d}": d for d in "0123456789"},
          **{f"KEY_{c}": c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
          "KEY_MINUS": "-", "KEY_EQUAL": "=", "KEY_DOT": ".", "KEY_SLASH": "/", "KEY_SEMICOLON": ";"}
_SHIFTED = {"KEY_SEMICOLON": ":", "KEY_MINUS": "_", "KEY_EQUAL": "+", "KEY_SLASH": "?"}
SCAN_MAX = 256  # characters; a longer "scan" is a stuck key, dropped


@dataclass
class Action:
    """What a device asked for: a score (pad), a key (keypad) or a scanned text (scanner)."""
    role: str
    value: str


class HidDecoder:
    """Key events of one device -> actions, by its role and key map."""

    def __init__(self, role: str, keymap: Optional[dict] = None,
                 clock: Callable[[], float] = time.monotonic):
        if role not in ("pad", "keypad", "scanner"):
            raise ValueError(f"role must be pad, keypad or scanner, not {role!r}")
        self.role, self.clock = role, clock
        self.keymap = dict(keymap if keymap is not None else DEFAULT_MAPS.get(role, {}))
        unknown = [k for k in self.keymap if k not in KEY]
        if unknown:
            raise ValueError(f"unknown key names {unknown}; names are like KEY_1, KEY_F1, KEY_KP5")
        self.buffer: list[str] = []
        self.shift = False
        self.last_key: Optional[str] = None
        self.last_key_at: Optional[float] = None
        self.ignored = 0
        self.presses = 0  # every key pressed (the agent's health report counts them)

    def feed(self, type_: int, code: int, value: int) -> Optional[Action]:
        """One input event; an action when it completes one."""
        if type_ != EV_KEY:
            return None
        name = NAME.get(code)
        if name in ("KEY_LEFTSHIFT", "KEY_RIGHTSHIFT"):
            self.shift = value != RELEASE
            return None
        if value != PRESS:  # releases and auto-repeat never act: one press, one action
            return None
        self.last_key, self.last_key_at = name or f"code {code}", self.clock()
        self.presses += 1
        if self.role == "scanner":
            return self._scan(name)
        action = self.keymap.get(name) if name else None
        if action is None:
            self.ignored += 1
            return None
        return Action(self.role, action)

    def _scan(self, name: Optional[str]) -> Optional[Action]:
        if name in ("KEY_ENTER", "KEY_KPENTER"):
            text, self.buffer = "".join(self.buffer), []
            return Action("scanner", text) if text else None
        ch = _CHARS.get(name or "")
        if ch is None:
            self.ignored += 1
            return None
        if self.shift:
            ch = _SHIFTED.get(name, ch.upper())
        self.buffer.append(ch)
        if len(self.buffer) > SCAN_MAX:
            self.buffer = []
            self.ignored += 1
        return None

    def feed_all(self, events: Iterable[tuple[int, int, int]]) -> list[Action]:
        return [a for a in (self.feed(*e) for e in events) if a is not None]


def typed(text: str, enter: bool = True) -> list[tuple[int, int, int]]:
    """The events a keyboard-wedge scanner sends for ``text`` (for tests and simulators)."""
    back = {v: k for k, v in _CHARS.items() if not k.startswith("KEY_KP")}
    shifted = {v: k for k, v in _SHIFTED.items()}
    out = []
    for ch in text:
        if ch in shifted or ch.isupper():
            name = shifted.get(ch) or f"KEY_{ch}"
            out += [(EV_KEY, KEY["KEY_LEFTSHIFT"], PRESS), (EV_KEY, KEY[name], PRESS),
                    (EV_KEY, KEY[name], RELEASE), (EV_KEY, KEY["KEY_LEFTSHIFT"], RELEASE)]
        else:
            name = back[ch]
            out += [(EV_KEY, KEY[name], PRESS), (EV_KEY, KEY[name], RELEASE)]
    if enter:
        out += [(EV_KEY, KEY["KEY_ENTER"], PRESS), (EV_KEY, KEY["KEY_ENTER"], RELEASE)]
    return out
