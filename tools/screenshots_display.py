"""Screenshots of the lobby, a window screen and the clerk console with a
believable morning's state: `python tools/screenshots_display.py [OUT_DIR]`.

Starts `qrate serve` on a temp hall (stopped by its pid at the end), signs in
clerks, issues and calls tickets, and saves PNGs (default docs/screenshots/)."""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server import config  # noqa: E402
from tests.conftest import CHROMIUM_ARGS, PASSWORD, LiveServer, bearer  # noqa: E402


def populate(live: LiveServer) -> dict:
    kiosk = bearer(live.device_token("kiosk-1", "kiosk"))
    clerks = {}
    for n, emp in [(1, "1001"), (2, "1002"), (3, "1003"), (4, "1004"), (6, "1006"), (8, "1008")]:
        clerks[n] = bearer(live.clerk_token(emp, n))
    pad3 = bearer(live.device_token("pad-3", "pad", 3))
    tickets = []
    for code in "AABABCAADBEACAB" * 2:
        r = requests.post(live.url + "/api/tickets", json={"service": code}, headers=kiosk, timeout=5)
        assert r.status_code == 201, r.text
        tickets.append(r.json())
    # a few served and rated at window 3
    for score in (5, 5, 4):
        t = requests.post(live.url + "/api/windows/3/call-next", headers=clerks[3], timeout=5).json()
        requests.post(f"{live.url}/api/tickets/{t['id']}/finish", headers=clerks[3], timeout=5)
        requests.post(live.url + "/api/ratings", json={"ticket": t["id"], "score": score},
                      headers=pad3, timeout=5)
    for n in (1, 2, 4, 6, 8, 3):
        requests.post(f"{live.url}/api/windows/{n}/call-next", headers=clerks[n], timeout=5)
    requests.post(live.url + "/api/windows/2/pause", json={"reason": "break"}, headers=clerks[2],
                  timeout=5)
    return {"clerks": clerks}


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp()) / "hall"
    config.write_demo(folder, always_open=True)
    live = LiveServer(folder).start()
    try:
        live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        populate(live)
        mgr = requests.post(live.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                            timeout=5).json()["token"]
        requests.put(live.url + "/api/notice", headers=bearer(mgr), timeout=5, json={
            "text": "今日下午 16:00 起医疗保障业务暂停取号，请提前安排。Medical insurance tickets stop at 16:00 today."})
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            ctx = b.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
            pg = ctx.new_page()
            pg.goto(live.url + "/display?voice=0")
            pg.wait_for_selector("html.online")
            time.sleep(2.5)
            pg.screenshot(path=str(out / "lobby.png"))
            pg.goto(live.url + "/display/window/3")
            pg.wait_for_selector("html.online")
            time.sleep(0.5)
            pg.screenshot(path=str(out / "window.png"))
            cpg = b.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN").new_page()
            live.cli("user", "add", "1005", "--role", "clerk", input_text=f"{PASSWORD}\n{PASSWORD}\n")
            cpg.goto(live.url + "/console")
            cpg.fill("#login-user", "1005")
            cpg.fill("#login-password", PASSWORD)
            cpg.select_option("#login-window", "5")
            cpg.click("#login-submit")
            cpg.wait_for_selector("html.online")
            cpg.keyboard.press("n")
            cpg.wait_for_selector("#current-number:not(:text('—'))")
            cpg.keyboard.press("r")
            time.sleep(0.8)
            cpg.screenshot(path=str(out / "console.png"))
            # what a lobby shows while the server is gone
            pg.goto(live.url + "/display?voice=0")
            pg.wait_for_selector("html.online")
            live.kill()
            pg.wait_for_selector("html.offline")
            time.sleep(0.5)
            pg.screenshot(path=str(out / "lobby-offline.png"))
            b.close()
    finally:
        live.kill()
    print("screenshots in", out)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0]) if args else ROOT / "docs" / "screenshots")
