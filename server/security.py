"""The hall's defences at the edge of every request (docs/security.md): the Origin check
against cross-site requests a cookie would authenticate (CSRF), the response headers
(CSP, framing, sniffing, referrer), rate limits on unauthenticated routes and the
sign-in throttle with its growing delay.

A leaf of the web layer: ``init_app`` registers the hooks; the login route asks
``login_guard()`` before it checks a password.
"""
from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections import OrderedDict
from typing import Callable, Optional
from urllib.parse import urlsplit

from flask import current_app, g, request, session
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Request

from .engine import N_
from .i18n import normalise, translate
from .web import ApiError

UNSAFE = frozenset(("POST", "PUT", "PATCH", "DELETE"))


# --- CSRF: the Origin (or Referer) of a cookie-authenticated change ---------------------

def _origin_of(url: str) -> Optional[str]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins() -> set[str]:
    """The server's own origin (as the browser reached it) and the hall's trusted ones."""
    own = request.host_url.rstrip("/").lower()
    out = {own}
    # behind a reverse proxy that terminates HTTPS the browser's origin is https://HOST
    host = request.host.lower()
    out.add(f"https://{host}")
    cfg = current_app.extensions["qrate_config"].raw.get("security", {})
    for extra in cfg.get("trusted_origins", []):
        o = _origin_of(str(extra))
        if o:
            out.add(o)
    public = _origin_of(current_app.extensions["qrate_config"].raw["hall"].get("public_url", ""))
    if public:
        out.add(public)
    return out


def check_origin() -> None:
    """Refuse a state-changing request that the session cookie would authenticate when it
    comes from a page of another origin (another port or host counts as another origin),
    or when it names no origin at all.

    A request that carries its own bearer token is not a cookie's: it passes (devices,
    integrations, scripts). A browser sends Origin on every cross-origin POST/PUT/DELETE
    and on same-origin fetches and form posts too (Chromium, Firefox, Safari); with no
    Origin the Referer decides; with neither, the request is no page of the hall's and is
    refused (403 ``no_origin``): a client that is no browser sends a bearer token.
    The sign-in itself is not authenticated by the cookie and only gets the Origin check."""
    if request.method not in UNSAFE:
        return
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return
    if current_app.config.get("SESSION_COOKIE_NAME", "session") not in request.cookies:
        return
    origin = request.headers.get("Origin")
    if origin is None:
        referer = request.headers.get("Referer")
        if referer is None:
            if request.path == "/api/login" or not _session_signed_in():
                return
            raise ApiError(403, "no_origin",
                           N_("This request names no page it came from (no Origin or Referer) and "
                              "was refused; a program that is no browser sends a bearer token."))
        origin = _origin_of(referer) or "null"
    if origin.lower() not in allowed_origins():
        raise ApiError(403, "cross_origin",
                       N_("This request came from another site's page (%(origin)s) and was refused; "
                          "use the hall's own pages."), origin=origin[:100])


def _session_signed_in() -> bool:
    """Whether the session cookie holds a sign-in (a token's hash; older cookies the token)."""
    return bool(session.get("th") or session.get("token"))


# --- response headers ----------------------------------------------------------------

def csp_nonce() -> str:
    """This response's nonce for the few inline scripts and styles the pages keep."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def security_headers(response):
    """CSP, no framing by other sites, no MIME sniffing, no referrer to other sites."""
    h = response.headers
    if response.mimetype == "text/html":
        nonce = csp_nonce()
        # tests only (QRATE_TEST_CSP_EVAL=1, set by tests/conftest.py): Playwright's polling
        # predicates run through eval; the pages themselves never need it
        test_eval = " 'unsafe-eval'" if current_app.config.get("QRATE_TEST_CSP_EVAL") else ""
        h.setdefault("Content-Security-Policy",
                     "default-src 'self'; "
                     f"script-src 'self' 'nonce-{nonce}'{test_eval}; "
                     f"style-src 'self' 'nonce-{nonce}'; "
                     "img-src 'self' data: blob:; media-src 'self' blob:; "
                     "connect-src 'self' ws: wss:; font-src 'self' data:; "
                     "object-src 'none'; base-uri 'self'; form-action 'self'; "
                     "frame-ancestors 'self'")
    else:
        h.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'self'")
    h.setdefault("X-Frame-Options", "SAMEORIGIN")
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    return response


# --- rate limits ------------------------------------------------------------------------

class Buckets:
    """Token buckets by key, at most ``max_keys`` of them (the least recently used go first),
    so a flood from many addresses cannot grow the server's memory without bound."""

    def __init__(self, per_minute: float, burst: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000):
        self.rate, self.burst, self.clock, self.max_keys = per_minute / 60.0, float(burst), clock, max_keys
        self._b: "OrderedDict[str, tuple[float, float]]" = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the request may go; else the seconds until it may."""
        with self._lock:
            now = self.clock()
            tokens, last = self._b.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens < 1:
                wait = (1 - tokens) / self.rate if self.rate else 60.0
            else:
                tokens -= 1
            self._b[key] = (tokens, now)
            while len(self._b) > self.max_keys:
                self._b.popitem(last=False)
            return wait


class LoginThrottle:
    """Failed sign-ins per (account, address): the first ``free`` failures cost nothing, then
    each further attempt waits a delay that doubles (1 s, 2 s, 4 s … up to ``max_delay_s``).
    No hard lockout: anyone on the hall's Wi-Fi could otherwise lock a clerk out. A success
    clears the count. Bounded like ``Buckets``."""

    def __init__(self, free: int = 5, max_delay_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000):
        self.free, self.max_delay_s, self.clock, self.max_keys = free, max_delay_s, clock, max_keys
        self._f: "OrderedDict[tuple, tuple[int, float]]" = OrderedDict()  # key -> (failures, last)
        self._lock = threading.Lock()

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.max_delay_s, 2.0 ** (failures - self.free))

    def wait(self, key: tuple) -> float:
        """Seconds before this (account, address) may try again (0: now)."""
        with self._lock:
            failures, last = self._f.get(key, (0, 0.0))
            return max(0.0, last + self.delay(failures) - self.clock()) if failures else 0.0

    def failed(self, key: tuple) -> None:
        with self._lock:
            failures, _ = self._f.pop(key, (0, 0.0))
            self._f[key] = (failures + 1, self.clock())
            while len(self._f) > self.max_keys:
                self._f.popitem(last=False)

    def succeeded(self, key: tuple) -> None:
        with self._lock:
            self._f.pop(key, None)


def address() -> str:
    """The caller's address (the proxy's when one is in front: set [security] proxies)."""
    return _address_of(request.remote_addr, request.headers.get("X-Forwarded-For", ""))


def _address_of(remote: Optional[str], forwarded_for: str) -> str:
    cfg = current_app.extensions["qrate_config"].raw.get("security", {})
    remote = remote or "?"
    if int(cfg.get("proxies", 0)) > 0 and remote in ("127.0.0.1", "::1"):
        forwarded = [a.strip() for a in forwarded_for.split(",") if a.strip()]
        if forwarded:
            return forwarded[-min(len(forwarded), int(cfg["proxies"]))]
    return remote


UNLIMITED_PREFIXES = ("/static", "/kiosk/static", "/pad/static", "/display/static", "/console/static",
                      "/manage/static")
RATE_LIMITED = N_("Too many requests; try again in %(s)s s.")


class AnonymousGate:
    """WSGI middleware, inside Socket.IO's: every request without a token or a session
    cookie takes from its address's bucket (sized for hundreds of phones behind one NAT
    address), the voice clips from a tighter one, BEFORE Flask builds the request (its
    context, session, routing, hooks). A flood's 429s then cost the single loop, which the
    hall's writes share, a few dict lookups and a cached body (bench/bench_security.py).
    `/healthz` and static files are not limited."""

    def __init__(self, app, inner):
        self.app, self.inner = app, inner
        self._bodies: dict = {}  # (locale, seconds) -> the 429 body

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if (path == "/healthz" or path.startswith(UNLIMITED_PREFIXES)
                or environ.get("HTTP_AUTHORIZATION", "").startswith("Bearer ")):
            return self.inner(environ, start_response)
        req = Request(environ)
        if self.app.config.get("SESSION_COOKIE_NAME", "session") in req.cookies:
            return self.inner(environ, start_response)
        with self.app.app_context():
            ext = self.app.extensions["qrate_security"]
            who = _address_of(req.remote_addr, req.headers.get("X-Forwarded-For", ""))
        wait = ext["anonymous"].take(who)
        if wait == 0 and path.startswith("/api/voice/"):
            wait = ext["voice"].take(who)
        if not wait:
            return self.inner(environ, start_response)
        seconds = max(1, round(wait))
        chosen = req.args.get("lang") or req.cookies.get("lang")
        locale = normalise(chosen or req.accept_languages.best_match(["zh-CN", "zh", "en"]))
        body = self._bodies.get((locale, seconds))
        if body is None:
            body = json.dumps({"error": {"code": "rate_limited",
                                         "message": translate(RATE_LIMITED, locale, s=seconds),
                                         "message_en": translate(RATE_LIMITED, "en", s=seconds)}},
                              ensure_ascii=False).encode()
            if len(self._bodies) < 1000:
                self._bodies[(locale, seconds)] = body
        start_response("429 TOO MANY REQUESTS", [
            ("Content-Type", "application/json"), ("Content-Length", str(len(body))),
            ("Retry-After", str(seconds)),
            ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'self'"),
            ("X-Frame-Options", "SAMEORIGIN"), ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin")])
        return [body]


def login_guard(user: str) -> tuple:
    """Before a password is checked: the (account, address) key, or a 429 when it must wait.
    The address as a whole is limited too (a password spray across accounts)."""
    ext = current_app.extensions["qrate_security"]
    key = (user, address())
    wait = ext["login"].wait(key)
    if not wait:
        wait = ext["login_address"].take(address())
    if wait:
        raise ApiError(429, "login_throttled",
                       N_("Too many failed sign-ins; wait %(s)s s before trying again."),
                       {"retry_after_s": max(1, round(wait))}, s=max(1, round(wait)))
    return key


def login_failed(key: tuple) -> None:
    current_app.extensions["qrate_security"]["login"].failed(key)


def login_succeeded(key: tuple) -> None:
    current_app.extensions["qrate_security"]["login"].succeeded(key)


class BoundedInt(IntegerConverter):
    """`<int:...>` in every route: an id SQLite can hold (below 2^63), else the route does
    not match (404), never an OverflowError (500)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits, min, 2 ** 63 - 1 if max is None else max, signed)


def init_app(app) -> None:
    """Register the Origin check, the rate limits and the headers; build the limiters.
    Called before the routes are registered (the int converter applies to them)."""
    app.url_map.converters["int"] = BoundedInt
    sec = app.extensions["qrate_config"].raw.get("security", {})
    # Strict: no other site's page or link sends the cookie; Secure behind an HTTPS proxy
    app.config["QRATE_TEST_CSP_EVAL"] = os.environ.get("QRATE_TEST_CSP_EVAL") == "1"
    app.config.update(SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SECURE=bool(sec.get("secure_cookies", False)))
    app.extensions["qrate_security"] = {
        "anonymous": Buckets(float(sec.get("anonymous_per_minute", 1200)),
                             float(sec.get("anonymous_burst", 300))),
        "voice": Buckets(float(sec.get("voice_per_minute", 120)), float(sec.get("voice_burst", 30))),
        "login": LoginThrottle(int(sec.get("login_free_failures", 5)),
                               float(sec.get("login_max_delay_s", 300))),
        "login_address": Buckets(float(sec.get("login_per_minute", 120)),
                                 float(sec.get("login_burst", 60))),
    }
    app.wsgi_app = AnonymousGate(app, app.wsgi_app)  # before Flask builds the request
    app.before_request(check_origin)
    app.after_request(security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
