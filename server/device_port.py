"""The narrow port the devices get (devices/hub.py): the events they listen to and the
service-layer calls they make. Devices never see the Flask app, the storage or SQL;
they hold this object and call only these methods (docs/architecture.md)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Optional

from .operations import Operations


class DevicePort:
    """What printers, serial pads and keypads may ask of the hall."""

    def __init__(self, ops: Operations, presence=None):
        self._ops = ops
        self._presence = presence  # a keypad's frame is a sign of life at its window
        self._health_listeners: list[Callable[[dict], None]] = []

    # events and time
    def subscribe(self, listener: Callable[[dict], None]) -> None:
        self._ops.subscribe(listener)

    def now(self) -> datetime:
        return self._ops.now()

    def settings(self) -> dict:
        conf = self._ops.cfg.raw["ratings"]
        return {"prompt_seconds": int(conf["prompt_seconds"]),
                "rating_window_s": float(conf["window_minutes"]) * 60}

    # the print spools: one per printer (``printer``: "default" or a kiosk's name; the
    # default's ``others`` are the kiosk printers running, whose jobs it leaves alone)
    def due_print_jobs(self, limit: int = 20, printer: Optional[str] = None, others=()) -> list[dict]:
        return self._ops.due_print_jobs(limit, printer, others)

    def print_job_printed(self, job_id: int) -> None:
        self._ops.print_job_printed(job_id)

    def print_job_failed(self, job_id: int, error: str, retry_in_s: float) -> None:
        self._ops.print_job_failed(job_id, error, retry_in_s)

    def release_print_jobs(self, printer: Optional[str] = None, others=()) -> None:
        self._ops.release_print_jobs(printer, others)

    def pending_print_jobs(self, printer: Optional[str] = None, others=()) -> int:
        return self._ops.pending_print_jobs(printer, others)

    def kiosk_printers(self) -> list[dict]:
        """The kiosks with a printer of their own: [{"name", "printer"}]."""
        return self._ops.kiosk_printers()

    def printer_changed(self, body: dict) -> None:
        self._ops.device_changed(body)

    # serial ports and their heartbeats: health, not the hall's record, so nothing is
    # logged; the server pushes it to the managers (Socket.IO `device`, docs/api.md)
    def on_health_changed(self, listener: Callable[[dict], None]) -> None:
        self._health_listeners.append(listener)

    def health_changed(self, body: dict) -> None:
        """A serial port opened or closed, its heartbeat went late or came back."""
        for listener in list(self._health_listeners):
            listener(body)

    # rating pads
    def rating_due(self, window: int) -> Optional[dict]:
        return self._ops.rating_due(window)

    def rate(self, ticket_id: Optional[int], window: int, score: int, *, source: str, device: str,
             pad_sequence: Optional[tuple[str, str, str]] = None,
             request: Optional[int] = None, dimensions: Optional[dict] = None) -> dict:
        """``request``: the business system's rating request of a case (一次一评), if asked;
        ``dimensions``: the sub-scores a serial pad sent (docs/serial-protocol.md)."""
        return self._ops.rate(ticket_id, window, score, (), "", source=source, device=device,
                              pad_sequence=pad_sequence, request=request, dimensions=dimensions)

    def pad_sequence(self, port_url: str) -> Optional[tuple[str, str, float]]:
        return self._ops.pad_sequence(port_url)

    def save_pad_sequence(self, port_url: str, seq: str, reply_text: str) -> None:
        self._ops.save_pad_sequence(port_url, seq, reply_text)

    # caller keypads
    def keypad_alive(self, window: int) -> None:
        """A keypad's `$HB` heartbeat: the clerk's keypad is there (the silence rule)."""
        if self._presence is not None:
            self._presence.seen(window)

    def window_state(self, window: int) -> dict:
        if self._presence is not None:
            self._presence.seen(window)
        return self._ops.window_state(window)

    def call_next(self, window: int) -> Optional[dict]:
        return self._ops.call_next(window)

    def recall(self, ticket_id: int, window: int) -> dict:
        return self._ops.recall(ticket_id, window)

    def no_show(self, ticket_id: int, window: int) -> dict:
        return self._ops.no_show(ticket_id, window)

    def finish(self, ticket_id: int, window: int) -> dict:
        return self._ops.finish(ticket_id, window)

    def pause(self, window: int) -> dict:
        return self._ops.pause(window)

    def resume(self, window: int) -> dict:
        return self._ops.resume(window)
