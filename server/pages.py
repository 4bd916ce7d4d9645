"""Rendering a page: every template extends templates/base.html and gets the same context.

`render_page` binds the template's `_` to one locale, so <html lang>, the page's text
and the strings handed to its JavaScript (window.QRATE.T) always agree.
"""
from __future__ import annotations

from typing import Optional

from flask import render_template, request

from . import auth
from .i18n import normalise, translate
from .readside import pages
from .web import ops, session_principal
from .web_i18n import request_locale


def render_page(template: str, *, locale: Optional[str] = None, **context) -> str:
    """Render `template` in `locale` (default: the request's) with the common page context."""
    locale = normalise(locale) if locale else request_locale()
    en = locale == "en"
    frame = pages.screen(ops().cfg, locale)

    def _(msgid: str, **params) -> str:
        return translate(msgid, locale, **params)

    def other(msgid: str, **params) -> str:
        """The same text in the other language: a second line under the page's own."""
        return translate(msgid, "zh_CN" if en else "en", **params)

    common = {"lang": "en" if en else "zh-CN", "tz": frame["tz"],
              "hall": {"name": frame["name"], "name_en": frame["name_en"]}}
    hall_name = frame["hall_name"]
    return render_template(template, locale=locale, en=en, html_lang=common["lang"], _=_, gettext=_,
                           other=other, hall_name=hall_name, qrate=common, **context)


def device_locale(token: Optional[str] = None, use_address: bool = True) -> str:
    """A device page's language: the hall's ([hall] language, zh-CN by default) or this
    device's ([devices.language] NAME, by the device's token), never the browser's
    Accept-Language or a cookie. ``?lang=`` (``use_address``) is the page's own address:
    a citizen's English button on the kiosk and pad (for that citizen only), or the URL
    hall IT set up on a screen; without it, the language the device returns to."""
    cfg = ops().cfg
    chosen = request.args.get("lang") if use_address else None
    if chosen:
        return normalise(chosen)
    per_device = cfg.raw.get("devices", {}).get("language") or {}
    if per_device:
        with ops().store() as s:
            principal = auth.resolve(s.db, token) if token else session_principal(s.db)
        if principal is not None and principal.name in per_device:
            return normalise(per_device[principal.name])
    return normalise(cfg.raw["hall"].get("language", "zh-CN"))


def qr_svg(data: str, box_size: int = 8) -> "Markup":
    """``data`` as an inline SVG QR code (printed or shown at any size): the device links on
    /manage/system and the door's poster."""
    import io

    import qrcode
    import qrcode.image.svg
    from markupsafe import Markup
    img = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=box_size, border=2)
    buf = io.BytesIO()
    img.save(buf)
    text = buf.getvalue().decode("utf-8")
    return Markup(text[text.index("<svg"):])

