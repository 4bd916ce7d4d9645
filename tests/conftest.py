"""Shared fixtures: a temp hall folder, the app, its client, accounts and a live server.

Fixed data: the demo hall from `qrate init`, with opening hours lifted so the
tests pass at any hour (tests of opening hours set their own clock).
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from server import auth, config, create_app

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "secret-pw"


@pytest.fixture
def hall(tmp_path) -> Path:
    """A hall folder with the demo hall.toml, always open."""
    folder = tmp_path / "hall"
    config.write_demo(folder, always_open=True)
    return folder


@pytest.fixture
def app(hall):
    app = create_app({"HALL": hall, "TESTING": True})
    yield app
    app.extensions["qrate"].close()


@pytest.fixture
def client(app):
    return app.test_client()


class Accounts:
    """Creates users and devices in a hall and hands out Authorization headers."""

    def __init__(self, hall_obj, client=None):
        self.hall, self.client = hall_obj, client

    def device(self, kind: str, window: int | None = None, name: str | None = None) -> dict:
        with self.hall.store() as s:
            _, token = auth.add_device(s.db, name or f"{kind}-{window}-{time.monotonic_ns()}",
                                       kind, window)
        return {"Authorization": f"Bearer {token}"}

    def user(self, employee_no: str, role: str = "clerk") -> None:
        with self.hall.store() as s:
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


class LiveServer:
    """`qrate serve` in a child process on 127.0.0.1, stopped by its pid."""

    def __init__(self, hall: Path, port: int | None = None):
        self.hall, self.port = hall, port or free_port()
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> "LiveServer":
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.log = open(self.hall / f"server-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.entry", "serve", "--hall", str(self.hall),
             "--port", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT, env=env,
            cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {(self.hall / f'server-{self.port}.log').read_text()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        if getattr(self, "log", None):
            self.log.close()

    stop = kill

    # device and user helpers that go through the CLI, as a hall's IT person would
    def cli(self, *args, input_text: str | None = None) -> str:
        out = subprocess.run([sys.executable, "-m", "server.entry", *args, "--hall", str(self.hall)],
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


@pytest.fixture
def live(hall):
    """A running `qrate serve` on the temp hall."""
    server = LiveServer(hall).start()
    yield server
    server.kill(signal.SIGTERM)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium from Debian's package, driven by Playwright."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                               args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    pg = context.new_page()
    yield pg
    context.close()
