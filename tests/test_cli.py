"""The qrate command line, as a hall's IT person uses it."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections import Counter

import pytest

from conftest import ROOT, PASSWORD, bearer
from server.app import create_app

pytestmark = pytest.mark.api


def qrate(*args, input_text=None, lang=None):
    env = {**os.environ}
    env.pop("QRATE_LANG", None)
    if lang:
        env["QRATE_LANG"] = lang
    return subprocess.run([sys.executable, "-m", "server.entry", *args], input=input_text,
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)


def test_init_writes_a_realistic_demo_hall(tmp_path):
    out = qrate("init", "--demo", str(tmp_path / "h"))
    assert out.returncode == 0, out.stderr
    assert "大厅配置已写入" in out.stdout
    raw = tomllib.loads((tmp_path / "h" / "hall.toml").read_text(encoding="utf-8"))
    assert len(raw["services"]) >= 5 and len(raw["windows"]) >= 8
    names = {s["name"] for s in raw["services"]}
    assert {"社会保障", "医疗保障", "不动产登记", "户籍办理", "综合咨询"} <= names
    shared = Counter(code for w in raw["windows"] for code in w["services"])
    assert max(shared.values()) >= 3, "at least 3 windows share a service"
    assert all(s.get("commitment") for s in raw["staff"])
    assert (tmp_path / "h" / "data" / "qrate.db").exists()
    again = qrate("init", "--demo", str(tmp_path / "h"))
    assert again.returncode != 0 and "已存在" in again.stderr


def test_user_add_reads_the_password_twice_from_stdin(tmp_path, hall_dir):
    ok = qrate("user", "add", "1001", "--role", "clerk", "--hall", str(hall_dir),
               input_text=f"{PASSWORD}\n{PASSWORD}\n")
    assert ok.returncode == 0 and "1001" in ok.stdout
    dup = qrate("user", "add", "1001", "--role", "manager", "--hall", str(hall_dir),
                input_text=f"{PASSWORD}\n{PASSWORD}\n")
    assert dup.returncode != 0 and "已有账号" in dup.stderr
    differ = qrate("user", "add", "1002", "--role", "clerk", "--hall", str(hall_dir),
                   input_text=f"{PASSWORD}\nsomething-else\n")
    assert differ.returncode != 0 and "不一致" in differ.stderr
    short = qrate("user", "add", "1003", "--role", "clerk", "--hall", str(hall_dir), input_text="abc\nabc\n",
                  lang="en")
    assert short.returncode != 0 and "at least 6" in short.stderr
    # the account works, with the name from hall.toml's staff list
    app = create_app({"HALL": hall_dir})
    r = app.test_client().post("/api/login", json={"user": "1001", "password": PASSWORD, "window": 1})
    assert r.status_code == 200 and r.get_json()["name"] == "王丽"
    app.extensions["qrate"].close()


def test_device_add_prints_the_token_alone_on_the_last_line(hall_dir):
    out = qrate("device", "add", "kiosk-east", "--kind", "kiosk", "--hall", str(hall_dir))
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    assert " " not in token and len(token) >= 40
    app = create_app({"HALL": hall_dir})
    r = app.test_client().post("/api/tickets", json={"service": "A"}, headers=bearer(token))
    assert r.status_code == 201
    app.extensions["qrate"].close()
    dup = qrate("device", "add", "kiosk-east", "--kind", "kiosk", "--hall", str(hall_dir))
    assert dup.returncode != 0
    pad = qrate("device", "add", "pad-x", "--kind", "pad", "--hall", str(hall_dir))
    assert pad.returncode != 0 and "--window" in pad.stderr
    bad = qrate("device", "add", "pad-y", "--kind", "pad", "--window", "99", "--hall", str(hall_dir))
    assert bad.returncode != 0 and "99" in bad.stderr


def test_a_broken_hall_file_says_where(tmp_path):
    (tmp_path / "hall.toml").write_text('[[services]]\ncode = "a1"\nname = "x"\n', encoding="utf-8")
    out = qrate("device", "add", "k", "--kind", "kiosk", "--hall", str(tmp_path))
    assert out.returncode != 0 and "[[services]] #1" in out.stderr
    missing = qrate("serve", "--hall", str(tmp_path / "nowhere"))
    assert missing.returncode != 0 and "qrate init" in missing.stderr
