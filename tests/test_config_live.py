"""`qrate config import` and `qrate user disable` while the hall is served: the running
server takes the change at once (docs/operations.md, "Changing a served hall"), and a
change that would strand waiting tickets asks, at an import and at a start."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tomllib

import pytest
import requests

from conftest import PASSWORD, ROOT, Listener, LiveServer, bearer, free_port
from server import cli_ops, config, hallschema
from server.app import create_app
from server.cli import cli
from click.testing import CliRunner

pytestmark = pytest.mark.live


def qrate(*args, input_text=None):
    """A `qrate` command as its own process (where the process itself is what is tested)."""
    env = {**os.environ, "QRATE_LANG": "en"}
    env.pop("QRATE_TEST_NOW", None)
    return subprocess.run([sys.executable, "-m", "server.entry", *args], input=input_text,
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def run(*args, input_text=None):
    """A `qrate` command run in this process: the same code without a second interpreter's
    start (it reaches the served hall through its data folder, as the command would)."""
    return CliRunner().invoke(cli, list(args), input=input_text, env={"QRATE_LANG": "en"})


def last_event(hall_dir, kind: str) -> dict:
    db = sqlite3.connect(hall_dir / "data" / "qrate.db")
    try:
        row = db.execute("SELECT data FROM ticket_events WHERE type = ? ORDER BY seq DESC LIMIT 1",
                         [kind]).fetchone()
    finally:
        db.close()
    return json.loads(row[0])


def hall_file(hall_dir) -> dict:
    return tomllib.loads((hall_dir / "hall.toml").read_text(encoding="utf-8"))


def write(path, raw: dict):
    path.write_text(hallschema.to_toml(raw, "# test"), encoding="utf-8")
    return path


def without_service(raw: dict, code: str) -> dict:
    raw = {**raw, "services": [s for s in raw["services"] if s["code"] != code]}
    raw["windows"] = [{**w, "services": [c for c in w["services"] if c != code]} for w in raw["windows"]]
    raw["windows"] = [w for w in raw["windows"] if w["services"]]
    numbers = {w["number"] for w in raw["windows"]}
    raw["rota"] = [r for r in raw.get("rota", []) if r["window"] in numbers]
    return raw


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One served hall for the tests below (each starts from what the last one left)."""
    folder = tmp_path_factory.mktemp("live") / "hall"
    config.write_demo(folder, always_open=True)
    server = LiveServer(folder).start()
    kiosk = run("device", "add", "kiosk-1", "--kind", "kiosk", "--hall", str(folder)).stdout.split()[-1]
    yield server, {"Authorization": f"Bearer {kiosk}"}
    server.kill(signal.SIGTERM)


def exported(hall_dir) -> dict:
    """`qrate config export` while the hall is served: the running server's configuration."""
    out = run("config", "export", "--hall", str(hall_dir))
    assert out.exit_code == 0, out.output
    return tomllib.loads(out.stdout)


def test_an_import_reaches_the_running_server_and_every_screen(served, tmp_path):
    server, kiosk = served
    hall_dir = server.hall_dir
    screen = Listener(server.url)
    raw = exported(hall_dir)
    raw["windows"] = [{**w, "name": "综合受理窗口"} if w["number"] == 2 else w for w in raw["windows"]]
    raw["services"].append({"code": "F", "name": "企业开办", "name_en": "Business Start-up"})
    raw["windows"].append({"number": 11, "name": "11号窗口", "services": ["F"]})
    out = run("config", "import", str(write(tmp_path / "new.toml", raw)), "--hall", str(hall_dir))
    assert out.exit_code == 0, out.output
    assert "imported" in out.stdout

    pushed = screen.wait_for_event(lambda e: e.get("type") == "config.changed")
    assert "F" in [s["code"] for s in pushed["services"]]
    services = requests.get(server.url + "/api/services", timeout=5).json()
    assert "F" in [s["code"] for s in services["services"]]
    windows = {w["number"]: w for w in requests.get(server.url + "/api/windows", timeout=5).json()["windows"]}
    assert windows[2]["name"] == "综合受理窗口" and 11 in windows
    # the running server issues tickets of the new service without a restart
    r = requests.post(server.url + "/api/tickets", json={"service": "F"}, headers=kiosk, timeout=5)
    assert r.status_code == 201 and r.json()["number"] == "F001"
    audit = last_event(hall_dir, "config.changed")  # audited under the command that made it
    assert audit["by"] == "qrate config import" and audit["source"] == "import"
    assert {"key": "windows.2.name", "old": "2号窗口", "new": "综合受理窗口"} in audit["changes"]
    screen.sio.disconnect()


def test_an_import_that_strands_tickets_asks_then_moves_them(served, tmp_path):
    server, kiosk = served
    hall_dir = server.hall_dir
    for _ in range(2):
        assert requests.post(server.url + "/api/tickets", json={"service": "E"}, headers=kiosk,
                             timeout=5).status_code == 201
    new = write(tmp_path / "no-e.toml", without_service(exported(hall_dir), "E"))

    refused = run("config", "import", str(new), "--hall", str(hall_dir))
    assert refused.exit_code == 1 and isinstance(refused.exception, SystemExit)
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "E001, E002" in lines[0] and "--stranded move:SERVICE" in lines[0] and "cancel" in lines[0]
    services = requests.get(server.url + "/api/services", timeout=5).json()["services"]
    assert "E" in [s["code"] for s in services]  # nothing changed

    screen = Listener(server.url)
    moved = run("config", "import", str(new), "--hall", str(hall_dir), "--stranded", "move:A")
    assert moved.exit_code == 0, moved.output
    screen.wait_for_event(lambda e: e.get("type") == "config.changed")
    queue = requests.get(server.url + "/api/queue", timeout=5).json()
    waiting = {t["number"]: t for t in queue["tickets"] if t["status"] == "waiting"}
    assert waiting["E001"]["service"] == "A" and waiting["E002"]["service"] == "A"
    assert "E" not in [s["code"] for s in queue["services"]]
    screen.sio.disconnect()


def test_disabling_an_account_closes_its_window_on_the_running_server(served):
    server, _ = served
    hall_dir = server.hall_dir
    run("user", "add", "1003", "--role", "clerk", "--hall", str(hall_dir),
        input_text=f"{PASSWORD}\n{PASSWORD}\n")
    r = requests.post(server.url + "/api/login", json={"user": "1003", "password": PASSWORD, "window": 3},
                      timeout=5)
    token = r.json()["token"]
    screen = Listener(server.url)
    out = run("user", "disable", "1003", "--hall", str(hall_dir))
    assert out.exit_code == 0, out.output
    assert "Window 3" in out.stdout
    pushed = screen.wait_for_event(lambda e: e.get("type") == "window.changed" and e.get("window") == 3)
    windows = {w["number"]: w for w in requests.get(server.url + "/api/windows", timeout=5).json()["windows"]}
    assert windows[3]["status"] == "closed" and windows[3]["clerk"] is None
    assert pushed["status"] == "closed"
    r = requests.post(server.url + "/api/windows/3/call-next", headers=bearer(token), timeout=5)
    assert r.status_code == 401
    screen.sio.disconnect()


def test_a_start_on_a_hall_toml_that_strands_tickets_is_refused_until_told(hall_dir):
    app = create_app({"HALL": hall_dir})  # the hall has served: a C ticket waits
    app.extensions["qrate"].issue("C")
    app.extensions["qrate"].close()
    write(hall_dir / "hall.toml", without_service(hall_file(hall_dir), "C"))
    port = free_port()

    refused = qrate("serve", "--hall", str(hall_dir), "--port", str(port))
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr + refused.stdout
    lines = [line for line in refused.stderr.splitlines() if "C001" in line]
    assert len(lines) == 1 and lines[0].startswith("hall.toml: service C") and "--stranded" in lines[0]

    # told what to do (`qrate serve --stranded cancel`), the hall starts and cancels them
    app = create_app({"HALL": hall_dir, "STRANDED": cli_ops.stranded_option("cancel")})
    try:
        queue = app.test_client().get("/api/queue").get_json()
    finally:
        app.extensions["qrate"].close()
    assert "C001" not in [t["number"] for t in queue["tickets"]]
    assert "C" not in [s["code"] for s in queue["services"]]
    assert last_event(hall_dir, "ticket.cancelled")["reason"] == "config.changed"
