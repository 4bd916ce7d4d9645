"""The live-server fixture's log check (conftest): what in a server's log fails the test."""
import pytest

from conftest import KNOWN_SERVER_NOISE, LiveServer, log_problems

LOG = """\
2026-12-01 10:00:00,001 INFO qrate.server: serving on 127.0.0.1:5000
2026-12-01 10:00:00,002 WARNING server: QRATE_TEST_NOW: the hall clock is a test clock at 2026-03-01T09:00:00+08:00
2026-12-01 10:00:01,000 ERROR server: unexpected error
Traceback (most recent call last):
  File "server/stats.py", line 193, in build_day
RuntimeError: dictionary changed size during iteration
2026-12-01 10:00:02,000 INFO qrate.printer: printer tcp://127.0.0.1:9100: online
2026-12-01 10:00:03,000 ERROR qrate.printer: printer: no such host
2026-12-01 10:00:04,000 ERROR engineio.server: a library's own complaint
Exception in thread voice-prepare:
Traceback (most recent call last):
OSError: espeak-ng failed
"""


@pytest.mark.unit
def test_tracebacks_500s_and_our_errors_are_problems_warnings_and_other_loggers_are_not():
    problems = log_problems(LOG)
    assert [p.splitlines()[0][24:] for p in problems] == [
        "ERROR server: unexpected error",
        "ERROR qrate.printer: printer: no such host",
        "ERROR engineio.server: a library's own complaint",  # kept: a traceback follows in its record
    ]
    assert "RuntimeError: dictionary changed size during iteration" in problems[0]
    assert "OSError: espeak-ng failed" in problems[2]


@pytest.mark.unit
def test_a_log_that_starts_with_a_traceback_is_a_problem():
    assert log_problems("Traceback (most recent call last):\nKeyError: 'x'\n")


@pytest.mark.unit
def test_a_websocket_frame_read_as_a_request_is_a_problem_now():
    # the server ends a connection with its WebSocket (server/serve.py): this line, which
    # gevent once logged after every lobby screen left, is no longer expected noise
    line = ("2026-12-01 10:55:40,313 ERROR qrate.server: <gevent._socket3.socket at 0x7f885a81fb80 object, "
            "fd=12, family=2, type=1, proto=0>: (from ('127.0.0.1', 58292)) Invalid HTTP method: "
            "'\\x88\\x8225Aª1Ý'")
    assert log_problems(line) and not any(n.search(line) for n in KNOWN_SERVER_NOISE)


@pytest.mark.api  # it writes a log file
def test_each_check_reads_on_from_the_last_and_allowed_records_are_left_out(tmp_path):
    server = LiveServer(tmp_path, port=1)
    server.log_path.write_text(LOG, encoding="utf-8")
    assert len(server.new_log_problems()) == 3
    assert server.new_log_problems() == []          # already checked
    with server.log_path.open("a", encoding="utf-8") as f:
        f.write("2026-12-01 10:00:05,000 ERROR qrate.serial: pad3: expected in this test\n")
    server.allow(r"expected in this test")
    assert server.new_log_problems() == []
