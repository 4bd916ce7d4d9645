"""The device hub: owns the print spool and the device threads of one app."""
from __future__ import annotations

import logging

from .spool import Spool

log = logging.getLogger("qrate.devices")


class DeviceHub:
    """Starts and stops every device worker; the engine never waits on them."""

    def __init__(self, app, hall, cfg, start: bool = False):
        self.app, self.hall, self.cfg = app, hall, cfg
        self.spool = Spool(hall, cfg)
        hall.after_issue.append(self.spool.enqueue_in_transaction)
        hall.snapshot_extras.append(self.public_state)
        from .serialpad import SerialDevices
        self.serial = SerialDevices(hall, cfg, app.extensions.get("qrate_ratings"))
        self.started = False
        if start:
            self.start()

    def public_state(self) -> dict:
        """Device health every screen may show (in the snapshot, so a new screen knows at once)."""
        view = self.spool.view()
        return {"devices": {"printer": {k: view[k] for k in
                                        ("state", "can_print", "message", "message_en", "since")}}}

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
