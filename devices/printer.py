"""Ticket printers: the printer URL, the ticket layout on a python-escpos ``Dummy``,
and the connection that sends a ticket in one write and reads real-time status.

python-escpos 3.1 traps we step around (see docs/printer-setup.md): ``text()``
sends GB18030 only for strings with an ideograph and never ``FS &``; ``ESC !``
does not enlarge hanzi (``GS !`` does); ``cut()`` sends nothing on profiles
without a cutter; ``qr()`` sends an image unless ``native=True``. So text mode
writes its own bytes through ``_raw``: ``ESC @``, ``FS &``, GB18030, ``GS !``,
a native QR code and ``GS V``.
"""
from __future__ import annotations

import functools
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, unquote, urlparse

ESC, GS, FS, DLE = b"\x1b", b"\x1d", b"\x1c", b"\x10"
INIT = ESC + b"@"
CHINESE_ON = FS + b"&"
CHINESE_OFF = FS + b"."
LF = b"\n"
ALIGN = {"left": ESC + b"a\x00", "center": ESC + b"a\x01", "right": ESC + b"a\x02"}
CUT = GS + b"V\x42\x00"  # feed to the cutter and cut (partial cut where only that exists)

FONT_PATHS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
              "C:/Windows/Fonts/msyh.ttc", "C:/Windows/Fonts/simhei.ttf")


class PrinterUrlError(ValueError):
    """A printer URL that names no printer we can open; the message says what to write."""


# --- the URL -----------------------------------------------------------------

# scheme -> python-escpos class, as escpos/config.py maps YAML to classes.
SCHEMES = {"usb": "Usb", "serial": "Serial", "tcp": "Network", "win32": "Win32Raw",
           "file": "File", "dummy": "Dummy"}
TWO_WAY = ("usb", "serial", "tcp")  # transports that can answer DLE EOT


@dataclass
class PrinterSpec:
    """A parsed printer URL: the python-escpos class and its keyword arguments."""

    url: str
    scheme: str
    cls_name: str
    kwargs: dict = field(default_factory=dict)
    folder: Optional[Path] = None  # file:// naming a folder: one file per ticket

    @property
    def two_way(self) -> bool:
        return self.scheme in TWO_WAY

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"escpos.printer.{self.cls_name}({args})"


def _int(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except (TypeError, ValueError):
        raise PrinterUrlError(f"{what} '{text}' is not a number (write 0x81 or 129)") from None


def parse_printer_url(url: str, base: Optional[Path] = None, timeout: float = 2.0) -> PrinterSpec:
    """Turn a printer URL from the hall file into a PrinterSpec.

    usb://VID:PID[?in_ep=0x81&out_ep=0x03], serial:///dev/ttyUSB0?baudrate=9600,
    tcp://HOST[:9100], win32://PRINTER NAME, file://PATH (a folder: one file per
    ticket; else a device file such as /dev/usb/lp0), dummy://.
    """
    if not isinstance(url, str) or "://" not in url:
        raise PrinterUrlError(f"printer URL '{url}' needs a scheme; use one of: "
                              + ", ".join(f"{s}://" for s in SCHEMES))
    parts = urlparse(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise PrinterUrlError(f"printer URL scheme '{scheme}://' is unknown; use one of: "
                              + ", ".join(f"{s}://" for s in SCHEMES))
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    spec = PrinterSpec(url, scheme, SCHEMES[scheme])
    if scheme == "usb":
        vid, _, pid = parts.netloc.partition(":")
        if not vid or not pid:
            raise PrinterUrlError(f"'{url}': write usb://VID:PID, e.g. usb://0x0416:0x5011")
        # VID and PID are hexadecimal, as lsusb prints them (0416:5011)
        spec.kwargs = {"idVendor": _int("0x" + vid.lower().removeprefix("0x"), "VID"),
                       "idProduct": _int("0x" + pid.lower().removeprefix("0x"), "PID"),
                       "timeout": int(timeout * 1000)}
        for key in ("in_ep", "out_ep"):
            if key in query:
                spec.kwargs[key] = _int(query[key], key)
    elif scheme == "serial":
        device = unquote(parts.netloc + parts.path)
        if not device:
            raise PrinterUrlError(f"'{url}': write serial:///dev/ttyUSB0?baudrate=9600 or serial://COM3")
        spec.kwargs = {"devfile": device, "baudrate": _int(query.get("baudrate", "9600"), "baudrate"),
                       "timeout": float(query.get("timeout", timeout)),
                       "dsrdtr": query.get("dsrdtr", "false").lower() in ("1", "true", "yes")}
    elif scheme == "tcp":
        if not parts.hostname:
            raise PrinterUrlError(f"'{url}': write tcp://HOST:9100")
        spec.kwargs = {"host": parts.hostname, "port": parts.port or 9100,
                       "timeout": float(query.get("timeout", timeout))}
    elif scheme == "win32":
        name = unquote(parts.netloc + parts.path).strip("/")
        if not name:
            raise PrinterUrlError(f"'{url}': write win32://PRINTER NAME as Windows lists it")
        spec.kwargs = {"printer_name": name}
    elif scheme == "file":
        path = Path(unquote(parts.netloc + parts.path))
        if not path.is_absolute() and base is not None:
            path = base / path
        if path.is_dir() or not path.suffix and not str(path).startswith("/dev/"):
            spec.folder = path
        spec.kwargs = {"devfile": str(path)}
    return spec


# --- the ticket layout ---------------------------------------------------------

@dataclass
class Layout:
    """What goes on a ticket; from the hall file's [printer] section."""

    hall_name: str = "qrate"
    header: list = field(default_factory=list)
    footer: list = field(default_factory=list)
    mode: str = "text"  # text | raster
    qr: str = "native"  # native | image
    qr_size: int = 6
    cut: bool = True
    dots: int = 576  # 80 mm paper at 203 dpi; 384 for 58 mm
    font: str = ""

    @classmethod
    def from_config(cls, cfg) -> "Layout":
        p = cfg.raw.get("printer", {})
        if p.get("mode", "text") not in ("text", "raster"):
            raise PrinterUrlError(f"[printer] mode = '{p.get('mode')}': write \"text\" or \"raster\"")
        if p.get("qr", "native") not in ("native", "image"):
            raise PrinterUrlError(f"[printer] qr = '{p.get('qr')}': write \"native\" or \"image\"")
        return cls(hall_name=cfg.name, header=list(p.get("header", [])),
                   footer=list(p.get("footer", [])), mode=p.get("mode", "text"),
                   qr=p.get("qr", "native"), qr_size=int(p.get("qr_size", 6)),
                   cut=bool(p.get("cut", True)), dots=int(p.get("dots", 576)),
                   font=p.get("font", ""))


def needs_raster(text: str) -> bool:
    """True when a line has a character common Chinese printer fonts lack (outside GB2312)."""
    try:
        text.encode("gb2312")
        return False
    except UnicodeEncodeError:
        return True


def check_layout(layout: Layout, service_names=()) -> list[dict]:
    """Every fixed line of the ticket and the mode it will print in."""
    lines = [layout.hall_name, *layout.header, *service_names, *layout.footer]
    return [{"line": line, "mode": "raster" if layout.mode == "raster" or needs_raster(line)
             else "text"} for line in lines]


def _minutes(seconds) -> Optional[int]:
    return None if seconds is None else max(1, round(seconds / 60)) if seconds else 0


def ticket_lines(ticket: dict) -> dict:
    """The variable lines of a ticket, zh first with English after."""
    ahead = ticket.get("waiting_ahead", 0) or 0
    wait = _minutes(ticket.get("estimated_wait_s"))
    issued = ticket.get("issued_at") or ""
    try:
        issued = datetime.fromisoformat(issued).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        pass
    return {
        "service": ticket.get("service_name", ticket.get("service", "")),
        "service_en": ticket.get("service_name_en", ""),
        "number": ticket["number"],
        "ahead": f"前面还有 {ahead} 人  {ahead} ahead",
        "wait": ("预计等候：暂无法估计  Wait: unknown" if wait is None
                 else "预计无需等候  No wait expected" if wait == 0
                 else f"预计等候约 {wait} 分钟  About {wait} min"),
        "issued": f"取号时间 {issued}",
        "priority": "优先  Priority" if ticket.get("priority") else "",
        "scan": "扫码查看排队进度  Scan for live status",
    }


def _gb(text: str) -> bytes:
    # GB18030 covers every Unicode character, so nothing becomes '?'.
    return text.encode("gb18030")


def _size(width: int, height: int) -> bytes:
    return GS + b"!" + bytes([((width - 1) << 4) | (height - 1)])


def _native_qr(data: str, size: int) -> bytes:
    body = data.encode("ascii", "replace")
    n = len(body) + 3
    return (GS + b"(k\x04\x001A2\x00"                         # model 2
            + GS + b"(k\x03\x001C" + bytes([size])            # module size
            + GS + b"(k\x03\x001E1"                           # error correction M
            + GS + b"(k" + bytes([n & 0xFF, n >> 8]) + b"1P0" + body
            + GS + b"(k\x03\x001Q0")                          # print


@functools.lru_cache(maxsize=8)
def _font(path: str, size: int):
    from PIL import ImageFont
    candidates = [path] if path else []
    candidates += [p for p in FONT_PATHS if Path(p).exists()]
    for p in candidates:
        try:
            return ImageFont.truetype(p, size)
        except OSError:
            continue
    raise OSError("no CJK font found; install fonts-noto-cjk or set [printer] font")


def raster_bytes(img) -> bytes:
    """A 1-bit Pillow image as one GS v 0 block (black = printed dot)."""
    from PIL import ImageOps
    img = img.convert("1")
    width = (img.width + 7) // 8 * 8
    if width != img.width:
        img = ImageOps.expand(img, (0, 0, width - img.width, 0), fill=1)
    data = ImageOps.invert(img.convert("L")).convert("1").tobytes()
    xb = width // 8
    return GS + b"v0\x00" + bytes([xb & 0xFF, xb >> 8, img.height & 0xFF, img.height >> 8]) + data


def _raster_line(text: str, layout: Layout, px: int) -> bytes:
    """One line drawn with the CJK font, cropped to its width (the printer centres it)."""
    from PIL import Image, ImageDraw
    font = _font(layout.font, px)
    left, top, right, bottom = font.getbbox(text or " ")
    width = min(layout.dots, max(8, right - min(left, 0) + 2))
    img = Image.new("1", (width, bottom - min(top, 0) + 4), 1)
    ImageDraw.Draw(img).text((-min(left, 0), 2 - min(top, 0)), text, font=font, fill=0)
    return raster_bytes(img)


def _image_qr(data: str, layout: Layout) -> bytes:
    import qrcode
    qr = qrcode.QRCode(border=2, box_size=layout.qr_size,
                       error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data)
    return raster_bytes(qr.make_image().get_image())


def render_ticket(ticket: dict, printer, layout: Layout) -> None:
    """Lay the ticket out on ``printer`` (any python-escpos Escpos) through ``_raw``."""
    v = ticket_lines(ticket)
    raster_all = layout.mode == "raster"

    def line(text: str, w: int = 1, h: int = 1, align: str = "center") -> None:
        if not text:
            return
        if raster_all or needs_raster(text):
            printer._raw(ALIGN[align] + _size(1, 1) + _raster_line(text, layout, 24 * h))
            return
        printer._raw(ALIGN[align] + _size(w, h) + _gb(text) + LF)

    printer._raw(INIT + CHINESE_ON)
    line(layout.hall_name, 1, 2)
    for text in layout.header:
        line(text)
    printer._raw(ALIGN["center"] + _size(1, 1) + b"-" * (layout.dots // 12) + LF)
    line(v["service"], 2, 2)
    line(v["service_en"])
    line(v["number"], 2, 3 if raster_all else 2)
    line(v["priority"])
    line(v["ahead"])
    line(v["wait"])
    line(v["issued"])
    url = ticket.get("status_url")
    if url:
        if layout.qr == "native":
            printer._raw(ALIGN["center"] + _native_qr(url, layout.qr_size) + LF)
        else:
            printer._raw(ALIGN["center"] + _image_qr(url, layout) + LF)
        line(v["scan"])
    for text in layout.footer:
        line(text)
    printer._raw(_size(1, 1) + ALIGN["left"] + CHINESE_OFF + LF * 4)
    if layout.cut:
        printer._raw(CUT)


def ticket_bytes(ticket: dict, layout: Layout) -> bytes:
    """The whole ticket as ESC/POS bytes, built on a Dummy, to be sent in one write."""
    from escpos.printer import Dummy
    d = Dummy(profile="default")
    render_ticket(ticket, d, layout)
    return d.output


def plain_text(ticket: dict, layout: Layout) -> str:
    """A readable copy of the ticket (beside the bytes of file:// printers)."""
    v = ticket_lines(ticket)
    rows = [layout.hall_name, *layout.header, "-" * 24, v["service"], v["service_en"],
            v["number"], v["priority"], v["ahead"], v["wait"], v["issued"],
            ticket.get("status_url") or "", *layout.footer]
    return "\n".join(r for r in rows if r) + "\n"


# --- real-time status (DLE EOT) ------------------------------------------------

STATES = ("online", "paper_near_end", "paper_out", "cover_open", "offline", "error", "unknown")
NOT_READY = ("paper_out", "cover_open", "offline", "error")


def _status_byte(reply: bytes) -> Optional[int]:
    # Every DLE EOT reply byte has bits 1 and 4 set and bits 0 and 7 clear.
    for b in reply:
        if b & 0x93 == 0x12:
            return b
    return None


def decode_status(printer_b: Optional[int], offline_b: Optional[int],
                  paper_b: Optional[int]) -> dict:
    """The printer's state from the DLE EOT 1, 2 and 4 answers (None: no answer)."""
    if printer_b is None and offline_b is None and paper_b is None:
        return {"state": "unknown", "detail": "no answer to DLE EOT"}
    flags = {"offline": bool(printer_b is not None and printer_b & 0x08),
             "cover_open": bool(offline_b is not None and offline_b & 0x04),
             "paper_out": bool((offline_b is not None and offline_b & 0x20)
                               or (paper_b is not None and paper_b & 0x60 == 0x60)),
             "error": bool(offline_b is not None and offline_b & 0x40),
             "paper_near_end": bool(paper_b is not None and paper_b & 0x0C == 0x0C)}
    for state in ("cover_open", "paper_out", "error"):
        if flags[state]:
            return {"state": state, "flags": flags}
    if flags["offline"]:
        return {"state": "offline", "flags": flags}
    return {"state": "paper_near_end" if flags["paper_near_end"] else "online", "flags": flags}


def _original_socket():
    """The standard library's socket class even under gevent: device I/O runs in real threads."""
    try:
        from gevent import monkey
        if monkey.is_module_patched("socket"):
            return monkey.get_original("socket", "socket")
    except ImportError:  # pragma: no cover
        pass
    return socket.socket


class PrinterError(OSError):
    """The printer could not take the ticket now; the job stays in the spool."""


class Connection:
    """One printer, kept open between jobs; reopened after a failure.

    Blocking: call it from a real OS thread (``server.runtime.run_blocking``)."""

    def __init__(self, spec: PrinterSpec, timeout: float = 2.0):
        self.spec, self.timeout = spec, timeout
        self.device: Any = None
        self.answered = False  # this printer has answered DLE EOT before
        self.silent = False  # it has been asked and never answered

    # opening
    def _make(self):
        import escpos.printer as ep
        cls = getattr(ep, self.spec.cls_name)
        if self.spec.scheme == "tcp":
            return _network_printer(self.spec, self.timeout)
        if self.spec.scheme == "serial":
            return _serial_printer(self.spec)
        if self.spec.scheme in ("usb", "win32") and not cls.is_usable():
            need = "pyusb and libusb" if self.spec.scheme == "usb" else "pywin32"
            raise PrinterError(f"{self.spec.scheme}:// printers need {need} installed")
        if self.spec.scheme == "dummy":
            return cls()
        if self.spec.scheme == "file" and self.spec.folder is not None:
            return None  # one file per job, opened in send
        return cls(**self.spec.kwargs)

    def open(self):
        if self.device is None:
            try:
                dev = self._make()
                if dev is not None and self.spec.scheme not in ("dummy",):
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

    # status
    def _ask(self, n: int) -> Optional[int]:
        dev = self.device
        serial_port = dev.device if self.spec.scheme == "serial" else None
        if serial_port is not None:
            serial_port.reset_input_buffer()  # a late answer to an earlier question
        dev._raw(DLE + b"\x04" + bytes([n]))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                # python-escpos reads 16 bytes, which on serial waits out the whole timeout
                reply = serial_port.read(1) if serial_port is not None else dev._read()
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
                if self.spec.scheme == "tcp":
                    raise PrinterError("the printer closed the connection")
                return None
            b = _status_byte(bytes(reply))
            if b is not None:
                return b
        return None

    def status(self) -> dict:
        """Online, paper near end, paper out, cover open, offline or unknown; never blocks long."""
        if not self.spec.two_way:
            if self.spec.scheme == "file":
                try:
                    self.open()
                except PrinterError as exc:
                    return {"state": "offline", "detail": str(exc)}
            if self.spec.scheme == "dummy" or self.spec.folder is not None:
                return {"state": "online", "detail": "simulated printer"}
            return {"state": "unknown", "detail": "one-way connection: no status"}
        try:
            self.open()
            first = self._ask(1)
            if first is None and self.silent:
                answers = (None, None, None)  # a one-way cable: one question is enough
            else:
                answers = (first, self._ask(2), self._ask(4))
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

    def ready(self, st: dict) -> bool:
        if st["state"] in NOT_READY:
            return False
        if st["state"] == "unknown" and st.get("was_answering"):
            return False
        return True

    # printing
    def send(self, data: bytes, name: str = "ticket", text: str = "") -> None:
        """Write one job's bytes in a single write; raises PrinterError when it cannot."""
        if self.spec.scheme == "file" and self.spec.folder is not None:
            try:
                self.spec.folder.mkdir(parents=True, exist_ok=True)
                (self.spec.folder / f"{name}.bin").write_bytes(data)
                if text:
                    (self.spec.folder / f"{name}.txt").write_text(text, encoding="utf-8")
            except OSError as exc:
                raise PrinterError(f"cannot write to {self.spec.folder}: {exc}") from exc
            return
        try:
            dev = self.open()
            dev._raw(data)
            if hasattr(dev, "flush") and self.spec.scheme == "file":
                dev.flush()
            if self.spec.scheme == "serial":
                dev.device.flush()  # wait until the bytes are on the wire
        except PrinterError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise PrinterError(f"printing to {self.spec.url} failed: {exc}") from exc


class _ClosesOnce:
    """close() that forgets the device even when closing it fails (a pulled cable)."""

    def close(self) -> None:
        if self._device:
            try:
                self._device.close()
            finally:
                self._device = False


def _network_printer(spec: PrinterSpec, timeout: float):
    from escpos.printer import Network

    class ShortNetwork(_ClosesOnce, Network):
        """python-escpos's Network with a short timeout and a real (unpatched) socket."""

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

    return ShortNetwork(**spec.kwargs)


def _serial_printer(spec: PrinterSpec):
    from escpos.printer import Serial

    class ShortSerial(_ClosesOnce, Serial):
        pass

    kw = dict(spec.kwargs)
    return ShortSerial(devfile=kw["devfile"], baudrate=kw["baudrate"], timeout=kw["timeout"],
                       dsrdtr=kw["dsrdtr"])


def sample_ticket(status_url: str) -> dict:
    """A sample ticket for `qrate printer test`."""
    return {"number": "T000", "service": "T", "service_name": "测试小票",
            "service_name_en": "Test ticket", "waiting_ahead": 0, "estimated_wait_s": 0,
            "issued_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "status_url": status_url, "priority": False}
