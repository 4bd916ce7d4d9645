"""Who is at each window: open console connections and the last sign of life (a keypad
frame, any event at the window, a console connecting or leaving). A window whose console
and keypad have been silent for [signin] silent_minutes, with no ticket called there,
is paused (reason `silent`), so the lobby stops promising a service nobody serves.
Monotonic time: a jump of the wall clock never makes a window silent."""
from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from typing import Callable

log = logging.getLogger("qrate.presence")


class Presence:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.started = clock()
        self.consoles: dict[int, int] = defaultdict(int)
        self.last: dict[int, float] = {}
        self._lock = threading.Lock()

    def seen(self, window) -> None:
        if isinstance(window, int):
            self.last[window] = self.clock()

    def connected(self, window: int) -> None:
        with self._lock:
            self.consoles[window] += 1
        self.seen(window)

    def gone(self, window: int) -> None:
        with self._lock:
            self.consoles[window] = max(0, self.consoles[window] - 1)
        self.seen(window)

    def listener(self, body: dict) -> None:
        """ops.subscribe: any event at a window is a sign of life there."""
        self.seen(body.get("window"))

    def silent(self, windows: list[dict], minutes: float) -> list[int]:
        """The open windows to pause: no console open, nothing for ``minutes``, none called."""
        if minutes <= 0:
            return []
        now, limit = self.clock(), minutes * 60
        return [w["number"] for w in windows
                if w["status"] == "open" and w.get("current") is None
                and self.consoles.get(w["number"], 0) == 0
                and now - self.last.get(w["number"], self.started) >= limit]


def watch(ops, presence: Presence, sleep: Callable[[float], None], check_s: float = 30) -> None:
    """The silence check (a background task of `qrate serve`)."""
    while True:
        sleep(check_s)
        try:
            minutes = float(ops.cfg.raw.get("signin", {}).get("silent_minutes", 20))
            for n in presence.silent(ops.snapshot()["windows"], minutes):
                ops.pause(n, "silent")
                log.info("window %s paused: no console or keypad for %s minutes", n, minutes)
        except Exception:  # noqa: BLE001 - the next round tries again
            log.exception("silence check failed")
