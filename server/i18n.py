"""One i18n mechanism for pages, API messages and the CLI: gettext catalogs.

Message ids are English; ``server/translations/zh_CN`` holds the Chinese.
Pages, API errors and the CLI all call ``translate`` here. This module imports
no Flask: the web layer (server.web_i18n) installs the request's locale with
``set_locale_resolver``. zh_CN is the default.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Optional

from babel.support import NullTranslations, Translations

TRANSLATIONS = Path(__file__).parent / "translations"
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"


@functools.lru_cache(maxsize=8)
def catalog(locale: str) -> NullTranslations:
    if locale == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [locale], domain="messages")


def normalise(locale: Optional[str]) -> str:
    """Map 'zh', 'zh-CN', 'zh_CN.UTF-8', 'en_US' ... onto a locale we have."""
    if not locale:
        return DEFAULT_LOCALE
    text = str(locale).replace("-", "_").split(".")[0].lower()
    if text.startswith("en"):
        return "en"
    return DEFAULT_LOCALE


_locale_resolvers: list = []


def set_locale_resolver(resolver) -> None:
    """The web layer tells us how to find the current request's locale (None outside a request)."""
    _locale_resolvers[:] = [resolver]


def current_locale() -> str:
    """The locale of the current request if there is one (the web layer's resolver), else the CLI's."""
    for resolver in _locale_resolvers:
        found = resolver()
        if found:
            return found
    return cli_locale()


def cli_locale() -> str:
    """The CLI's locale: QRATE_LANG, else zh_CN (the hall's language)."""
    return normalise(os.environ.get("QRATE_LANG"))


def translate(msgid: str, locale: Optional[str] = None, **params) -> str:
    """Translate a message id and fill in %(name)s parameters (themselves translated)."""
    locale = locale or current_locale()
    cat = catalog(locale)
    if "name_en" in params:  # a thing with a name in each language, e.g. a service
        name_en = params.pop("name_en")
        if locale == "en":
            params["name"] = name_en
    text = cat.gettext(msgid)
    if params:
        params = {k: (" / ".join(cat.gettext(part) for part in v.split(" / "))
                      if isinstance(v, str) and v else v)
                  for k, v in params.items()}
        try:
            text = text % params
        except (KeyError, ValueError, TypeError):
            text = msgid % params
    return text


