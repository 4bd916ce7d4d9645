"""Under `qrate serve` (gevent monkey-patched) a serial reader is a greenlet: a quiet port
and a busy one must not hold the loop. Checked in a fresh process, as `qrate serve` runs."""
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.device

SCRIPT = textwrap.dedent(r"""
    from gevent import monkey
    monkey.patch_all()
    import os, pty, threading, time, tty
    import gevent, serial, serial.threaded
    from devices.frames import encode
    from devices.serialpad import FrameProtocol

    assert threading.Thread is not monkey.get_original("threading", "Thread")  # greenlets
    master, slave = pty.openpty()
    tty.setraw(slave)
    got = []

    class Port:  # the part of SerialPort that FrameProtocol talks to
        def connected(self, t): pass
        def lost(self, exc): pass
        def count(self, decoder, n): pass
        def handle(self, frame): got.append(frame)

    ser = serial.serial_for_url(os.ttyname(slave), timeout=None)
    reader = serial.threaded.ReaderThread(ser, lambda: FrameProtocol(Port()))
    reader.start()
    worst = 0.0
    def ticker():
        global worst
        last = time.perf_counter()
        while True:
            gevent.sleep(0.005)
            now = time.perf_counter()
            worst = max(worst, now - last - 0.005)
            last = now
    gevent.spawn(ticker)
    gevent.sleep(0.5)  # the reader waits on a quiet port
    quiet = worst
    for i in range(200):  # then frames arrive in a stream
        os.write(master, os.urandom(300) + encode("RATE", "03", 5, f"{i:04d}"))
        gevent.sleep(0.002)
    deadline = time.monotonic() + 5
    while len(got) < 200 and time.monotonic() < deadline:
        gevent.sleep(0.01)
    reader.close()
    print(len(got), round(quiet * 1000, 1), round(worst * 1000, 1))
""")


def test_serial_reader_is_cooperative_under_gevent(tmp_path):
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    assert out.returncode == 0, out.stderr
    frames, quiet_ms, worst_ms = out.stdout.split()
    assert int(frames) == 200
    # a blocking read would stall the loop for the whole 500 ms; allow for a loaded machine
    assert float(quiet_ms) < 100 and float(worst_ms) < 150, out.stdout
