"""What the pages need from the hall's configuration, as plain values: the read side
of hall.toml for the kiosk, the screens, the pad and the console (the API's views
read the same configuration through the service layer's snapshot)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional


def kiosk(cfg, notice: str = "") -> dict:
    """The kiosk's and the status page's frame; ``notice``: the notice line in force."""
    hall = cfg.raw["hall"]
    return {"hall": {"name": hall["name"], "name_en": hall["name_en"], "notice": notice,
                     "public_url": hall["public_url"], "timezone": hall["timezone"]},
            "return_s": int(cfg.raw.get("kiosk", {}).get("return_s", 20))}


def screen(cfg, locale: str) -> dict:
    """The lobby and window screens' frame: the hall's name in the page's language, its zone."""
    hall = cfg.raw["hall"]
    name_en = hall.get("name_en") or hall["name"]
    return {"hall_name": name_en if locale == "en" else hall["name"], "name": hall["name"],
            "name_en": name_en, "tz": hall["timezone"]}


def window(cfg, number: int) -> Optional[dict]:
    w = cfg.windows.get(number)
    return None if w is None else {"number": w.number, "name": w.name, "services": list(w.services)}


def console(cfg) -> dict:
    return {"no_show_after": int(cfg.raw["queue"]["no_show_after_recalls"]),
            "windows": [{"number": w.number, "name": w.name, "services": list(w.services)}
                        for w in cfg.windows.values()],
            "services": [{"code": s.code, "name": s.name, "name_en": s.name_en}
                         for s in cfg.services.values()]}


def staff_photo(cfg, employee_no: str) -> tuple[Optional[Path], str]:
    """The clerk's photo file inside the hall folder (or None) and the name's first character."""
    staff = cfg.staff.get(employee_no)
    initial = (staff.name if staff else employee_no)[:1]
    if staff and staff.photo:
        path = (cfg.folder / staff.photo).resolve()
        if path.is_file() and cfg.folder.resolve() in path.parents:
            return path, initial
    return None, initial
