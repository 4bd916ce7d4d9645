"""Rendering a page: every template extends templates/base.html and gets the same context.

`render_page` binds the template's `_` to one locale, so <html lang>, the page's text
and the strings handed to its JavaScript (window.QRATE.T) always agree.
"""
from __future__ import annotations

from typing import Optional

from flask import current_app, render_template

from .i18n import normalise, request_locale, translate


def render_page(template: str, *, locale: Optional[str] = None, **context) -> str:
    """Render `template` in `locale` (default: the request's) with the common page context."""
    locale = normalise(locale) if locale else request_locale()
    en = locale == "en"
    hall = current_app.extensions["qrate_config"].raw["hall"]

    def _(msgid: str, **params) -> str:
        return translate(msgid, locale, **params)

    def other(msgid: str, **params) -> str:
        """The same text in the other language: a second line under the page's own."""
        return translate(msgid, "zh_CN" if en else "en", **params)

    hall_name = (hall.get("name_en") or hall["name"]) if en else hall["name"]
    common = {"lang": "en" if en else "zh-CN", "tz": hall["timezone"],
              "hall": {"name": hall["name"], "name_en": hall.get("name_en") or hall["name"]}}
    return render_template(template, locale=locale, en=en, html_lang=common["lang"], _=_, gettext=_,
                           other=other, hall_name=hall_name, qrate=common, **context)
