"""Shared fixtures: a temp hall folder, the app, its client, accounts, a clock the test
moves, and a live server.

Fixed data: the demo hall from `qrate init`, with opening hours lifted so the
tests pass at any hour (tests of opening hours set their own clock).

Tiers: every test carries exactly one of the markers `unit`, `api`, `live`,
`browser`, `device` (pyproject.toml describes them); `-m unit` runs the fast spec
of the rules. Tests that take `hall_now` also get the marker `dates` and run once at
each instant in HALL_INSTANTS (1 January, the 1st of a month, the last second of a
month), on the live server's hall clock (QRATE_TEST_NOW) and the page's clock.

A live server's log is read after each test: a traceback or an ERROR line fails the
test, with the excerpt. A test that expects one says so: ``server.allow(regex)``, or the
marker ``expected_server_log(regex, ...)`` on the test or its module.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, datetime, time as clock_time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from flask.testing import FlaskClient

from server import auth, config
from server.app import create_app

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "secret-pw"
TZ = ZoneInfo("Asia/Shanghai")  # the demo hall's zone

TIERS = ("unit", "api", "live", "browser", "device")

# Playwright's wait_for_function polls through eval, which the pages' CSP forbids: servers
# started by tests allow it (server/security.py); tests/test_security_browser.py runs without.
os.environ.setdefault("QRATE_TEST_CSP_EVAL", "1")

# The instants the date checks run at, in the hall's zone. 2026: the holiday package
# knows its official calendar (1 January is a holiday, Sunday 4 January a make-up workday).
HALL_INSTANTS = {
    "new-year": datetime(2026, 1, 1, 9, 0, tzinfo=TZ),             # a Thursday, a holiday
    "first-of-month": datetime(2026, 3, 1, 9, 0, tzinfo=TZ),       # a Sunday, after 28 days of February
    "month-end": datetime(2026, 3, 31, 23, 59, 59, tzinfo=TZ),     # the last second of March
}


# --- the hall's clock --------------------------------------------------------------

class FakeClock:
    """The hall's clock in a test: ``clock()`` reads it; it moves only when told
    (``set``, ``advance``), or by ``step`` at each read for tests that want time to pass."""

    def __init__(self, now: datetime = datetime(2026, 11, 27, 9, 0, tzinfo=TZ),
                 step: timedelta = timedelta(0)):
        self.now, self.step = now, step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now

    def set(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("the hall's clock is aware: give the time with its zone")
        self.now = when
        return when

    def advance(self, seconds: float = 0, **kw) -> datetime:
        self.now += timedelta(seconds=seconds, **kw)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    """A FakeClock at Friday 27 November 2026, 09:00 in the hall's zone."""
    return FakeClock()


@pytest.fixture(scope="module", params=list(HALL_INSTANTS), ids=list(HALL_INSTANTS))
def hall_now(request) -> datetime:
    """Each instant of HALL_INSTANTS in turn (the test gets the marker `dates`)."""
    return HALL_INSTANTS[request.param]


def pytest_collection_modifyitems(config, items):
    unmarked = []
    for item in items:
        if "hall_now" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.dates)
        tiers = {m.name for m in item.iter_markers() if m.name in TIERS}
        if len(tiers) != 1:
            unmarked.append(f"{item.nodeid}: {sorted(tiers) or 'no tier'}")
    if unmarked:
        raise pytest.UsageError("every test needs exactly one tier marker of " + ", ".join(TIERS)
                                + ":\n  " + "\n  ".join(unmarked))


# --- halls and apps ------------------------------------------------------------

@pytest.fixture
def hall_dir(tmp_path) -> Path:
    """A hall folder with the demo hall.toml, always open."""
    folder = tmp_path / "hall"
    config.write_demo(folder, always_open=True)
    return folder


class PageClient(FlaskClient):
    """The test client as the hall's own page: it names its origin like a browser does
    (the CSRF check refuses a cookie's change that names none; docs/security.md)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_ORIGIN"] = "http://localhost"


@pytest.fixture
def app(hall_dir):
    app = create_app({"HALL": hall_dir, "TESTING": True})
    app.test_client_class = PageClient
    yield app
    app.extensions["qrate"].close()


@pytest.fixture
def client(app):
    return app.test_client()


class Accounts:
    """Creates users and devices in a hall and hands out Authorization headers."""

    def __init__(self, ops, client=None):
        self.ops, self.client = ops, client

    def device(self, kind: str, window: int | None = None, name: str | None = None) -> dict:
        with self.ops.store() as s:
            _, token = auth.add_device(s.db, name or f"{kind}-{window}-{time.monotonic_ns()}",
                                       kind, window)
        return {"Authorization": f"Bearer {token}"}

    def user(self, employee_no: str, role: str = "clerk") -> None:
        with self.ops.store() as s:
            auth.add_user(s.db, employee_no, role, PASSWORD)

    def clerk(self, window: int, employee_no: str | None = None) -> dict:
        """Create a clerk and sign in at a window (which opens it)."""
        employee_no = employee_no or f"{1000 + window}"
        self.user(employee_no, "clerk")
        r = self.client.post("/api/login", json={"user": employee_no, "password": PASSWORD,
                                                  "window": window})
        assert r.status_code == 200, r.get_json()
        return {"Authorization": f"Bearer {r.get_json()['token']}"}

    def manager(self, employee_no: str = "9001") -> dict:
        self.user(employee_no, "manager")
        r = self.client.post("/api/login", json={"user": employee_no, "password": PASSWORD})
        assert r.status_code == 200, r.get_json()
        return {"Authorization": f"Bearer {r.get_json()['token']}"}


@pytest.fixture
def accounts(app, client):
    return Accounts(app.extensions["qrate"], client)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the live server -------------------------------------------------------------

# A record of the server's log: "2026-12-01 10:00:00,123 ERROR server: unexpected error".
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<logger>\S+): ",
                        re.M)
OUR_LOGGERS = re.compile(r"^(qrate|server|devices|kiosk|display)(\.|$)")
# The server closes a connection after its WebSocket (server/serve.py), so the client's
# closing frame is never logged as a bad request: no known noise is allowed any more.
KNOWN_SERVER_NOISE: list = []


def log_problems(text: str) -> list[str]:
    """The records of a server log that say something went wrong: a traceback anywhere,
    an ERROR or CRITICAL record of one of our loggers, or a 500's "unexpected error"."""
    starts = [m.start() for m in LOG_RECORD.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    problems = []
    for a, b in zip(starts, starts[1:] + [len(text)]):
        record = text[a:b]
        m = LOG_RECORD.match(record)
        bad = "Traceback (most recent call last)" in record or "unexpected error" in record
        if m and m["level"] in ("ERROR", "CRITICAL") and OUR_LOGGERS.match(m["logger"]):
            bad = True
        if bad:
            problems.append(record.rstrip())
    return problems


class LiveServer:
    """`qrate serve` in a child process on 127.0.0.1, stopped by its pid.

    ``now`` (an aware datetime) starts the hall clock there (QRATE_TEST_NOW); a restart
    goes on from where the clock had got to. Every server started is watched: what it
    logs is checked after each test (see ``log_problems``)."""

    watched: list["LiveServer"] = []

    def __init__(self, hall_dir: Path, port: int | None = None, now: datetime | None = None):
        self.hall_dir, self.port = hall_dir, port or free_port()
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.clock_start = now  # the hall time the clock starts at (None: the real clock)
        self.log_path = self.hall_dir / f"server-{self.port}.log"
        self.allowed: list[re.Pattern] = []
        self._checked = 0  # the log up to here has been checked

    def allow(self, pattern: str) -> "LiveServer":
        """A log record matching ``pattern`` (a regex) is expected, not a failure."""
        self.allowed.append(re.compile(pattern))
        return self

    def hall_time_guess(self) -> datetime | None:
        """Where the test clock has got to, from the test's side (None: the real clock)."""
        if self.clock_start is None:
            return None
        return self.clock_start + timedelta(seconds=time.monotonic() - self._clock_origin)

    def start(self, timeout: float = 90) -> "LiveServer":  # a generous bound: a loaded machine starts slowly
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("QRATE_TEST_NOW", None)
        if self.clock_start is not None:
            if getattr(self, "_clock_origin", None) is None:
                self._clock_origin = time.monotonic()
            env["QRATE_TEST_NOW"] = self.hall_time_guess().isoformat()
        self.log = open(self.log_path, "ab")
        if self not in LiveServer.watched:
            self._checked = self.log.tell()
            LiveServer.watched.append(self)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.entry", "serve", "--hall", str(self.hall_dir),
             "--port", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT, env=env,
            cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self, sig=signal.SIGKILL, grace: float = 10) -> None:
        """Send ``sig``; a server still running ``grace`` seconds later is killed."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                print(f"qrate serve (pid {self.proc.pid}) still ran {grace} s after signal {sig}: killed",
                      file=sys.stderr)
                self.proc.kill()
                self.proc.wait(10)
        if getattr(self, "log", None):
            self.log.close()

    stop = kill

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def new_log_problems(self, expected: tuple[re.Pattern, ...] = ()) -> list[str]:
        """Problems logged since the last check (which this one becomes); records that
        match an allowed or ``expected`` pattern are left out."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._checked)
                data = f.read()
        except FileNotFoundError:
            return []
        # check whole lines only: a record still being written waits for the next check
        end = data.rfind(b"\n") + 1 if self.running() else len(data)
        self._checked += end
        text = data[:end].decode("utf-8", "replace")
        return [p for p in log_problems(text)
                if not any(a.search(p) for a in (*KNOWN_SERVER_NOISE, *self.allowed, *expected))]

    # the hall's time as the server reads it
    def hall_time(self) -> datetime:
        return datetime.fromisoformat(requests.get(self.url + "/api/queue", timeout=5).json()["at"])

    # device and user helpers that go through the CLI, as a hall's IT person would
    def cli(self, *args, input_text: str | None = None) -> str:
        out = subprocess.run([sys.executable, "-m", "server.entry", *args, "--hall", str(self.hall_dir)],
                             input=input_text, capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def device_token(self, name: str, kind: str, window: int | None = None) -> str:
        args = ["device", "add", name, "--kind", kind]
        if window is not None:
            args += ["--window", str(window)]
        return self.cli(*args).strip().splitlines()[-1]

    def clerk_token(self, employee_no: str, window: int) -> str:
        self.cli("user", "add", employee_no, "--role", "clerk", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        r = requests.post(self.url + "/api/login", json={"user": employee_no, "password": PASSWORD,
                                                          "window": window}, timeout=5)
        assert r.status_code == 200, r.text
        return r.json()["token"]


def seed_history(server: LiveServer, days: int, seed: int = 7) -> None:
    """`qrate seed-history`: ``days`` of generated past up to the day before the server's
    hall clock starts (before ``server.start()``)."""
    end = (server.clock_start or datetime.now(TZ)).date() - timedelta(days=1)
    server.cli("seed-history", "--days", str(days), "--end", end.isoformat(), "--seed", str(seed))


def settled_hall_day(server: LiveServer) -> date:
    """The server's hall day, read where it will not change under the test: within 3 s of
    midnight this waits for the new day first."""
    now = server.hall_time()
    midnight = datetime.combine(now.date() + timedelta(days=1), clock_time(), now.tzinfo)
    if (midnight - now).total_seconds() < 3:
        time.sleep((midnight - now).total_seconds() + 0.2)
        now = server.hall_time()
    return now.date()


def month_bounds(day: date) -> tuple[date, date]:
    """The first and the last day of the month of ``day``."""
    first = day.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _server_log_problems(item) -> str:
    expected = tuple(re.compile(p) for m in item.iter_markers("expected_server_log") for p in m.args)
    found = []
    for server in list(LiveServer.watched):
        problems = server.new_log_problems(expected)
        if problems:
            found.append(f"--- {server.log_path}\n" + "\n".join(problems))
        if not server.running():
            LiveServer.watched.remove(server)  # checked to its end
    return "\n".join(found)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    problems = _server_log_problems(item)
    if problems:
        pytest.fail("the live server logged an unhandled error during the test:\n" + problems,
                    pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    problems = _server_log_problems(item)
    if problems:
        pytest.fail("the live server logged an unhandled error (seen at teardown):\n" + problems,
                    pytrace=False)
    return result


@pytest.fixture
def live(hall_dir):
    """A running `qrate serve` on the temp hall."""
    server = LiveServer(hall_dir).start()
    yield server
    server.kill(signal.SIGTERM)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --- a real Socket.IO client ------------------------------------------------------

class Listener:
    """A real python-socketio client that records what the server pushes to it: the
    ``snapshot`` on connect, every ``event`` and the pads' ``window`` messages.

    ``received`` keeps (name, data) in the order the handlers ran. python-engineio's client
    runs each message's handler in a thread of its own, so that order is NOT always the
    server's: compare events by ``seq`` (``seqs()`` sorted), never by position. Every wait
    retries until what it waits for is there (``wait_until``, ``wait_for``,
    ``wait_for_event``); a read of a list right after an action is a race."""

    def __init__(self, url: str, token: str | None = None, *, reconnection: bool = False,
                 snapshot: bool = True, timeout: float = 20.0):
        import socketio
        self.received: list[tuple[str, dict]] = []
        self.cond = threading.Condition()
        self.sio = socketio.Client(reconnection=reconnection)
        for name in ("snapshot", "event", "window"):
            self.sio.on(name, lambda data, name=name: self._got(name, data))
        self.sio.connect(url, transports=["websocket"], auth={"token": token} if token else None,
                         wait_timeout=10)
        if snapshot:  # connected and its snapshot here: what the test does next is heard
            self.wait_until(lambda: self.snapshot is not None, timeout)

    def _got(self, name: str, data: dict) -> None:
        with self.cond:
            self.received.append((name, data))
            self.cond.notify_all()

    def _of(self, kind: str) -> list[dict]:
        with self.cond:
            return [d for n, d in self.received if n == kind]

    @property
    def events(self) -> list[dict]:
        return self._of("event")

    @property
    def windows(self) -> list[dict]:
        return self._of("window")

    @property
    def snapshot(self) -> dict | None:
        """The first snapshot (the one on connect), or None before it came."""
        return next(iter(self._of("snapshot")), None)

    def seqs(self) -> list[int]:
        """The events' seqs, in the order they arrived (sort them to compare)."""
        return [e["seq"] for e in self.events]

    def device_states(self) -> list[str]:
        """The states of the device.changed events, in the server's order (by seq)."""
        return [e["state"] for e in sorted(self.events, key=lambda e: e["seq"])
                if e["type"] == "device.changed"]

    def wait_until(self, check, timeout: float = 20.0):
        """Wait until ``check()`` is truthy (re-checked at each message) and return it."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = check()
                if value:
                    return value
                left = deadline - time.monotonic()
                assert left > 0, f"timed out; got {[(n, d.get('type'), d.get('seq')) for n, d in self.received]}"
                self.cond.wait(left)

    def wait_for(self, predicate, timeout: float = 20.0):
        """Wait until ``predicate(received)`` is truthy and return it."""
        return self.wait_until(lambda: predicate(self.received), timeout)

    def wait_for_event(self, predicate, timeout: float = 20.0) -> dict:
        """Wait for an event matching ``predicate(event)`` and return the first such."""
        return self.wait_until(lambda: next((e for e in self.events if predicate(e)), None), timeout)

    def close(self) -> None:
        self.sio.disconnect()


# --- browsers and screenshots -----------------------------------------------------

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--autoplay-policy=no-user-gesture-required"]

# Screenshots go here (git-ignored), never into docs/: copy them by hand to refresh the docs.
SHOTS = Path(os.environ.get("QRATE_SCREENSHOTS") or ROOT / "test-output" / "screenshots")


@pytest.fixture(scope="session")
def shots() -> Path:
    """The folder for screenshots (test-output/screenshots, or $QRATE_SCREENSHOTS)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def keep_out_of_the_repository(page, shots_dir: Path) -> None:
    """A screenshot asked for inside the repository (docs/...) goes to the shots folder."""
    take = page.screenshot

    def screenshot(*args, path=None, **kw):
        if path is not None:
            p = Path(path).resolve()
            if p.is_relative_to(ROOT) and not p.is_relative_to(SHOTS.resolve()):
                path = shots_dir / p.name
        return take(*args, path=path, **kw)
    page.screenshot = screenshot


@pytest.fixture(scope="session")
def browser(shots):
    """Headless Chromium from Debian's package, driven by Playwright."""
    from playwright.sync_api import expect, sync_playwright
    # "it shows up" within 15 s: a generous bound for a loaded 2-core machine, not a speed
    # target (bench/ measures speed); Playwright's own default is 5 s
    expect.set_options(timeout=15_000)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                               args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, shots):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    pg = context.new_page()
    keep_out_of_the_repository(pg, shots)
    yield pg
    context.close()


def follow_hall_clock(page, server: LiveServer) -> datetime:
    """Start the page's clock at the server's hall time (call before the first goto):
    a page on a dated server lives on the same day and hour as the hall."""
    now = server.hall_time()
    page.clock.install(time=now)
    return now
