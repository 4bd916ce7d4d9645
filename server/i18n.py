"""One i18n mechanism for pages, API messages and the CLI: gettext catalogs.

Message ids are English; ``server/translations/zh_CN`` holds the Chinese.
Pages use Flask-Babel (``_()`` in templates); API errors and the CLI call
``translate`` here, which reads the same catalog. zh_CN is the default.
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


def request_locale() -> str:
    """The locale of the current request: ?lang=, the cookie, then Accept-Language."""
    from flask import has_request_context, request
    if not has_request_context():
        return cli_locale()
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen:
        return normalise(chosen)
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    return normalise(best) if best else DEFAULT_LOCALE


def cli_locale() -> str:
    """The CLI's locale: QRATE_LANG, else zh_CN (the hall's language)."""
    return normalise(os.environ.get("QRATE_LANG"))


def translate(msgid: str, locale: Optional[str] = None, **params) -> str:
    """Translate a message id and fill in %(name)s parameters (themselves translated)."""
    locale = locale or request_locale()
    cat = catalog(locale)
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


def init_app(app) -> None:
    from flask_babel import Babel
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=request_locale)
    # Flask-Babel parses "zh_CN" as zh_Hans_CN and then finds no catalog under
    # translations/zh_CN, so templates went untranslated: route `_()` through
    # the same catalog lookup the API and CLI use.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translate(s),
        ngettext=lambda s, p, n: translate(s if n == 1 else p), newstyle=True)
