"""The device hub: owns the print spool and the serial device threads of one hall.

It gets the hall's device port (docs/architecture.md, "The device port") and the
hall's configuration, and nothing else: no Flask app, no service layer, no
database. It listens to the port's events (``port.subscribe``) and hands each
to the spool and the serial devices.
"""
from __future__ import annotations

import logging

from .serialpad import SerialDevices
from .spool import Spool

log = logging.getLogger("qrate.devices")


class DeviceHub:
    """Starts and stops every device worker; the service layer never waits on them."""

    def __init__(self, port, cfg, start: bool = False):
        self.port, self.cfg = port, cfg
        self.spool = Spool(port, cfg)
        self.serial = SerialDevices(port, cfg)
        self.started = False
        port.subscribe(self.on_event)
        if start:
            self.start()

    def on_event(self, body: dict) -> None:
        """Called by the port after each commit; a device failure never reaches the caller."""
        for listener in (self.spool.on_event, self.serial.on_event):
            try:
                listener(body)
            except Exception:
                log.exception("device listener failed on %s", body.get("type"))

    def public_state(self) -> dict:
        """Device health every screen may show (in the snapshot, so a new screen knows at once)."""
        return {"devices": {"printer": self.spool.health()}}

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        if self.spool.config_error:
            log.error("printer: %s", self.spool.config_error)
        for line in self.spool.lines:
            if line["mode"] == "raster":
                log.warning("ticket line %r has characters outside GB2312: it prints as an image",
                            line["line"])
        self.spool.start()
        self.serial.start()

    def stop(self) -> None:
        self.spool.stop()
        self.serial.stop()
        self.started = False
