"""`qrate pad-sim --listen` as a network serial pad (socket://), driven through its terminal."""
import os
import queue
import subprocess
import sys
import threading
import time

import pytest
import requests

from conftest import PASSWORD, ROOT, LiveServer, bearer, free_port
from server import config

pytestmark = pytest.mark.device


def test_pad_sim_over_socket_rates_from_the_terminal(tmp_path):
    folder = tmp_path / "hall"
    path = config.write_demo(folder, always_open=True)
    port = free_port()
    path.write_text(path.read_text(encoding="utf-8").replace(
        'number = 3\nname = "3号窗口"\nservices = ["A", "B"]\n',
        f'number = 3\nname = "3号窗口"\nservices = ["A", "B"]\npad = "socket://127.0.0.1:{port}"\n'),
        encoding="utf-8")
    sim = subprocess.Popen([sys.executable, "-m", "server.entry", "pad-sim", "--window", "3",
                            "--listen", f"127.0.0.1:{port}"], cwd=ROOT, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                           env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in sim.stdout], daemon=True).start()

    def expect(text: str, timeout: float = 60) -> str:  # generous: a loaded machine is slow
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if text in line:
                return line
        raise TimeoutError(text)

    live = None
    try:
        expect("socket://127.0.0.1")
        live = LiveServer(folder).start()
        expect("<- $IDLE,03")
        kiosk = bearer(live.device_token("kiosk-1", "kiosk"))
        clerk = bearer(live.clerk_token("1003", 3))
        t = requests.post(live.url + "/api/tickets", json={"service": "A"}, headers=kiosk, timeout=5).json()
        requests.post(live.url + "/api/windows/3/call-next", headers=clerk, timeout=5)
        requests.post(f"{live.url}/api/tickets/{t['id']}/finish", headers=clerk, timeout=5)
        assert t["number"] in expect("<- $ASK,03")
        sim.stdin.write("4\n")
        sim.stdin.flush()
        expect("<- $ACK,0001")
        live.cli("user", "add", "9001", "--role", "manager", input_text=f"{PASSWORD}\n{PASSWORD}\n")
        token = requests.post(live.url + "/api/login", json={"user": "9001", "password": PASSWORD},
                              timeout=5).json()["token"]
        [row] = requests.get(live.url + "/api/ratings", headers=bearer(token), timeout=5).json()["ratings"]
        assert (row["ticket"], row["score"], row["source"]) == (t["id"], 4, "serial")
    finally:
        if live:
            live.kill()
        sim.stdin.write("q\n")
        sim.stdin.flush()
        try:
            sim.wait(5)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait(5)
        sim.stdin.close()
        sim.stdout.close()
