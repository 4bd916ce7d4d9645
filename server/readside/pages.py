"""What the page blueprints render with: the data of each page's template, read
here instead of from the configuration and the database in the blueprint."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from .screens import notice_text


def kiosk_page(db, cfg, *, now: datetime) -> dict:
    """The kiosk's template data: the hall (names, zone, the notice now shown in the
    lobby) and how many seconds the ticket screen stays up."""
    hall = dict(cfg.raw["hall"])
    hall["notice"] = notice_text(db, cfg, now=now)
    return {"hall": hall, "return_s": int(cfg.raw.get("kiosk", {}).get("return_s", 20))}


def status_page(db, cfg, *, now: datetime) -> dict:
    """The citizen's ticket status page: the hall's names."""
    return {"hall": dict(cfg.raw["hall"])}


def screen_common(db, cfg, *, now: datetime, locale: str) -> dict:
    """What every lobby and window screen shows: the hall's name in the locale, its zone."""
    hall = cfg.raw["hall"]
    return {"hall_name": (hall.get("name_en") or cfg.name) if locale == "en" else cfg.name,
            "tz": hall["timezone"]}


def window_screen(db, cfg, *, now: datetime, number: int) -> Optional[dict]:
    """A window screen's window (number, name, services), or None when there is none."""
    w = cfg.windows.get(number)
    if w is None:
        return None
    return {"number": w.number, "name": w.name, "services": list(w.services)}


def console_page(db, cfg, *, now: datetime) -> dict:
    """The clerk's console: windows and services to choose from, the no-show rule."""
    return {"hall_name": cfg.name,
            "no_show_after": int(cfg.raw["queue"]["no_show_after_recalls"]),
            "windows": [{"number": w.number, "name": w.name, "services": list(w.services)}
                        for w in cfg.windows.values()],
            "services": [{"code": s.code, "name": s.name, "name_en": s.name_en}
                         for s in cfg.services.values()]}


def staff_photo(db, cfg, *, now: datetime, employee_no: str) -> dict:
    """A clerk's photo file inside the hall folder (or None) and the initial a drawn
    placeholder shows."""
    staff = cfg.staff.get(employee_no)
    path = None
    if staff and staff.photo:
        candidate = (cfg.folder / staff.photo).resolve()
        if candidate.is_file() and cfg.folder.resolve() in candidate.parents:
            path = candidate
    return {"path": path, "initial": (staff.name if staff else employee_no)[:1]}


def pad_clerk(db, cfg, *, now: datetime, employee_no: Optional[str], name: str = "") -> Optional[dict]:
    """The clerk a pad shows (name and public commitment), or None when nobody is signed in."""
    if not employee_no:
        return None
    staff = cfg.staff.get(employee_no)
    return {"employee_no": employee_no, "name": name or (staff.name if staff else employee_no),
            "commitment": staff.commitment if staff else "",
            "commitment_en": staff.commitment_en if staff else ""}
