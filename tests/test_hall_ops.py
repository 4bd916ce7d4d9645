"""Running a real hall, as its IT person meets it: one server per data folder, a damaged
database at start, backups while the hall serves and restores into a new folder."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time

from types import SimpleNamespace

import pytest
import requests
from click.testing import CliRunner

from conftest import PASSWORD, ROOT, LiveServer, bearer, free_port
from server import backup, config, store
from server.cli import cli
from server.operations import Operations

pytestmark = pytest.mark.live


def qrate(*args, input_text=None, timeout=60):
    env = {**os.environ, "QRATE_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "server.entry", *args], input=input_text,
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)


def run(*args, input_text=None):
    """A `qrate` command run in this process (click's runner), where a process of its own
    adds nothing to what is tested (it reaches the hall through its folder either way)."""
    r = CliRunner().invoke(cli, list(args), input=input_text, env={"QRATE_LANG": "en"})
    return SimpleNamespace(returncode=r.exit_code, stdout=r.stdout, stderr=r.stderr)


def token_of(server: LiveServer, name: str, kind: str) -> str:
    return run("device", "add", name, "--kind", kind, "--hall", str(server.hall_dir)).stdout.split()[-1]


def clerk_of(server: LiveServer, employee_no: str, window: int) -> str:
    run("user", "add", employee_no, "--role", "clerk", "--hall", str(server.hall_dir),
        input_text=f"{PASSWORD}\n{PASSWORD}\n")
    r = requests.post(server.url + "/api/login", json={"user": employee_no, "password": PASSWORD,
                                                        "window": window}, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()["token"]


def one_line_error(out) -> str:
    """A refusal a person can read: non-zero, one line on stderr, no traceback."""
    assert out.returncode != 0, out.stdout
    assert "Traceback" not in out.stderr + out.stdout, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    return lines[0]


# --- one server per data folder ------------------------------------------------------

def test_a_second_server_on_one_folder_exits_at_once_naming_the_first(live, hall_dir):
    out = qrate("serve", "--hall", str(hall_dir), "--port", str(free_port()), timeout=30)
    line = one_line_error(out)  # it exits (qrate() would time out on a server that ran)
    pid = json.loads((hall_dir / "data" / "serve.lock").read_text())["pid"]
    assert f"pid {pid}" in line and live.url in line, line
    assert live.proc.pid == pid
    # the first goes on serving, and restore refuses while it does
    assert requests.get(live.url + "/healthz", timeout=5).ok
    refused = one_line_error(run("restore", str(hall_dir / "data" / "qrate.db"), "--hall", str(hall_dir)))
    assert "stop the server" in refused and str(pid) in refused
    # a busy port is one line too (another hall's folder, this server's port)
    other = hall_dir.parent / "other"
    config.write_demo(other, always_open=True)
    line = one_line_error(qrate("serve", "--hall", str(other), "--port", str(live.port), timeout=30))
    assert str(live.port) in line and "another --port" in line


def test_a_killed_server_leaves_no_lock_behind(hall_dir):
    server = LiveServer(hall_dir).start()
    server.allow("BrokenPipeError|Traceback|child.py|worker.py|stream.write|send\\(|_run_")  # the report child, orphaned
    server.kill()  # SIGKILL: no cleanup ran
    again = LiveServer(hall_dir).start()
    assert requests.get(again.url + "/healthz", timeout=5).ok
    again.stop()


# --- a damaged database at start ------------------------------------------------------

def _truncate(db):
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])


def _zero_pages(db):
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for n in range(1, len(data) // page):  # every page but the first: the tables' b-trees
        data[n * page + 8: n * page + 200] = b"\xff" * 192
    db.write_bytes(bytes(data))


DAMAGE = {
    "zero-length": lambda db: db.write_bytes(b""),
    "truncated": _truncate,
    "header cut short": lambda db: db.write_bytes(db.read_bytes()[:60]),
    "not a database": lambda db: db.write_bytes(b"this is a spreadsheet, saved over the hall's data\n" * 200),
    "garbled pages": _zero_pages,
    "another program's database": lambda db: (db.unlink(), sqlite3.connect(db).execute(
        "CREATE TABLE contacts (name TEXT)").connection.commit()),
}


@pytest.fixture(scope="module")
def used_hall(tmp_path_factory):
    """A hall that has served (tickets issued, called, finished), closed cleanly."""
    folder = tmp_path_factory.mktemp("used") / "hall"
    config.write_demo(folder, always_open=True)
    cfg = config.load(folder)
    store.open_and_migrate(cfg.db_path)
    ops = Operations(cfg)
    ops.sign_in(1, "1001")
    for _ in range(30):
        ops.issue("A")
    for _ in range(5):
        ops.finish(ops.call_next(1)["id"], 1)
    ops.close()
    return folder


def signal_term():
    import signal
    return signal.SIGTERM


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_database_is_one_line_and_no_start(used_hall, tmp_path, kind):
    folder = tmp_path / "hall"
    shutil.copytree(used_hall, folder)
    db = folder / "data" / "qrate.db"
    for suffix in ("-wal", "-shm"):
        (folder / "data" / f"qrate.db{suffix}").unlink(missing_ok=True)
    size_before = db.stat().st_size
    DAMAGE[kind](db)
    line = one_line_error(qrate("serve", "--hall", str(folder), "--port", str(free_port()), timeout=30))
    assert str(db) in line and "qrate restore" in line, line
    assert "no tables" in line or "empty" in line or "damaged" in line or "truncated" in line \
        or "not a" in line, line
    # nothing was made of it: the damaged file stays for a person to look at
    assert db.exists() and (kind != "zero-length" or db.stat().st_size == 0)
    assert size_before > 0
    if kind == "zero-length":  # every other command says the same, never an empty hall
        assert str(db) in one_line_error(run("user", "list", "--hall", str(folder)))


def test_a_sound_database_that_served_starts(used_hall, tmp_path):
    folder = tmp_path / "hall"
    shutil.copytree(used_hall, folder)
    store.check_file(folder / "data" / "qrate.db", full=True)  # no exception: sound


# --- backup while serving, restore into a new folder ---------------------------------

def test_backup_during_a_burst_then_restore_into_a_new_folder(live, hall_dir, tmp_path):
    kiosk = token_of(live, "kiosk-1", "kiosk")
    clerks = {n: clerk_of(live, f"10{n:02d}", n) for n in (1, 2, 3)}
    acknowledged: list[tuple[float, str, int, str]] = []  # (answered at, kind, ticket id, number)
    stop = threading.Event()

    def issuer():
        s = requests.Session()
        while not stop.is_set():
            r = s.post(live.url + "/api/tickets", json={"service": "A"}, headers=bearer(kiosk), timeout=10)
            if r.status_code == 201:
                acknowledged.append((time.monotonic(), "issued", r.json()["id"], r.json()["number"]))

    def window(n):
        s = requests.Session()
        while not stop.is_set():
            r = s.post(live.url + f"/api/windows/{n}/call-next", headers=bearer(clerks[n]), timeout=10)
            if r.status_code == 200:
                tid = r.json()["id"]
                f = s.post(live.url + f"/api/tickets/{tid}/finish", headers=bearer(clerks[n]), timeout=10)
                if f.status_code == 200:
                    acknowledged.append((time.monotonic(), "done", tid, r.json()["number"]))

    threads = [threading.Thread(target=issuer) for _ in range(2)]
    threads += [threading.Thread(target=window, args=(n,)) for n in clerks]
    for t in threads:
        t.start()
    try:
        while len([a for a in acknowledged if a[1] == "done"]) < 10:
            time.sleep(0.05)
        began = time.monotonic()
        out_file = tmp_path / "hall-backup.db"
        out = run("backup", "--hall", str(hall_dir), "--out", str(out_file))
        after_backup = len(acknowledged)
        time.sleep(0.3)  # the burst goes on after the copy
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    assert out.returncode == 0, out.stderr
    assert "integrity ok, replay ok" in out.stdout, out.stdout
    before = [a for a in acknowledged if a[0] < began]
    assert len(before) > 20 and len(acknowledged) > after_backup  # the hall served throughout
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600

    # the manage page's block reads the same record
    status = backup.status(config.load(hall_dir))
    assert status["ok"] and status["file"] == str(out_file)

    # restore into a new folder, serve it
    fresh = tmp_path / "restored"
    assert run("init", "--demo", str(fresh)).returncode == 0
    (fresh / "hall.toml").write_text((hall_dir / "hall.toml").read_text(encoding="utf-8"), encoding="utf-8")
    restored = run("restore", str(out_file), "--hall", str(fresh))
    assert restored.returncode == 0, restored.stderr
    assert "Restored" in restored.stdout and "hall day" in restored.stdout and "last event #" in restored.stdout
    assert "replaced database is kept" in restored.stdout
    old_epoch = json.loads(requests.get(live.url + "/api/queue", timeout=5).text)["epoch"]
    server = LiveServer(fresh).start()
    try:
        snap = requests.get(server.url + "/api/queue", timeout=5).json()
        assert snap["epoch"] and snap["epoch"] != old_epoch  # a restore starts a new epoch
        for _, kind, tid, number in before:
            r = requests.get(server.url + f"/api/tickets/{tid}", headers=bearer(kiosk), timeout=5)
            assert r.status_code == 200, (kind, tid)  # the kiosk's token came with the data
            assert r.json()["number"] == number
            if kind == "done":
                assert r.json()["status"] == "done", (tid, r.json()["status"])
    finally:
        server.stop(signal_term())
    result = backup.verify(fresh / "data" / "qrate.db", config.load(fresh).tz)
    assert result["ok"], result  # the restored database replays to its state
    db = sqlite3.connect(fresh / "data" / "qrate.db")
    kinds = [r[0] for r in db.execute("SELECT type FROM ticket_events WHERE seq > ? ORDER BY seq",
                                      [status["events"]])]
    db.close()
    assert kinds[0] == "hall.restored", kinds


def test_the_replay_check_finds_a_tampered_copy(used_hall, tmp_path):
    folder = tmp_path / "hall"
    shutil.copytree(used_hall, folder)
    cfg = config.load(folder)
    db = sqlite3.connect(cfg.db_path)
    db.execute("UPDATE tickets SET status = 'done' WHERE id = (SELECT min(id) FROM tickets WHERE status = 'waiting')")
    db.commit()
    db.close()
    out = run("backup", "--hall", str(folder), "--out", str(tmp_path / "b.db"))
    assert out.returncode != 0, out.stdout
    assert "replay ok" not in out.stdout and "status is 'done', the log says 'waiting'" in out.stdout
    assert backup.status(cfg)["ok"] is False
    refused = one_line_error(run("restore", str(tmp_path / "b.db"), "--hall", str(folder)))
    assert "nothing was changed" in refused


def test_the_daily_backup_keeps_the_newest(hall_dir, tmp_path, clock):
    from datetime import timedelta
    folder = tmp_path / "other-disk"
    text = (hall_dir / "hall.toml").read_text(encoding="utf-8")
    (hall_dir / "hall.toml").write_text(text + f'\n[backup]\nfolder = "{folder}"\nkeep = 3\nat = "12:30"\n',
                                        encoding="utf-8")
    cfg = config.load(hall_dir)
    store.open_and_migrate(cfg.db_path)
    clock.set(clock.now.replace(hour=12, minute=29))
    assert not backup.due(cfg, clock())  # before [backup] at
    for day in range(5):
        clock.advance(minutes=2)
        assert backup.due(cfg, clock())
        backup.take(cfg, clock(), None, 3)
        assert not backup.due(cfg, clock())  # once a day
        clock.advance(days=1, minutes=-2)
    kept = sorted(p.name for p in folder.iterdir())
    assert len(kept) == 3 and kept[-1].startswith("qrate-20261201-")
    assert backup.status(cfg)["ok"]


# --- a real hall, not the demo ------------------------------------------------------

def test_init_writes_a_real_halls_template_and_serve_warns(tmp_path):
    import tomllib
    folder = tmp_path / "real"
    out = run("init", str(folder))
    assert out.returncode == 0, out.stderr
    raw = tomllib.loads((folder / "hall.toml").read_text(encoding="utf-8"))
    assert "TODO" in raw["hall"]["name"] and len(raw["services"]) == 1 and len(raw["windows"]) == 1
    assert "staff" not in raw  # no fictional staff
    assert raw["backup"] == {"folder": "", "at": "12:30", "keep": 14}
    server = LiveServer(folder).start()  # public_url says 5000, it serves elsewhere
    try:
        time.sleep(0.5)
        log = server.log_path.read_text(encoding="utf-8")
    finally:
        server.stop(signal_term())
    # one line each, in the hall's language (zh-CN)
    assert f"的端口是 5000，但服务器监听 {server.port}" in log
    assert "尚无管理人员账号" in log and "尚无取号机" in log
    # the log is in hall time (Asia/Shanghai), whatever the PC's zone
    from datetime import datetime, timedelta, timezone
    stamp = log.splitlines()[0][:19]
    hall_now = datetime.now(timezone(timedelta(hours=8))).replace(tzinfo=None)
    assert abs((datetime.fromisoformat(stamp) - hall_now).total_seconds()) < 120


def test_the_demo_labels_its_links_and_follows_a_new_port(tmp_path):
    import signal
    folder = tmp_path / "demo"
    seen = {}
    for port in (free_port(), free_port()):
        proc = subprocess.Popen([sys.executable, "-m", "server.entry", "demo", str(folder), "--port", str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        lines = []
        try:
            for line in proc.stdout:
                lines.append(line.rstrip())
                if "http://127.0.0.1:%d/" % port in line and "qrate" in line and "token" not in line:
                    break
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=20)
            proc.stdout.close()
        seen[port] = "\n".join(lines)
    for port, text in seen.items():
        assert f"取号机 / Ticket kiosk: http://127.0.0.1:{port}/kiosk?token=" in text, text
        assert f"3号窗口评价器 / Rating pad of window 3: http://127.0.0.1:{port}/pad?token=" in text
        assert f"/ System status: backups, accounts, devices: http://127.0.0.1:{port}/manage/system" in text
    first, second = seen
    token = lambda text: text.split("/kiosk?token=")[1].split()[0]  # noqa: E731
    assert token(seen[first]) == token(seen[second])  # the same devices, on the new port
    assert f"127.0.0.1:{second}" in (folder / "hall.toml").read_text(encoding="utf-8")
