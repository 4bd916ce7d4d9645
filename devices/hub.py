"""The device hub: owns the print spools and the serial device threads of one hall.

It gets the hall's device port (docs/architecture.md, "The device port") and the
hall's configuration, and nothing else: no Flask app, no service layer, no
database. It listens to the port's events (``port.subscribe``) and hands each
to the spools and the serial devices.

One spool per printer (docs/printing.md, "Printers per kiosk"): the default printer
(``[printer] url``) and one for each kiosk with a printer of its own, so a jammed
printer never holds up another kiosk's tickets. The hub follows changes while the
hall serves: a `config.changed` (the printer URL, mode or layout; the windows' pad and
keypad URLs; ``[serial] baudrate``) and a kiosk's printer bound or removed
(`device.changed`, kind ``kiosk``) rebuild what changed, and nothing else.
"""
from __future__ import annotations

import json
import logging
import threading
from typing import Optional

from .serialpad import SerialDevices
from .spool import Spool

log = logging.getLogger("qrate.devices")

RECHECK_S = 30.0  # kiosks' printers bound from the CLI (`qrate device add --printer`) are found by then


class DeviceHub:
    """Starts and stops every device worker; the service layer never waits on them."""

    def __init__(self, port, cfg, start: bool = False):
        self.port, self.cfg = port, cfg
        self._sending: dict[str, threading.Lock] = {}
        self._lock = threading.RLock()
        self._kiosks = self._read_kiosks()
        self.spool = self._spool("default", None)
        self.spools: dict[str, Spool] = {"default": self.spool}
        for name, url in self._kiosks.items():
            self.spools[name] = self._spool(name, url)
        self._layout = self._layout_key()
        self.serial = SerialDevices(port, cfg)
        self.started = False
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._watcher: Optional[threading.Thread] = None
        port.subscribe(self.on_event)
        if start:
            self.start()

    # -- the printers ----------------------------------------------------------
    def _read_kiosks(self) -> dict[str, str]:
        try:
            return {k["name"]: k["printer"] for k in self.port.kiosk_printers()}
        except Exception:  # noqa: BLE001 - a busy database: the next check reads them
            log.exception("could not read the kiosks' printers")
            return getattr(self, "_kiosks", {})

    def _spool(self, name: str, url: Optional[str]) -> Spool:
        lock = self._sending.setdefault(name, threading.Lock())
        return Spool(self.port, self.cfg, name, url, others=self.kiosk_names, sending=lock)

    def kiosk_names(self) -> list[str]:
        """The kiosks whose own printer has a spool (the default spool leaves their jobs)."""
        return [n for n in self.spools if n != "default"]

    def _layout_key(self) -> str:
        """What every spool shares: the [printer] section (but the URL) and the hall's name."""
        printer = {k: v for k, v in self.cfg.raw.get("printer", {}).items() if k != "url"}
        return json.dumps([printer, self.cfg.name], sort_keys=True, default=str)

    def printer_of(self, kiosk: Optional[str]) -> Spool:
        """The spool a kiosk's tickets print on: its own printer, else the default."""
        return self.spools.get(kiosk or "default") or self.spool

    def sync_printers(self) -> list[str]:
        """Make the spools match the configuration and the kiosks' printers now; a spool
        whose URL or layout changed is replaced (its pending jobs keep their place: they
        are in the database, in order). Returns what changed, for the log."""
        with self._lock:
            layout = self._layout_key()
            relayout = layout != self._layout
            self._layout = layout
            wanted = {"default": self.cfg.raw["printer"]["url"], **self._kiosks}
            changed = []
            for name in list(self.spools):
                if name not in wanted:
                    self.spools.pop(name).stop()
                    changed.append(f"printer {name} removed")
            for name, url in wanted.items():
                old = self.spools.get(name)
                if old is not None and old.url == url and not relayout:
                    continue
                new = self._spool(name, None if name == "default" else url)
                self.spools[name] = new
                if name == "default":
                    self.spool = new
                if old is not None:
                    old.stop()  # ends after the job it may be sending; the new one waits for it
                if self.started:
                    new.start()
                changed.append(f"printer {name}: {new.url}")
            return changed

    # -- events ----------------------------------------------------------------
    def on_event(self, body: dict) -> None:
        """Called by the port after each commit; a device failure never reaches the caller."""
        kind = body.get("type")
        if kind == "config.changed" or (kind == "device.changed" and body.get("kind") == "kiosk"):
            try:
                self._follow(body)
            except Exception:
                log.exception("devices could not follow %s", kind)
        for listener in [s.on_event for s in list(self.spools.values())] + [self.serial.on_event]:
            try:
                listener(body)
            except Exception:
                log.exception("device listener failed on %s", kind)

    def _follow(self, body: dict) -> None:
        """A change of the configuration or of a kiosk's printer. The spools are swapped at
        once (so the next ticket already prints on the new printer); serial ports, whose
        closing waits on their reader, change in the hub's own thread."""
        if body["type"] == "device.changed":
            with self._lock:
                if body.get("printer"):
                    self._kiosks[body["kiosk"]] = body["printer"]
                else:
                    self._kiosks.pop(body["kiosk"], None)
        for line in self.sync_printers():
            log.info("devices: %s", line)
        if body["type"] == "config.changed":
            if self.started:
                self._dirty.set()
            else:
                self.serial.reconfigure()

    def _watch(self) -> None:
        """The hub's thread: serial ports after a change; the kiosks' printers now and then."""
        while not self._stopping.is_set():
            woke = self._dirty.wait(RECHECK_S)
            self._dirty.clear()
            if self._stopping.is_set():
                break
            try:
                if woke:
                    for line in self.serial.reconfigure():
                        log.info("serial: %s", line)
                else:
                    kiosks = self._read_kiosks()
                    if kiosks != self._kiosks:
                        with self._lock:
                            self._kiosks = kiosks
                        for line in self.sync_printers():
                            log.info("devices: %s", line)
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("devices could not follow the configuration")

    # -- health ----------------------------------------------------------------
    def public_state(self) -> dict:
        """Device health every screen may show (in the snapshot, so a new screen knows at once):
        ``printer`` the default printer, ``printers`` every printer with its name and kiosk."""
        with self._lock:
            spools = list(self.spools.values())
        return {"devices": {"printer": self.spool.health(),
                            "printers": [s.named() for s in spools]}}

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        for spool in list(self.spools.values()):
            if spool.config_error:
                log.error("printer %s: %s", spool.name, spool.config_error)
        for line in self.spool.lines:
            if line["mode"] == "raster":
                log.warning("ticket line %r has characters outside GB2312: it prints as an image",
                            line["line"])
        for spool in list(self.spools.values()):
            spool.start()
        self.serial.start()
        self._stopping.clear()
        self._watcher = threading.Thread(target=self._watch, name="device-hub", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stopping.set()
        self._dirty.set()
        for spool in list(self.spools.values()):
            spool.stop()
        self.serial.stop()
        self.started = False
