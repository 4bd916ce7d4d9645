"""Server CPU per issue of `qrate serve` with a given printer URL (what printing costs).

  .venv/bin/python bench/bench_issue_cpu.py dummy:// "nope://x"     # an unknown scheme: nothing prints

Makes a demo hall with hours, caps and slots lifted in a temporary folder, issues 1,500
tickets from one keep-alive client and prints utime + stime of the server per issue
(from /proc/PID/stat; Linux). The server listens on 127.0.0.1 and is stopped at the end.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

PY = sys.executable
ROOT = Path(__file__).resolve().parent.parent
def cpu(pid):
    f=open(f"/proc/{pid}/stat").read().rsplit(")",1)[1].split()
    return (int(f[11])+int(f[12]))/os.sysconf("SC_CLK_TCK")
def run(printer_url, n=1500, port=47112):
    d = Path(tempfile.mkdtemp()) / "hall"
    subprocess.run([PY,"-m","server.entry","init","--demo",str(d)],check=True,capture_output=True, cwd=ROOT)
    t=(d/"hall.toml").read_text()
    t=t.replace("enforce_hours = true","enforce_hours = false")
    t=re.sub(r"(?m)^daily_cap.*$","",t); t=re.sub(r"(?m)^slots.*$","",t)
    t=re.sub(r'(?m)^url = .*$', f'url = "{printer_url}"', t, count=1)
    (d/"hall.toml").write_text(t)
    k=subprocess.run([PY,"-m","server.entry","device","add","k","--kind","kiosk","--hall",str(d)],capture_output=True,text=True,cwd=ROOT).stdout.strip().splitlines()[-1]
    p=subprocess.Popen([PY,"-m","server.entry","serve","--hall",str(d),"--port",str(port)],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL,cwd=ROOT)
    try:
        s=requests.Session(); h={"Authorization":f"Bearer {k}"}
        for _ in range(100):
            try:
                if s.get(f"http://127.0.0.1:{port}/healthz").ok: break
            except Exception: time.sleep(0.1)
        for _ in range(50): s.post(f"http://127.0.0.1:{port}/api/tickets",json={"service":"A"},headers=h)
        time.sleep(1)
        c0=cpu(p.pid); t0=time.time()
        for _ in range(n): s.post(f"http://127.0.0.1:{port}/api/tickets",json={"service":"A"},headers=h)
        time.sleep(1.5)
        c1=cpu(p.pid)
        print(printer_url, f"cpu ms/issue {(c1-c0)/n*1000:.2f}  wall {(time.time()-t0-1.5)/n*1000:.2f} ms")
    finally:
        p.terminate(); p.wait(10)
        shutil.rmtree(d.parent, ignore_errors=True)
if __name__ == "__main__":
    for url in sys.argv[1:] or ["dummy://", "nope://x"]:
        run(url)
