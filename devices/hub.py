"""The device hub: owns the print spool and the device threads of one app."""
from __future__ import annotations

from .spool import Spool


class DeviceHub:
    """Starts and stops every device worker; the engine never waits on them."""

    def __init__(self, app, hall, cfg, start: bool = False):
        self.app, self.hall, self.cfg = app, hall, cfg
        self.spool = Spool(hall, cfg)
        hall.after_issue.append(self.spool.enqueue_in_transaction)
        from .serialpad import SerialDevices
        self.serial = SerialDevices(hall, cfg, app.extensions.get("qrate_ratings"))
        self.started = False
        if start:
            self.start()

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        self.spool.start()
        self.serial.start()

    def stop(self) -> None:
        self.spool.stop()
        self.serial.stop()
        self.started = False
