"""One class per printer transport, as python-escpos has one class per connection.

Each class wraps the python-escpos class of its URL scheme (``printer.SCHEMES``)
and adds what the spool needs: open and close that survive a pulled cable, a
real-time status (``DLE EOT 1, 2, 4``) where the connection is two-way, a
``ready`` verdict, and ``send`` of one job in a single write. ``TRANSPORTS``
maps the URL scheme to the class; ``open_printer(spec, timeout)`` picks it.

Every method blocks: call them from a real OS thread
(``server.runtime.run_blocking``).
"""
from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any, Optional

import escpos.printer
from escpos.printer import Dummy, Network, Serial

from .printer import DLE, PrinterSpec, decode_status, status_byte

NOT_READY = ("paper_out", "cover_open", "offline", "error")


class PrinterError(OSError):
    """The printer could not take the ticket now; the job stays in the spool."""


def _original_socket():
    """The standard library's socket class even under gevent: device I/O runs in real threads."""
    try:
        from gevent import monkey
        if monkey.is_module_patched("socket"):
            return monkey.get_original("socket", "socket")
    except ImportError:  # pragma: no cover
        pass
    return socket.socket


class PrinterTransport:
    """One printer, kept open between jobs and reopened after a failure.

    The base is a one-way connection: no status (``unknown``), printed to blindly.
    Subclasses say how to make the python-escpos device and, when ``two_way``,
    how to read one status answer."""

    escpos_class = ""
    two_way = False
    needs = ""  # what must be installed for this transport (checked with is_usable)

    def __init__(self, spec: PrinterSpec, timeout: float = 2.0):
        self.spec, self.timeout = spec, timeout
        self.device: Any = None
        self.answered = False  # this printer has answered DLE EOT before
        self.silent = False  # it has been asked and never answered

    # -- opening -------------------------------------------------------------
    def make(self):
        """A new (not yet opened) python-escpos device."""
        cls = getattr(escpos.printer, self.escpos_class)
        if self.needs and not cls.is_usable():
            raise PrinterError(f"{self.spec.scheme}:// printers need {self.needs} installed")
        return cls(**self.spec.kwargs)

    def open(self):
        if self.device is None:
            try:
                dev = self.make()
                dev.open()
            except PrinterError:
                raise
            except Exception as exc:  # python-escpos raises its own DeviceNotFoundError
                raise PrinterError(f"cannot open {self.spec.url}: {exc}") from exc
            self.device = dev
        return self.device

    def close(self) -> None:
        dev, self.device = self.device, None
        if dev is not None:
            try:
                dev.close()
            except Exception:
                pass

    # -- status --------------------------------------------------------------
    def status(self) -> dict:
        """Online, paper near end, paper out, cover open, offline or unknown; never blocks long."""
        return {"state": "unknown", "detail": "one-way connection: no status"}

    def ready(self, st: dict) -> bool:
        if st["state"] in NOT_READY:
            return False
        if st["state"] == "unknown" and st.get("was_answering"):
            return False
        return True

    # -- printing ------------------------------------------------------------
    def send(self, data: bytes, name: str = "ticket", text: str = "") -> None:
        """Write one job's bytes in a single write; raises PrinterError when it cannot."""
        try:
            dev = self.open()
            dev._raw(data)
            self.after_write(dev)
        except PrinterError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise PrinterError(f"printing to {self.spec.url} failed: {exc}") from exc

    def after_write(self, dev) -> None:
        """Make sure the bytes have left (a file's buffer, a serial port's queue)."""


class TwoWayTransport(PrinterTransport):
    """A connection the printer answers on: ask DLE EOT before printing."""

    two_way = True

    def read_reply(self, dev):
        """One read of the printer's answer: bytes, b"" or None for no answer."""
        return dev._read()

    def before_ask(self, dev) -> None:
        """Forget a late answer to an earlier question, where the transport can."""

    def ask(self, n: int) -> Optional[int]:
        dev = self.device
        self.before_ask(dev)
        dev._raw(DLE + b"\x04" + bytes([n]))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                reply = self.read_reply(dev)
            except socket.timeout:
                return None
            except Exception as exc:  # pyusb's USBTimeoutError: no answer, not unplugged
                if "timeout" in type(exc).__name__.lower():
                    return None
                raise
            if reply is None:
                return None
            if isinstance(reply, int):  # pragma: no cover - some transports
                reply = bytes([reply])
            if not reply:
                self.empty_reply()
                return None
            b = status_byte(bytes(reply))
            if b is not None:
                return b
        return None

    def empty_reply(self) -> None:
        """A read returned nothing (no answer yet, or the far end closed)."""

    def status(self) -> dict:
        try:
            self.open()
            first = self.ask(1)
            if first is None and self.silent:
                answers = (None, None, None)  # a one-way cable: one question is enough
            else:
                answers = (first, self.ask(2), self.ask(4))
        except PrinterError as exc:
            self.close()
            return {"state": "offline", "detail": str(exc)}
        except Exception as exc:
            self.close()
            return {"state": "offline", "detail": f"{type(exc).__name__}: {exc}"}
        st = decode_status(*answers)
        if st["state"] == "unknown":
            # Silent: a printer that never answers is printed to blindly; one that used
            # to answer and now does not is treated as not ready, so no job is lost.
            st["was_answering"] = self.answered
            if self.answered:
                self.close()
            else:
                self.silent = True
        else:
            self.answered = True
        return st


class _ClosesOnce:
    """close() that forgets the device even when closing it fails (a pulled cable)."""

    def close(self) -> None:
        if self._device:
            try:
                self._device.close()
            finally:
                self._device = False


class UsbPrinter(TwoWayTransport):
    """usb://VID:PID: python-escpos ``Usb`` (pyusb and libusb)."""

    escpos_class = "Usb"
    needs = "pyusb and libusb"


class SerialPrinter(TwoWayTransport):
    """serial:///dev/ttyUSB0?baudrate=9600: python-escpos ``Serial``.

    python-escpos opens ``serial.Serial(port=devfile)``, not a pyserial URL, and
    reads 16 bytes per ``_read`` (which on serial waits out the whole timeout),
    so we pass its arguments ourselves and read the answer one byte at a time
    from its pyserial port."""

    escpos_class = "Serial"

    def make(self):
        class ShortSerial(_ClosesOnce, Serial):
            pass

        kw = self.spec.kwargs
        return ShortSerial(devfile=kw["devfile"], baudrate=kw["baudrate"], timeout=kw["timeout"],
                           dsrdtr=kw["dsrdtr"])

    def before_ask(self, dev) -> None:
        dev.device.reset_input_buffer()  # a late answer to an earlier question

    def read_reply(self, dev):
        return dev.device.read(1)

    def after_write(self, dev) -> None:
        dev.device.flush()  # wait until the bytes are on the wire


class NetworkPrinter(TwoWayTransport):
    """tcp://HOST:9100: python-escpos ``Network`` with a short timeout and a real
    (unpatched) socket, since it is used from an OS thread."""

    escpos_class = "Network"

    def make(self):
        class ShortNetwork(_ClosesOnce, Network):
            def open(self, raise_not_found: bool = True) -> None:
                sock = _original_socket()(socket.AF_INET, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                try:
                    sock.connect((self.host, self.port))
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError as exc:
                    sock.close()
                    raise PrinterError(f"cannot reach the printer at {self.host}:{self.port}: {exc}")
                self.device = sock

        return ShortNetwork(**self.spec.kwargs)

    def empty_reply(self) -> None:
        raise PrinterError("the printer closed the connection")


class Win32Printer(PrinterTransport):
    """win32://PRINTER NAME: python-escpos ``Win32Raw`` through the Windows spooler
    (one way: no status)."""

    escpos_class = "Win32Raw"
    needs = "pywin32"


class FilePrinter(PrinterTransport):
    """file:///dev/usb/lp0: python-escpos ``File`` on a device file (one way).

    Status opens the file, so a missing device reads as offline."""

    escpos_class = "File"

    def status(self) -> dict:
        try:
            self.open()
        except PrinterError as exc:
            return {"state": "offline", "detail": str(exc)}
        return super().status()

    def after_write(self, dev) -> None:
        dev.flush()


class FolderPrinter(PrinterTransport):
    """file://FOLDER: no printer; each job is written as NAME.bin (its bytes) and
    NAME.txt (a readable copy). The demo hall prints here."""

    escpos_class = "File"

    @property
    def folder(self) -> Path:
        return self.spec.folder

    def open(self):
        return None

    def status(self) -> dict:
        return {"state": "online", "detail": "simulated printer"}

    def send(self, data: bytes, name: str = "ticket", text: str = "") -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{name}.bin").write_bytes(data)
            if text:
                (self.folder / f"{name}.txt").write_text(text, encoding="utf-8")
        except OSError as exc:
            raise PrinterError(f"cannot write to {self.folder}: {exc}") from exc


class DummyPrinter(PrinterTransport):
    """dummy://: python-escpos ``Dummy``; the bytes stay in ``device.output``."""

    escpos_class = "Dummy"

    def make(self):
        return Dummy()

    def open(self):
        if self.device is None:
            self.device = self.make()  # nothing to open
        return self.device

    def status(self) -> dict:
        return {"state": "online", "detail": "simulated printer"}


# URL scheme -> transport class (file:// naming a folder is a FolderPrinter).
TRANSPORTS: dict[str, type[PrinterTransport]] = {
    "usb": UsbPrinter, "serial": SerialPrinter, "tcp": NetworkPrinter, "win32": Win32Printer,
    "file": FilePrinter, "dummy": DummyPrinter,
}


def open_printer(spec: PrinterSpec, timeout: float = 2.0) -> PrinterTransport:
    """The transport for a parsed printer URL (nothing is opened yet)."""
    cls = FolderPrinter if spec.scheme == "file" and spec.folder is not None else TRANSPORTS[spec.scheme]
    return cls(spec, timeout)
