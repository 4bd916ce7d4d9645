"""The request's language for pages and API messages: ?lang=, the `lang` cookie, then
Accept-Language; zh_CN by default. Installs itself as server.i18n's locale resolver."""
from __future__ import annotations

from flask import has_request_context, request
from flask_babel import Babel

from .i18n import DEFAULT_LOCALE, normalise, set_locale_resolver, translate


def request_locale() -> str:
    """The locale of the current request: ?lang=, the cookie, then Accept-Language."""
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen:
        return normalise(chosen)
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    return normalise(best) if best else DEFAULT_LOCALE


def _resolver():
    return request_locale() if has_request_context() else None


def _gettext(msgid: str, **params) -> str:
    return translate(msgid, **params)


def _ngettext(singular: str, plural: str, num: int, **params) -> str:
    params.setdefault("num", num)
    return translate(singular if num == 1 else plural, **params)


def init_app(app) -> None:
    """Templates' _() read our catalog (Flask-Babel parses zh_CN as zh_Hans_CN and finds none)."""
    set_locale_resolver(_resolver)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    Babel(app, locale_selector=request_locale)
    app.jinja_env.install_gettext_callables(_gettext, _ngettext, newstyle=True)

    @app.context_processor
    def locale_context():
        locale = request_locale()
        return {"locale": locale, "html_lang": "en" if locale == "en" else "zh-CN"}
