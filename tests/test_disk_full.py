"""A full disk: writes answer 507 `disk_full`, reads go on, the hall recovers by itself
when space is freed, and no empty voice clip is ever cached. The data folder lives on a
small tmpfs the test mounts (root), or the test is skipped with the reason."""
from __future__ import annotations

import os
import subprocess

import pytest

from conftest import Accounts
from server import config
from server.app import create_app

pytestmark = pytest.mark.api


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {out.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(folder, name="filler"):
    """Write until the disk refuses; returns the filler file."""
    path = folder / name
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    try:
        with open(path, "ab") as f:  # the last few bytes, a page at a time
            while True:
                f.write(b"\0" * 512)
                f.flush()
    except OSError:
        pass
    return path


def test_writes_answer_507_reads_go_on_and_it_recovers(tmp_path, small_disk):
    hall = tmp_path / "hall"
    config.write_demo(hall, always_open=True)
    text = (hall / "hall.toml").read_text(encoding="utf-8")
    (hall / "hall.toml").write_text(text.replace('folder = "data"', f'folder = "{small_disk}/data"'),
                                    encoding="utf-8")
    app = create_app({"HALL": hall, "TESTING": True})
    client = app.test_client()
    acc = Accounts(app.extensions["qrate"], client)
    kiosk = acc.device("kiosk")
    assert client.post("/api/tickets", json={"service": "A"}, headers=kiosk).status_code == 201
    filler = fill(small_disk)
    refused = None
    for _ in range(200):  # the WAL has some room left: write until it is gone
        r = client.post("/api/tickets", json={"service": "A", "priority": False}, headers=kiosk)
        if r.status_code != 201:
            refused = r
            break
    assert refused is not None, "the disk never filled"
    assert refused.status_code == 507, refused.get_json()
    err = refused.get_json()["error"]
    assert err["code"] == "disk_full" and "disk" in err["message_en"]
    # reads go on serving
    snap = client.get("/api/queue")
    assert snap.status_code == 200
    waiting = len([t for t in snap.get_json()["tickets"] if t["status"] == "waiting"])
    # space comes back: the next write succeeds, nothing half-written in between
    filler.unlink()
    r = client.post("/api/tickets", json={"service": "A"}, headers=kiosk)
    assert r.status_code == 201, r.get_json()
    after = client.get("/api/queue").get_json()["tickets"]
    assert len([t for t in after if t["status"] == "waiting"]) == waiting + 1
    app.extensions["qrate"].close()


def test_no_empty_voice_clip_is_cached(tmp_path, small_disk):
    import shutil
    from server.voice import Voice
    if not (shutil.which("sox") and shutil.which("espeak-ng")):
        pytest.skip("voice needs sox and espeak-ng")
    v = Voice(small_disk / "data")
    filler = fill(small_disk)
    with pytest.raises(Exception):
        v.call("A001", 3)
    calls = small_disk / "data" / "voice"
    # nothing empty is kept where a call would find it (a .tmp.wav is never served)
    assert not [p for p in calls.rglob("*.wav") if p.stat().st_size <= 44 and not p.name.endswith(".tmp.wav")]
    filler.unlink()
    clip = v.call("A001", 3)
    assert clip.stat().st_size > 44
