"""Ticket printers: the printer URL, the ticket layout on a python-escpos ``Dummy``,
and the decoding of the printer's real-time status. The connections that send a
ticket and ask for the status are in ``devices/transports.py`` (one class each).

python-escpos 3.1 traps we step around (see docs/printer-setup.md): ``text()``
sends GB18030 only for strings with an ideograph and never ``FS &``; ``ESC !``
does not enlarge hanzi (``GS !`` does); ``cut()`` sends nothing on profiles
without a cutter; ``qr()`` sends an image unless ``native=True``. So text mode
writes its own bytes through ``_raw``: ``ESC @``, ``FS &``, GB18030, ``GS !``,
a native QR code and ``GS V``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Optional
from urllib.parse import parse_qs, unquote, urlparse

import qrcode
from escpos.printer import Dummy
from PIL import Image, ImageDraw, ImageFont, ImageOps

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

# scheme -> python-escpos class, as escpos/config.py maps YAML to classes
# (devices/transports.py TRANSPORTS has our class for each scheme).
SCHEMES = {"usb": "Usb", "serial": "Serial", "tcp": "Network", "win32": "Win32Raw",
           "file": "File", "dummy": "Dummy"}


@dataclass
class PrinterSpec:
    """A parsed printer URL: the python-escpos class and its keyword arguments."""

    url: str
    scheme: str
    cls_name: str
    kwargs: dict = field(default_factory=dict)
    folder: Optional[Path] = None  # file:// naming a folder: one file per ticket

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
        "priority": "优先  Priority" if ticket.get("priority") else
                    "【约】预约  Appointment" if ticket.get("appointment") else "",
        "scan": "扫码查看排队进度  Scan for live status",
        "windows": _windows_line(ticket),
        "rule": (f"叫号 {ticket['calls_before_no_show']} 次未到视为过号  "
                 f"Missed after {ticket['calls_before_no_show']} calls"
                 if ticket.get("calls_before_no_show") else ""),
    }


def _windows_line(ticket: dict) -> str:
    """Where to go: the windows serving the ticket's service, or that none does now."""
    if "windows" not in ticket:
        return ""
    windows = ticket["windows"]
    if not windows:
        return "暂无窗口办理  No window serves this now"
    return (f"办理窗口：{'、'.join(str(w) for w in windows)} 号  "
            f"Window{'s' if len(windows) > 1 else ''} {', '.join(str(w) for w in windows)}")


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
    img = img.convert("1")
    width = (img.width + 7) // 8 * 8
    if width != img.width:
        img = ImageOps.expand(img, (0, 0, width - img.width, 0), fill=1)
    data = ImageOps.invert(img.convert("L")).convert("1").tobytes()
    xb = width // 8
    return GS + b"v0\x00" + bytes([xb & 0xFF, xb >> 8, img.height & 0xFF, img.height >> 8]) + data


def _raster_line(text: str, layout: Layout, px: int) -> bytes:
    """One line drawn with the CJK font, cropped to its width (the printer centres it)."""
    font = _font(layout.font, px)
    left, top, right, bottom = font.getbbox(text or " ")
    width = min(layout.dots, max(8, right - min(left, 0) + 2))
    img = Image.new("1", (width, bottom - min(top, 0) + 4), 1)
    ImageDraw.Draw(img).text((-min(left, 0), 2 - min(top, 0)), text, font=font, fill=0)
    return raster_bytes(img)


def _image_qr(data: str, layout: Layout) -> bytes:
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
    line(v["windows"])
    line(v["rule"])
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
    d = Dummy(profile="default")
    render_ticket(ticket, d, layout)
    return d.output


def plain_text(ticket: dict, layout: Layout) -> str:
    """A readable copy of the ticket (beside the bytes of file:// printers)."""
    v = ticket_lines(ticket)
    rows = [layout.hall_name, *layout.header, "-" * 24, v["service"], v["service_en"],
            v["number"], v["priority"], v["ahead"], v["wait"], v["windows"], v["rule"], v["issued"],
            ticket.get("status_url") or "", *layout.footer]
    return "\n".join(r for r in rows if r) + "\n"


# --- real-time status (DLE EOT) ------------------------------------------------

def status_byte(reply: bytes) -> Optional[int]:
    """The first byte of a reply that can be a DLE EOT answer, or None."""
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


def sample_ticket(status_url: str, tz=None) -> dict:
    """A sample ticket for `qrate printer test`, stamped in the hall's time (``tz``)."""
    return {"number": "T000", "service": "T", "service_name": "测试小票",
            "service_name_en": "Test ticket", "waiting_ahead": 0, "estimated_wait_s": 0,
            "issued_at": datetime.now(tz).astimezone(tz).isoformat(timespec="seconds"),
            "status_url": status_url, "priority": False}
